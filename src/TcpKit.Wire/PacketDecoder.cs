using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using TcpKit.Wire.Checksums;
using TcpKit.Wire.Ip;
using TcpKit.Wire.Link;
using TcpKit.Wire.Tcp;
using TcpKit.Wire.Tunnels;

namespace TcpKit.Wire;

/// <summary>Outcome of <see cref="PacketDecoder.Decode"/>; fields of <see cref="DecodedPacket"/> are filled as far as decoding got.</summary>
public enum DecodeStatus : byte
{
    /// <summary>A TCP segment (possibly with its payload cut by snaplen: see <see cref="DecodedPacket.IsTruncated"/>).</summary>
    Ok,
    /// <summary>The link layer carries something other than IPv4/IPv6 (ARP, LLC, an unknown address family).</summary>
    NotIp,
    /// <summary>An IP packet whose upper layer is not TCP.</summary>
    NotTcp,
    /// <summary>
    /// An IP fragment: the IP fields and fragment info are filled. A first fragment that holds a
    /// whole TCP header also has the TCP fields (<see cref="DecodedPacket.HasTcp"/>), with the
    /// payload length of this fragment only; later fragments are not parsed further.
    /// </summary>
    Fragment,
    /// <summary>The capture ends inside a header, so it cannot be decoded.</summary>
    Truncated,
    /// <summary>A header contradicts itself; <see cref="DecodedPacket.Error"/> says how.</summary>
    Malformed,
    UnsupportedLinkType,
}

/// <summary>
/// Key fields and offsets of one decoded frame: a plain struct the analyzer can store. Views over
/// the frame are re-created on demand from the same frame span.
/// </summary>
public struct DecodedPacket
{
    public LinkType Link;
    public WireError Error;

    /// <summary>The frame's length on the wire as the capture recorded it, or -1 when the caller did not say.</summary>
    public int OriginalLength;

    // Link layer.
    public ushort EtherType;
    public byte VlanCount;
    public ushort OuterVlanId;
    public ushort InnerVlanId;

    // Network layer.
    /// <summary>4 or 6; 0 when no IP header was decoded.</summary>
    public byte IpVersion;
    public IpAddress Source;
    public IpAddress Destination;

    /// <summary>The destination in the TCP pseudo-header: <see cref="Destination"/> unless an IPv6 routing header names a final one.</summary>
    public IpAddress PseudoHeaderDestination;
    public int IpOffset;
    public int IpHeaderLength;

    /// <summary>The IP packet length the header reports (IPv6: 40 + payload length).</summary>
    public int IpTotalLength;

    /// <summary>TTL (IPv4) or hop limit (IPv6).</summary>
    public byte Ttl;

    /// <summary>IPv4 DSCP/ECN byte or IPv6 traffic class.</summary>
    public byte TrafficClass;

    /// <summary>IPv4 identification, or the IPv6 fragment header identification.</summary>
    public uint IpIdentification;
    public bool DontFragment;
    public bool MoreFragments;

    /// <summary>Fragment offset in bytes.</summary>
    public int FragmentOffset;

    /// <summary>The upper-layer protocol (IPv4 protocol, or the end of the IPv6 extension chain).</summary>
    public byte Protocol;

    /// <summary>IPv4 options had a bad length byte (the packet is still decoded, as Wireshark does).</summary>
    public bool IpOptionsMalformed;

    /// <summary>
    /// The IP length field claimed more than the frame had on the wire; lengths were cut to the
    /// frame (Wireshark: "IPv4 total length exceeds packet length").
    /// </summary>
    public bool IpLengthExceedsFrame;

    // Transport layer.
    public int TcpOffset;
    public int TcpHeaderLength;

    /// <summary>Payload length the IP header reports.</summary>
    public int TcpPayloadLength;

    /// <summary>Payload bytes present in the frame (less than <see cref="TcpPayloadLength"/> when truncated).</summary>
    public int TcpPayloadCaptured;
    public ushort SourcePort;
    public ushort DestinationPort;
    public SeqNum Seq;
    public SeqNum Ack;
    public TcpFlags Flags;
    public ushort Window;
    public ushort TcpChecksum;
    public ushort UrgentPointer;

