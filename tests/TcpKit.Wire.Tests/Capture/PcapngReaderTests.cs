using System.Net;
using TcpKit.Wire.Capture;

namespace TcpKit.Wire.Tests.Capture;

public class PcapngReaderTests
{
    private static readonly byte[] A = [0xDE, 0xAD, 0xBE, 0xEF, 0x01];
    private static readonly byte[] B = [0x45, 0x00, 0x00, 0x14, 0xAA, 0xBB, 0xCC, 0xDD];

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Section_in_either_byte_order_yields_interfaces_packets_comments_and_flags(bool bigEndian)
    {
        var file = new PcapngBuilder()
            .Shb(bigEndian, 1, 0, Opt.Str(2, "hw"), Opt.Str(3, "Linux"), Opt.Str(4, "handmade"), Opt.Comment("section note"))
            .Idb(1, 65535, Opt.Str(2, "eth0"), Opt.Str(3, "first NIC"), Opt.Byte(9, 9), Opt.Comment("if note"))
            .Idb(101, 0, Opt.Str(2, "tun0"))
            .Epb(0, 1_700_000_000_123_456_789UL, A, originalLength: 64, options: [Opt.Comment("SYN-SENT -> ESTABLISHED"), Opt.U32(2, 0x0000_0001)])
            .Epb(1, 1_700_000_000_000_001UL, B)
            .ToArray();

        var r = CaptureKit.ReadAll(file);

        Assert.Equal(CaptureFormat.Pcapng, r.Format);
        Assert.Equal(bigEndian, r.Section.BigEndian);
        Assert.Equal("hw", r.Section.Hardware);
        Assert.Equal("Linux", r.Section.OperatingSystem);
        Assert.Equal("handmade", r.Section.UserApplication);
        Assert.Equal("section note", r.Section.Comment);
        Assert.Equal(2, r.Interfaces.Count);
        Assert.Equal("eth0", r.Interfaces[0].Name);
        Assert.Equal("first NIC", r.Interfaces[0].Description);
        Assert.Equal("if note", r.Interfaces[0].Comment);
        Assert.Equal(LinkType.Ethernet, r.Interfaces[0].LinkType);
        Assert.Equal(65535u, r.Interfaces[0].SnapLength);
        Assert.Equal("tun0", r.Interfaces[1].Name);
        Assert.Equal(LinkType.Raw, r.Interfaces[1].LinkType);
        Assert.Equal(6, r.Interfaces[1].TimestampResolution);

        var p = r.Packets[0];
        Assert.Equal(A, p.Data);
        Assert.Equal(64, p.OriginalLength);
        Assert.Equal(1_700_000_000_123_456_789L, p.TimestampNs);
        Assert.Equal("SYN-SENT -> ESTABLISHED", p.Comment);
        Assert.Equal(1u, p.Flags);
        Assert.Equal(0, p.InterfaceIndex);
        var q = r.Packets[1];
        Assert.Equal(B, q.Data);
        Assert.Equal(1_700_000_000_000_001_000L, q.TimestampNs); // default resolution: microseconds
        Assert.Equal(1, q.InterfaceIndex);
        Assert.Equal(LinkType.Raw, q.LinkType);
        Assert.Null(q.Comment);
        Assert.Equal(0u, q.Flags);
        Assert.Equal(p.FileOffset + 32 + 8 + 28 + 8 + 4, q.FileOffset);
    }

