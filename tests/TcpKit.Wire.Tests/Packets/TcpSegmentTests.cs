using TcpKit.Wire.Checksums;
using TcpKit.Wire.Tcp;

namespace TcpKit.Wire.Tests.Packets;

public class TcpSegmentTests
{
    /// <summary>A 20-byte header followed by <paramref name="options"/> (padded by the caller to a multiple of 4).</summary>
    private static byte[] Segment(byte[] options, byte flagsHigh = 0, byte flagsLow = 0x18, byte[]? payload = null)
    {
        var s = new byte[20 + options.Length + (payload?.Length ?? 0)];
        byte[] fixedPart = Convert.FromHexString("c35000500102030405060708000000007210abcd0000fedc");
        fixedPart.AsSpan(0, 12).CopyTo(s);
        s[12] = (byte)((((20 + options.Length) / 4) << 4) | flagsHigh);
        s[13] = flagsLow;
        s[14] = 0x72;
        s[15] = 0x10;
        s[16] = 0xAB;
        s[17] = 0xCD;
        s[18] = 0xFE;
        s[19] = 0xDC;
        options.CopyTo(s, 20);
        payload?.CopyTo(s, 20 + options.Length);
        return s;
    }

    [Fact]
    public void Every_fixed_field_is_read()
    {
        var bytes = Segment([], payload: "abc"u8.ToArray());
        Assert.True(TcpSegment.TryParse(bytes, out var s));
        Assert.Equal(50000, s.SourcePort);
        Assert.Equal(80, s.DestinationPort);
        Assert.Equal(new SeqNum(0x01020304), s.Seq);
        Assert.Equal(new SeqNum(0x05060708), s.Ack);
        Assert.Equal(20, s.HeaderLength);
        Assert.Equal(TcpFlags.Psh | TcpFlags.Ack, s.Flags);
        Assert.Equal(0x7210, s.Window);
        Assert.Equal(0xABCD, s.Checksum);
        Assert.Equal(0xFEDC, s.UrgentPointer);
        Assert.Equal("abc"u8.ToArray(), s.Payload.ToArray());
        Assert.Equal(3, s.PayloadLength);
        Assert.Equal(3, s.SequenceLength);
        Assert.False(s.IsTruncated);
    }

    [Theory]
    [InlineData(0x0, 0x01, TcpFlags.Fin)]
    [InlineData(0x0, 0x02, TcpFlags.Syn)]
    [InlineData(0x0, 0x04, TcpFlags.Rst)]
    [InlineData(0x0, 0x08, TcpFlags.Psh)]
    [InlineData(0x0, 0x10, TcpFlags.Ack)]
    [InlineData(0x0, 0x20, TcpFlags.Urg)]
    [InlineData(0x0, 0x40, TcpFlags.Ece)]
    [InlineData(0x0, 0x80, TcpFlags.Cwr)]
    [InlineData(0x1, 0x00, TcpFlags.Ae)]
    [InlineData(0xE, 0x00, TcpFlags.Reserved)]
    [InlineData(0xF, 0xFF, (TcpFlags)0xFFF)]
    public void Each_of_the_twelve_control_bits_maps_to_its_flag(byte high, byte low, TcpFlags expected)
    {
        Assert.True(TcpSegment.TryParse(Segment([], high, low), out var s));
        Assert.Equal(expected, s.Flags);
        Assert.Equal(20, s.HeaderLength);
    }

    [Fact]
    public void Syn_and_fin_each_occupy_one_sequence_number()
    {
        Assert.True(TcpSegment.TryParse(Segment([], flagsLow: 0x03, payload: new byte[10]), out var s));
        Assert.Equal(12, s.SequenceLength);
    }

    [Theory]
    [InlineData(4)]
    [InlineData(0)]
    public void Data_offset_below_five_words_is_refused(int words)
    {
        var bytes = Segment(new byte[8]);
        bytes[12] = (byte)(words << 4);
        Assert.False(TcpSegment.TryParse(bytes, bytes.Length, out _, out var error));
        Assert.Equal(WireError.BadTcpDataOffset, error);
    }

