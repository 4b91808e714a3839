using System.Buffers.Binary;
using System.Diagnostics;
using Trace = TcpKit.Analysis.Tests.Support.Trace;
using TcpKit.Analysis.Fields;
using TcpKit.Analysis.Filters;
using TcpKit.Analysis.Output;
using TcpKit.Analysis.Tests.Support;
using TcpKit.Wire;
using TcpKit.Wire.Capture;
using TcpKit.Wire.Ip;
using TcpKit.Wire.Link;
using static TcpKit.Wire.Tcp.TcpFlags;

namespace TcpKit.Analysis.Tests.Tunnels;

/// <summary>
/// TCP carried in tunnels, analysed as tshark 4.0.17 does: every IP layer's fields outer first, streams keyed
/// on the inner 4-tuple, and the layer operator (ip.src#2) of display filters. Expected values are tshark's on
/// the same frames; the oracle tests re-run tshark when it is installed.
/// </summary>
public class TunnelAnalysisTests
{
    private static readonly IpAddress A4 = IpAddress.FromIPv4(203, 0, 113, 1);
    private static readonly IpAddress B4 = IpAddress.FromIPv4(203, 0, 113, 2);
    private static readonly IpAddress A6 = IpAddress.Parse("2001:db8:ff::1");
    private static readonly IpAddress B6 = IpAddress.Parse("2001:db8:ff::2");

    private static Trace Connection(string client = "10.0.0.1", string server = "10.0.0.9") => new Trace(40000, 80, client, server)
        .Add(1000.0, true, 1000, 0, Syn, 1000)
        .Add(1001.0, false, 5000, 1001, Syn | Ack, 1000)
        .Add(1002.0, true, 1001, 5001, Ack, 1000)
        .Add(1003.0, true, 1001, 5001, Psh | Ack, 1000, 5);

    private static byte[] Outer(byte protocol, byte[] payload, bool v6 = false)
    {
        int header = v6 ? 40 : 20;
        var bytes = new byte[header + payload.Length];
        if (v6)
        {
            new Ipv6Header { NextHeader = protocol, HopLimit = 60, Source = A6, Destination = B6 }.Emit(bytes, payload.Length);
        }
        else
        {
            new Ipv4Header { Identification = 7, TimeToLive = 60, Protocol = protocol, Source = A4, Destination = B4 }.Emit(bytes, payload.Length);
        }

        payload.CopyTo(bytes, header);
        return bytes;
    }

    private static byte[] Ethernet(byte[] ip, ushort etherType, ulong source = 0x0200000000AAUL)
    {
        var frame = new byte[14 + ip.Length];
        new EthernetHeader { Source = new MacAddress(source), Destination = new MacAddress(0x0200000000BBUL), EtherType = etherType }.Emit(frame);
        ip.CopyTo(frame, 14);
        return frame;
    }

