using TcpKit.Wire.Checksums;
using TcpKit.Wire.Ip;
using TcpKit.Wire.Link;
using TcpKit.Wire.Tcp;

namespace TcpKit.Wire.Tests.Packets;

public class PacketDecoderTests
{
    private static TcpHeader DataSegment()
    {
        var h = new TcpHeader
        {
            SourcePort = 443,
            DestinationPort = 51000,
            Seq = new SeqNum(1_000_000),
            Ack = new SeqNum(2_000_000),
            Flags = TcpFlags.Ack | TcpFlags.Psh,
            Window = 501,
        };
        h.Options.Timestamp = new TcpTimestamp(123456, 654321);
        return h;
    }

    private static byte[] Frame(int payloadLength = 100)
    {
        var payload = new byte[payloadLength];
        new Random(5).NextBytes(payload);
        return TestFrames.Ethernet(TestFrames.IpPacket(DataSegment(), payload, TestFrames.ServerV4, TestFrames.ClientV4, ttl: 52, id: 0x4242), EtherType.Ipv4);
    }

    [Fact]
    public void An_ethernet_ipv4_tcp_frame_decodes_to_all_its_key_fields()
    {
        var frame = Frame();
        Assert.Equal(DecodeStatus.Ok, PacketDecoder.Decode(LinkType.Ethernet, frame, out var p));
        Assert.Equal(LinkType.Ethernet, p.Link);
        Assert.Equal(WireError.None, p.Error);
        Assert.Equal(EtherType.Ipv4, p.EtherType);
        Assert.Equal(4, p.IpVersion);
        Assert.Equal(TestFrames.ServerV4, p.Source);
        Assert.Equal(TestFrames.ClientV4, p.Destination);
        Assert.Equal(14, p.IpOffset);
        Assert.Equal(20, p.IpHeaderLength);
        Assert.Equal(20 + 32 + 100, p.IpTotalLength);
        Assert.Equal(52, p.Ttl);
        Assert.Equal(0x4242u, p.IpIdentification);
        Assert.True(p.DontFragment);
        Assert.False(p.IsFragment);
        Assert.Equal(IpProtocol.Tcp, p.Protocol);
        Assert.Equal(34, p.TcpOffset);
        Assert.Equal(32, p.TcpHeaderLength);
        Assert.Equal(100, p.TcpPayloadLength);
        Assert.Equal(100, p.TcpPayloadCaptured);
        Assert.Equal((443, 51000), (p.SourcePort, p.DestinationPort));
        Assert.Equal(new SeqNum(1_000_000), p.Seq);
        Assert.Equal(new SeqNum(2_000_000), p.Ack);
        Assert.True(p.Has(TcpFlags.Psh));
        Assert.Equal(501, p.Window);
        Assert.False(p.IsTruncated);
        Assert.Equal(ChecksumVerdict.Good, p.VerifyTcpChecksum(frame));
        Assert.Equal(ChecksumVerdict.Good, p.VerifyIpv4HeaderChecksum(frame));
    }

    [Fact]
    public void Views_recreated_from_the_decoded_packet_see_the_same_bytes()
    {
        var frame = Frame();
        PacketDecoder.Decode(LinkType.Ethernet, frame, out var p);
        var ip = p.GetIpv4(frame);
        Assert.Equal(p.Source, ip.Source);
        var tcp = p.GetTcp(frame);
        Assert.Equal(p.Seq, tcp.Seq);
        Assert.Equal(p.TcpChecksum, tcp.Checksum);
        Assert.Equal(new TcpTimestamp(123456, 654321), tcp.ParseOptions().Timestamp);
        var reader = p.GetTcpOptions(frame);
        Assert.True(reader.MoveNext());
        Assert.Equal(TcpOptionKind.Nop, reader.Current.Kind);
        Assert.Equal(12, p.GetTcpOptionBytes(frame).Length);
        Assert.Equal(20 + 32 + 100, p.GetIpBytes(frame).Length);
        Assert.Throws<InvalidOperationException>(() => p.GetIpv6(frame));
    }