    [Fact]
    public void Data_offset_beyond_the_ip_payload_is_refused_and_beyond_the_capture_is_truncated()
    {
        var bytes = Segment(new byte[40]);
        Assert.Equal(60, bytes.Length);
        Assert.False(TcpSegment.TryParse(bytes, 40, out _, out var error));
        Assert.Equal(WireError.TcpHeaderBeyondPacket, error);
        Assert.False(TcpSegment.TryParse(bytes.AsSpan(0, 50), 100, out _, out error));
        Assert.Equal(WireError.Truncated, error);
        Assert.False(TcpSegment.TryParse(bytes.AsSpan(0, 19), 100, out _, out error));
        Assert.Equal(WireError.Truncated, error);
        Assert.False(TcpSegment.TryParse(bytes, 12, out _, out error));
        Assert.Equal(WireError.TcpHeaderBeyondPacket, error);
    }

    [Fact]
    public void A_segment_cut_by_snaplen_keeps_the_reported_payload_length_and_its_checksum_is_unverifiable()
    {
        var whole = TestFrames.Segment(TestFrames.LinuxSyn(), new byte[500], TestFrames.ClientV4, TestFrames.ServerV4);
        Assert.True(TcpSegment.TryParse(whole.AsSpan(0, 100), whole.Length, out var s, out _));
        Assert.True(s.IsTruncated);
        Assert.Equal(500, s.PayloadLength);
        Assert.Equal(60, s.Payload.Length);
        Assert.Equal(ChecksumVerdict.Unverifiable, s.VerifyChecksum(TestFrames.ClientV4, TestFrames.ServerV4));

        Assert.True(TcpSegment.TryParse(whole, out s));
        Assert.Equal(ChecksumVerdict.Good, s.VerifyChecksum(TestFrames.ClientV4, TestFrames.ServerV4));
        Assert.Equal(s.Checksum, s.ComputeChecksum(TestFrames.ClientV4, TestFrames.ServerV4));
        whole[^1] ^= 1;
        Assert.True(TcpSegment.TryParse(whole, out s));
        Assert.Equal(ChecksumVerdict.Bad, s.VerifyChecksum(TestFrames.ClientV4, TestFrames.ServerV4));
    }

    [Fact]
    public void Linux_syn_options_are_read_in_order()
    {
        // MSS 1460, SACK_PERM, TS 1000/0, NOP, WS 7: Linux's SYN layout.
        byte[] options = [2, 4, 0x05, 0xB4, 4, 2, 8, 10, 0, 0, 0x03, 0xE8, 0, 0, 0, 0, 1, 3, 3, 7];
        Assert.True(TcpSegment.TryParse(Segment(options, flagsLow: 0x02), out var s));
        var kinds = new List<TcpOptionKind>();
        foreach (var o in s.Options)
        {
            Assert.Equal(TcpOptionStatus.Ok, o.Status);
            kinds.Add(o.Kind);
            switch (o.Kind)
            {
                case TcpOptionKind.Mss: Assert.Equal(1460, o.Mss); break;
                case TcpOptionKind.Timestamps: Assert.Equal(new TcpTimestamp(1000, 0), o.Timestamp); break;
                case TcpOptionKind.WindowScale: Assert.Equal(7, o.WindowScaleShift); break;
            }
        }

        Assert.Equal([TcpOptionKind.Mss, TcpOptionKind.SackPermitted, TcpOptionKind.Timestamps, TcpOptionKind.Nop, TcpOptionKind.WindowScale], kinds);
        var parsed = s.ParseOptions(out bool malformed);
        Assert.False(malformed);
        Assert.Equal((ushort)1460, parsed.Mss);
        Assert.True(parsed.SackPermitted);
        Assert.Equal(new TcpTimestamp(1000, 0), parsed.Timestamp);
        Assert.Equal((byte)7, parsed.WindowScale);
    }

    [Fact]
    public void Sack_blocks_are_read_as_sequence_number_pairs()
    {
        byte[] options = [1, 1, 5, 18, 0, 0, 0, 10, 0, 0, 0, 20, 0xFF, 0xFF, 0xFF, 0xF0, 0, 0, 0, 5];
        Assert.True(TcpSegment.TryParse(Segment(options), out var s));
        var reader = s.Options;
        Assert.True(reader.MoveNext());
        Assert.True(reader.MoveNext());
        Assert.True(reader.MoveNext());
        var sack = reader.Current;
        Assert.Equal(TcpOptionKind.Sack, sack.Kind);
        Assert.Equal(2, sack.SackBlockCount);
        Assert.Equal(new SackBlock(new SeqNum(10), new SeqNum(20)), sack.GetSackBlock(0));
        Assert.Equal(new SackBlock(new SeqNum(0xFFFFFFF0), new SeqNum(5)), sack.GetSackBlock(1));
        Assert.False(reader.MoveNext());
        var parsed = s.ParseOptions();
        Assert.Equal(2, parsed.SackCount);
        Assert.Equal(new SeqNum(5), parsed.GetSack(1).Right);
    }