    /// <summary>The capture holds fewer bytes of the IP packet than it has (snaplen).</summary>
    public bool IsTruncated;

    /// <summary>
    /// The capture ends inside the TCP header's options (snaplen 68 and a SYN with 20 bytes of options, the
    /// classic case): the fixed header is decoded, options only as far as they were captured whole.
    /// </summary>
    public bool TcpHeaderCut;

    /// <summary>
    /// How many IP layers enclose the one these fields describe (IP in IP, GRE, VXLAN, Geneve, Teredo);
    /// 0 for a packet that is not tunnelled. The outer layers are re-decoded on demand with
    /// <see cref="PacketDecoder.TryDecodeIpLayer"/>.
    /// </summary>
    public byte TunnelDepth;

    /// <summary>The tunnel that carries the IP layer these fields describe (<see cref="EncapsulationKind.None"/> when not tunnelled).</summary>
    public EncapsulationKind Encapsulation;

    /// <summary>Frame offset of that tunnel's header (GRE, UDP of VXLAN/Geneve/Teredo); for IP in IP, the inner IP header.</summary>
    public int EncapsulationOffset;

    /// <summary>Frame offset of the Ethernet header the tunnel carries in front of this IP layer (VXLAN, Geneve, GRE bridging, ERSPAN); 0 when none.</summary>
    public int TunnelEthernetOffset;

    /// <summary>More than <see cref="Tunnels.Encapsulation.MaxDepth"/> nested tunnels: not followed, decoded as <see cref="DecodeStatus.Malformed"/>.</summary>
    public bool TunnelTooDeep;

    public readonly bool IsFragment => MoreFragments || FragmentOffset != 0;

    public readonly bool HasTcp => TcpHeaderLength != 0;

    public readonly bool Has(TcpFlags flag) => (Flags & flag) == flag;

    /// <summary>The IP packet bytes present (without link padding).</summary>
    public readonly ReadOnlySpan<byte> GetIpBytes(ReadOnlySpan<byte> frame)
        => frame.Slice(IpOffset, Math.Min(frame.Length - IpOffset, IpTotalLength));

    private readonly int IpWireLength => OriginalLength < 0 ? -1 : OriginalLength - IpOffset;

    public readonly Ipv4Packet GetIpv4(ReadOnlySpan<byte> frame)
        => IpVersion == 4 && Ipv4Packet.TryParse(frame[IpOffset..], IpWireLength, out var p, out _) ? p
            : throw new InvalidOperationException("The frame holds no IPv4 packet.");

    public readonly Ipv6Packet GetIpv6(ReadOnlySpan<byte> frame)
        => IpVersion == 6 && Ipv6Packet.TryParse(frame[IpOffset..], IpWireLength, out var p, out _) ? p
            : throw new InvalidOperationException("The frame holds no IPv6 packet.");

    public readonly TcpSegment GetTcp(ReadOnlySpan<byte> frame)
        => HasTcp && TcpSegment.TryParse(frame[TcpOffset..], TcpHeaderLength + TcpPayloadLength, out var s, out _) ? s
            : throw new InvalidOperationException("The frame holds no TCP segment.");

    public readonly ReadOnlySpan<byte> GetTcpOptionBytes(ReadOnlySpan<byte> frame)
        => TcpHeaderCut
            ? TcpOptionReader.WholeOptions(frame[Math.Min(TcpOffset + TcpSegment.MinHeaderLength, frame.Length)..])
            : frame.Slice(TcpOffset + TcpSegment.MinHeaderLength, TcpHeaderLength - TcpSegment.MinHeaderLength);

    public readonly TcpOptionReader GetTcpOptions(ReadOnlySpan<byte> frame) => new(GetTcpOptionBytes(frame));

