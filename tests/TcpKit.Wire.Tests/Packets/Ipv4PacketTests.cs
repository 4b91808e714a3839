using CsCheck;
using TcpKit.Wire.Checksums;
using TcpKit.Wire.Ip;

namespace TcpKit.Wire.Tests.Packets;

public class Ipv4PacketTests
{
    // 20-byte header: DSCP 46 (EF) ECN 1, total 0x0073, id 0xABCD, DF, TTL 64, UDP, 192.168.0.1 -> 192.168.0.199.
    private static byte[] Header(string hex = "45b90073abcd40004011") => Convert.FromHexString(hex + "0000c0a80001c0a800c7");

    private static byte[] WithChecksum(byte[] header, int payload = 0)
    {
        var bytes = new byte[Math.Max(header.Length + payload, header.Length)];
        header.CopyTo(bytes, 0);
        int ihl = (header[0] & 0xF) * 4;
        var cs = InternetChecksum.Compute(bytes.AsSpan(0, ihl));
        bytes[10] = (byte)(cs >> 8);
        bytes[11] = (byte)cs;
        return bytes;
    }

    [Fact]
    public void Every_fixed_header_field_is_read()
    {
        var bytes = WithChecksum(Header(), 0x73 - 20);
        Assert.True(Ipv4Packet.TryParse(bytes, out var p));
        Assert.Equal(4, p.Version);
        Assert.Equal(20, p.HeaderLength);
        Assert.Equal(46, p.Dscp);
        Assert.Equal(1, p.Ecn);
        Assert.Equal(0x73, p.TotalLength);
        Assert.Equal(0xABCD, p.Identification);
        Assert.True(p.DontFragment);
        Assert.False(p.MoreFragments);
        Assert.False(p.ReservedFlag);
        Assert.Equal(0, p.FragmentOffset);
        Assert.False(p.IsFragment);
        Assert.Equal(64, p.TimeToLive);
        Assert.Equal(17, p.Protocol);
        Assert.Equal(IpAddress.Parse("192.168.0.1"), p.Source);
        Assert.Equal(IpAddress.Parse("192.168.0.199"), p.Destination);
        Assert.Equal(0x73 - 20, p.Payload.Length);
        Assert.False(p.IsTruncated);
        Assert.True(p.IsHeaderChecksumValid);
        Assert.Equal(p.HeaderChecksum, p.ComputeHeaderChecksum());
    }

    [Fact]
    public void A_corrupted_header_fails_its_checksum_and_compute_gives_the_right_value()
    {
        var bytes = WithChecksum(Header(), 0x73 - 20);
        ushort good = (ushort)((bytes[10] << 8) | bytes[11]);
        bytes[8] = 63;
        Assert.True(Ipv4Packet.TryParse(bytes, out var p));
        Assert.False(p.IsHeaderChecksumValid);
        Assert.Equal(ChecksumVerdict.Bad, p.HeaderChecksumVerdict);
        Assert.Equal(InternetChecksum.Update(good, 0x4011, 0x3F11), p.ComputeHeaderChecksum());
    }

    [Fact]
    public void Options_are_skipped_and_the_payload_starts_after_them()
    {
        // IHL 7: Router Alert (148, len 4) then NOP, NOP, NOP, EOL.
        var header = Convert.FromHexString("47000020000000004006" + "0000c0a80001c0a800c7" + "94040000" + "01010100");
        var bytes = WithChecksum(header, 4);
        Assert.True(Ipv4Packet.TryParse(bytes, out var p));
        Assert.Equal(28, p.HeaderLength);
        Assert.True(p.OptionsWellFormed);
        Assert.Equal(8, p.Options.Length);
        Assert.Equal(4, p.Payload.Length);
        Assert.True(p.IsHeaderChecksumValid);
    }

