using System.Buffers.Binary;
using TcpKit.Wire.Tcp;

namespace TcpKit.Wire.Ip;

/// <summary>
/// The TCP segment an ICMP or ICMPv6 error message quotes: its IP header and as much of the TCP header
/// as the router or host copied (RFC 792: the IP header and at least the first 8 bytes of the datagram,
/// i.e. ports and sequence number; RFC 1812 4.3.2.3 and RFC 4443 2.4: as much as fits). The quoted
/// header belongs to a packet the ICMP sender received, so it names the TCP endpoints in its own direction.
/// </summary>
public struct IcmpQuote
{
    /// <summary>ICMP or ICMPv6 type and code of the error message.</summary>
    public byte Type;
    public byte Code;

    /// <summary>Offset of the quoted IP header in the frame; offsets in <see cref="Inner"/> are relative to it.</summary>
    public int Offset;

    /// <summary>The quoted IP header's fields and, when <see cref="HasTcpHeader"/>, the quoted TCP header's.</summary>
    public DecodedPacket Inner;

    /// <summary>At least ports and sequence number are quoted (the 8 bytes every ICMP error carries).</summary>
    public bool HasPorts;

    /// <summary>A whole TCP header is quoted (acknowledgment number, flags, window, checksum, options).</summary>
    public bool HasTcpHeader;

    /// <summary>The quoted IP packet's bytes in <paramref name="frame"/>.</summary>
    public readonly ReadOnlySpan<byte> GetBytes(ReadOnlySpan<byte> frame) => frame[Offset..];

    /// <summary>ICMP types that quote the offending datagram: destination unreachable, source quench, redirect, time exceeded, parameter problem.</summary>
    public static bool IsIcmpv4Error(byte type) => type is 3 or 4 or 5 or 11 or 12;

    /// <summary>ICMPv6 error types (RFC 4443 2.1: types below 128): destination unreachable, packet too big, time exceeded, parameter problem.</summary>
    public static bool IsIcmpv6Error(byte type) => type is >= 1 and <= 4;

    /// <summary>
    /// Reads the TCP segment quoted by an ICMP(v6) error message in a frame the decoder found to carry
    /// ICMP (<see cref="DecodeStatus.NotTcp"/>). False when the message is no error, quotes something
    /// other than TCP, or is too short to name the TCP ports.
    /// </summary>
    public static bool TryDecode(in DecodedPacket outer, ReadOnlySpan<byte> frame, out IcmpQuote quote)
    {
        quote = default;
        if (outer.IsFragment || outer.IpVersion == 0)
        {
            return false;
        }

        int icmpOffset;
        if (outer.IpVersion == 4 && outer.Protocol == IpProtocol.Icmp)
        {
            icmpOffset = outer.IpOffset + outer.IpHeaderLength;
        }
        else if (outer.IpVersion == 6 && outer.Protocol == IpProtocol.Icmpv6)
        {
            if (!Ipv6Packet.TryParse(frame[outer.IpOffset..], out var v6, out _))
            {
                return false;
            }

            icmpOffset = outer.IpOffset + v6.UpperLayerOffset;
        }
        else
        {
            return false;
        }

        // The ICMP header is 8 bytes (type, code, checksum, 4 bytes that depend on the type); the quote follows.
        int end = Math.Min(frame.Length, outer.IpOffset + outer.IpTotalLength);
        if (icmpOffset + 8 > end)
        {
            return false;
        }

        byte type = frame[icmpOffset];
        if (outer.IpVersion == 4 ? !IsIcmpv4Error(type) : !IsIcmpv6Error(type))
        {
            return false;
        }

        quote.Type = type;
        quote.Code = frame[icmpOffset + 1];
        quote.Offset = icmpOffset + 8;
        var quoted = frame[quote.Offset..end];
        var status = PacketDecoder.Decode(LinkType.Raw, quoted, out quote.Inner);
        if (quote.Inner.IpVersion != outer.IpVersion || quote.Inner.Protocol != IpProtocol.Tcp || quote.Inner.IsFragment && quote.Inner.FragmentOffset != 0)
        {
            return false;
        }

        // Wireshark dissects only the first 8 bytes of the header a redirect quotes (no stream, no flags).
        bool redirect = outer.IpVersion == 4 && type == 5;
        if (status == DecodeStatus.Ok && !redirect)
        {
            quote.HasPorts = true;
            quote.HasTcpHeader = true;
            return true;
        }

        // Only the first bytes of the TCP header: ports and sequence number (RFC 792's 64 bits).
        int tcpOffset = QuotedUpperOffset(quoted, quote.Inner);
        if (tcpOffset < 0 || tcpOffset + 8 > quoted.Length)
        {
            return false;
        }

        var tcp = quoted[tcpOffset..];
        if (redirect)
        {
            // Keep the IP fields only: the TCP header fields beyond the first 8 bytes are not shown.
            ClearTcpFields(ref quote.Inner);
        }

        quote.Inner.SourcePort = BinaryPrimitives.ReadUInt16BigEndian(tcp);
        quote.Inner.DestinationPort = BinaryPrimitives.ReadUInt16BigEndian(tcp[2..]);
        quote.Inner.Seq = new SeqNum(BinaryPrimitives.ReadUInt32BigEndian(tcp[4..]));
        quote.HasPorts = true;
        return true;
    }

    private static void ClearTcpFields(ref DecodedPacket packet)
    {
        packet.TcpOffset = 0;
        packet.TcpHeaderLength = 0;
        packet.TcpPayloadLength = 0;
        packet.TcpPayloadCaptured = 0;
        packet.Ack = default;
        packet.Flags = default;
        packet.Window = 0;
        packet.TcpChecksum = 0;
        packet.UrgentPointer = 0;
    }

    private static int QuotedUpperOffset(ReadOnlySpan<byte> quoted, in DecodedPacket inner)
    {
        if (inner.IpVersion == 4)
        {
            return inner.IpHeaderLength;
        }

        return Ipv6Packet.TryParse(quoted, out var v6, out _) ? v6.UpperLayerOffset : -1;
    }
}
