using System.Buffers.Binary;

namespace TcpKit.Wire.Link;

/// <summary>What the link layer said about the network-layer packet inside a frame.</summary>
public struct LinkInfo
{
    /// <summary>Offset of the network-layer header within the frame.</summary>
    public int NetworkOffset;

    /// <summary>EtherType of the network layer; loopback address families and raw IP are mapped to 0x0800/0x86DD.</summary>
    public ushort EtherType;

    public byte VlanCount;
    public ushort OuterVlanId;
    public ushort InnerVlanId;

    /// <summary>
    /// How many bytes of the frame, from <see cref="NetworkOffset"/>, the link layer gives the network
    /// layer when it says so itself (the PPPoE length field); 0 when the network packet runs to the frame's end.
    /// </summary>
    public int NetworkLength;
}

/// <summary>Outcome of <see cref="LinkLayer.TryDecode"/>.</summary>
public enum LinkStatus : byte
{
    Ok,
    Truncated,
    UnsupportedLinkType,
}

/// <summary>Decodes the link-layer header of every <see cref="LinkType"/> TcpKit reads.</summary>
public static class LinkLayer
{
    /// <summary>Linux cooked capture v1 header length (packet type, ARPHRD, address length, 8-byte address, protocol).</summary>
    public const int SllHeaderLength = 16;

    /// <summary>Linux cooked capture v2 header length (protocol, reserved, ifindex, ARPHRD, packet type, address length, address).</summary>
    public const int Sll2HeaderLength = 20;

    /// <summary>BSD loopback header: a 4-byte address family.</summary>
    public const int NullHeaderLength = 4;

    /// <summary>AF_INET on every BSD and Linux.</summary>
    public const uint AfInet = 2;

    /// <summary>AF_INET6 differs by OS: 24 (NetBSD, OpenBSD, BSD/OS), 28 (FreeBSD, DragonFly), 30 (Darwin).</summary>
    public static bool IsAfInet6(uint family) => family is 24 or 28 or 30;

    public static LinkStatus TryDecode(LinkType link, ReadOnlySpan<byte> frame, out LinkInfo info)
    {
        info = default;
        switch (link)
        {
            case LinkType.Ethernet:
                if (!EthernetFrame.TryParse(frame, out var eth))
                {
                    return LinkStatus.Truncated;
                }

                info.NetworkOffset = eth.PayloadOffset;
                info.EtherType = eth.EtherType;
                info.VlanCount = (byte)eth.VlanCount;
                info.OuterVlanId = eth.OuterVlanId;
                info.InnerVlanId = eth.InnerVlanId;
                if (SkipBridgingTags(frame, ref info) != LinkStatus.Ok)
                {
                    return LinkStatus.Truncated;
                }

                if (info.EtherType < EtherType.MinEtherType)
                {
                    // IEEE 802.3: the field is the length of the LLC header and its payload; padding follows.
                    int length = info.EtherType;
                    int llcStart = info.NetworkOffset;
                    var status = DecodeLlc(frame, ref info);
                    if (status == LinkStatus.Ok && info.EtherType != 0)
                    {
                        info.NetworkLength = Math.Max(length - (info.NetworkOffset - llcStart), 0);
                    }

                    return status;
                }

                return SkipShims(frame, ref info);

            case LinkType.Fddi:
                // Frame control, then 6-byte destination and source; only LLC frames (FC 0101 0xxx) carry IP.
                if (frame.Length < FddiHeaderLength)
                {
                    return LinkStatus.Truncated;
                }

                info.NetworkOffset = FddiHeaderLength;
                return (frame[0] & 0xF8) == 0x50 ? DecodeLlc(frame, ref info) : LinkStatus.Ok;

            case LinkType.Nflog:
                return DecodeNflog(frame, ref info);

            case LinkType.Ppp:
            case LinkType.PppHdlc:
                return DecodePpp(frame, ref info);

            case LinkType.CiscoHdlc:
                // Address (0x0F unicast, 0x8F broadcast), control, then an EtherType.
                if (frame.Length < 4)
                {
                    return LinkStatus.Truncated;
                }

                info.EtherType = BinaryPrimitives.ReadUInt16BigEndian(frame[2..]);
                info.NetworkOffset = 4;
                return LinkStatus.Ok;

            case LinkType.LinuxSll:
                if (frame.Length < SllHeaderLength)
                {
                    return LinkStatus.Truncated;
                }

                // The protocol field holds an EtherType for the ARPHRD types that carry IP.
                info.EtherType = BinaryPrimitives.ReadUInt16BigEndian(frame[14..]);
                info.NetworkOffset = SllHeaderLength;
                return SkipVlanTags(frame, ref info) == LinkStatus.Ok ? SkipShims(frame, ref info) : LinkStatus.Truncated;

            case LinkType.LinuxSll2:
                if (frame.Length < Sll2HeaderLength)
                {
                    return LinkStatus.Truncated;
                }

                info.EtherType = BinaryPrimitives.ReadUInt16BigEndian(frame);
                info.NetworkOffset = Sll2HeaderLength;
                return SkipVlanTags(frame, ref info) == LinkStatus.Ok ? SkipShims(frame, ref info) : LinkStatus.Truncated;

            case LinkType.Null:
            case LinkType.Loop:
                if (frame.Length < NullHeaderLength)
                {
                    return LinkStatus.Truncated;
                }

                uint family = BinaryPrimitives.ReadUInt32BigEndian(frame);

                // DLT_NULL stores the family in the capturing host's byte order; families are
                // small, so a value with bits in the upper half was written little-endian.
                if (link == LinkType.Null && (family & 0xFFFF_0000) != 0)
                {
                    family = BinaryPrimitives.ReverseEndianness(family);
                }

                info.NetworkOffset = NullHeaderLength;
                info.EtherType = family == AfInet ? EtherType.Ipv4 : IsAfInet6(family) ? EtherType.Ipv6 : (ushort)0;
                return LinkStatus.Ok;

            case LinkType.Raw:
                if (frame.Length < 1)
                {
                    return LinkStatus.Truncated;
                }

                info.EtherType = (frame[0] >> 4) switch { 4 => EtherType.Ipv4, 6 => EtherType.Ipv6, _ => 0 };
                return LinkStatus.Ok;

            case LinkType.Ipv4:
                info.EtherType = EtherType.Ipv4;
                return LinkStatus.Ok;

            case LinkType.Ipv6:
                info.EtherType = EtherType.Ipv6;
                return LinkStatus.Ok;

            default:
                return LinkStatus.UnsupportedLinkType;
        }
    }