    [Theory]
    [InlineData("94010000" + "00000000")] // length below 2
    [InlineData("01010194" + "06000000")] // length 6 at offset 3 runs past the 8 option bytes
    [InlineData("01010101" + "01010107")] // the type byte is last: no room for a length
    public void A_bad_option_length_is_reported_but_the_packet_still_parses(string options)
    {
        var header = Convert.FromHexString("47000024000000004006" + "0000c0a80001c0a800c7" + options);
        Assert.True(Ipv4Packet.TryParse(WithChecksum(header, 8), out var p));
        Assert.False(p.OptionsWellFormed);
        Assert.Equal(8, p.Payload.Length);
    }

    [Theory]
    [InlineData("2000", true, 0)] // MF, offset 0: first fragment
    [InlineData("20b9", true, 185)] // MF, middle fragment
    [InlineData("00b9", true, 185)] // last fragment
    [InlineData("4000", false, 0)] // DF only: not a fragment
    public void Fragments_are_recognised(string flagsAndOffset, bool isFragment, int offset)
    {
        var bytes = WithChecksum(Header("45000073abcd" + flagsAndOffset + "4006"), 0x73 - 20);
        Assert.True(Ipv4Packet.TryParse(bytes, out var p));
        Assert.Equal(isFragment, p.IsFragment);
        Assert.Equal(offset, p.FragmentOffset);
        Assert.Equal(offset * 8, p.FragmentOffsetBytes);
        Assert.Equal(isFragment && offset == 0, p.IsFirstFragment);
    }

    [Fact]
    public void A_packet_cut_by_snaplen_parses_and_reports_its_payload_truncated()
    {
        var bytes = WithChecksum(Header(), 0x73 - 20);
        Assert.True(Ipv4Packet.TryParse(bytes.AsSpan(0, 54), out var p));
        Assert.True(p.IsTruncated);
        Assert.Equal(0x73, p.TotalLength);
        Assert.Equal(0x73 - 20, p.PayloadLength);
        Assert.Equal(34, p.Payload.Length);
        Assert.True(p.IsHeaderChecksumValid);
    }

    [Fact]
    public void A_total_length_beyond_what_was_on_the_wire_is_cut_to_the_frame_and_flagged()
    {
        var bytes = WithChecksum(Header(), 60); // claims 0x73 = 115 bytes, 80 were sent and captured
        Assert.True(Ipv4Packet.TryParse(bytes, bytes.Length, out var p, out _));
        Assert.True(p.LengthExceedsFrame);
        Assert.Equal(80, p.TotalLength);
        Assert.False(p.IsTruncated);

        // The same bytes as a snaplen cut of a 115-byte packet.
        Assert.True(Ipv4Packet.TryParse(bytes, 115, out p, out _));
        Assert.False(p.LengthExceedsFrame);
        Assert.True(p.IsTruncated);
    }

    [Fact]
    public void Link_padding_after_the_total_length_is_not_payload()
    {
        var bytes = WithChecksum(Header("45000028abcd40004006"), 30); // 40-byte packet in 50 bytes
        Assert.True(Ipv4Packet.TryParse(bytes, out var p));
        Assert.Equal(20, p.Payload.Length);
        Assert.False(p.IsTruncated);
    }

    [Fact]
    public void A_zero_total_length_left_by_segmentation_offload_means_everything_captured()
    {
        var bytes = WithChecksum(Header("45000000abcd40004006"), 1000);
        Assert.True(Ipv4Packet.TryParse(bytes, out var p));
        Assert.Equal(0, p.TotalLengthField);
        Assert.Equal(1020, p.TotalLength);
        Assert.Equal(1000, p.Payload.Length);
    }

    [Theory]
    [InlineData("65000073abcd40004006", WireError.BadIpVersion)]
    [InlineData("44000073abcd40004006", WireError.BadIpv4HeaderLength)]
    [InlineData("45000013abcd40004006", WireError.BadIpv4TotalLength)]
    public void Inconsistent_headers_are_refused_with_a_reason(string start, WireError expected)
    {
        Assert.False(Ipv4Packet.TryParse(WithChecksum(Header(start), 100), out _, out var error));
        Assert.Equal(expected, error);
    }

