using TcpKit.Wire.Link;
using TcpKit.Wire.Tcp;

namespace TcpKit.Wire.Tests.Packets;

public class LinkLayerTests
{
    private static readonly byte[] Ipv4Syn = TestFrames.IpPacket(TestFrames.LinuxSyn(), [], TestFrames.ClientV4, TestFrames.ServerV4);
    private static readonly byte[] Ipv6Syn = TestFrames.IpPacket(TestFrames.LinuxSyn(), [], TestFrames.ClientV6, TestFrames.ServerV6);

    [Fact]
    public void Untagged_ethernet_frame_exposes_addresses_type_and_payload()
    {
        var frame = TestFrames.Ethernet(Ipv4Syn, EtherType.Ipv4);
        Assert.True(EthernetFrame.TryParse(frame, out var eth));
        Assert.Equal(TestFrames.ServerMac, eth.Destination);
        Assert.Equal(TestFrames.ClientMac, eth.Source);
        Assert.Equal("02:00:00:00:00:01", eth.Source.ToString());
        Assert.Equal(EtherType.Ipv4, eth.EtherType);
        Assert.Equal(0, eth.VlanCount);
        Assert.Equal(14, eth.PayloadOffset);
        Assert.True(eth.Payload.SequenceEqual(Ipv4Syn));
    }

    [Fact]
    public void Single_8021Q_tag_is_skipped_and_its_vlan_id_kept()
    {
        var frame = TestFrames.Ethernet(Ipv4Syn, EtherType.Ipv4, vlans: 1, outer: 100);
        Assert.Equal([0x81, 0x00], frame[12..14]);
        Assert.Equal(DecodeStatus.Ok, PacketDecoder.Decode(LinkType.Ethernet, frame, out var p));
        Assert.Equal(1, p.VlanCount);
        Assert.Equal(100, p.OuterVlanId);
        Assert.Equal(18, p.IpOffset);
        Assert.Equal(80, p.DestinationPort);
    }

    [Fact]
    public void Stacked_8021ad_and_8021Q_tags_keep_outer_and_inner_vlan_ids()
    {
        var frame = TestFrames.Ethernet(Ipv6Syn, EtherType.Ipv6, vlans: 2, outer: 3000, inner: 42);
        Assert.Equal([0x88, 0xA8], frame[12..14]);
        Assert.Equal(DecodeStatus.Ok, PacketDecoder.Decode(LinkType.Ethernet, frame, out var p));
        Assert.Equal(2, p.VlanCount);
        Assert.Equal(3000, p.OuterVlanId);
        Assert.Equal(42, p.InnerVlanId);
        Assert.Equal(22, p.IpOffset);
        Assert.Equal(6, p.IpVersion);
    }

    [Fact]
    public void Three_stacked_tags_are_all_skipped_and_the_first_two_ids_kept()
    {
        // 0x9100 outer, 0x88A8, 0x8100 inner; the priority bits in the TCI must not leak into the VID.
        byte[] tags = [0x91, 0x00, 0xE0, 0x05, 0x88, 0xA8, 0x20, 0x06, 0x81, 0x00, 0x00, 0x07, 0x08, 0x00];
        var frame = TestFrames.Concat(new byte[12], tags, Ipv4Syn);
        Assert.True(EthernetFrame.TryParse(frame, out var eth));
        Assert.Equal(3, eth.VlanCount);
        Assert.Equal(5, eth.OuterVlanId);
        Assert.Equal(6, eth.InnerVlanId);
        Assert.Equal(EtherType.Ipv4, eth.EtherType);
        Assert.Equal(26, eth.PayloadOffset);
    }

    [Fact]
    public void A_frame_cut_inside_a_vlan_tag_is_truncated()
    {
        var frame = TestFrames.Ethernet(Ipv4Syn, EtherType.Ipv4, vlans: 2, outer: 1, inner: 2);
        Assert.False(EthernetFrame.TryParse(frame.AsSpan(0, 19), out _, out var error));
        Assert.Equal(WireError.Truncated, error);
        Assert.Equal(DecodeStatus.Truncated, PacketDecoder.Decode(LinkType.Ethernet, frame.AsSpan(0, 13), out _));
    }

    [Fact]
    public void Non_ip_ethertypes_and_8023_lengths_are_not_ip()
    {
        var arp = TestFrames.Ethernet(new byte[28], EtherType.Arp);
        Assert.Equal(DecodeStatus.NotIp, PacketDecoder.Decode(LinkType.Ethernet, arp, out var p));
        Assert.Equal(EtherType.Arp, p.EtherType);
        var llc = TestFrames.Ethernet(new byte[46], 46);
        Assert.Equal(DecodeStatus.NotIp, PacketDecoder.Decode(LinkType.Ethernet, llc, out _));
    }

    [Fact]
    public void Linux_cooked_v1_header_carries_the_ethertype_at_offset_14()
    {
        // packet type 0 (to us), ARPHRD_ETHER 1, address length 6, address padded to 8, protocol.
        byte[] sll = [0x00, 0x00, 0x00, 0x01, 0x00, 0x06, 2, 0, 0, 0, 0, 1, 0, 0, 0x86, 0xDD];
        var frame = TestFrames.Concat(sll, Ipv6Syn);
        Assert.Equal(DecodeStatus.Ok, PacketDecoder.Decode(LinkType.LinuxSll, frame, out var p));
        Assert.Equal(16, p.IpOffset);
        Assert.Equal(TestFrames.ClientV6, p.Source);
        Assert.Equal(DecodeStatus.Truncated, PacketDecoder.Decode(LinkType.LinuxSll, frame.AsSpan(0, 15), out _));
    }

