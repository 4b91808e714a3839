using TcpKit.Wire.Ip;
using TcpKit.Wire.Tcp;

namespace TcpKit.Wire.Tests.Packets;

public class Ipv6PacketTests
{
    private static readonly byte[] Syn = TestFrames.Segment(TestFrames.LinuxSyn(), [], TestFrames.ClientV6, TestFrames.ServerV6);

    private static byte[] Packet(byte nextHeader, params byte[][] rest)
    {
        var payload = TestFrames.Concat(rest);
        var bytes = new byte[40 + payload.Length];
        new Ipv6Header
        {
            TrafficClass = 0xB8,
            FlowLabel = 0x12345,
            NextHeader = nextHeader,
            HopLimit = 57,
            Source = TestFrames.ClientV6,
            Destination = TestFrames.ServerV6,
        }.Emit(bytes, payload.Length);
        payload.CopyTo(bytes, 40);
        return bytes;
    }

    /// <summary>A generic extension header of (hdrExtLen + 1) * 8 bytes, options padded with PadN-like zeros.</summary>
    private static byte[] Ext(byte next, int hdrExtLen)
    {
        var e = new byte[(hdrExtLen + 1) * 8];
        e[0] = next;
        e[1] = (byte)hdrExtLen;
        return e;
    }

    private static byte[] Fragment(byte next, int offsetUnits, bool more, uint id)
        => [next, 0, (byte)(offsetUnits >> 5), (byte)(((offsetUnits << 3) & 0xF8) | (more ? 1 : 0)), (byte)(id >> 24), (byte)(id >> 16), (byte)(id >> 8), (byte)id];

    [Fact]
    public void Fixed_header_fields_are_read()
    {
        var bytes = Packet(IpProtocol.Tcp, Syn);
        Assert.True(Ipv6Packet.TryParse(bytes, out var p));
        Assert.Equal(6, p.Version);
        Assert.Equal(0xB8, p.TrafficClass);
        Assert.Equal(46, p.Dscp);
        Assert.Equal(0, p.Ecn);
        Assert.Equal(0x12345u, p.FlowLabel);
        Assert.Equal(Syn.Length, p.PayloadLengthField);
        Assert.Equal(57, p.HopLimit);
        Assert.Equal(TestFrames.ClientV6, p.Source);
        Assert.Equal(TestFrames.ServerV6, p.Destination);
        Assert.Equal(IpProtocol.Tcp, p.UpperLayerProtocol);
        Assert.Equal(40, p.UpperLayerOffset);
        Assert.Equal(0, p.ExtensionHeaderCount);
        Assert.False(p.HasFragmentHeader);
        Assert.True(p.UpperLayerPayload.SequenceEqual(Syn));
    }

    [Fact]
    public void Hop_by_hop_destination_options_and_routing_headers_are_walked_to_tcp()
    {
        var bytes = Packet(IpProtocol.HopByHop,
            Ext(IpProtocol.Ipv6DestinationOptions, 0),
            Ext(IpProtocol.Ipv6Routing, 1),
            Ext(IpProtocol.AuthenticationHeader, 2),
            [IpProtocol.Tcp, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], // AH: (1 + 2) * 4 = 12 bytes
            Syn);
        Assert.True(Ipv6Packet.TryParse(bytes, out var p));
        Assert.Equal(IpProtocol.Tcp, p.UpperLayerProtocol);
        Assert.Equal(40 + 8 + 16 + 24 + 12, p.UpperLayerOffset);
        Assert.Equal(4, p.ExtensionHeaderCount);
        Assert.True(p.UpperLayerPayload.SequenceEqual(Syn));
        Assert.Equal(DecodeStatus.Ok, PacketDecoder.Decode(LinkType.Ipv6, bytes, out var d));
        Assert.Equal(TcpFlags.Syn, d.Flags);
        Assert.Equal(p.UpperLayerOffset, d.TcpOffset);
    }