    [Fact]
    public void Md5_ao_and_fast_open_options_expose_their_fields()
    {
        var md5 = new byte[18];
        md5[0] = 19;
        md5[1] = 18;
        md5[17] = 0x99;
        byte[] ao = [29, 8, 3, 4, 0xA1, 0xA2, 0xA3, 0xA4];
        byte[] tfo = [34, 6, 0xC1, 0xC2, 0xC3, 0xC4];
        byte[] tfoExp = [254, 12, 0xF9, 0x89, 1, 2, 3, 4, 5, 6, 7, 8];
        byte[] tfoRequest = [34, 2];
        var options = TestFrames.Concat(md5, ao, tfo, tfoExp, tfoRequest, [0, 0]);
        Assert.Equal(48, options.Length);

        var reader = new TcpOptionReader(options);
        Assert.True(reader.MoveNext());
        Assert.Equal(TcpOptionKind.Md5Signature, reader.Current.Kind);
        Assert.Equal(16, reader.Current.Md5Digest.Length);
        Assert.Equal(0x99, reader.Current.Md5Digest[15]);

        Assert.True(reader.MoveNext());
        Assert.Equal(TcpOptionKind.AuthenticationOption, reader.Current.Kind);
        Assert.Equal(3, reader.Current.AoKeyId);
        Assert.Equal(4, reader.Current.AoRNextKeyId);
        Assert.Equal([0xA1, 0xA2, 0xA3, 0xA4], reader.Current.AoMac.ToArray());

        Assert.True(reader.MoveNext());
        Assert.True(reader.Current.IsFastOpen);
        Assert.Equal([0xC1, 0xC2, 0xC3, 0xC4], reader.Current.FastOpenCookie.ToArray());

        Assert.True(reader.MoveNext());
        Assert.Equal(TcpOptionKind.Experimental254, reader.Current.Kind);
        Assert.Equal(TcpOption.FastOpenExperimentId, reader.Current.ExperimentId);
        Assert.True(reader.Current.IsFastOpen);
        Assert.Equal([1, 2, 3, 4, 5, 6, 7, 8], reader.Current.FastOpenCookie.ToArray());

        Assert.True(reader.MoveNext());
        Assert.True(reader.Current.IsFastOpen);
        Assert.True(reader.Current.FastOpenCookie.IsEmpty);

        Assert.True(reader.MoveNext());
        Assert.Equal(TcpOptionKind.EndOfOptionList, reader.Current.Kind);
        Assert.False(reader.MoveNext());
    }

    [Fact]
    public void Unknown_kinds_are_kept_with_their_raw_bytes_and_other_experiments_are_not_fast_open()
    {
        byte[] options = [77, 5, 0xAA, 0xBB, 0xCC, 254, 6, 0x12, 0x34, 9, 9, 1];
        var reader = new TcpOptionReader(options);
        Assert.True(reader.MoveNext());
        Assert.Equal((TcpOptionKind)77, reader.Current.Kind);
        Assert.Equal(TcpOptionStatus.Ok, reader.Current.Status);
        Assert.Equal([77, 5, 0xAA, 0xBB, 0xCC], reader.Current.Raw.ToArray());
        Assert.Equal([0xAA, 0xBB, 0xCC], reader.Current.Data.ToArray());
        Assert.True(reader.MoveNext());
        Assert.Equal(0x1234, reader.Current.ExperimentId);
        Assert.False(reader.Current.IsFastOpen);
        Assert.True(reader.MoveNext());
        Assert.Equal(TcpOptionKind.Nop, reader.Current.Kind);
        Assert.False(reader.MoveNext());
    }