    [Fact]
    public void A_header_cut_short_is_truncated()
    {
        var bytes = WithChecksum(Header(), 100);
        Assert.False(Ipv4Packet.TryParse(bytes.AsSpan(0, 19), out _, out var error));
        Assert.Equal(WireError.Truncated, error);
        var withOptions = WithChecksum(Convert.FromHexString("46000073000000004006" + "0000c0a80001c0a800c7" + "01010101"), 100);
        Assert.False(Ipv4Packet.TryParse(withOptions.AsSpan(0, 22), out _, out error));
        Assert.Equal(WireError.Truncated, error);
    }

    [Fact]
    public void Built_header_parses_back_to_the_same_fields()
    {
        var h = new Ipv4Header
        {
            Dscp = 10,
            Ecn = 2,
            Identification = 0xBEEF,
            MoreFragments = true,
            FragmentOffset = 0x1ABC,
            TimeToLive = 3,
            Protocol = IpProtocol.Tcp,
            Source = TestFrames.ClientV4,
            Destination = TestFrames.ServerV4,
        };
        var bytes = new byte[120];
        Assert.Equal(20, h.Emit(bytes, 100));
        Assert.True(Ipv4Packet.TryParse(bytes, out var p));
        Assert.Equal((10, 2, 0xBEEF, false, true, 0x1ABC, 3, 6), (p.Dscp, p.Ecn, (int)p.Identification, p.DontFragment, p.MoreFragments, (int)p.FragmentOffset, p.TimeToLive, p.Protocol));
        Assert.Equal(120, p.TotalLength);
        Assert.Equal(TestFrames.ClientV4, p.Source);
        Assert.Equal(TestFrames.ServerV4, p.Destination);
        Assert.True(p.IsHeaderChecksumValid);
    }

    [Fact]
    public void Emit_writes_every_field_and_the_checksum_RFC_1071_gives_over_the_written_bytes()
    {
        // Emit sums the header's words as it writes them; the checksum must equal a plain sum over the bytes.
        var gen = Gen.Select(Gen.Byte, Gen.Byte, Gen.UShort, Gen.Bool, Gen.Bool, Gen.UShort, Gen.Byte, Gen.Byte)
            .Select(Gen.UInt, Gen.UInt, Gen.Int[0, ushort.MaxValue - 20], (f, src, dst, payload) => (f, src, dst, payload));
        gen.Sample(t =>
        {
            var ((dscp, ecn, id, df, mf, offset, ttl, protocol), src, dst, payload) = t;
            var header = new Ipv4Header
            {
                Dscp = (byte)(dscp & 0x3F),
                Ecn = (byte)(ecn & 0x3),
                Identification = id,
                DontFragment = df,
                MoreFragments = mf,
                FragmentOffset = (ushort)(offset & 0x1FFF),
                TimeToLive = ttl,
                Protocol = protocol,
                Source = IpAddress.FromIPv4(src),
                Destination = IpAddress.FromIPv4(dst),
            };
            var bytes = new byte[20];
            Assert.Equal(20, header.Emit(bytes, payload));
            var zeroed = (byte[])bytes.Clone();
            zeroed[10] = 0;
            zeroed[11] = 0;
            Assert.Equal(InternetChecksum.Compute(zeroed), (ushort)(bytes[10] << 8 | bytes[11]));

            Assert.True(Ipv4Packet.TryParse(bytes, 20 + payload, out var p, out _));
            Assert.True(p.IsHeaderChecksumValid);
            Assert.Equal(header.Dscp, p.Dscp);
            Assert.Equal(header.Ecn, p.Ecn);
            Assert.Equal(20 + payload, p.TotalLength);
            Assert.Equal(id, p.Identification);
            Assert.Equal(df, p.DontFragment);
            Assert.Equal(mf, p.MoreFragments);
            Assert.Equal(header.FragmentOffset, p.FragmentOffset);
            Assert.Equal(ttl, p.TimeToLive);
            Assert.Equal(protocol, p.Protocol);
            Assert.Equal(header.Source, p.Source);
            Assert.Equal(header.Destination, p.Destination);
        }, iter: 2000);
    }
}