    /// <summary>FDDI header: frame control, destination and source addresses.</summary>
    public const int FddiHeaderLength = 13;

    /// <summary>NFLOG header: address family, version, resource id.</summary>
    public const int NflogHeaderLength = 4;

    /// <summary>NFULA_PAYLOAD, the NFLOG TLV that holds the packet.</summary>
    public const ushort NflogPayloadType = 9;

    /// <summary>Bridging tags (VLAN, VN-Tag, PBB) walked at most, so a frame of nothing but tags costs little.</summary>
    public const int MaxBridgingTags = 16;

    /// <summary>
    /// Steps over the data-centre tags that may follow the VLAN tags, and the VLAN tags after them:
    /// VN-Tag (IEEE 802.1Qbh: 4 bytes, then an EtherType) and 802.1ah provider backbone bridging (a 4-byte
    /// I-TAG, the customer's destination and source, then an EtherType). VLAN IDs keep counting across them.
    /// </summary>
    private static LinkStatus SkipBridgingTags(ReadOnlySpan<byte> frame, ref LinkInfo info)
    {
        if (info.EtherType is not (EtherType.VnTag or EtherType.Pbb))
        {
            return LinkStatus.Ok;
        }

        int tags = info.VlanCount;
        for (int walked = 0; walked < MaxBridgingTags; walked++)
        {
            // The tag's body, between its EtherType and the next one: a VLAN's TCI, a VN-Tag, or a PBB
            // I-TAG with the customer's two addresses.
            int at = info.NetworkOffset;
            int body = info.EtherType switch
            {
                EtherType.VnTag => 4,
                EtherType.Pbb => 4 + 12,
                _ when EtherType.IsVlanTag(info.EtherType) => 2,
                _ => 0,
            };
            if (body == 0)
            {
                break;
            }

            if (frame.Length < at + body + 2)
            {
                return LinkStatus.Truncated;
            }

            if (EtherType.IsVlanTag(info.EtherType))
            {
                ushort vid = (ushort)(BinaryPrimitives.ReadUInt16BigEndian(frame[at..]) & 0x0FFF);
                if (tags == 0)
                {
                    info.OuterVlanId = vid;
                }
                else if (tags == 1)
                {
                    info.InnerVlanId = vid;
                }

                tags++;
            }

            info.EtherType = BinaryPrimitives.ReadUInt16BigEndian(frame[(at + body)..]);
            info.NetworkOffset = at + body + 2;
        }

        info.VlanCount = (byte)Math.Min(tags, byte.MaxValue);
        return LinkStatus.Ok;
    }