    private static byte[] Udp(ushort destination, byte[] payload)
    {
        var bytes = new byte[8 + payload.Length];
        BinaryPrimitives.WriteUInt16BigEndian(bytes, 50000);
        BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(2), destination);
        BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(4), (ushort)bytes.Length);
        payload.CopyTo(bytes, 8);
        return bytes;
    }

    private static byte[] Cat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();

    /// <summary>The trace's frames, each wrapped by <paramref name="wrap"/> (given the inner IPv4 packet).</summary>
    private static List<byte[]> Wrapped(Trace trace, int count, Func<byte[], byte[]> wrap)
        => [.. Enumerable.Range(0, count).Select(i => wrap(trace.IpPacket(i)))];

    private static byte[] FourInFour(byte[] ip) => Ethernet(Outer(4, ip), EtherType.Ipv4);

    private static byte[] GreKey(byte[] ip) => Ethernet(Outer(47, Cat([0x20, 0, 0x08, 0x00, 0, 0, 0, 42], ip)), EtherType.Ipv4);

    private static byte[] VxlanV6(byte[] ip) => Ethernet(Outer(17, Udp(4789, Cat([0x08, 0, 0, 0, 0, 0, 7, 0], Ethernet(ip, EtherType.Ipv4, 0x0200000000CCUL))), v6: true), EtherType.Ipv6);

    private static string WritePcap(IEnumerable<byte[]> frames)
    {
        var path = Path.Combine(Path.GetTempPath(), $"tcpkit-tunnel-{Guid.NewGuid():N}.pcap");
        using var w = PcapWriter.Create(path, LinkType.Ethernet);
        long ns = 1_000_000_000_000L;
        foreach (var f in frames)
        {
            w.WritePacket(ns, f);
            ns += 1_000_000_000L;
        }

        return path;
    }

    private delegate void FrameAction(in FieldContext c);

    private static void Each(string pcap, FrameAction action)
    {
        using var reader = CaptureReader.Open(pcap);
        var pipeline = new CapturePipeline();
        while (reader.TryRead(out var packet))
        {
            action(pipeline.Next(packet));
        }
    }

    private static List<string> Fields(List<byte[]> frames, params string[] names)
    {
        var path = WritePcap(frames);
        try
        {
            var printer = new FieldsPrinter(names, "|");
            var lines = new List<string>();
            Each(path, (in FieldContext c) => lines.Add(printer.Format(c)));
            return lines;
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static List<long> Select(List<byte[]> frames, string filter)
    {
        var f = DisplayFilter.Compile(filter);
        var path = WritePcap(frames);
        try
        {
            var selected = new List<long>();
            Each(path, (in FieldContext c) =>
            {
                if (f.Matches(c))
                {
                    selected.Add(c.Number);
                }
            });
            return selected;
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static readonly string[] LayerFields = ["ip.src", "ip.dst", "ipv6.src", "ip.proto", "ip.ttl", "ip.version", "eth.src", "eth.type", "tcp.stream", "tcp.seq", "tcp.completeness"];

    [Fact]
    public void IP_in_IP_prints_both_headers_outer_first_and_analyses_the_inner_connection()
    {
        var lines = Fields(Wrapped(Connection(), 4, FourInFour), LayerFields);
        Assert.Equal("203.0.113.1,10.0.0.1|203.0.113.2,10.0.0.9||4,6|60,64|4,4|02:00:00:00:00:aa|0x0800|0|0|0", lines[0]);
        Assert.Equal("203.0.113.1,10.0.0.1|203.0.113.2,10.0.0.9||4,6|60,64|4,4|02:00:00:00:00:aa|0x0800|0|1|7", lines[3]);
    }

    [Fact]
    public void VXLAN_over_IPv6_prints_both_Ethernet_headers_and_each_IP_version_in_its_own_field()
    {
        var lines = Fields(Wrapped(Connection(), 4, VxlanV6), LayerFields);
        Assert.Equal("10.0.0.1|10.0.0.9|2001:db8:ff::1|6|64|6,4|02:00:00:00:00:aa,02:00:00:00:00:cc|0x86dd,0x0800|0|0|0", lines[0]);
    }

    [Fact]
    public void The_same_inner_connection_in_two_tunnels_is_one_stream_as_in_tshark()
    {
        var trace = Connection();
        var frames = new List<byte[]> { FourInFour(trace.IpPacket(0)), GreKey(trace.IpPacket(1)), trace.IpPacket(2) is var ip ? Ethernet(ip, EtherType.Ipv4) : [], VxlanV6(trace.IpPacket(3)) };
        Assert.Equal(["0|0|0", "0|0|1", "0|1|3", "0|1|7"], Fields(frames, "tcp.stream", "tcp.seq", "tcp.completeness"));
    }

    [Fact]
    public void The_summary_line_names_the_inner_addresses_and_TCP()
    {
        var path = WritePcap(Wrapped(Connection(), 1, GreKey));
        try
        {
            var summary = new SummaryPrinter();
            var lines = new List<string>();
            Each(path, (in FieldContext c) => lines.Add(summary.Format(c, 6)));
            Assert.Equal("    1   0.000000     10.0.0.1 → 10.0.0.9     TCP 82 40000 → 80 [SYN] Seq=0 Win=1000 Len=0", lines[0]);
            if (File.Exists("/usr/bin/tshark") || File.Exists("/usr/local/bin/tshark"))
            {
                Assert.Equal(Tshark(path), lines);
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>Frames 1-4: 4in4; 5-8: GRE; 9-12: VXLAN over IPv6; 13: plain. Each filter's frames are tshark's.</summary>
    private static List<byte[]> Mixed()
    {
        var frames = new List<byte[]>();
        frames.AddRange(Wrapped(Connection(), 4, FourInFour));
        frames.AddRange(Wrapped(Connection("10.1.0.1", "10.1.0.9"), 4, GreKey));
        frames.AddRange(Wrapped(Connection("10.2.0.1", "10.2.0.9"), 4, VxlanV6));
        frames.Add(Ethernet(Connection("10.3.0.1").IpPacket(0), EtherType.Ipv4));
        return frames;
    }

    public static TheoryData<string, string> LayerFilters() => new()
    {
        { "ip.src#1 == 203.0.113.1", "1,2,3,4,5,6,7,8" },
        { "ip.src#2 == 10.0.0.1", "1,3,4" },
        { "ip.src#1 == 10.2.0.1", "9,11,12" },
        { "ip.addr#2 == 10.1.0.9", "5,6,7,8" },
        { "ip.addr#[1-2] == 10.1.0.9", "5,6,7,8" },
        { "ip.addr#[2:1] == 203.0.113.2", "" },
        { "ip.proto#1 == 47", "5,6,7,8" },
        { "ip.ttl#2 == 64", "1,2,3,4,5,6,7,8" },
        { "ip.src == 203.0.113.1", "1,2,3,4,5,6,7,8" },
        { "ipv6.src#1 == 2001:db8:ff::1", "9,10,11,12" },
        { "ip.src#3", "" },
        { "ip#2", "1,2,3,4,5,6,7,8" },
        { "tcp.port#1 == 80", "1,2,3,4,5,6,7,8,9,10,11,12,13" },
    };

    [Theory]
    [MemberData(nameof(LayerFilters))]
    public void The_layer_operator_selects_the_Nth_layer_as_tshark_does(string filter, string frames)
    {
        Assert.Equal(frames, string.Join(',', Select(Mixed(), filter)));
    }

    [Theory]
    [InlineData("ip.src#")]
    [InlineData("ip.src#[3-1]")]
    [InlineData("ip.src#0")]
    [InlineData("ip.src#[x]")]
    public void A_bad_layer_is_rejected_with_an_error(string filter)
    {
        Assert.Throws<FilterException>(() => DisplayFilter.Compile(filter));
    }

    [SkippableFact]
    public void Every_layer_filter_selects_the_frames_tshark_selects()
    {
        Skip.If(!File.Exists("/usr/bin/tshark") && !File.Exists("/usr/local/bin/tshark"), "tshark is not installed");
        var path = WritePcap(Mixed());
        try
        {
            foreach (var row in LayerFilters())
            {
                string filter = (string)row[0];
                var expected = Tshark(path, "-Y", filter, "-T", "fields", "-e", "frame.number");
                Assert.Equal($"{filter}: {string.Join(',', expected)}", $"{filter}: {string.Join(',', Select(Mixed(), filter))}");
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    [SkippableFact]
    public void Every_layer_field_equals_tshark_on_the_mixed_tunnels()
    {
        Skip.If(!File.Exists("/usr/bin/tshark") && !File.Exists("/usr/local/bin/tshark"), "tshark is not installed");
        var frames = Mixed();
        var path = WritePcap(frames);
        try
        {
            var args = new List<string> { "-T", "fields", "-E", "separator=|", "-E", "occurrence=a", "-E", "aggregator=," };
            foreach (var f in LayerFields)
            {
                args.Add("-e");
                args.Add(f);
            }

            Assert.Equal(Tshark(path, [.. args]), Fields(frames, LayerFields));
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static List<string> Tshark(string pcap, params string[] args)
    {
        var psi = new ProcessStartInfo("tshark") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "-n", "-r", pcap }.Concat(args))
        {
            psi.ArgumentList.Add(a);
        }

        using var process = Process.Start(psi)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var lines = new List<string>();
        while (process.StandardOutput.ReadLine() is { } line)
        {
            lines.Add(line);
        }

        process.WaitForExit();
        Assert.True(process.ExitCode == 0, stderr.Result);
        return lines;
    }
}
