using System.Buffers.Binary;
using TcpKit.Wire.Link;

namespace TcpKit.Wire.Tunnels;

/// <summary>How an inner IP packet is carried inside an outer one.</summary>
public enum EncapsulationKind : byte
{
    None,
    /// <summary>IP directly in IP: protocol 4 (IPv4) or 41 (IPv6, also 6in4/6to4), RFC 2003 / RFC 4213.</summary>
    IpInIp,
    /// <summary>GRE, RFC 2784 with the key and sequence fields of RFC 2890.</summary>
    Gre,
    /// <summary>ERSPAN type I, II or III mirrored Ethernet inside GRE.</summary>
    Erspan,
    /// <summary>VXLAN over UDP port 4789, RFC 7348.</summary>
    Vxlan,
    /// <summary>Geneve over UDP port 6081, RFC 8926.</summary>
    Geneve,
    /// <summary>Teredo over UDP port 3544, RFC 4380.</summary>
    Teredo,
}

/// <summary>Where an encapsulated packet starts inside an IP payload.</summary>
public readonly struct InnerPacket
{
    public InnerPacket(EncapsulationKind kind, int offset, ushort etherType, int encapsulationOffset, int ethernetOffset = -1)
    {
        EthernetOffset = ethernetOffset;
        Kind = kind;
        Offset = offset;
        EtherType = etherType;
        EncapsulationOffset = encapsulationOffset;
    }

    public EncapsulationKind Kind { get; }

    /// <summary>Offset of the inner IP header from the start of the outer IP payload.</summary>
    public int Offset { get; }

    /// <summary><see cref="Link.EtherType.Ipv4"/> or <see cref="Link.EtherType.Ipv6"/>.</summary>
    public ushort EtherType { get; }

    /// <summary>Offset of the tunnel header (GRE, VXLAN, Geneve, Teredo) from the start of the outer IP payload; 0 for IP in IP.</summary>
    public int EncapsulationOffset { get; }

    /// <summary>Offset of the inner Ethernet header (transparent bridging, ERSPAN, VXLAN, Geneve) from the start of the outer IP payload; -1 when none.</summary>
    public int EthernetOffset { get; }
}

/// <summary>
/// Finds an IP packet tunnelled in an IP payload, as Wireshark's dissectors do. Only called when the
/// outer protocol (4, 41, 47) or a UDP port (4789, 6081, 3544) says so, so plain TCP never pays for it.
/// Views only: nothing is allocated and every length is checked against the bytes present.
/// </summary>
public static class Encapsulation
{
    /// <summary>Tunnels inside tunnels beyond this are not followed: the packet is dropped as malformed.</summary>
    public const int MaxDepth = 4;

    public const byte IpInIpProtocol = 4;
    public const byte Ipv6InIpProtocol = 41;
    public const byte GreProtocol = 47;

    public const ushort VxlanPort = 4789;
    public const ushort GenevePort = 6081;
    public const ushort TeredoPort = 3544;

    /// <summary>GRE protocol type of transparent Ethernet bridging (RFC 1701 registry).</summary>
    public const ushort TransparentEthernetBridging = 0x6558;
    public const ushort ErspanTypeII = 0x88BE;
    public const ushort ErspanTypeIII = 0x22EB;

    public const int UdpHeaderLength = 8;
    public const int VxlanHeaderLength = 8;
    public const int GeneveHeaderLength = 8;

    /// <summary>True when <paramref name="protocol"/> may carry a tunnel (cheap pre-check for the decoder).</summary>
    public static bool MayTunnel(byte protocol)
        => protocol is IpInIpProtocol or Ipv6InIpProtocol or GreProtocol or IpProtocol.Udp;

    /// <summary>
    /// Looks for an IPv4/IPv6 packet inside <paramref name="payload"/> (the outer IP payload present in
    /// the capture). False when the payload is no tunnel we follow, or the tunnel carries no IP.
    /// </summary>
    public static bool TryFindInner(byte protocol, ReadOnlySpan<byte> payload, out InnerPacket inner)
    {
        inner = default;
        switch (protocol)
        {
            case IpInIpProtocol:
                return IpAt(EncapsulationKind.IpInIp, payload, 0, 0, EtherType.Ipv4, out inner);
            case Ipv6InIpProtocol:
                return IpAt(EncapsulationKind.IpInIp, payload, 0, 0, EtherType.Ipv6, out inner);
            case GreProtocol:
                return TryGre(payload, out inner);
            case IpProtocol.Udp:
                return TryUdp(payload, out inner);
            default:
                return false;
        }
    }