    /// <summary>The TCP payload bytes present.</summary>
    public readonly ReadOnlySpan<byte> GetTcpPayload(ReadOnlySpan<byte> frame)
        => TcpHeaderCut ? [] : frame.Slice(TcpOffset + TcpHeaderLength, TcpPayloadCaptured);

    /// <summary>Unverifiable when bytes are missing: a snaplen cut, or a fragment whose segment continues elsewhere.</summary>
    public readonly ChecksumVerdict VerifyTcpChecksum(ReadOnlySpan<byte> frame)
    {
        if (IsTruncated || IsFragment)
        {
            return ChecksumVerdict.Unverifiable;
        }

        var segment = frame.Slice(TcpOffset, TcpHeaderLength + TcpPayloadLength);
        return InternetChecksum.VerifyTcp(Source, PseudoHeaderDestination, segment) ? ChecksumVerdict.Good : ChecksumVerdict.Bad;
    }

    public readonly ChecksumVerdict VerifyIpv4HeaderChecksum(ReadOnlySpan<byte> frame)
        => InternetChecksum.Sum(frame.Slice(IpOffset, IpHeaderLength)) == 0xFFFF ? ChecksumVerdict.Good : ChecksumVerdict.Bad;
}

/// <summary>One call from a captured frame to the fields the analyzer needs, allocating nothing.</summary>
public static class PacketDecoder
{
    /// <summary>
    /// Decodes a frame whose length on the wire is unknown: IP lengths beyond the bytes present
    /// are taken as a capture cut (snaplen).
    /// </summary>
    public static DecodeStatus Decode(LinkType link, ReadOnlySpan<byte> frame, out DecodedPacket packet)
        => Decode(link, frame, -1, out packet);

    /// <summary>
    /// Decodes a captured frame that had <paramref name="originalLength"/> bytes on the wire (the
    /// pcap record's original length). As in Wireshark, IP lengths beyond the bytes captured but
    /// within the original length mean truncation; beyond the original length, a lying header
    /// whose lengths are cut to the frame (<see cref="DecodedPacket.IpLengthExceedsFrame"/>).
    /// </summary>
    public static DecodeStatus Decode(LinkType link, ReadOnlySpan<byte> frame, int originalLength, out DecodedPacket packet)
        => Decode(link, frame, originalLength, int.MaxValue, out packet);

    /// <summary>
    /// The IP layer <paramref name="layer"/> of a tunnelled frame (0 = outermost), decoded as if the frame
    /// ended there: its <see cref="DecodedPacket.Protocol"/> is the tunnel's (4, 41, 47, 17). False when
    /// the frame has no such layer. For the fields of outer headers, off the per-packet path.
    /// </summary>
    public static bool TryDecodeIpLayer(LinkType link, ReadOnlySpan<byte> frame, int originalLength, int layer, out DecodedPacket packet)
    {
        var status = Decode(link, frame, originalLength, layer, out packet);
        return packet.IpVersion != 0 && packet.TunnelDepth == layer && status is not (DecodeStatus.Truncated or DecodeStatus.Malformed or DecodeStatus.NotIp);
    }

