using System.Buffers.Binary;
using System.Diagnostics;
using TcpKit.Wire.Checksums;
using TcpKit.Wire.Ip;
using TcpKit.Wire.Link;
using TcpKit.Wire.Tcp;
using TcpKit.Wire.Tunnels;

namespace TcpKit.Wire.Tests.Packets;

/// <summary>TCP inside tunnels: the decoder reaches the inner segment, and tshark 4.0 agrees on every layer.</summary>
public class TunnelTests
{
    private static readonly IpAddress OuterA4 = IpAddress.FromIPv4(203, 0, 113, 1);
    private static readonly IpAddress OuterB4 = IpAddress.FromIPv4(203, 0, 113, 2);
    private static readonly IpAddress OuterA6 = IpAddress.Parse("2001:db8:ff::1");
    private static readonly IpAddress OuterB6 = IpAddress.Parse("2001:db8:ff::2");

    private static byte[] Inner4() => TestFrames.IpPacket(TestFrames.LinuxSyn(), [1, 2, 3], TestFrames.ClientV4, TestFrames.ServerV4);

    private static byte[] Inner6() => TestFrames.IpPacket(TestFrames.LinuxSyn(), [1, 2, 3], TestFrames.ClientV6, TestFrames.ServerV6);

    /// <summary>An outer IPv4 or IPv6 header (by address version) with <paramref name="protocol"/> around <paramref name="payload"/>.</summary>
    private static byte[] Outer(byte protocol, byte[] payload, IpAddress src, IpAddress dst)
    {
        int header = src.IsIPv4 ? Ipv4Packet.MinHeaderLength : Ipv6Packet.HeaderLength;
        var bytes = new byte[header + payload.Length];
        if (src.IsIPv4)
        {
            new Ipv4Header { Identification = 7, TimeToLive = 60, Protocol = protocol, Source = src, Destination = dst }.Emit(bytes, payload.Length);
        }
        else
        {
            new Ipv6Header { NextHeader = protocol, HopLimit = 60, Source = src, Destination = dst }.Emit(bytes, payload.Length);
        }

        payload.CopyTo(bytes, header);
        return bytes;
    }

