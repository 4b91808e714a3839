using System.Buffers.Binary;
using TcpKit.Wire.Link;

namespace TcpKit.Wire.Tests.Packets;

/// <summary>
/// Link layers and bridging tags found in real captures besides Ethernet II: IEEE 802.3 with LLC/SNAP, FDDI,
/// Linux NFLOG, VN-Tag and 802.1ah provider backbone bridging (layouts as tshark 4.0.17 dissects them).
/// </summary>
public class LinkEncapsulationTests
{
    private static readonly byte[] Ipv4Syn = TestFrames.IpPacket(TestFrames.LinuxSyn(), [], TestFrames.ClientV4, TestFrames.ServerV4);
    private static readonly byte[] Ipv6Syn = TestFrames.IpPacket(TestFrames.LinuxSyn(), [], TestFrames.ClientV6, TestFrames.ServerV6);

    private static readonly byte[] Snap = [0xAA, 0xAA, 0x03, 0x00, 0x00, 0x00];

    private static byte[] Ieee8023(byte[] llcAndPayload, int padding)
    {
        var header = new byte[14];
        TestFrames.ServerMac.WriteTo(header);
        TestFrames.ClientMac.WriteTo(header.AsSpan(6));
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(12), (ushort)llcAndPayload.Length);
        return TestFrames.Concat(header, llcAndPayload, new byte[padding]);
    }

    private static byte[] Type(ushort etherType) => [(byte)(etherType >> 8), (byte)etherType];

    [Fact]
    public void An_8023_frame_with_SNAP_carries_IPv4_bounded_by_its_length_field()
    {
        var frame = Ieee8023(TestFrames.Concat(Snap, Type(EtherType.Ipv4), Ipv4Syn), padding: 6);
        Assert.Equal(LinkStatus.Ok, LinkLayer.TryDecode(LinkType.Ethernet, frame, out var info));
        Assert.Equal(EtherType.Ipv4, info.EtherType);
        Assert.Equal(14 + 8, info.NetworkOffset);
        Assert.Equal(Ipv4Syn.Length, info.NetworkLength);
        Assert.Equal(DecodeStatus.Ok, PacketDecoder.Decode(LinkType.Ethernet, frame, out var p));
        Assert.Equal(80, p.DestinationPort);
    }

    [Fact]
    public void An_8023_frame_with_the_IP_SAP_carries_IPv4()
    {
        var frame = Ieee8023(TestFrames.Concat([0x06, 0x06, 0x03], Ipv4Syn), padding: 0);
        Assert.Equal(DecodeStatus.Ok, PacketDecoder.Decode(LinkType.Ethernet, frame, out var p));
        Assert.Equal(14 + 3, p.IpOffset);
    }

    [Fact]
    public void Other_LLC_payloads_are_not_IP()
    {
        var stp = Ieee8023(TestFrames.Concat([0x42, 0x42, 0x03], new byte[35]), padding: 0);
        Assert.Equal(DecodeStatus.NotIp, PacketDecoder.Decode(LinkType.Ethernet, stp, out _));
        var vendorSnap = Ieee8023(TestFrames.Concat([0xAA, 0xAA, 0x03, 0x00, 0x00, 0x0C], Type(0x2000), new byte[30]), padding: 0);
        Assert.Equal(DecodeStatus.NotIp, PacketDecoder.Decode(LinkType.Ethernet, vendorSnap, out _));
        Assert.Equal(DecodeStatus.Truncated, PacketDecoder.Decode(LinkType.Ethernet, Ieee8023([0xAA, 0xAA, 0x03, 0x00], padding: 0), out _));
    }

    [Fact]
    public void FDDI_frames_carry_IP_in_SNAP()
    {
        byte[] fddi = [0x50, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
        var frame = TestFrames.Concat(fddi, Snap, Type(EtherType.Ipv6), Ipv6Syn);
        Assert.Equal(DecodeStatus.Ok, PacketDecoder.Decode(LinkType.Fddi, frame, out var p));
        Assert.Equal(6, p.IpVersion);
        Assert.Equal(13 + 8, p.IpOffset);

        // A station-management frame (FC 0x41) is not LLC.
        frame[0] = 0x41;
        Assert.Equal(DecodeStatus.NotIp, PacketDecoder.Decode(LinkType.Fddi, frame, out _));
    }

    /// <summary>An NFLOG record: header, a prefix TLV, then the packet TLV, lengths in the given byte order.</summary>
    private static byte[] Nflog(byte family, byte[] packet, bool littleEndian)
    {
        static byte[] Tlv(ushort type, byte[] value, bool le)
        {
            int padded = (value.Length + 4 + 3) & ~3;
            var tlv = new byte[padded];
            if (le)
            {
                BinaryPrimitives.WriteUInt16LittleEndian(tlv, (ushort)(value.Length + 4));
                BinaryPrimitives.WriteUInt16LittleEndian(tlv.AsSpan(2), type);
            }
            else
            {
                BinaryPrimitives.WriteUInt16BigEndian(tlv, (ushort)(value.Length + 4));
                BinaryPrimitives.WriteUInt16BigEndian(tlv.AsSpan(2), type);
            }

            value.CopyTo(tlv, 4);
            return tlv;
        }

        return TestFrames.Concat([family, 0, 0, 1], Tlv(10, "drop-me\0"u8.ToArray(), littleEndian), Tlv(LinkLayer.NflogPayloadType, packet, littleEndian));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void NFLOG_records_give_the_packet_attribute_in_either_byte_order(bool littleEndian)
    {
        var frame = Nflog(2, Ipv4Syn, littleEndian);
        Assert.Equal(LinkStatus.Ok, LinkLayer.TryDecode(LinkType.Nflog, frame, out var info));
        Assert.Equal(EtherType.Ipv4, info.EtherType);
        Assert.Equal(4 + 12 + 4, info.NetworkOffset);
        Assert.Equal(Ipv4Syn.Length, info.NetworkLength);
        Assert.Equal(DecodeStatus.Ok, PacketDecoder.Decode(LinkType.Nflog, frame, out var p));
        Assert.Equal(80, p.DestinationPort);

        Assert.Equal(DecodeStatus.Ok, PacketDecoder.Decode(LinkType.Nflog, Nflog(10, Ipv6Syn, littleEndian), out var v6));
        Assert.Equal(6, v6.IpVersion);
    }

    [Fact]
    public void An_NFLOG_record_without_a_packet_or_with_a_lying_length_is_not_a_crash()
    {
        Assert.Equal(DecodeStatus.NotIp, PacketDecoder.Decode(LinkType.Nflog, [2, 0, 0, 1, 8, 0, 10, 0, 1, 2, 3, 4], out _));
        Assert.Equal(DecodeStatus.Truncated, PacketDecoder.Decode(LinkType.Nflog, [2, 0, 0, 1, 0, 0, 9, 0], out _));
        Assert.Equal(DecodeStatus.Truncated, PacketDecoder.Decode(LinkType.Nflog, [2, 0], out _));
    }

    [Fact]
    public void A_VN_Tag_between_two_VLAN_tags_is_skipped_and_both_VLAN_ids_are_kept()
    {
        var frame = TestFrames.Concat(
            TestFrames.Ethernet([], EtherType.Vlan)[..12],
            Type(EtherType.Vlan), [0x00, 0xFA],
            Type(EtherType.VnTag), [0x00, 0x00, 0x00, 0x33],
            Type(EtherType.Vlan), [0x00, 0xFB],
            Type(EtherType.Ipv4), Ipv4Syn);
        Assert.Equal(DecodeStatus.Ok, PacketDecoder.Decode(LinkType.Ethernet, frame, out var p));
        Assert.Equal(14 + 4 + 6 + 4, p.IpOffset);
        Assert.Equal(2, p.VlanCount);
        Assert.Equal(250, p.OuterVlanId);
        Assert.Equal(251, p.InnerVlanId);
    }

    [Fact]
    public void A_provider_backbone_frame_is_skipped_to_the_customers_IP()
    {
        var customer = TestFrames.Ethernet([], EtherType.Vlan)[..12];
        var frame = TestFrames.Concat(
            TestFrames.Ethernet([], EtherType.Vlan)[..12],
            Type(EtherType.Vlan), [0x0F, 0xD3],
            Type(EtherType.Pbb), [0x00, 0x01, 0x00, 0x01], customer,
            Type(EtherType.Vlan), [0x0F, 0xB4],
            Type(EtherType.Ipv4), Ipv4Syn);
        Assert.Equal(DecodeStatus.Ok, PacketDecoder.Decode(LinkType.Ethernet, frame, out var p));
        Assert.Equal(14 + 4 + 18 + 4, p.IpOffset);
        Assert.Equal(2, p.VlanCount);
        Assert.Equal(4051, p.OuterVlanId);
        Assert.Equal(4020, p.InnerVlanId);
    }

    [Fact]
    public void Bridging_tags_cut_short_or_without_end_are_bounded()
    {
        var cut = TestFrames.Concat(TestFrames.Ethernet([], EtherType.Vlan)[..12], Type(EtherType.Pbb), [0x00, 0x01]);
        Assert.Equal(DecodeStatus.Truncated, PacketDecoder.Decode(LinkType.Ethernet, cut, out _));

        var parts = new List<byte[]> { TestFrames.Ethernet([], EtherType.Vlan)[..12] };
        for (int i = 0; i < 100; i++)
        {
            parts.Add(Type(EtherType.VnTag));
            parts.Add([0, 0, 0, 0]);
        }

        parts.Add(Type(EtherType.Ipv4));
        parts.Add(Ipv4Syn);
        Assert.Equal(DecodeStatus.NotIp, PacketDecoder.Decode(LinkType.Ethernet, TestFrames.Concat([.. parts]), out _));
    }

    [Theory]
    [InlineData(new byte[] { 0x00, 0x21 }, 2)]
    [InlineData(new byte[] { 0xFF, 0x03, 0x00, 0x21 }, 4)]
    [InlineData(new byte[] { 0x21 }, 1)]
    public void PPP_frames_carry_IPv4_with_or_without_HDLC_bytes_and_protocol_compression(byte[] header, int offset)
    {
        Assert.Equal(DecodeStatus.Ok, PacketDecoder.Decode(LinkType.Ppp, TestFrames.Concat(header, Ipv4Syn), out var p));
        Assert.Equal(offset, p.IpOffset);
        Assert.Equal(DecodeStatus.Ok, PacketDecoder.Decode(LinkType.PppHdlc, TestFrames.Concat(header, Ipv4Syn), out _));
    }

    [Fact]
    public void PPP_IPv6_and_control_protocols()
    {
        Assert.Equal(DecodeStatus.Ok, PacketDecoder.Decode(LinkType.Ppp, TestFrames.Concat([0x00, 0x57], Ipv6Syn), out var p));
        Assert.Equal(6, p.IpVersion);
        Assert.Equal(DecodeStatus.NotIp, PacketDecoder.Decode(LinkType.Ppp, TestFrames.Concat([0xC0, 0x21], new byte[20]), out _));
        Assert.Equal(DecodeStatus.Truncated, PacketDecoder.Decode(LinkType.Ppp, [0xFF, 0x03, 0x00], out _));
    }

    [Fact]
    public void Cisco_HDLC_frames_carry_an_EtherType()
    {
        Assert.Equal(DecodeStatus.Ok, PacketDecoder.Decode(LinkType.CiscoHdlc, TestFrames.Concat([0x0F, 0x00, 0x08, 0x00], Ipv4Syn), out var p));
        Assert.Equal(4, p.IpOffset);
        Assert.Equal(DecodeStatus.Ok, PacketDecoder.Decode(LinkType.CiscoHdlc, TestFrames.Concat([0x8F, 0x00, 0x86, 0xDD], Ipv6Syn), out var v6));
        Assert.Equal(6, v6.IpVersion);
    }
}