    /// <summary>
    /// An IEEE 802.2 LLC header at <see cref="LinkInfo.NetworkOffset"/>: SNAP (AA AA 03, an OUI of 00-00-00 or
    /// 00-00-F8, then an EtherType; RFC 1042) or the IP SAP (06 06 03, RFC 948). Anything else is not IP.
    /// </summary>
    private static LinkStatus DecodeLlc(ReadOnlySpan<byte> frame, ref LinkInfo info)
    {
        int at = info.NetworkOffset;
        info.EtherType = 0;
        if (frame.Length < at + 3)
        {
            return LinkStatus.Truncated;
        }

        if (frame[at] == 0xAA && frame[at + 1] == 0xAA && frame[at + 2] == 0x03)
        {
            if (frame.Length < at + 8)
            {
                return LinkStatus.Truncated;
            }

            if (frame[at + 3] == 0 && frame[at + 4] == 0 && frame[at + 5] is 0x00 or 0xF8)
            {
                info.EtherType = BinaryPrimitives.ReadUInt16BigEndian(frame[(at + 6)..]);
                info.NetworkOffset = at + 8;
            }
        }
        else if (frame[at] == 0x06 && frame[at + 1] == 0x06 && frame[at + 2] == 0x03)
        {
            info.EtherType = EtherType.Ipv4;
            info.NetworkOffset = at + 3;
        }

        return LinkStatus.Ok;
    }

    /// <summary>
    /// Linux NFLOG: the address family (AF_INET 2, AF_INET6 10), then type-length-value attributes whose
    /// length (header included, padded to 4 bytes) and type are in the capturing host's byte order; the
    /// NFULA_PAYLOAD attribute is the IP packet.
    /// </summary>
    private static LinkStatus DecodeNflog(ReadOnlySpan<byte> frame, ref LinkInfo info)
    {
        if (frame.Length < NflogHeaderLength)
        {
            return LinkStatus.Truncated;
        }

        byte family = frame[0];
        int at = NflogHeaderLength;
        while (at + 4 <= frame.Length)
        {
            // The host's byte order is not recorded: a length that fits the frame read little-endian is taken
            // as little-endian (every common capturing host), else big-endian.
            int length = BinaryPrimitives.ReadUInt16LittleEndian(frame[at..]);
            int type = BinaryPrimitives.ReadUInt16LittleEndian(frame[(at + 2)..]);
            if (length < 4 || at + length > frame.Length)
            {
                int bigLength = BinaryPrimitives.ReadUInt16BigEndian(frame[at..]);
                if (bigLength >= 4 && at + bigLength <= frame.Length)
                {
                    length = bigLength;
                    type = BinaryPrimitives.ReadUInt16BigEndian(frame[(at + 2)..]);
                }
            }

            if (length < 4)
            {
                return LinkStatus.Truncated;
            }

            // The kernel sets NLA_F_NESTED / NLA_F_NET_BYTEORDER in the top bits of the type.
            if ((type & 0x3FFF) == NflogPayloadType)
            {
                info.NetworkOffset = at + 4;
                info.NetworkLength = Math.Min(length, frame.Length - at) - 4;
                info.EtherType = family switch
                {
                    2 => EtherType.Ipv4,
                    10 => EtherType.Ipv6,
                    _ => info.NetworkOffset < frame.Length ? (frame[info.NetworkOffset] >> 4) switch { 4 => EtherType.Ipv4, 6 => EtherType.Ipv6, _ => (ushort)0 } : (ushort)0,
                };
                return info.NetworkLength > 0 ? LinkStatus.Ok : LinkStatus.Truncated;
            }

            at += (length + 3) & ~3;
        }

        // No packet attribute (a log message without the packet): not IP.
        return LinkStatus.Ok;
    }