    [Theory]
    [InlineData((byte)(0x80 | 20), 3UL * (1 << 20) + (1 << 19), 3_500_000_000L)]
    [InlineData((byte)(0x80 | 20), 1UL, 953L)] // 1e9 / 2^20 = 953.67 ns, floored
    [InlineData((byte)(0x80 | 0), 5UL, 5_000_000_000L)]
    [InlineData((byte)3, 1500UL, 1_500_000_000L)]
    [InlineData((byte)12, 1_234_567UL, 1_234L)] // picoseconds
    [InlineData((byte)12, 2_899_545_342_178_041_327UL, 2_899_545_342_178_041L)] // exact where Wireshark 4.0 overflows
    [InlineData((byte)19, ulong.MaxValue, 1_844_674_407L)]
    [InlineData((byte)60, ulong.MaxValue, 0L)]
    [InlineData((byte)(0x80 | 127), ulong.MaxValue, 0L)]
    [InlineData((byte)0, 7UL, 7_000_000_000L)]
    public void Timestamps_follow_if_tsresol_exactly_including_power_of_two_resolutions(byte tsresol, ulong units, long expectedNs)
    {
        var file = new PcapngBuilder().Shb(false).Idb(1, 0, Opt.Byte(9, tsresol)).Epb(0, units, A).ToArray();

        var r = CaptureKit.ReadAll(file);

        Assert.Equal(expectedNs, r.Packets[0].TimestampNs);
        Assert.Equal(tsresol, r.Interfaces[0].TimestampResolution);
    }

