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
                return LinkStatus.Ok;

            case LinkType.LinuxSll:
                if (frame.Length < SllHeaderLength)
                {
                    return LinkStatus.Truncated;
                }

                // The protocol field holds an EtherType for the ARPHRD types that carry IP.
                info.EtherType = BinaryPrimitives.ReadUInt16BigEndian(frame[14..]);
                info.NetworkOffset = SllHeaderLength;
                return SkipVlanTags(frame, ref info);

            case LinkType.LinuxSll2:
                if (frame.Length < Sll2HeaderLength)
                {
                    return LinkStatus.Truncated;
                }

                info.EtherType = BinaryPrimitives.ReadUInt16BigEndian(frame);
                info.NetworkOffset = Sll2HeaderLength;
                return SkipVlanTags(frame, ref info);

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