    /// <summary>
    /// PPP (RFC 1661): optional HDLC-like address and control bytes (FF 03, RFC 1662), then the protocol field,
    /// one byte when compressed (an odd first byte, RFC 1661 6.5); 0x0021 is IPv4, 0x0057 IPv6.
    /// </summary>
    private static LinkStatus DecodePpp(ReadOnlySpan<byte> frame, ref LinkInfo info)
    {
        int at = frame.Length >= 2 && frame[0] == 0xFF && frame[1] == 0x03 ? 2 : 0;
        if (frame.Length < at + 1)
        {
            return LinkStatus.Truncated;
        }

        int protocol;
        if ((frame[at] & 1) == 1)
        {
            protocol = frame[at];
            at += 1;
        }
        else
        {
            if (frame.Length < at + 2)
            {
                return LinkStatus.Truncated;
            }

            protocol = BinaryPrimitives.ReadUInt16BigEndian(frame[at..]);
            at += 2;
        }

        info.NetworkOffset = at;
        info.EtherType = protocol switch { 0x21 => EtherType.Ipv4, 0x57 => EtherType.Ipv6, _ => (ushort)0 };
        return LinkStatus.Ok;
    }

    /// <summary>MPLS labels a stack may hold before it is taken as malformed (real stacks hold a few).</summary>
    public const int MaxMplsLabels = 16;

    /// <summary>PPPoE session header (version/type, code, session id, length) plus the PPP protocol field.</summary>
    public const int PppoeSessionHeaderLength = 8;

    /// <summary>
    /// Steps over the shims that sit between the link header and IP on access and core networks: an MPLS
    /// label stack (RFC 3032; the payload's version nibble says IPv4 or IPv6, as there is no type field),
    /// and a PPPoE session header with its PPP protocol (RFC 2516, RFC 1661: 0x0021 IPv4, 0x0057 IPv6).
    /// Anything else inside them keeps the shim's EtherType, so the frame is reported as not IP.
    /// </summary>
    private static LinkStatus SkipShims(ReadOnlySpan<byte> frame, ref LinkInfo info)
    {
        if (info.EtherType is EtherType.Mpls or EtherType.MplsMulticast)
        {
            int at = info.NetworkOffset;
            for (int labels = 0; ; labels++)
            {
                if (frame.Length < at + 4)
                {
                    return LinkStatus.Truncated;
                }

                bool bottomOfStack = (frame[at + 2] & 0x01) != 0;
                at += 4;
                if (bottomOfStack)
                {
                    break;
                }

                if (labels + 1 == MaxMplsLabels)
                {
                    return LinkStatus.Ok;
                }
            }

            if (frame.Length <= at)
            {
                return LinkStatus.Truncated;
            }

            ushort inner = (frame[at] >> 4) switch { 4 => EtherType.Ipv4, 6 => EtherType.Ipv6, _ => (ushort)0 };
            if (inner != 0)
            {
                info.EtherType = inner;
                info.NetworkOffset = at;
            }
        }
        else if (info.EtherType == EtherType.PppoeSession)
        {
            int at = info.NetworkOffset;
            if (frame.Length < at + PppoeSessionHeaderLength)
            {
                return LinkStatus.Truncated;
            }

            ushort inner = BinaryPrimitives.ReadUInt16BigEndian(frame[(at + 6)..]) switch { 0x0021 => EtherType.Ipv4, 0x0057 => EtherType.Ipv6, _ => (ushort)0 };
            if (inner != 0)
            {
                info.EtherType = inner;
                info.NetworkOffset = at + PppoeSessionHeaderLength;

                // The PPPoE length covers the PPP protocol field and the packet; what follows is padding.
                info.NetworkLength = Math.Max(BinaryPrimitives.ReadUInt16BigEndian(frame[(at + 4)..]) - 2, 0);
            }
        }

        return LinkStatus.Ok;
    }

    /// <summary>Cooked captures may keep 802.1Q tags when the NIC did not strip them.</summary>
    private static LinkStatus SkipVlanTags(ReadOnlySpan<byte> frame, ref LinkInfo info)
    {
        int tags = 0;
        while (EtherType.IsVlanTag(info.EtherType))
        {
            int at = info.NetworkOffset;
            if (frame.Length < at + EthernetFrame.VlanTagLength || tags == EthernetFrame.MaxVlanTags)
            {
                return LinkStatus.Truncated;
            }

            ushort vid = (ushort)(BinaryPrimitives.ReadUInt16BigEndian(frame[at..]) & 0x0FFF);
            if (tags == 0)
            {
                info.OuterVlanId = vid;
            }
            else if (tags == 1)
            {
                info.InnerVlanId = vid;
            }

            tags++;
            info.EtherType = BinaryPrimitives.ReadUInt16BigEndian(frame[(at + 2)..]);
            info.NetworkOffset = at + EthernetFrame.VlanTagLength;
        }

        info.VlanCount = (byte)tags;
        return LinkStatus.Ok;
    }
}
