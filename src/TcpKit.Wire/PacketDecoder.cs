using System.Buffers.Binary;
using TcpKit.Wire.Checksums;
using TcpKit.Wire.Ip;
using TcpKit.Wire.Link;
using TcpKit.Wire.Tcp;

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
    private static bool DecodeCutHeader(ReadOnlySpan<byte> upper, int reportedLength, ref DecodedPacket packet)
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

    private static DecodeStatus Fail(ref DecodedPacket packet, WireError error)
    {
        packet.Error = error;
        return error == WireError.Truncated ? DecodeStatus.Truncated : DecodeStatus.Malformed;
    }
}