    private static DecodeStatus Decode(LinkType link, ReadOnlySpan<byte> frame, int originalLength, int stopAtLayer, out DecodedPacket packet)
    {
        packet = default;
        packet.Link = link;
        packet.OriginalLength = originalLength < 0 ? -1 : Math.Max(originalLength, frame.Length);
        switch (LinkLayer.TryDecode(link, frame, out var info))
        {
            case LinkStatus.Truncated:
                packet.Error = WireError.Truncated;
                return DecodeStatus.Truncated;
            case LinkStatus.UnsupportedLinkType:
                return DecodeStatus.UnsupportedLinkType;
        }

        packet.EtherType = info.EtherType;
        packet.VlanCount = info.VlanCount;
        packet.OuterVlanId = info.OuterVlanId;
        packet.InnerVlanId = info.InnerVlanId;
        // The first IP layer is decoded inline (not through DecodeIp) to keep plain TCP as fast as before tunnels.
        packet.IpOffset = info.NetworkOffset;
        var ip = frame[info.NetworkOffset..];
        int ipWireLength = packet.OriginalLength < 0 ? -1 : packet.OriginalLength - info.NetworkOffset;
        if (info.NetworkLength > 0)
        {
            // The link layer bounds the packet itself (PPPoE): beyond that is padding, and an IP length
            // that claims more exceeds the packet, as when it claims more than the frame.
            ip = ip[..Math.Min(info.NetworkLength, ip.Length)];
            ipWireLength = ipWireLength < 0 ? info.NetworkLength : Math.Min(ipWireLength, info.NetworkLength);
        }

        ReadOnlySpan<byte> upper;
        int upperLength;
        int upperOffset;
        if (info.EtherType == EtherType.Ipv4)
        {
            if (!Ipv4Packet.TryParse(ip, ipWireLength, out var v4, out var error))
            {
                return Fail(ref packet, error);
            }

            packet.IpVersion = 4;
            packet.Source = v4.Source;
            packet.Destination = v4.Destination;
            packet.PseudoHeaderDestination = packet.Destination;
            packet.IpHeaderLength = v4.HeaderLength;
            packet.IpTotalLength = v4.TotalLength;
            packet.Ttl = v4.TimeToLive;
            packet.TrafficClass = v4.TypeOfService;
            packet.IpIdentification = v4.Identification;
            packet.DontFragment = v4.DontFragment;
            packet.MoreFragments = v4.MoreFragments;
            packet.FragmentOffset = v4.FragmentOffsetBytes;
            packet.Protocol = v4.Protocol;
            packet.IpOptionsMalformed = !v4.OptionsWellFormed;
            packet.IpLengthExceedsFrame = v4.LengthExceedsFrame;
            packet.IsTruncated = v4.IsTruncated;
            upper = v4.Payload;
            upperLength = v4.PayloadLength;
            upperOffset = v4.HeaderLength;
        }
        else if (info.EtherType == EtherType.Ipv6)
        {
            if (!Ipv6Packet.TryParse(ip, ipWireLength, out var v6, out var error))
            {
                // The fixed header may still be whole: keep its fields for the caller's report.
                if (ip.Length >= Ipv6Packet.HeaderLength && ip[0] >> 4 == 6)
                {
                    packet.IpVersion = 6;
                    packet.Source = IpAddress.FromIPv6(ip.Slice(8, 16));
                    packet.Destination = IpAddress.FromIPv6(ip.Slice(24, 16));
                    packet.IpHeaderLength = Ipv6Packet.HeaderLength;
                    packet.IpTotalLength = Ipv6Packet.HeaderLength + BinaryPrimitives.ReadUInt16BigEndian(ip[4..]);
                }

                return Fail(ref packet, error);
            }

            packet.IpVersion = 6;
            packet.Source = v6.Source;
            packet.Destination = v6.Destination;
            packet.PseudoHeaderDestination = v6.PseudoHeaderDestination;
            packet.IpHeaderLength = Ipv6Packet.HeaderLength;
            packet.IpTotalLength = v6.TotalLength;
            packet.Ttl = v6.HopLimit;
            packet.TrafficClass = v6.TrafficClass;
            packet.IpIdentification = v6.FragmentIdentification;
            packet.MoreFragments = v6.MoreFragments;
            packet.FragmentOffset = v6.FragmentOffset * 8;
            packet.Protocol = v6.UpperLayerProtocol;
            packet.IpLengthExceedsFrame = v6.LengthExceedsFrame;
            packet.IsTruncated = v6.IsTruncated;
            upper = v6.UpperLayerPayload;
            upperLength = v6.UpperLayerLength;
            upperOffset = v6.UpperLayerOffset;
        }
        else
        {
            return DecodeStatus.NotIp;
        }

        // Tunnels are looked for only when the protocol can carry one, so plain TCP pays one compare.
        if (packet.Protocol != IpProtocol.Tcp && stopAtLayer > 0 && !packet.IsFragment && Encapsulation.MayTunnel(packet.Protocol))
        {
            return DecodeTunnel(ref packet, frame, upper, upperLength, upperOffset, stopAtLayer);
        }

        bool fragment = packet.IsFragment;
        if (fragment && (packet.FragmentOffset != 0 || packet.Protocol != IpProtocol.Tcp))
        {
            return DecodeStatus.Fragment;
        }

        if (packet.Protocol != IpProtocol.Tcp)
        {
            return DecodeStatus.NotTcp;
        }

        if (!TcpSegment.TryParse(upper, upperLength, out var tcp, out var tcpError))
        {
            if (tcpError == WireError.Truncated && !fragment && DecodeCutHeader(upper, upperLength, ref packet))
            {
                packet.TcpOffset = packet.IpOffset + upperOffset;
                return DecodeStatus.Ok;
            }

            // A first fragment too short for the TCP header is still just a fragment.
            return fragment ? DecodeStatus.Fragment : Fail(ref packet, tcpError);
        }

        packet.TcpOffset = packet.IpOffset + upperOffset;
        packet.TcpHeaderLength = tcp.HeaderLength;
        packet.TcpPayloadLength = tcp.PayloadLength;
        packet.TcpPayloadCaptured = tcp.Payload.Length;
        packet.SourcePort = tcp.SourcePort;
        packet.DestinationPort = tcp.DestinationPort;
        packet.Seq = tcp.Seq;
        packet.Ack = tcp.Ack;
        packet.Flags = tcp.Flags;
        packet.Window = tcp.Window;
        packet.TcpChecksum = tcp.Checksum;
        packet.UrgentPointer = tcp.UrgentPointer;
        return fragment ? DecodeStatus.Fragment : DecodeStatus.Ok;
    }