    [Fact]
    public void Power_of_two_resolution_is_exact_for_large_timestamps()
    {
        // 1.7e9 s + 0.25 s in units of 2^-30 s: ns = units * 1e9 / 2^30 with no rounding error.
        ulong units = (1_700_000_000UL << 30) + (1UL << 28);
        var file = new PcapngBuilder().Shb(true).Idb(1, 0, Opt.Byte(9, 0x80 | 30)).Epb(0, units, A).ToArray();

        Assert.Equal(1_700_000_000_250_000_000L, CaptureKit.ReadAll(file).Packets[0].TimestampNs);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void If_tsoffset_seconds_are_added_to_every_timestamp(bool bigEndian)
    {
        var file = new PcapngBuilder().Shb(bigEndian)
            .Idb(1, 0, Opt.Byte(9, 3), Opt.U64(14, 1_600_000_000))
            .Epb(0, 1500, A)
            .ToArray();

        var r = CaptureKit.ReadAll(file);

        Assert.Equal(1_600_000_000L, r.Interfaces[0].TimestampOffsetSeconds);
        Assert.Equal(1_600_000_001_500_000_000L, r.Packets[0].TimestampNs);
    }

    [Fact]
    public void Timestamps_beyond_the_range_of_long_nanoseconds_saturate_instead_of_wrapping()
    {
        var file = new PcapngBuilder().Shb(false)
            .Idb(1, 0, Opt.U64(14, long.MaxValue))
            .Idb(1, 0, Opt.U64(14, unchecked((ulong)long.MinValue)))
            .Epb(0, 1, A)
            .Epb(1, 1, A)
            .ToArray();

        var r = CaptureKit.ReadAll(file);

        Assert.Equal(long.MaxValue, r.Packets[0].TimestampNs);
        Assert.Equal(long.MinValue, r.Packets[1].TimestampNs);
    }

    [Fact]
    public void Each_section_starts_its_own_interface_numbering_and_byte_order()
    {
        var b = new PcapngBuilder().Shb(false).Idb(1, 0).Idb(101, 0).Epb(1, 10, A);
        long second = b.Position;
        var file = b.Shb(true).Idb(228, 0, Opt.Str(2, "v4")).Epb(0, 20, B).Epb(0, 30, A).ToArray();

        var r = CaptureKit.ReadAll(file);

        Assert.Equal(2, r.SectionCount);
        Assert.Equal(3, r.Interfaces.Count);
        Assert.Equal(1, r.Interfaces[2].SectionIndex);
        Assert.Equal(0, r.Interfaces[2].IdInSection);
        Assert.Equal(second, r.Section.FileOffset);
        Assert.True(r.Section.BigEndian);
        Assert.Equal([1, 2, 2], r.Packets.Select(p => p.InterfaceIndex));
        Assert.Equal([LinkType.Raw, LinkType.Ipv4, LinkType.Ipv4], r.Packets.Select(p => p.LinkType));
        Assert.Equal([10_000L, 20_000L, 30_000L], r.Packets.Select(p => p.TimestampNs));
    }

    [Fact]
    public void A_packet_may_not_use_an_interface_of_an_earlier_section()
    {
        var b = new PcapngBuilder().Shb(false).Idb(1, 0).Idb(1, 0);
        long second = b.Position;
        var file = b.Shb(false).Idb(1, 0).Epb(1, 0, A).ToArray();

        var e = CaptureKit.ReadFails(file);

        Assert.Equal(CaptureErrorKind.UnknownInterface, e.Kind);
        Assert.Equal($"offset {second + 28 + 20}: packet block refers to interface 1 but the section has 1", e.Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Simple_packet_block_takes_its_length_from_the_block_and_the_snap_length(bool bigEndian)
    {
        var twenty = Enumerable.Range(1, 20).Select(i => (byte)i).ToArray();
        var file = new PcapngBuilder().Shb(bigEndian).Idb(1, 8)
            .Spb(20, twenty[..8])   // snapped at 8
            .Spb(3, [9, 8, 7])      // shorter than the snap length: padding is not data
            .ToArray();

        var r = CaptureKit.ReadAll(file);

        Assert.Equal(twenty[..8], r.Packets[0].Data);
        Assert.Equal(20, r.Packets[0].OriginalLength);
        Assert.False(r.Packets[0].HasTimestamp);
        Assert.Equal(0, r.Packets[0].TimestampNs);
        Assert.Equal(new byte[] { 9, 8, 7 }, r.Packets[1].Data);
        Assert.Equal(3, r.Packets[1].OriginalLength);
    }

    [Fact]
    public void Simple_packet_block_with_snap_length_zero_is_bounded_by_the_block()
    {
        var file = new PcapngBuilder().Shb(false).Idb(1, 0).Spb(1000, A).ToArray();

        var p = CaptureKit.ReadAll(file).Packets[0];

        Assert.Equal(8, p.CapturedLength); // 5 bytes + 3 padding: the block cannot say which are data
        Assert.Equal(1000, p.OriginalLength);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Obsolete_packet_block_is_read_like_an_enhanced_one(bool bigEndian)
    {
        var file = new PcapngBuilder().Shb(bigEndian).Idb(1, 0).Idb(1, 0, Opt.Byte(9, 9))
            .Pb(1, 3, 42, B, Opt.Comment("old style"), Opt.U32(2, 2))
            .ToArray();

        var p = Assert.Single(CaptureKit.ReadAll(file).Packets);

        Assert.Equal(B, p.Data);
        Assert.Equal(1, p.InterfaceIndex);
        Assert.Equal(42, p.TimestampNs);
        Assert.Equal("old style", p.Comment);
        Assert.Equal(2u, p.Flags);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Name_resolution_statistics_and_unknown_blocks_are_read_or_skipped_without_losing_packets(bool bigEndian)
    {
        var v6 = IPAddress.Parse("2001:db8::1").GetAddressBytes().Concat("host6\0"u8.ToArray()).ToArray();
        var file = new PcapngBuilder().Shb(bigEndian).Idb(1, 0, Opt.Byte(9, 9))
            .Nrb((1, PcapngBuilder.Nrb4("10.0.0.1", "alpha", "alpha.example")), (3, new byte[6]), (2, v6))
            .Epb(0, 1, A)
            .Block(0x0BAD, [1, 2, 3, 4, 5, 6, 7, 8])          // custom block
            .Block(0x0A, new byte[16])                      // decryption secrets
            .Block(0x1234_5678, [9, 9, 9])                  // never assigned
            .Isb(0, 1000, Opt.Ts(2, 100), Opt.Ts(3, 900), Opt.U64(4, 77), Opt.U64(5, 3), Opt.U64(8, 74), Opt.Comment("stats"))
            .Epb(0, 2, B)
            .ToArray();

        var r = CaptureKit.ReadAll(file);

        Assert.Equal(2, r.Packets.Count);
        Assert.Equal(3, r.Counters.OtherBlocksSkipped);
        Assert.Equal(0, r.Counters.TotalSkipped);
        Assert.Equal(2, r.Names.Count);
        Assert.Equal(IPAddress.Parse("10.0.0.1"), r.Names[0].Address);
        Assert.Equal(["alpha", "alpha.example"], r.Names[0].Names);
        Assert.Equal(IPAddress.Parse("2001:db8::1"), r.Names[1].Address);
        Assert.Equal(["host6"], r.Names[1].Names);
        var s = r.Interfaces[0].Statistics!;
        Assert.Equal(1000, s.TimestampNs);
        Assert.Equal(100, s.StartTimeNs);
        Assert.Equal(900, s.EndTimeNs);
        Assert.Equal(77UL, s.ReceivedPackets);
        Assert.Equal(3UL, s.InterfaceDropped);
        Assert.Equal(74UL, s.DeliveredToUser);
        Assert.Null(s.OsDropped);
        Assert.Equal("stats", s.Comment);
    }

    [Fact]
    public void Custom_and_unknown_options_are_skipped_and_the_first_comment_wins()
    {
        var custom = new Opt(2988, [0, 0, 0x7F, 0xFF, 1, 2, 3]);
        var file = new PcapngBuilder().Shb(false, 1, 0, custom).Idb(1, 0, custom, Opt.Str(2, "x"))
            .Epb(0, 0, A, options: [custom, new Opt(999, [1]), Opt.Comment("first"), Opt.Comment("second"), new Opt(19372, new byte[9])])
            .ToArray();

        var r = CaptureKit.ReadAll(file);

        Assert.Equal("x", r.Interfaces[0].Name);
        Assert.Equal("first", r.Packets[0].Comment);
    }

    [Fact]
    public void Comment_is_available_as_utf8_bytes_without_allocation_and_as_a_string_on_request()
    {
        var file = new PcapngBuilder().Shb(false).Idb(1, 0).Epb(0, 0, A, options: [Opt.Comment("état ✓")]).Epb(0, 0, A).ToArray();
        using var reader = CaptureReader.Open(file.AsMemory());

        Assert.True(reader.TryRead(out var p));
        Assert.True(p.HasComment);
        Assert.Equal("état ✓"u8.ToArray(), p.CommentUtf8.ToArray());
        Assert.Equal("état ✓", p.GetComment());
        Assert.True(reader.TryRead(out var q));
        Assert.False(q.HasComment);
        Assert.Null(q.GetComment());
        Assert.False(reader.TryRead(out _));
    }

    [Fact]
    public void Foreach_reads_the_same_packets_as_TryRead()
    {
        var file = new PcapngBuilder().Shb(false).Idb(1, 0).Epb(0, 1, A).Epb(0, 2, B).Spb(5, A).ToArray();
        using var reader = CaptureReader.Open(file.AsMemory());
        var seen = new List<(long, long, int)>();
        foreach (var p in reader)
        {
            seen.Add((p.Ordinal, p.TimestampNs, p.CapturedLength));
        }

        Assert.Equal([(0L, 1_000L, 5), (1L, 2_000L, 8), (2L, 0L, 5)], seen);
        Assert.False(reader.TryRead(out _));
    }

    [Fact]
    public void Oversized_blocks_of_unparsed_types_are_skipped_by_their_length()
    {
        var body = new byte[CaptureReadOptions.MaxBlockLength + 1000];
        var file = new PcapngBuilder().Shb(false).Idb(1, 0).Epb(0, 1, A).Block(0x0BAD, body).Epb(0, 2, B).ToArray();

        var r = CaptureKit.ReadAll(file);

        Assert.Equal(2, r.Packets.Count);
        Assert.Equal(B, r.Packets[1].Data);
        Assert.Equal(1, r.Counters.OtherBlocksSkipped);
    }

    [Fact]
    public void Packet_above_the_snap_length_is_delivered_whole_and_counted()
    {
        var file = new PcapngBuilder().Shb(false).Idb(1, 4).Epb(0, 0, B).ToArray();

        var r = CaptureKit.ReadAll(file);

        Assert.Equal(B, r.Packets[0].Data);
        Assert.Equal(1, r.Counters.CapturedLengthAboveSnapLength);
    }

    [Fact]
    public void Unknown_link_type_in_an_interface_is_carried_as_its_number()
    {
        var file = new PcapngBuilder().Shb(false).Idb(0xBEEF, 0).Epb(0, 0, A).ToArray();

        var r = CaptureKit.ReadAll(file);

        Assert.Equal((LinkType)0xBEEF, r.Packets[0].LinkType);
        Assert.False(r.Interfaces[0].IsKnownLinkType);
    }
}