    [Fact]
    public void The_walk_stops_at_no_next_header_and_at_unknown_protocols()
    {
        Assert.True(Ipv6Packet.TryParse(Packet(IpProtocol.HopByHop, Ext(IpProtocol.NoNextHeader, 0)), out var p));
        Assert.Equal(IpProtocol.NoNextHeader, p.UpperLayerProtocol);
        Assert.Equal(48, p.UpperLayerOffset);
        Assert.Equal(0, p.UpperLayerLength);

        Assert.True(Ipv6Packet.TryParse(Packet(IpProtocol.Ipv6DestinationOptions, Ext(IpProtocol.Icmpv6, 0), new byte[8]), out p));
        Assert.Equal(IpProtocol.Icmpv6, p.UpperLayerProtocol);
        Assert.Equal(DecodeStatus.NotTcp, PacketDecoder.Decode(LinkType.Ipv6, Packet(IpProtocol.Udp, new byte[8]), out var d));
        Assert.Equal(IpProtocol.Udp, d.Protocol);
    }

    [Fact]
    public void First_fragment_is_recognised_and_its_next_header_followed()
    {
        var bytes = Packet(IpProtocol.Ipv6Fragment, Fragment(IpProtocol.Tcp, 0, more: true, 0xDEADBEEF), Syn);
        Assert.True(Ipv6Packet.TryParse(bytes, out var p));
        Assert.True(p.HasFragmentHeader);
        Assert.True(p.IsFragment);
        Assert.True(p.IsFirstFragment);
        Assert.Equal(0xDEADBEEFu, p.FragmentIdentification);
        Assert.Equal(IpProtocol.Tcp, p.UpperLayerProtocol);
        Assert.Equal(48, p.UpperLayerOffset);
        Assert.Equal(DecodeStatus.Fragment, PacketDecoder.Decode(LinkType.Ipv6, bytes, out var d));
        Assert.Equal(0xDEADBEEFu, d.IpIdentification);
        Assert.True(d.MoreFragments);
        Assert.True(d.HasTcp);
        Assert.Equal(TcpFlags.Syn, d.Flags);
        Assert.Equal(Checksums.ChecksumVerdict.Unverifiable, d.VerifyTcpChecksum(bytes));
    }

    [Fact]
    public void A_later_fragment_ends_the_walk_at_its_fragment_header()
    {
        // The bytes after a non-first fragment header are fragment data, even if they look like a header.
        var bytes = Packet(IpProtocol.HopByHop, Ext(IpProtocol.Ipv6Fragment, 0), Fragment(IpProtocol.HopByHop, 181, more: false, 7), Ext(IpProtocol.Tcp, 0));
        Assert.True(Ipv6Packet.TryParse(bytes, out var p));
        Assert.Equal(181, p.FragmentOffset);
        Assert.False(p.MoreFragments);
        Assert.True(p.IsFragment);
        Assert.False(p.IsFirstFragment);
        Assert.Equal(56, p.UpperLayerOffset);
        Assert.Equal(IpProtocol.HopByHop, p.UpperLayerProtocol);
        Assert.Equal(DecodeStatus.Fragment, PacketDecoder.Decode(LinkType.Ipv6, bytes, out var d));
        Assert.Equal(181 * 8, d.FragmentOffset);
    }

    [Fact]
    public void An_atomic_fragment_is_a_whole_packet()
    {
        // RFC 6946: offset 0 and M clear means the packet was never split.
        var bytes = Packet(IpProtocol.Ipv6Fragment, Fragment(IpProtocol.Tcp, 0, more: false, 1), Syn);
        Assert.True(Ipv6Packet.TryParse(bytes, out var p));
        Assert.True(p.HasFragmentHeader);
        Assert.False(p.IsFragment);
        Assert.Equal(DecodeStatus.Ok, PacketDecoder.Decode(LinkType.Ipv6, bytes, out _));
    }

    [Fact]
    public void An_extension_header_longer_than_the_payload_is_malformed()
    {
        var bytes = Packet(IpProtocol.HopByHop, Ext(IpProtocol.Tcp, 0));
        bytes[41] = 3; // claims 32 bytes where the payload length says 8
        var padded = TestFrames.Concat(bytes, new byte[40]);
        Assert.False(Ipv6Packet.TryParse(padded, out _, out var error));
        Assert.Equal(WireError.BadIpv6ExtensionHeader, error);
        Assert.Equal(DecodeStatus.Malformed, PacketDecoder.Decode(LinkType.Ipv6, padded, out var d));
        Assert.Equal(WireError.BadIpv6ExtensionHeader, d.Error);
        Assert.Equal(TestFrames.ClientV6, d.Source);
    }

