using System.Buffers.Binary;
using TcpKit.Wire.Capture;

namespace TcpKit.Wire.Tests.Capture;

/// <summary>
/// Every kind of damage gives a CaptureFormatException naming the exact offset (identically on
/// every read path), or in lenient mode a counted skip after which the good packets still arrive.
/// </summary>
public class BadInputTests
{
    private static readonly byte[] A = [0xDE, 0xAD, 0xBE, 0xEF, 0x01];
    private static readonly byte[] B = [0x45, 0x00, 0x00, 0x14, 0xAA, 0xBB, 0xCC, 0xDD];

    // SHB (28) + IDB (20) + EPB with A (40): the block under test starts at 88.
    private const long Bad = 88;

    private static PcapngBuilder Start() => new PcapngBuilder().Shb(false).Idb(1, 0).Epb(0, 1, A);

    private static byte[] EpbBody(uint interfaceId, uint captured, byte[] data)
    {
        var body = new byte[20 + ((data.Length + 3) & ~3)];
        BinaryPrimitives.WriteUInt32LittleEndian(body, interfaceId);
        BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(12), captured);
        BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(16), (uint)data.Length);
        data.CopyTo(body, 20);
        return body;
    }

    private static void AssertFails(byte[] file, CaptureErrorKind kind, string message)
    {
        var e = CaptureKit.ReadFails(file);
        Assert.Equal(kind, e.Kind);
        Assert.Equal(message, e.Message);
    }

    /// <summary>Lenient mode: the good packets (by data) come through and exactly this skip is counted.</summary>
    private static void AssertLenient(byte[] file, CaptureErrorKind kind, params byte[][] expected)
    {
        var r = CaptureKit.ReadAll(file, lenient: true);
        Assert.Equal(expected.Select(Convert.ToHexString), r.Packets.Select(p => p.DataHex));
        Assert.Equal(1, r.Counters.Skipped(kind));
        Assert.Equal(1, r.Counters.TotalSkipped);
        Assert.Equal(expected.Length, r.Counters.PacketsRead);
        Assert.StartsWith("offset ", r.Counters.LastSkipMessage);
    }

    [Fact]
    public void Empty_file_is_a_truncated_header()
    {
        AssertFails([], CaptureErrorKind.TruncatedFileHeader, "offset 0: file too short for a capture file header (0 bytes)");
    }

    [Fact]
    public void Truncated_pcap_file_header_is_reported_with_its_length()
    {
        var file = new PcapBuilder(false, false).ToArray()[..10];
        AssertFails(file, CaptureErrorKind.TruncatedFileHeader, "offset 0: pcap file header truncated (10 of 24 bytes)");
    }

    [Fact]
    public void Garbage_magic_is_rejected_even_in_lenient_mode()
    {
        var file = "GIF89a........................"u8.ToArray();
        AssertFails(file, CaptureErrorKind.UnknownMagic, "offset 0: unknown magic number 0x47494638 (neither pcap nor pcapng)");
        var e = Assert.Throws<CaptureFormatException>(() => CaptureReader.Open(file.AsMemory(), new CaptureReadOptions { Lenient = true }));
        Assert.Equal(CaptureErrorKind.UnknownMagic, e.Kind);
    }

    [Fact]
    public void Pcap_major_version_other_than_2_is_unsupported()
    {
        AssertFails(new PcapBuilder(true, false, major: 1, minor: 0).ToArray(), CaptureErrorKind.UnsupportedVersion,
            "offset 0: pcap version 1.0 is not supported (only 2.x)");
    }

    [Fact]
    public void Truncated_pcap_record_header_fails_or_stops_after_the_good_packets()
    {
        var file = new PcapBuilder(false, false).Record(1, 0, A).Raw(1, 2, 3, 4, 5).ToArray();
        AssertFails(file, CaptureErrorKind.TruncatedRecord, "offset 45: record header truncated (5 of 16 bytes)");
        AssertLenient(file, CaptureErrorKind.TruncatedRecord, A);
    }

    [Fact]
    public void Truncated_pcap_record_data_fails_or_stops_after_the_good_packets()
    {
        var file = new PcapBuilder(true, true).Record(1, 0, A).Record(2, 0, new byte[10], capturedLengthField: 100).ToArray();
        AssertFails(file, CaptureErrorKind.TruncatedRecord, "offset 45: record truncated: captured length 100 but the file ends after 10 bytes");
        AssertLenient(file, CaptureErrorKind.TruncatedRecord, A);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Pcap_captured_length_above_256_KiB_is_an_error_and_lenient_mode_resynchronises(bool bigEndian)
    {
        var junk = Enumerable.Repeat((byte)0xFF, 10).ToArray();
        var file = new PcapBuilder(bigEndian, false).Record(1, 0, A).Record(2, 0, junk, capturedLengthField: 300_000).Record(3, 0, B).ToArray();
        AssertFails(file, CaptureErrorKind.CapturedLengthTooLarge, "offset 45: record captured length 300000 exceeds 262144");
        AssertLenient(file, CaptureErrorKind.CapturedLengthTooLarge, A, B);
    }

    [Fact]
    public void Pcap_resynchronisation_gives_up_when_nothing_plausible_follows()
    {
        var junk = Enumerable.Repeat((byte)0xFF, 64).ToArray();
        var file = new PcapBuilder(false, false).Record(1, 0, A).Record(2, 0, junk, capturedLengthField: 300_000).ToArray();
        AssertLenient(file, CaptureErrorKind.CapturedLengthTooLarge, A);
    }

    [Fact]
    public void Block_length_mismatch_names_both_lengths_and_lenient_mode_resynchronises()
    {
        var file = Start().Block(6, EpbBody(0, 8, B), trailingLength: 44).Epb(0, 2, B).ToArray();
        AssertFails(file, CaptureErrorKind.BlockLengthMismatch, "offset 88: block length 40 does not match trailing length 44");
        AssertLenient(file, CaptureErrorKind.BlockLengthMismatch, A, B);
    }

    [Fact]
    public void Block_length_not_a_multiple_of_4_is_an_error()
    {
        var file = Start().Block(6, EpbBody(0, 8, B), length: 41).Epb(0, 2, B).ToArray();
        AssertFails(file, CaptureErrorKind.BlockLengthNotMultipleOf4, "offset 88: block length 41 is not a multiple of 4");
        AssertLenient(file, CaptureErrorKind.BlockLengthNotMultipleOf4, A, B);
    }

    [Fact]
    public void Block_length_below_12_is_an_error()
    {
        var file = Start().Block(6, [], length: 8).Epb(0, 2, B).ToArray();
        AssertFails(file, CaptureErrorKind.BlockLengthTooSmall, "offset 88: block length 8 is below the minimum of 12");
        AssertLenient(file, CaptureErrorKind.BlockLengthTooSmall, A, B);
    }

    [Fact]
    public void Block_shorter_than_its_type_needs_is_skipped_by_its_length()
    {
        var file = Start().Block(6, new byte[16]).Epb(0, 2, B).ToArray();
        AssertFails(file, CaptureErrorKind.BlockLengthTooSmall, "offset 88: block length 28 is below the minimum of 32 for block type 0x6");
        AssertLenient(file, CaptureErrorKind.BlockLengthTooSmall, A, B);
    }

    [Fact]
    public void Block_cut_by_the_end_of_the_file_is_truncated()
    {
        var whole = Start().Epb(0, 2, B).ToArray();
        var file = whole[..(int)(Bad + 20)];
        AssertFails(file, CaptureErrorKind.TruncatedBlock, "offset 88: block of length 40 truncated by the end of the file");
        AssertLenient(file, CaptureErrorKind.TruncatedBlock, A);
    }

    [Fact]
    public void Block_header_cut_by_the_end_of_the_file_is_truncated()
    {
        var file = Start().Raw(6, 0, 0, 0, 40, 0).ToArray();
        AssertFails(file, CaptureErrorKind.TruncatedBlock, "offset 88: block header truncated (6 of 8 bytes)");
        AssertLenient(file, CaptureErrorKind.TruncatedBlock, A);
    }

    [Fact]
    public void Enhanced_packet_captured_length_above_256_KiB_is_an_error()
    {
        var file = Start().Block(6, EpbBody(0, 300_000, B)).Epb(0, 2, B).ToArray();
        AssertFails(file, CaptureErrorKind.CapturedLengthTooLarge, "offset 88: block captured length 300000 exceeds 262144");
        AssertLenient(file, CaptureErrorKind.CapturedLengthTooLarge, A, B);
    }

    [Fact]
    public void Captured_length_that_does_not_fit_in_the_block_is_an_error()
    {
        var file = Start().Block(6, EpbBody(0, 100, B)).Epb(0, 2, B).ToArray();
        AssertFails(file, CaptureErrorKind.CapturedLengthBeyondBlock, "offset 88: captured length 100 does not fit in a block of length 40");
        AssertLenient(file, CaptureErrorKind.CapturedLengthBeyondBlock, A, B);
    }

    [Fact]
    public void Packet_for_an_undescribed_interface_is_an_error()
    {
        var file = Start().Epb(5, 2, B).Epb(0, 3, B).ToArray();
        AssertFails(file, CaptureErrorKind.UnknownInterface, "offset 88: packet block refers to interface 5 but the section has 1");
        AssertLenient(file, CaptureErrorKind.UnknownInterface, A, B);
    }

    [Fact]
    public void Simple_packet_block_before_any_interface_is_an_error()
    {
        var file = new PcapngBuilder().Shb(false).Spb(4, [1, 2, 3, 4]).Idb(1, 0).Spb(4, [1, 2, 3, 4]).ToArray();
        AssertFails(file, CaptureErrorKind.UnknownInterface, "offset 28: simple packet block but the section has no interface");
        AssertLenient(file, CaptureErrorKind.UnknownInterface, [1, 2, 3, 4]);
    }

    [Fact]
    public void Section_header_with_a_bad_byte_order_magic_is_an_error()
    {
        var body = new byte[16];
        BinaryPrimitives.WriteUInt32LittleEndian(body, 0xDEADBEEF);
        var file = Start().Block(0x0A0D0D0A, body).Epb(0, 2, B).ToArray();
        AssertFails(file, CaptureErrorKind.BadByteOrderMagic, "offset 88: section header byte-order magic 0xEFBEADDE is invalid");
        AssertLenient(file, CaptureErrorKind.BadByteOrderMagic, A, B);
    }

    [Fact]
    public void Packet_block_longer_than_the_bound_is_an_error_without_a_large_allocation()
    {
        var file = Start().Block(6, EpbBody(0, 8, B), length: 400_000).Epb(0, 2, B).ToArray();
        AssertFails(file, CaptureErrorKind.BlockTooLarge, "offset 88: block length 400000 of block type 0x6 exceeds 327744");
        AssertLenient(file, CaptureErrorKind.BlockTooLarge, A, B);
    }

    [Fact]
    public void Oversized_unparsed_block_with_a_wrong_trailing_length_stops_the_reader()
    {
        var file = Start().Block(0x0BAD, new byte[400_000], trailingLength: 12).Epb(0, 2, B).ToArray();
        AssertFails(file, CaptureErrorKind.BlockLengthMismatch, "offset 88: block length 400012 does not match trailing length 12");
        AssertLenient(file, CaptureErrorKind.BlockLengthMismatch, A);
    }

    [Fact]
    public void Option_running_past_the_end_of_its_block_is_an_error()
    {
        var file = Start().Epb(0, 2, B, options: [new Opt(1, [1, 2, 3, 4])]).Epb(0, 3, B).ToArray();
        // Rewrite the comment's length (after the 20-byte EPB header and 8 bytes of data) to 100.
        BinaryPrimitives.WriteUInt16LittleEndian(file.AsSpan((int)Bad + 8 + 20 + 8 + 2), 100);
        AssertFails(file, CaptureErrorKind.MalformedOptions, "offset 88: packet block option runs past the end of the block");
        AssertLenient(file, CaptureErrorKind.MalformedOptions, A, B);
    }

    [Fact]
    public void Name_resolution_record_running_past_its_block_is_an_error()
    {
        var body = new byte[12];
        BinaryPrimitives.WriteUInt16LittleEndian(body, 1);
        BinaryPrimitives.WriteUInt16LittleEndian(body.AsSpan(2), 200);
        var file = Start().Block(4, body).Epb(0, 2, B).ToArray();
        AssertFails(file, CaptureErrorKind.MalformedOptions, "offset 88: name resolution record runs past the end of the block");
        AssertLenient(file, CaptureErrorKind.MalformedOptions, A, B);
    }

    [Fact]
    public void Unsupported_pcapng_version_in_the_first_section_is_an_error()
    {
        AssertFails(new PcapngBuilder().Shb(false, 2).Idb(1, 0).ToArray(), CaptureErrorKind.UnsupportedVersion,
            "offset 0: pcapng section version 2.0 is not supported (only 1.x)");
    }

    [Fact]
    public void Section_of_an_unsupported_version_is_an_error_or_skipped_to_the_next_section()
    {
        var file = Start().Shb(true, 3, 1).Idb(1, 0).Epb(0, 2, B).Shb(false).Idb(1, 0).Epb(0, 3, B).ToArray();
        AssertFails(file, CaptureErrorKind.UnsupportedVersion, "offset 88: pcapng section version 3.1 is not supported (only 1.x)");
        AssertLenient(file, CaptureErrorKind.UnsupportedVersion, A, B);
        var r = CaptureKit.ReadAll(file, lenient: true);
        Assert.Equal(3_000, r.Packets[1].TimestampNs); // from the third section, not the skipped one
        Assert.Equal(2, r.Counters.OtherBlocksSkipped);
    }

    [Fact]
    public void Truncated_first_section_header_is_a_truncated_file_header_even_in_lenient_mode()
    {
        var file = new PcapngBuilder().Shb(false).ToArray()[..20];
        AssertFails(file, CaptureErrorKind.TruncatedFileHeader, "offset 0: block of length 28 truncated by the end of the file");
        Assert.Throws<CaptureFormatException>(() => CaptureReader.Open(file.AsMemory(), new CaptureReadOptions { Lenient = true }));
    }

    [Fact]
    public void Unparsed_block_claiming_nearly_4_GiB_is_truncated_on_every_path()
    {
        // Found by fuzzing: skipping such a block made MemoryStream.Seek throw ArgumentOutOfRangeException.
        var file = Start().Block(0x0BAD, [1, 2, 3, 4], length: 0xFFFF_FFFC).ToArray();
        AssertFails(file, CaptureErrorKind.TruncatedBlock, "offset 88: block of length 4294967292 truncated by the end of the file");
        AssertLenient(file, CaptureErrorKind.TruncatedBlock, A);
    }

    [Fact]
    public void Lenient_resynchronisation_over_large_damaged_blocks_agrees_on_every_path()
    {
        // Every other 200 KB packet block has a wrong trailing length: the reader must search past
        // each one (through the sliding stream buffer too) and still deliver every intact packet.
        var rng = new Random(5);
        var b = new PcapngBuilder().Shb(false).Idb(1, 0);
        var good = new List<byte[]>();
        for (int i = 0; i < 12; i++)
        {
            var data = new byte[200_000 + i];
            rng.NextBytes(data);
            if (i % 2 == 0)
            {
                b.Epb(0, (ulong)i, data);
                good.Add(data);
            }
            else
            {
                b.Block(6, EpbBody(0, (uint)data.Length, data), trailingLength: 16);
            }
        }

        var sw = System.Diagnostics.Stopwatch.StartNew();
        var r = CaptureKit.ReadAll(b.ToArray(), lenient: true);

        Assert.Equal(good.Select(Convert.ToHexString), r.Packets.Select(p => p.DataHex));
        Assert.Equal(6, r.Counters.Skipped(CaptureErrorKind.BlockLengthMismatch));
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(60), $"took {sw.Elapsed}");
    }

    [Fact]
    public void Lenient_mode_counts_each_skipped_block_by_reason_and_keeps_every_good_packet()
    {
        var file = Start()
            .Epb(9, 0, B)                                   // unknown interface
            .Block(6, EpbBody(0, 300_000, B))               // captured length too large
            .Epb(0, 2, B)
            .Block(6, new byte[16])                         // too small for an EPB
            .Block(6, EpbBody(0, 8, B), trailingLength: 4)  // framing damaged: resynchronise
            .Epb(0, 3, A)
            .ToArray();

        var r = CaptureKit.ReadAll(file, lenient: true);

        Assert.Equal([A, B, A], r.Packets.Select(p => p.Data));
        Assert.Equal([0L, 1L, 2L], r.Packets.Select(p => p.Ordinal));
        Assert.Equal(1, r.Counters.Skipped(CaptureErrorKind.UnknownInterface));
        Assert.Equal(1, r.Counters.Skipped(CaptureErrorKind.CapturedLengthTooLarge));
        Assert.Equal(1, r.Counters.Skipped(CaptureErrorKind.BlockLengthTooSmall));
        Assert.Equal(1, r.Counters.Skipped(CaptureErrorKind.BlockLengthMismatch));
        Assert.Equal(4, r.Counters.TotalSkipped);
    }
}
