using TcpKit.Wire.Ip;
using TcpKit.Wire.Link;
using TcpKit.Wire.Tcp;

namespace TcpKit.Wire.Tests.Packets;

/// <summary>Builds whole frames from the builders under test, plus a byte-by-byte reference checksum.</summary>
internal static class TestFrames
{
    public static readonly IpAddress ClientV4 = IpAddress.FromIPv4(192, 0, 2, 1);
    public static readonly IpAddress ServerV4 = IpAddress.FromIPv4(198, 51, 100, 7);
    public static readonly IpAddress ClientV6 = IpAddress.Parse("2001:db8::1");
    public static readonly IpAddress ServerV6 = IpAddress.Parse("2001:db8:0:1::80");
    public static readonly MacAddress ClientMac = new(0x0200_0000_0001);
    public static readonly MacAddress ServerMac = new(0x0200_0000_0002);

    /// <summary>A SYN as Linux sends it: MSS 1460, SACK_PERM, TS, NOP, WS 7.</summary>
    public static TcpHeader LinuxSyn()
    {
        var h = new TcpHeader
        {
            SourcePort = 40000,
            DestinationPort = 80,
            Seq = new SeqNum(0x1234_5678),
            Flags = TcpFlags.Syn,
            Window = 64240,
        };
        h.Options.Mss = 1460;
        h.Options.SackPermitted = true;
        h.Options.Timestamp = new TcpTimestamp(1000, 0);
        h.Options.WindowScale = 7;
        return h;
    }

    /// <summary>TCP segment bytes (header + payload) with a correct checksum.</summary>
    public static byte[] Segment(TcpHeader tcp, ReadOnlySpan<byte> payload, IpAddress src, IpAddress dst)
    {
        var bytes = new byte[tcp.HeaderLength + payload.Length];
        tcp.Emit(bytes, payload, src, dst);
        return bytes;
    }

    /// <summary>IPv4 or IPv6 packet (by address version) carrying a TCP segment.</summary>
    public static byte[] IpPacket(TcpHeader tcp, ReadOnlySpan<byte> payload, IpAddress src, IpAddress dst, byte ttl = 64, ushort id = 0x1c46)
    {
        var segment = Segment(tcp, payload, src, dst);
        int ipLength = src.IsIPv4 ? Ipv4Packet.MinHeaderLength : Ipv6Packet.HeaderLength;
        var bytes = new byte[ipLength + segment.Length];
        if (src.IsIPv4)
        {
            new Ipv4Header { Identification = id, DontFragment = true, TimeToLive = ttl, Protocol = IpProtocol.Tcp, Source = src, Destination = dst }
                .Emit(bytes, segment.Length);
        }
        else
        {
            new Ipv6Header { NextHeader = IpProtocol.Tcp, HopLimit = ttl, FlowLabel = 0xABCDE, Source = src, Destination = dst }
                .Emit(bytes, segment.Length);
        }

        segment.CopyTo(bytes.AsSpan(ipLength));
        return bytes;
    }

    public static byte[] Ethernet(ReadOnlySpan<byte> ipPacket, ushort etherType, int vlans = 0, ushort outer = 0, ushort inner = 0)
    {
        var eth = new EthernetHeader
        {
            Destination = ServerMac,
            Source = ClientMac,
            EtherType = etherType,
            VlanCount = vlans,
            OuterVlanId = outer,
            InnerVlanId = inner,
        };
        var bytes = new byte[eth.Length + ipPacket.Length];
        int n = eth.Emit(bytes);
        ipPacket.CopyTo(bytes.AsSpan(n));
        return bytes;
    }

    public static byte[] Concat(params byte[][] parts)
    {
        var all = new byte[parts.Sum(p => p.Length)];
        int at = 0;
        foreach (var p in parts)
        {
            p.CopyTo(all, at);
            at += p.Length;
        }

        return all;
    }

    /// <summary>RFC 1071 section 4.1 done the slow, obvious way: big-endian words, end-around carry.</summary>
    public static ushort ReferenceSum(ReadOnlySpan<byte> data)
    {
        uint sum = 0;
        for (int i = 0; i < data.Length; i += 2)
        {
            uint word = (uint)data[i] << 8;
            if (i + 1 < data.Length)
            {
                word |= data[i + 1];
            }

            sum += word;
            sum = (sum & 0xFFFF) + (sum >> 16);
        }

        return (ushort)sum;
    }
}