    [Theory]
    [InlineData(new byte[] { 2, 3, 5, 1 }, TcpOptionKind.Mss)] // MSS must be 4 long
    [InlineData(new byte[] { 3, 4, 7, 0 }, TcpOptionKind.WindowScale)] // WS must be 3 long
    [InlineData(new byte[] { 4, 3, 0, 1 }, TcpOptionKind.SackPermitted)] // SACK_PERM must be 2 long
    [InlineData(new byte[] { 8, 6, 0, 0, 0, 1, 1, 1 }, TcpOptionKind.Timestamps)] // TS must be 10 long
    [InlineData(new byte[] { 5, 6, 0, 0, 0, 1, 1, 1 }, TcpOptionKind.Sack)] // SACK needs whole 8-byte blocks
    [InlineData(new byte[] { 5, 2, 1, 1 }, TcpOptionKind.Sack)] // and at least one
    [InlineData(new byte[] { 19, 4, 0, 0 }, TcpOptionKind.Md5Signature)] // MD5 must be 18 long
    [InlineData(new byte[] { 29, 3, 0, 1 }, TcpOptionKind.AuthenticationOption)] // AO needs KeyID and RNextKeyID
    public void A_wrong_length_for_a_fixed_size_kind_is_malformed_and_the_walk_continues(byte[] option, TcpOptionKind kind)
    {
        var options = TestFrames.Concat(option, [1, 1, 1, 1]);
        var reader = new TcpOptionReader(options);
        Assert.True(reader.MoveNext());
        Assert.Equal(kind, reader.Current.Kind);
        Assert.Equal(TcpOptionStatus.Malformed, reader.Current.Status);
        Assert.Equal(0, reader.Current.SackBlockCount);
        int nops = 0;
        while (reader.MoveNext())
        {
            nops += reader.Current.Kind == TcpOptionKind.Nop ? 1 : 0;
        }

        Assert.True(nops >= 4);
        var parsed = TcpOptionReader.Parse(options, out bool malformed);
        Assert.True(malformed);
        Assert.True(parsed.IsEmpty);
    }

    [Theory]
    [InlineData(new byte[] { 1, 1, 2, 1 }, 2)] // length below 2
    [InlineData(new byte[] { 1, 1, 77, 0 }, 2)] // length 0 would loop forever if trusted
    [InlineData(new byte[] { 1, 1, 8, 10 }, 2)] // timestamps past the end of the option space
    [InlineData(new byte[] { 1, 1, 1, 1, 1, 1, 1, 9 }, 1)] // a kind with no room for its length byte
    public void A_length_that_cannot_be_trusted_yields_one_malformed_option_and_ends_the_walk(byte[] options, int rawLength)
    {
        var reader = new TcpOptionReader(options);
        int count = 0;
        while (reader.MoveNext())
        {
            count++;
            if (reader.Current.IsMalformed)
            {
                break;
            }

            Assert.Equal(TcpOptionKind.Nop, reader.Current.Kind);
        }

        Assert.Equal(options.Length - rawLength + 1, count);
        Assert.Equal(TcpOptionStatus.Malformed, reader.Current.Status);
        Assert.Equal(rawLength, reader.Current.Raw.Length);
        Assert.False(reader.MoveNext());
        Assert.True(TcpSegment.TryParse(Segment(options), out var s));
        s.ParseOptions(out bool malformed);
        Assert.True(malformed);
    }

    [Fact]
    public void A_too_short_ao_option_is_malformed_and_exposes_no_mac()
    {
        // Regression (found by HostileInputTests): a 3-byte AO made AoMac slice past its data.
        var reader = new TcpOptionReader([29, 3, 1, 0]);
        Assert.True(reader.MoveNext());
        Assert.True(reader.Current.IsMalformed);
        Assert.True(reader.Current.AoMac.IsEmpty);
    }

    [Fact]
    public void Bytes_after_end_of_option_list_are_padding()
    {
        byte[] options = [2, 4, 1, 0, 0, 2, 4, 9];
        var reader = new TcpOptionReader(options);
        int count = 0;
        while (reader.MoveNext())
        {
            count++;
        }

        Assert.Equal(2, count);
        Assert.Equal((ushort)256, TcpOptionReader.Parse(options, out _).Mss);
    }

    [Fact]
    public void Reading_options_and_fields_allocates_nothing()
    {
        byte[] options = [2, 4, 0x05, 0xB4, 4, 2, 8, 10, 0, 0, 0x03, 0xE8, 0, 0, 0, 0, 1, 3, 3, 7];
        var bytes = Segment(options);
        Span<int> sink = stackalloc int[1];
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++)
        {
            TcpSegment.TryParse(bytes, out var s);
            foreach (var o in s.Options)
            {
                sink[0] += o.Length;
            }

            sink[0] += s.ParseOptions().Mss ?? 0;
        }

        Assert.Equal(before, GC.GetAllocatedBytesForCurrentThread());
        Assert.NotEqual(0, sink[0]);
    }
}