    /// <summary>
    /// A TCP header whose fixed 20 bytes were captured but whose options the snaplen cut: Wireshark dissects it
    /// (ports, numbers, flags, the options present, "[Packet size limited during capture]"), so we do too.
    /// </summary>
    private static bool DecodeCutHeader(ReadOnlySpan<byte> upper, int reportedLength, scoped ref DecodedPacket packet)
    {
        if (upper.Length < TcpSegment.MinHeaderLength)
        {
            return false;
        }

        int headerLength = (upper[12] >> 4) * 4;
        if (headerLength < TcpSegment.MinHeaderLength || headerLength > reportedLength || headerLength <= upper.Length)
        {
            return false;
        }

        packet.TcpHeaderCut = true;
        packet.TcpHeaderLength = headerLength;
        packet.TcpPayloadLength = reportedLength - headerLength;
        packet.TcpPayloadCaptured = 0;
        packet.SourcePort = BinaryPrimitives.ReadUInt16BigEndian(upper);
        packet.DestinationPort = BinaryPrimitives.ReadUInt16BigEndian(upper[2..]);
        packet.Seq = new SeqNum(BinaryPrimitives.ReadUInt32BigEndian(upper[4..]));
        packet.Ack = new SeqNum(BinaryPrimitives.ReadUInt32BigEndian(upper[8..]));
        packet.Flags = (TcpFlags)(BinaryPrimitives.ReadUInt16BigEndian(upper[12..]) & 0x0FFF);
        packet.Window = BinaryPrimitives.ReadUInt16BigEndian(upper[14..]);
        packet.TcpChecksum = BinaryPrimitives.ReadUInt16BigEndian(upper[16..]);
        packet.UrgentPointer = BinaryPrimitives.ReadUInt16BigEndian(upper[18..]);
        packet.IsTruncated = true;
        return true;
    }