    [Fact]
    public void An_extension_chain_cut_by_snaplen_is_truncated()
    {
        var bytes = Packet(IpProtocol.HopByHop, Ext(IpProtocol.Ipv6Routing, 0), Ext(IpProtocol.Tcp, 1), Syn);
        Assert.False(Ipv6Packet.TryParse(bytes.AsSpan(0, 60), out _, out var error));
        Assert.Equal(WireError.Truncated, error);
        Assert.False(Ipv6Packet.TryParse(bytes.AsSpan(0, 48), out _, out error));
        Assert.Equal(WireError.Truncated, error);
        Assert.False(Ipv6Packet.TryParse(bytes.AsSpan(0, 39), out _, out error));
        Assert.Equal(WireError.Truncated, error);
    }

    [Fact]
    public void A_payload_cut_by_snaplen_parses_and_reports_truncation()
    {
        var bytes = Packet(IpProtocol.Tcp, Syn, new byte[100]);
        Assert.True(Ipv6Packet.TryParse(bytes.AsSpan(0, 70), out var p));
        Assert.True(p.IsTruncated);
        Assert.Equal(Syn.Length + 100, p.UpperLayerLength);
        Assert.Equal(30, p.UpperLayerPayload.Length);
    }

    [Fact]
    public void A_zero_payload_length_means_an_empty_payload_as_in_wireshark()
    {
        var bytes = Packet(IpProtocol.Tcp, Syn);
        bytes[4] = bytes[5] = 0;
        Assert.True(Ipv6Packet.TryParse(bytes, out var p));
        Assert.Equal(40, p.TotalLength);
        Assert.Equal(0, p.UpperLayerPayload.Length);
        Assert.Equal(DecodeStatus.Malformed, PacketDecoder.Decode(LinkType.Ipv6, bytes, bytes.Length, out var d));
        Assert.Equal(WireError.TcpHeaderBeyondPacket, d.Error);
    }

    /// <summary>A segment routing header (RFC 8754) listing <paramref name="segments"/>, Segment List[0] last to visit.</summary>
    internal static byte[] Srh(byte next, int segmentsLeft, params IpAddress[] segments)
    {
        var h = new byte[8 + (16 * segments.Length)];
        h[0] = next;
        h[1] = (byte)(2 * segments.Length);
        h[2] = 4;
        h[3] = (byte)segmentsLeft;
        h[4] = (byte)(segments.Length - 1);
        for (int i = 0; i < segments.Length; i++)
        {
            segments[i].WriteTo(h.AsSpan(8 + (16 * i)));
        }

        return h;
    }

    [Fact]
    public void A_routing_header_with_segments_left_puts_the_final_destination_in_the_pseudo_header()
    {
        var final = IpAddress.Parse("2001:db8:ffff::99");
        var segment = TestFrames.Segment(TestFrames.LinuxSyn(), "data"u8, TestFrames.ClientV6, final);
        var bytes = Packet(IpProtocol.Ipv6Routing, Srh(IpProtocol.Tcp, 1, final, TestFrames.ServerV6), segment);
        Assert.True(Ipv6Packet.TryParse(bytes, out var p));
        Assert.Equal(TestFrames.ServerV6, p.Destination);
        Assert.Equal(final, p.PseudoHeaderDestination);
        Assert.Equal(DecodeStatus.Ok, PacketDecoder.Decode(LinkType.Ipv6, bytes, out var d));
        Assert.Equal(Checksums.ChecksumVerdict.Good, d.VerifyTcpChecksum(bytes));

        // With no segments left the packet is already at its final destination.
        var arrived = Packet(IpProtocol.Ipv6Routing, Srh(IpProtocol.Tcp, 0, final, TestFrames.ServerV6), segment);
        Assert.True(Ipv6Packet.TryParse(arrived, out p));
        Assert.Equal(TestFrames.ServerV6, p.PseudoHeaderDestination);
    }

    [Fact]
    public void A_wrong_version_nibble_is_refused()
    {
        var bytes = Packet(IpProtocol.Tcp, Syn);
        bytes[0] = 0x45;
        Assert.False(Ipv6Packet.TryParse(bytes, out _, out var error));
        Assert.Equal(WireError.BadIpVersion, error);
    }
}
