using TcpKit.Wire.Link;

namespace TcpKit.Wire.Tests.Packets;

/// <summary>MPLS label stacks (RFC 3032) and PPPoE sessions (RFC 2516) between Ethernet and IP.</summary>
public class LinkShimTests
{
    private static readonly byte[] Ipv4Syn = TestFrames.IpPacket(TestFrames.LinuxSyn(), [], TestFrames.ClientV4, TestFrames.ServerV4);
    private static readonly byte[] Ipv6Syn = TestFrames.IpPacket(TestFrames.LinuxSyn(), [], TestFrames.ClientV6, TestFrames.ServerV6);

    /// <summary>Label entries: label 20 bits, traffic class 3, bottom-of-stack 1, TTL 8.</summary>
    private static byte[] Labels(params uint[] labels)
    {
        var bytes = new byte[labels.Length * 4];
        for (int i = 0; i < labels.Length; i++)
        {
            uint entry = (labels[i] << 12) | (i == labels.Length - 1 ? 0x100u : 0u) | 64;
            bytes[4 * i] = (byte)(entry >> 24);
            bytes[(4 * i) + 1] = (byte)(entry >> 16);
            bytes[(4 * i) + 2] = (byte)(entry >> 8);
            bytes[(4 * i) + 3] = (byte)entry;
        }

        return bytes;
    }

    private static byte[] Pppoe(byte[] ip, ushort pppProtocol, int padding = 0)
    {
        var header = new byte[] { 0x11, 0x00, 0x12, 0x34, (byte)((ip.Length + 2) >> 8), (byte)(ip.Length + 2), (byte)(pppProtocol >> 8), (byte)pppProtocol };
        return TestFrames.Concat(header, ip, new byte[padding]);
    }

    [Fact]
    public void A_two_label_MPLS_stack_is_skipped_and_the_payload_version_says_IPv4()
    {
        var frame = TestFrames.Ethernet(TestFrames.Concat(Labels(16, 17), Ipv4Syn), EtherType.Mpls);
        Assert.Equal(DecodeStatus.Ok, PacketDecoder.Decode(LinkType.Ethernet, frame, out var p));
        Assert.Equal(14 + 8, p.IpOffset);
        Assert.Equal(80, p.DestinationPort);
    }

    [Fact]
    public void MPLS_inside_a_VLAN_carries_IPv6()
    {
        var frame = TestFrames.Ethernet(TestFrames.Concat(Labels(100), Ipv6Syn), EtherType.Mpls, vlans: 1, outer: 7);
        Assert.Equal(DecodeStatus.Ok, PacketDecoder.Decode(LinkType.Ethernet, frame, out var p));
        Assert.Equal(6, p.IpVersion);
        Assert.Equal(7, p.OuterVlanId);
        Assert.Equal(14 + 4 + 4, p.IpOffset);
    }

    [Fact]
    public void An_MPLS_payload_that_is_not_IP_or_a_stack_without_its_bottom_is_not_IP()
    {
        var ethernetPseudowire = TestFrames.Concat(Labels(16), new byte[] { 0x00, 0x00, 0x00, 0x00 }, Ipv4Syn);
        Assert.Equal(DecodeStatus.NotIp, PacketDecoder.Decode(LinkType.Ethernet, TestFrames.Ethernet(ethernetPseudowire, EtherType.Mpls), out _));

        var endless = new byte[LinkLayer.MaxMplsLabels * 4 + 20];
        Assert.Equal(DecodeStatus.NotIp, PacketDecoder.Decode(LinkType.Ethernet, TestFrames.Ethernet(endless, EtherType.Mpls), out _));
        Assert.Equal(DecodeStatus.Truncated, PacketDecoder.Decode(LinkType.Ethernet, TestFrames.Ethernet(Labels(1, 2).AsSpan(0, 6), EtherType.Mpls), out _));
    }

    [Fact]
    public void A_PPPoE_session_carries_IPv4_and_IPv6_by_PPP_protocol()
    {
        Assert.Equal(DecodeStatus.Ok, PacketDecoder.Decode(LinkType.Ethernet, TestFrames.Ethernet(Pppoe(Ipv4Syn, 0x0021), EtherType.PppoeSession), out var v4));
        Assert.Equal((4, 14 + 8), (v4.IpVersion, v4.IpOffset));
        Assert.Equal(DecodeStatus.Ok, PacketDecoder.Decode(LinkType.Ethernet, TestFrames.Ethernet(Pppoe(Ipv6Syn, 0x0057), EtherType.PppoeSession), out var v6));
        Assert.Equal(6, v6.IpVersion);
        Assert.Equal(DecodeStatus.NotIp, PacketDecoder.Decode(LinkType.Ethernet, TestFrames.Ethernet(Pppoe(Ipv4Syn, 0xC021), EtherType.PppoeSession), out _));
    }

    [Fact]
    public void The_PPPoE_length_bounds_the_IP_packet_so_padding_is_no_payload()
    {
        var frame = TestFrames.Ethernet(Pppoe(Ipv4Syn, 0x0021, padding: 6), EtherType.PppoeSession);
        Assert.Equal(DecodeStatus.Ok, PacketDecoder.Decode(LinkType.Ethernet, frame, frame.Length, out var p));
        Assert.Equal(0, p.TcpPayloadLength);
        Assert.False(p.IpLengthExceedsFrame);

        // A PPPoE length shorter than the IP length: the IP length exceeds the packet, as tshark says, and
        // the segment keeps only the bytes the PPPoE length gives it.
        var data = TestFrames.IpPacket(new Tcp.TcpHeader { SourcePort = 1, DestinationPort = 2, Flags = Tcp.TcpFlags.Ack }, new byte[10], TestFrames.ClientV4, TestFrames.ServerV4);
        var lying = Pppoe(data, 0x0021);
        lying[5] -= 4;
        var cut = TestFrames.Ethernet(lying, EtherType.PppoeSession);
        Assert.Equal(DecodeStatus.Ok, PacketDecoder.Decode(LinkType.Ethernet, cut, cut.Length, out var q));
        Assert.True(q.IpLengthExceedsFrame);
        Assert.Equal(6, q.TcpPayloadLength);
    }
}