    /// <summary>RFC 2784 section 2 / RFC 2890 section 2: C, K and S flags add 4 bytes each; version 0 only.</summary>
    private static bool TryGre(ReadOnlySpan<byte> gre, out InnerPacket inner)
    {
        inner = default;
        if (gre.Length < 4)
        {
            return false;
        }

        ushort flags = BinaryPrimitives.ReadUInt16BigEndian(gre);
        ushort type = BinaryPrimitives.ReadUInt16BigEndian(gre[2..]);

        // Version 1 is PPTP's enhanced GRE (PPP inside); the routing bit (RFC 1701) adds a variable
        // source-route list that RFC 2784 deprecates: neither is followed.
        if ((flags & 0x0007) != 0 || (flags & 0x4000) != 0)
        {
            return false;
        }

        int length = 4 + ((flags & 0x8000) != 0 ? 4 : 0) + ((flags & 0x2000) != 0 ? 4 : 0) + ((flags & 0x1000) != 0 ? 4 : 0);
        switch (type)
        {
            case EtherType.Ipv4:
            case EtherType.Ipv6:
                return IpAt(EncapsulationKind.Gre, gre, length, 0, type, out inner);
            case TransparentEthernetBridging:
                return EthernetAt(EncapsulationKind.Gre, gre, length, 0, out inner);
            case ErspanTypeII:
                // Type I has no sequence number and no ERSPAN header; type II (version 1) has 8 bytes.
                if ((flags & 0x1000) == 0)
                {
                    return EthernetAt(EncapsulationKind.Erspan, gre, length, 0, out inner);
                }

                return gre.Length > length && gre[length] >> 4 == 1 && EthernetAt(EncapsulationKind.Erspan, gre, length + 8, 0, out inner);
            case ErspanTypeIII:
                // Type III (version 2): 12 bytes, then 8 platform-specific bytes when the O bit (last bit) is set.
                if (gre.Length < length + 12 || gre[length] >> 4 != 2)
                {
                    return false;
                }

                return EthernetAt(EncapsulationKind.Erspan, gre, length + 12 + ((gre[length + 11] & 1) != 0 ? 8 : 0), 0, out inner);
            default:
                return false;
        }
    }

    /// <summary>
    /// UDP tunnels by port, the lower port first as Wireshark's UDP dissector tries them.
    /// </summary>
    private static bool TryUdp(ReadOnlySpan<byte> udp, out InnerPacket inner)
    {
        inner = default;
        if (udp.Length < UdpHeaderLength)
        {
            return false;
        }

        ushort source = BinaryPrimitives.ReadUInt16BigEndian(udp);
        ushort destination = BinaryPrimitives.ReadUInt16BigEndian(udp[2..]);
        ushort low = Math.Min(source, destination);
        ushort high = Math.Max(source, destination);
        return IsTunnelPort(low) ? TryUdpPort(low, udp, out inner) : IsTunnelPort(high) && TryUdpPort(high, udp, out inner);
    }

    private static bool IsTunnelPort(ushort port) => port is VxlanPort or GenevePort or TeredoPort;

    private static bool TryUdpPort(ushort port, ReadOnlySpan<byte> udp, out InnerPacket inner)
    {
        inner = default;
        const int at = UdpHeaderLength;
        switch (port)
        {
            case VxlanPort:
                // RFC 7348 section 5: 8 bytes (flags, VNI), then the inner Ethernet frame.
                return udp.Length >= at + VxlanHeaderLength && EthernetAt(EncapsulationKind.Vxlan, udp, at + VxlanHeaderLength, at, out inner);
            case GenevePort:
                {
                    // RFC 8926 section 3.4: version 0, option length in 4-byte words, protocol type.
                    if (udp.Length < at + GeneveHeaderLength || udp[at] >> 6 != 0)
                    {
                        return false;
                    }

                    int length = GeneveHeaderLength + (udp[at] & 0x3F) * 4;
                    ushort type = BinaryPrimitives.ReadUInt16BigEndian(udp[(at + 2)..]);
                    return type switch
                    {
                        TransparentEthernetBridging => EthernetAt(EncapsulationKind.Geneve, udp, at + length, at, out inner),
                        EtherType.Ipv4 or EtherType.Ipv6 => IpAt(EncapsulationKind.Geneve, udp, at + length, at, type, out inner),
                        _ => false,
                    };
                }

            case TeredoPort:
                return TryTeredo(udp, out inner);
            default:
                return false;
        }
    }

    /// <summary>
    /// RFC 4380 section 5.1.1: an optional authentication indicator (type 1: id and value lengths,
    /// client id, value, 8-byte nonce, confirmation byte), then an optional origin indicator (type 0,
    /// 8 bytes), then IPv6.
    /// </summary>
    private static bool TryTeredo(ReadOnlySpan<byte> udp, out InnerPacket inner)
    {
        inner = default;
        const int start = UdpHeaderLength;
        int at = start;
        if (udp.Length >= at + 4 && BinaryPrimitives.ReadUInt16BigEndian(udp[at..]) == 1)
        {
            at += 4 + udp[at + 2] + udp[at + 3] + 8 + 1;
        }

        if (udp.Length >= at + 2 && BinaryPrimitives.ReadUInt16BigEndian(udp[at..]) == 0)
        {
            at += 8;
        }

        return IpAt(EncapsulationKind.Teredo, udp, at, start, EtherType.Ipv6, out inner);
    }

    private static bool IpAt(EncapsulationKind kind, ReadOnlySpan<byte> payload, int offset, int tunnelOffset, ushort etherType, out InnerPacket inner)
    {
        inner = default;

        // The version nibble must match what the carrier announced, as the IP dissectors require.
        if (offset >= payload.Length || payload[offset] >> 4 != (etherType == EtherType.Ipv4 ? 4 : 6))
        {
            return false;
        }

        inner = new InnerPacket(kind, offset, etherType, tunnelOffset);
        return true;
    }

    private static bool EthernetAt(EncapsulationKind kind, ReadOnlySpan<byte> payload, int offset, int tunnelOffset, out InnerPacket inner)
    {
        inner = default;
        if (offset >= payload.Length
            || LinkLayer.TryDecode(LinkType.Ethernet, payload[offset..], out var link) != LinkStatus.Ok
            || link.EtherType is not (EtherType.Ipv4 or EtherType.Ipv6))
        {
            return false;
        }

        if (!IpAt(kind, payload, offset + link.NetworkOffset, tunnelOffset, link.EtherType, out inner))
        {
            return false;
        }

        inner = new InnerPacket(kind, inner.Offset, inner.EtherType, tunnelOffset, offset);
        return true;
    }
}