    [Fact]
    public void Ethernet_padding_after_a_short_packet_is_not_payload()
    {
        var frame = TestFrames.Concat(Frame(0), new byte[6]);
        Assert.Equal(DecodeStatus.Ok, PacketDecoder.Decode(LinkType.Ethernet, frame, out var p));
        Assert.Equal(0, p.TcpPayloadLength);
        Assert.Equal(0, p.GetTcpPayload(frame).Length);
        Assert.Equal(ChecksumVerdict.Good, p.VerifyTcpChecksum(frame));
    }

    [Fact]
    public void A_frame_cut_by_snaplen_inside_the_payload_decodes_with_an_unverifiable_checksum()
    {
        var frame = Frame(1000);
        Assert.Equal(DecodeStatus.Ok, PacketDecoder.Decode(LinkType.Ethernet, frame.AsSpan(0, 96), out var p));
        Assert.True(p.IsTruncated);
        Assert.Equal(1000, p.TcpPayloadLength);
        Assert.Equal(96 - 66, p.TcpPayloadCaptured);
        Assert.Equal(30, p.GetTcpPayload(frame.AsSpan(0, 96)).Length);
        Assert.Equal(ChecksumVerdict.Unverifiable, p.VerifyTcpChecksum(frame.AsSpan(0, 96)));
        Assert.True(p.GetTcp(frame.AsSpan(0, 96)).IsTruncated);
    }

    [Theory]
    [InlineData(40)] // inside the TCP header's fixed part
    [InlineData(30)] // inside the IP header
    public void A_frame_cut_inside_a_header_is_truncated(int length)
    {
        Assert.Equal(DecodeStatus.Truncated, PacketDecoder.Decode(LinkType.Ethernet, Frame().AsSpan(0, length), out var p));
        Assert.Equal(WireError.Truncated, p.Error);
    }

    [Fact]
    public void A_tcp_data_offset_below_five_is_malformed_with_its_reason()
    {
        var frame = Frame();
        frame[34 + 12] = 0x40;
        Assert.Equal(DecodeStatus.Malformed, PacketDecoder.Decode(LinkType.Ethernet, frame, out var p));
        Assert.Equal(WireError.BadTcpDataOffset, p.Error);
        Assert.Equal(TestFrames.ServerV4, p.Source);
    }

    [Fact]
    public void A_tcp_header_longer_than_the_ip_packet_is_malformed()
    {
        var frame = Frame(0);
        frame[34 + 12] = 0xF0; // 60-byte header in a 32-byte segment, with bytes present behind it
        var padded = TestFrames.Concat(frame, new byte[40]);
        Assert.Equal(DecodeStatus.Malformed, PacketDecoder.Decode(LinkType.Ethernet, padded, out var p));
        Assert.Equal(WireError.TcpHeaderBeyondPacket, p.Error);
    }

    [Fact]
    public void A_first_ipv4_fragment_yields_its_tcp_header_but_no_checksum_verdict()
    {
        var packet = TestFrames.IpPacket(DataSegment(), new byte[64], TestFrames.ServerV4, TestFrames.ClientV4);
        packet[6] = 0x20; // MF, offset 0
        packet[7] = 0x00;
        Assert.Equal(DecodeStatus.Fragment, PacketDecoder.Decode(LinkType.Raw, packet, out var p));
        Assert.True(p.MoreFragments);
        Assert.Equal(0, p.FragmentOffset);
        Assert.True(p.HasTcp);
        Assert.Equal(443, p.SourcePort);
        Assert.Equal(new SeqNum(1_000_000), p.Seq);
        Assert.Equal(64, p.TcpPayloadLength);
        Assert.Equal(ChecksumVerdict.Unverifiable, p.VerifyTcpChecksum(packet));
    }