    [Fact]
    public void Linux_cooked_v1_with_a_kept_vlan_tag_is_decoded()
    {
        byte[] sll = [0x00, 0x04, 0x00, 0x01, 0x00, 0x06, 2, 0, 0, 0, 0, 1, 0, 0, 0x81, 0x00];
        byte[] tag = [0x00, 0x0A, 0x08, 0x00];
        Assert.Equal(DecodeStatus.Ok, PacketDecoder.Decode(LinkType.LinuxSll, TestFrames.Concat(sll, tag, Ipv4Syn), out var p));
        Assert.Equal(1, p.VlanCount);
        Assert.Equal(10, p.OuterVlanId);
        Assert.Equal(20, p.IpOffset);
    }

    [Fact]
    public void Linux_cooked_v2_header_carries_the_ethertype_first()
    {
        // protocol, reserved, ifindex 3, ARPHRD_ETHER, packet type 4 (outgoing), address length 6, address.
        byte[] sll2 = [0x08, 0x00, 0, 0, 0, 0, 0, 3, 0x00, 0x01, 4, 6, 2, 0, 0, 0, 0, 1, 0, 0];
        var frame = TestFrames.Concat(sll2, Ipv4Syn);
        Assert.Equal(DecodeStatus.Ok, PacketDecoder.Decode(LinkType.LinuxSll2, frame, out var p));
        Assert.Equal(20, p.IpOffset);
        Assert.Equal(TestFrames.ServerV4, p.Destination);
        Assert.Equal(DecodeStatus.Truncated, PacketDecoder.Decode(LinkType.LinuxSll2, frame.AsSpan(0, 19), out _));
    }

    [Theory]
    [InlineData(new byte[] { 2, 0, 0, 0 }, 4)] // AF_INET little-endian host
    [InlineData(new byte[] { 0, 0, 0, 2 }, 4)] // AF_INET big-endian host
    [InlineData(new byte[] { 24, 0, 0, 0 }, 6)] // OpenBSD/NetBSD AF_INET6
    [InlineData(new byte[] { 28, 0, 0, 0 }, 6)] // FreeBSD AF_INET6
    [InlineData(new byte[] { 0, 0, 0, 30 }, 6)] // Darwin AF_INET6, big-endian host
    [InlineData(new byte[] { 30, 0, 0, 0 }, 6)] // Darwin AF_INET6, little-endian host
    public void Bsd_null_header_address_family_is_read_in_either_byte_order(byte[] header, int version)
    {
        var frame = TestFrames.Concat(header, version == 4 ? Ipv4Syn : Ipv6Syn);
        Assert.Equal(DecodeStatus.Ok, PacketDecoder.Decode(LinkType.Null, frame, out var p));
        Assert.Equal(version, p.IpVersion);
        Assert.Equal(4, p.IpOffset);
    }

    [Fact]
    public void Bsd_null_header_with_an_unknown_family_is_not_ip()
    {
        Assert.Equal(DecodeStatus.NotIp, PacketDecoder.Decode(LinkType.Null, TestFrames.Concat([7, 0, 0, 0], Ipv4Syn), out _));
    }

    [Fact]
    public void Loop_header_is_always_network_byte_order()
    {
        Assert.Equal(DecodeStatus.Ok, PacketDecoder.Decode(LinkType.Loop, TestFrames.Concat([0, 0, 0, 24], Ipv6Syn), out var p));
        Assert.Equal(6, p.IpVersion);

        // A little-endian AF_INET is 0x02000000 in network order: not a family Loop knows.
        Assert.Equal(DecodeStatus.NotIp, PacketDecoder.Decode(LinkType.Loop, TestFrames.Concat([2, 0, 0, 0], Ipv4Syn), out _));
    }

    [Theory]
    [InlineData(LinkType.Raw, 4)]
    [InlineData(LinkType.Raw, 6)]
    [InlineData(LinkType.Ipv4, 4)]
    [InlineData(LinkType.Ipv6, 6)]
    public void Raw_ip_link_types_start_at_the_ip_header(LinkType link, int version)
    {
        Assert.Equal(DecodeStatus.Ok, PacketDecoder.Decode(link, version == 4 ? Ipv4Syn : Ipv6Syn, out var p));
        Assert.Equal(0, p.IpOffset);
        Assert.Equal(version, p.IpVersion);
        Assert.Equal(TcpFlags.Syn, p.Flags);
    }

    [Fact]
    public void Raw_link_with_an_unknown_version_nibble_is_not_ip_and_empty_is_truncated()
    {
        Assert.Equal(DecodeStatus.NotIp, PacketDecoder.Decode(LinkType.Raw, [0x50, 0, 0, 0], out _));
        Assert.Equal(DecodeStatus.Truncated, PacketDecoder.Decode(LinkType.Raw, [], out _));
    }

    [Fact]
    public void An_unknown_link_type_is_reported_as_unsupported()
    {
        Assert.Equal(DecodeStatus.UnsupportedLinkType, PacketDecoder.Decode((LinkType)147, Ipv4Syn, out _));
    }

    [Fact]
    public void Ethernet_header_builder_refuses_more_than_two_tags()
    {
        var eth = new EthernetHeader { VlanCount = 3 };
        Assert.Throws<InvalidOperationException>(() => eth.Emit(new byte[30]));
    }
}