    /// <summary>A UDP datagram with checksum 0 (RFC 768: none computed), which tshark does not check.</summary>
    private static byte[] Udp(ushort source, ushort destination, byte[] payload)
    {
        var bytes = new byte[8 + payload.Length];
        BinaryPrimitives.WriteUInt16BigEndian(bytes, source);
        BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(2), destination);
        BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(4), (ushort)bytes.Length);
        payload.CopyTo(bytes, 8);
        return bytes;
    }

    /// <summary>GRE (RFC 2784/2890) with the optional checksum, key and sequence number.</summary>
    private static byte[] Gre(ushort type, byte[] payload, uint? key = null, uint? sequence = null, bool checksum = false)
    {
        var header = new List<byte>();
        ushort flags = (ushort)((checksum ? 0x8000 : 0) | (key is null ? 0 : 0x2000) | (sequence is null ? 0 : 0x1000));
        header.AddRange([(byte)(flags >> 8), (byte)flags, (byte)(type >> 8), (byte)type]);
        int checksumAt = header.Count;
        if (checksum)
        {
            header.AddRange([0, 0, 0, 0]);
        }

        foreach (var word in new[] { key, sequence })
        {
            if (word is { } w)
            {
                header.AddRange([(byte)(w >> 24), (byte)(w >> 16), (byte)(w >> 8), (byte)w]);
            }
        }

        var bytes = TestFrames.Concat([.. header], payload);
        if (checksum)
        {
            BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(checksumAt), TcpKit.Wire.Checksums.InternetChecksum.Compute(bytes));
        }

        return bytes;
    }

    private static byte[] InnerEthernet(byte[] ip, ushort etherType, int vlans = 0) => TestFrames.Ethernet(ip, etherType, vlans, outer: 42);

    private static byte[] Vxlan(uint vni, byte[] ethernet)
        => TestFrames.Concat([0x08, 0, 0, 0, (byte)(vni >> 16), (byte)(vni >> 8), (byte)vni, 0], ethernet);

    /// <summary>Geneve (RFC 8926) with one 8-byte option (class 0x0102, type 3).</summary>
    private static byte[] Geneve(uint vni, ushort type, byte[] payload)
        => TestFrames.Concat([0x02, 0, (byte)(type >> 8), (byte)type, (byte)(vni >> 16), (byte)(vni >> 8), (byte)vni, 0, 0x01, 0x02, 0x03, 0x01, 0xde, 0xad, 0xbe, 0xef], payload);

    /// <summary>Teredo with an origin indicator (RFC 4380 section 5.1.1: port and address obfuscated).</summary>
    private static byte[] TeredoWithOrigin(byte[] ipv6) => TestFrames.Concat([0x00, 0x00, 0xf2, 0x27, 0x3f, 0xff, 0xff, 0xfe], ipv6);

    private static byte[] TeredoWithAuth(byte[] ipv6) => TestFrames.Concat([0x00, 0x01, 2, 1, 0xaa, 0xbb, 0xcc, 1, 2, 3, 4, 5, 6, 7, 8, 0], ipv6);

    private static byte[] Eth4(byte[] ip) => TestFrames.Ethernet(ip, EtherType.Ipv4);

    private static byte[] Eth6(byte[] ip) => TestFrames.Ethernet(ip, EtherType.Ipv6);

    /// <summary>One frame per tunnel kind, each carrying a TCP SYN from port 40000 (LinuxSyn) inside.</summary>
    public static (string Name, byte[] Frame, EncapsulationKind Kind, int Depth)[] Frames() =>
    [
        ("4in4", Eth4(Outer(4, Inner4(), OuterA4, OuterB4)), EncapsulationKind.IpInIp, 1),
        ("6in4", Eth4(Outer(41, Inner6(), OuterA4, OuterB4)), EncapsulationKind.IpInIp, 1),
        ("4in6", Eth6(Outer(4, Inner4(), OuterA6, OuterB6)), EncapsulationKind.IpInIp, 1),
        ("6in6", Eth6(Outer(41, Inner6(), OuterA6, OuterB6)), EncapsulationKind.IpInIp, 1),
        ("gre", Eth4(Outer(47, Gre(EtherType.Ipv4, Inner4()), OuterA4, OuterB4)), EncapsulationKind.Gre, 1),
        ("gre-csum-key-seq-v6", Eth4(Outer(47, Gre(EtherType.Ipv6, Inner6(), key: 0x1234, sequence: 9, checksum: true), OuterA4, OuterB4)), EncapsulationKind.Gre, 1),
        ("gre-teb-vlan", Eth6(Outer(47, Gre(Encapsulation.TransparentEthernetBridging, InnerEthernet(Inner4(), EtherType.Ipv4, vlans: 1), key: 77), OuterA6, OuterB6)), EncapsulationKind.Gre, 1),
        ("vxlan", Eth4(Outer(17, Udp(51000, 4789, Vxlan(123, InnerEthernet(Inner4(), EtherType.Ipv4))), OuterA4, OuterB4)), EncapsulationKind.Vxlan, 1),
        ("vxlan-v6-inner", Eth4(Outer(17, Udp(51000, 4789, Vxlan(0xABCDEF, InnerEthernet(Inner6(), EtherType.Ipv6))), OuterA4, OuterB4)), EncapsulationKind.Vxlan, 1),
        ("geneve", Eth4(Outer(17, Udp(51001, 6081, Geneve(5, Encapsulation.TransparentEthernetBridging, InnerEthernet(Inner4(), EtherType.Ipv4))), OuterA4, OuterB4)), EncapsulationKind.Geneve, 1),
        ("geneve-ip", Eth6(Outer(17, Udp(51001, 6081, Geneve(6, EtherType.Ipv6, Inner6())), OuterA6, OuterB6)), EncapsulationKind.Geneve, 1),
        ("teredo-origin", Eth4(Outer(17, Udp(3544, 51002, TeredoWithOrigin(Inner6())), OuterA4, OuterB4)), EncapsulationKind.Teredo, 1),
        ("teredo-auth", Eth4(Outer(17, Udp(51002, 3544, TeredoWithAuth(Inner6())), OuterA4, OuterB4)), EncapsulationKind.Teredo, 1),
        ("gre-in-vxlan", Eth4(Outer(17, Udp(51000, 4789, Vxlan(9, InnerEthernet(Outer(47, Gre(EtherType.Ipv6, Inner6()), OuterA4, OuterB4), EtherType.Ipv4))), OuterA4, OuterB4)), EncapsulationKind.Gre, 2),
    ];

    [Fact]
    public void TCP_inside_every_tunnel_kind_is_decoded_with_the_inner_addresses_and_ports()
    {
        foreach (var (name, frame, kind, depth) in Frames())
        {
            var status = PacketDecoder.Decode(LinkType.Ethernet, frame, out var p);
            Assert.True(status == DecodeStatus.Ok, $"{name}: {status} {p.Error}");
            Assert.Equal(kind, p.Encapsulation);
            Assert.Equal(depth, p.TunnelDepth);
            Assert.Equal(40000, p.SourcePort);
            Assert.Equal(3, p.TcpPayloadLength);
            Assert.True(p.Source == TestFrames.ClientV4 || p.Source == TestFrames.ClientV6, name);
            Assert.Equal(ChecksumVerdict.Good, p.VerifyTcpChecksum(frame));

            // Every enclosing layer decodes on its own, outermost first, with the tunnel's protocol.
            for (int layer = 0; layer < depth; layer++)
            {
                Assert.True(PacketDecoder.TryDecodeIpLayer(LinkType.Ethernet, frame, -1, layer, out var outer), name);
                Assert.Contains(outer.Protocol, new byte[] { 4, 41, 47, 17 });
                Assert.Equal(layer, outer.TunnelDepth);
            }

            Assert.False(PacketDecoder.TryDecodeIpLayer(LinkType.Ethernet, frame, -1, depth + 1, out _), name);
        }
    }

    [Fact]
    public void Plain_TCP_and_plain_UDP_are_not_tunnels()
    {
        Assert.Equal(DecodeStatus.Ok, PacketDecoder.Decode(LinkType.Ethernet, Eth4(Inner4()), out var tcp));
        Assert.Equal(0, tcp.TunnelDepth);
        Assert.Equal(DecodeStatus.NotTcp, PacketDecoder.Decode(LinkType.Ethernet, Eth4(Outer(17, Udp(53, 5353, [1, 2, 3, 4]), OuterA4, OuterB4)), out var udp));
        Assert.Equal(EncapsulationKind.None, udp.Encapsulation);
    }

    [Fact]
    public void A_tunnel_whose_inner_packet_is_cut_short_shows_the_outer_layer()
    {
        var frame = Eth4(Outer(4, Inner4(), OuterA4, OuterB4));
        var cut = frame.AsSpan(0, 14 + 20 + 10).ToArray();
        Assert.Equal(DecodeStatus.NotTcp, PacketDecoder.Decode(LinkType.Ethernet, cut, out var p));
        Assert.Equal(OuterA4, p.Source);
        Assert.Equal(0, p.TunnelDepth);
    }

    [Fact]
    public void GRE_version_1_and_the_routing_bit_are_not_followed()
    {
        var v1 = Gre(EtherType.Ipv4, Inner4());
        v1[1] |= 1;
        Assert.Equal(DecodeStatus.NotTcp, PacketDecoder.Decode(LinkType.Ethernet, Eth4(Outer(47, v1, OuterA4, OuterB4)), out _));
        var routing = Gre(EtherType.Ipv4, Inner4());
        routing[0] |= 0x40;
        Assert.Equal(DecodeStatus.NotTcp, PacketDecoder.Decode(LinkType.Ethernet, Eth4(Outer(47, routing, OuterA4, OuterB4)), out _));
    }

    [Fact]
    public void Tunnels_nested_deeper_than_the_limit_are_a_malformed_drop_not_a_recursion()
    {
        var packet = Inner4();
        for (int i = 0; i < 200; i++)
        {
            packet = Outer(4, packet, OuterA4, OuterB4);
        }

        var status = PacketDecoder.Decode(LinkType.Ethernet, Eth4(packet), out var p);
        Assert.Equal(DecodeStatus.Malformed, status);
        Assert.True(p.TunnelTooDeep);
        Assert.Equal(Encapsulation.MaxDepth, p.TunnelDepth);

        // At the limit itself the segment is still reached.
        packet = Inner4();
        for (int i = 0; i < Encapsulation.MaxDepth; i++)
        {
            packet = Outer(4, packet, OuterA4, OuterB4);
        }

        Assert.Equal(DecodeStatus.Ok, PacketDecoder.Decode(LinkType.Ethernet, Eth4(packet), out p));
        Assert.Equal(Encapsulation.MaxDepth, p.TunnelDepth);
    }

    [Fact]
    public void Random_bytes_after_every_tunnel_header_never_crash_the_decoder()
    {
        var random = new Random(5);
        foreach (var (_, frame, _, _) in Frames())
        {
            for (int i = 0; i < 300; i++)
            {
                var copy = (byte[])frame.Clone();
                int at = random.Next(14, copy.Length);
                copy[at] = (byte)random.Next(256);
                int length = random.Next(14, copy.Length + 1);
                PacketDecoder.Decode(LinkType.Ethernet, copy.AsSpan(0, length), out _);
                PacketDecoder.TryDecodeIpLayer(LinkType.Ethernet, copy.AsSpan(0, length), -1, 0, out _);
            }
        }
    }

    [SkippableFact]
    public void Tshark_sees_the_same_layers_addresses_and_ports_in_every_tunnel()
    {
        Skip.If(!File.Exists("/usr/bin/tshark") && !File.Exists("/usr/local/bin/tshark"), "tshark is not installed");
        var frames = Frames();
        var path = Path.Combine(Path.GetTempPath(), $"tcpkit-tunnels-{Environment.ProcessId}.pcap");
        try
        {
            PcapFile.Write(path, LinkType.Ethernet, 65535, [.. frames.Select(f => (f.Frame, f.Frame.Length))]);
            var rows = Tshark(path, "ip.src", "ipv6.src", "ip.dst", "ipv6.dst", "tcp.srcport", "tcp.dstport", "tcp.checksum.status", "_ws.col.Protocol");
            Assert.Equal(frames.Length, rows.Count);
            for (int i = 0; i < frames.Length; i++)
            {
                var frame = frames[i].Frame;
                PacketDecoder.Decode(LinkType.Ethernet, frame, out var p);
                var v4Src = new List<string>();
                var v6Src = new List<string>();
                var v4Dst = new List<string>();
                var v6Dst = new List<string>();
                for (int layer = 0; layer <= p.TunnelDepth; layer++)
                {
                    Assert.True(PacketDecoder.TryDecodeIpLayer(LinkType.Ethernet, frame, -1, layer, out var l));
                    (l.IpVersion == 4 ? v4Src : v6Src).Add(l.Source.ToString());
                    (l.IpVersion == 4 ? v4Dst : v6Dst).Add(l.Destination.ToString());
                }

                string expected = string.Join('|', string.Join(',', v4Src), string.Join(',', v6Src), string.Join(',', v4Dst), string.Join(',', v6Dst), p.SourcePort, p.DestinationPort, "1", "TCP");
                Assert.Equal($"{frames[i].Name}: {expected}", $"{frames[i].Name}: {string.Join('|', rows[i])}");
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static List<string[]> Tshark(string pcap, params string[] fields)
    {
        var psi = new ProcessStartInfo("tshark") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "-n", "-r", pcap, "-o", "tcp.check_checksum:TRUE", "-T", "fields", "-E", "separator=|", "-E", "occurrence=a", "-E", "aggregator=," })
        {
            psi.ArgumentList.Add(a);
        }

        foreach (var f in fields)
        {
            psi.ArgumentList.Add("-e");
            psi.ArgumentList.Add(f);
        }

        using var process = Process.Start(psi)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var lines = new List<string[]>();
        while (process.StandardOutput.ReadLine() is { } line)
        {
            lines.Add(line.Split('|'));
        }

        process.WaitForExit();
        Assert.True(process.ExitCode == 0, stderr.Result);
        return lines;
    }
}