    [Fact]
    public void Later_ipv4_fragments_are_reported_with_their_offsets_and_not_parsed_further()
    {
        var packet = TestFrames.IpPacket(DataSegment(), new byte[64], TestFrames.ServerV4, TestFrames.ClientV4);
        packet[6] = 0x00; // last fragment at offset 16 * 8
        packet[7] = 0x10;
        Assert.Equal(DecodeStatus.Fragment, PacketDecoder.Decode(LinkType.Raw, packet, out var p));
        Assert.Equal(128, p.FragmentOffset);
        Assert.False(p.MoreFragments);
        Assert.False(p.HasTcp);
    }

    [Fact]
    public void A_first_fragment_too_short_for_the_tcp_header_is_just_a_fragment()
    {
        var packet = new byte[20 + 16];
        new Ipv4Header { MoreFragments = true, Protocol = IpProtocol.Tcp, TimeToLive = 1, Source = TestFrames.ClientV4, Destination = TestFrames.ServerV4 }.Emit(packet, 16);
        Assert.Equal(DecodeStatus.Fragment, PacketDecoder.Decode(LinkType.Ipv4, packet, out var p));
        Assert.False(p.HasTcp);
        Assert.Equal(WireError.None, p.Error);
    }

    [Fact]
    public void A_non_tcp_ip_packet_is_not_tcp_and_keeps_its_ip_fields()
    {
        var packet = new byte[28];
        new Ipv4Header { Protocol = IpProtocol.Udp, TimeToLive = 9, Source = TestFrames.ClientV4, Destination = TestFrames.ServerV4 }.Emit(packet, 8);
        Assert.Equal(DecodeStatus.NotTcp, PacketDecoder.Decode(LinkType.Ipv4, packet, out var p));
        Assert.Equal(IpProtocol.Udp, p.Protocol);
        Assert.Equal(9, p.Ttl);
    }

    [Fact]
    public void A_bad_ipv4_option_is_flagged_but_the_segment_still_decodes()
    {
        var segment = TestFrames.Segment(DataSegment(), [], TestFrames.ClientV4, TestFrames.ServerV4);
        var header = Convert.FromHexString("460000000000400040060000c0000201c6336407" + "44010000");
        var packet = TestFrames.Concat(header, segment);
        packet[2] = 0;
        packet[3] = (byte)packet.Length;
        Assert.Equal(DecodeStatus.Ok, PacketDecoder.Decode(LinkType.Ipv4, packet, out var p));
        Assert.True(p.IpOptionsMalformed);
        Assert.Equal(24, p.IpHeaderLength);
        Assert.Equal(ChecksumVerdict.Good, p.VerifyTcpChecksum(packet));
        Assert.Equal(ChecksumVerdict.Bad, p.VerifyIpv4HeaderChecksum(packet));
    }

    [Fact]
    public void Decoding_frames_allocates_nothing()
    {
        var v4 = Frame();
        var v6 = TestFrames.Ethernet(TestFrames.IpPacket(DataSegment(), new byte[200], TestFrames.ClientV6, TestFrames.ServerV6), EtherType.Ipv6, vlans: 2, outer: 1, inner: 2);
        long sink = 0;
        PacketDecoder.Decode(LinkType.Ethernet, v4, out var warm);
        warm.VerifyTcpChecksum(v4);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
        {
            PacketDecoder.Decode(LinkType.Ethernet, v4, out var a);
            PacketDecoder.Decode(LinkType.Ethernet, v6, out var b);
            sink += a.TcpPayloadLength + b.TcpPayloadLength + (int)a.VerifyTcpChecksum(v4) + (int)b.VerifyTcpChecksum(v6);
            foreach (var o in a.GetTcpOptions(v4))
            {
                sink += o.Length;
            }
        }

        Assert.Equal(before, GC.GetAllocatedBytesForCurrentThread());
        Assert.Equal(1000 * (100 + 200 + 12), sink);
    }
}