    /// <summary>Follows tunnels from a whole IP layer whose protocol may carry one, down to the TCP inside.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static DecodeStatus DecodeTunnel(
        scoped ref DecodedPacket packet, ReadOnlySpan<byte> frame, ReadOnlySpan<byte> upper, int upperLength, int upperOffset, int stopAtLayer)
    {
        while (true)
        {
            if (packet.TunnelDepth >= stopAtLayer || !Encapsulation.TryFindInner(packet.Protocol, upper, out var inner))
            {
                return DecodeStatus.NotTcp;
            }

            if (packet.TunnelDepth >= Encapsulation.MaxDepth)
            {
                packet.TunnelTooDeep = true;
                return DecodeStatus.Malformed;
            }

            var outer = packet;
            int networkOffset = outer.IpOffset + upperOffset + inner.Offset;

            // The inner packet is bounded by the outer one's payload length, not only by the frame.
            int networkLength = Math.Max(1, upperLength - inner.Offset);
            packet = default;
            packet.Link = outer.Link;
            packet.OriginalLength = outer.OriginalLength;
            packet.EtherType = outer.EtherType;
            packet.VlanCount = outer.VlanCount;
            packet.OuterVlanId = outer.OuterVlanId;
            packet.InnerVlanId = outer.InnerVlanId;
            packet.TunnelDepth = (byte)(outer.TunnelDepth + 1);
            packet.Encapsulation = inner.Kind;
            packet.EncapsulationOffset = outer.IpOffset + upperOffset + inner.EncapsulationOffset;
            packet.TunnelEthernetOffset = inner.EthernetOffset < 0 ? 0 : outer.IpOffset + upperOffset + inner.EthernetOffset;
            if (DecodeIp(ref packet, frame, networkOffset, networkLength, inner.EtherType, out upper, out upperLength, out upperOffset) != DecodeStatus.Ok)
            {
                // An inner header too short or contradictory: the outer layer is what can be shown.
                packet = outer;
                return DecodeStatus.NotTcp;
            }

            if (packet.Protocol == IpProtocol.Tcp || packet.IsFragment || !Encapsulation.MayTunnel(packet.Protocol))
            {
                return DecodeTransport(ref packet, upper, upperLength, upperOffset);
            }
        }
    }

    /// <summary>The TCP header (or the fragment/not-TCP verdict) of a decoded IP layer.</summary>
    private static DecodeStatus DecodeTransport(scoped ref DecodedPacket packet, ReadOnlySpan<byte> upper, int upperLength, int upperOffset)
    {
        bool fragment = packet.IsFragment;
        if (fragment && (packet.FragmentOffset != 0 || packet.Protocol != IpProtocol.Tcp))
        {
            return DecodeStatus.Fragment;
        }

        if (packet.Protocol != IpProtocol.Tcp)
        {
            return DecodeStatus.NotTcp;
        }

        if (!TcpSegment.TryParse(upper, upperLength, out var tcp, out var tcpError))
        {
            if (tcpError == WireError.Truncated && !fragment && DecodeCutHeader(upper, upperLength, ref packet))
            {
                packet.TcpOffset = packet.IpOffset + upperOffset;
                return DecodeStatus.Ok;
            }

            // A first fragment too short for the TCP header is still just a fragment.
            return fragment ? DecodeStatus.Fragment : Fail(ref packet, tcpError);
        }

        packet.TcpOffset = packet.IpOffset + upperOffset;
        packet.TcpHeaderLength = tcp.HeaderLength;
        packet.TcpPayloadLength = tcp.PayloadLength;
        packet.TcpPayloadCaptured = tcp.Payload.Length;
        packet.SourcePort = tcp.SourcePort;
        packet.DestinationPort = tcp.DestinationPort;
        packet.Seq = tcp.Seq;
        packet.Ack = tcp.Ack;
        packet.Flags = tcp.Flags;
        packet.Window = tcp.Window;
        packet.TcpChecksum = tcp.Checksum;
        packet.UrgentPointer = tcp.UrgentPointer;
        return fragment ? DecodeStatus.Fragment : DecodeStatus.Ok;
    }

    /// <summary>Decodes a tunnelled IPv4/IPv6 header at <paramref name="networkOffset"/> into the IP fields of <paramref name="packet"/>.</summary>
    private static DecodeStatus DecodeIp(
        scoped ref DecodedPacket packet, ReadOnlySpan<byte> frame, int networkOffset, int networkLength, ushort etherType,
        out ReadOnlySpan<byte> upper, out int upperLength, out int upperOffset)
    {
        packet.IpOffset = networkOffset;
        var ip = frame[networkOffset..];
        int ipWireLength = packet.OriginalLength < 0 ? -1 : packet.OriginalLength - networkOffset;
        if (networkLength > 0)
        {
            // The link layer bounds the packet itself (PPPoE): beyond that is padding, and an IP length
            // that claims more exceeds the packet, as when it claims more than the frame.
            ip = ip[..Math.Min(networkLength, ip.Length)];
            ipWireLength = ipWireLength < 0 ? networkLength : Math.Min(ipWireLength, networkLength);
        }

        upper = default;
        upperLength = 0;
        upperOffset = 0;
        if (etherType == EtherType.Ipv4)
        {
            if (!Ipv4Packet.TryParse(ip, ipWireLength, out var v4, out var error))
            {
                return Fail(ref packet, error);
            }

            packet.IpVersion = 4;
            packet.Source = v4.Source;
            packet.Destination = v4.Destination;
            packet.PseudoHeaderDestination = packet.Destination;
            packet.IpHeaderLength = v4.HeaderLength;
            packet.IpTotalLength = v4.TotalLength;
            packet.Ttl = v4.TimeToLive;
            packet.TrafficClass = v4.TypeOfService;
            packet.IpIdentification = v4.Identification;
            packet.DontFragment = v4.DontFragment;
            packet.MoreFragments = v4.MoreFragments;
            packet.FragmentOffset = v4.FragmentOffsetBytes;
            packet.Protocol = v4.Protocol;
            packet.IpOptionsMalformed = !v4.OptionsWellFormed;
            packet.IpLengthExceedsFrame = v4.LengthExceedsFrame;
            packet.IsTruncated = v4.IsTruncated;
            upper = v4.Payload;
            upperLength = v4.PayloadLength;
            upperOffset = v4.HeaderLength;
        }
        else if (etherType == EtherType.Ipv6)
        {
            if (!Ipv6Packet.TryParse(ip, ipWireLength, out var v6, out var error))
            {
                // The fixed header may still be whole: keep its fields for the caller's report.
                if (ip.Length >= Ipv6Packet.HeaderLength && ip[0] >> 4 == 6)
                {
                    packet.IpVersion = 6;
                    packet.Source = IpAddress.FromIPv6(ip.Slice(8, 16));
                    packet.Destination = IpAddress.FromIPv6(ip.Slice(24, 16));
                    packet.IpHeaderLength = Ipv6Packet.HeaderLength;
                    packet.IpTotalLength = Ipv6Packet.HeaderLength + BinaryPrimitives.ReadUInt16BigEndian(ip[4..]);
                }

                return Fail(ref packet, error);
            }

            packet.IpVersion = 6;
            packet.Source = v6.Source;
            packet.Destination = v6.Destination;
            packet.PseudoHeaderDestination = v6.PseudoHeaderDestination;
            packet.IpHeaderLength = Ipv6Packet.HeaderLength;
            packet.IpTotalLength = v6.TotalLength;
            packet.Ttl = v6.HopLimit;
            packet.TrafficClass = v6.TrafficClass;
            packet.IpIdentification = v6.FragmentIdentification;
            packet.MoreFragments = v6.MoreFragments;
            packet.FragmentOffset = v6.FragmentOffset * 8;
            packet.Protocol = v6.UpperLayerProtocol;
            packet.IpLengthExceedsFrame = v6.LengthExceedsFrame;
            packet.IsTruncated = v6.IsTruncated;
            upper = v6.UpperLayerPayload;
            upperLength = v6.UpperLayerLength;
            upperOffset = v6.UpperLayerOffset;
        }
        else
        {
            return DecodeStatus.NotIp;
        }

        return DecodeStatus.Ok;
    }

    private static DecodeStatus Fail(ref DecodedPacket packet, WireError error)
    {
        packet.Error = error;
        return error == WireError.Truncated ? DecodeStatus.Truncated : DecodeStatus.Malformed;
    }
}
