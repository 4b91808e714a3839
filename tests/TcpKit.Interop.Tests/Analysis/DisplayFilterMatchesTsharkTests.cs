using TcpKit.Analysis;
using TcpKit.Analysis.Filters;
using TcpKit.Interop.Tests.Infrastructure;
using TcpKit.Wire;
using TcpKit.Wire.Capture;

namespace TcpKit.Interop.Tests.Analysis;

/// <summary>Display filters select exactly the frames <c>tshark -Y</c> selects, on all analysis captures joined into one file.</summary>
[Collection(AnalysisCaptureCollection.Name)]
public class DisplayFilterMatchesTsharkTests(AnalysisCaptures captures)
{
    public static readonly string[] Filters =
    [
        "tcp", "ip", "ipv6", "eth", "frame", "!tcp", "not ip", "ip && tcp", "ipv6 and tcp", "ip || ipv6",
        "tcp.port == 7001", "tcp.port eq 7005", "tcp.port != 7001", "tcp.port ne 7002", "tcp.srcport == 7003", "tcp.dstport == 7003",
        "tcp.srcport > 40000", "tcp.dstport < 7004", "tcp.srcport >= 7004", "tcp.dstport <= 7002", "tcp.port gt 60000", "tcp.port lt 7003",
        "tcp.port ge 7006", "tcp.port le 7001", "tcp.port in {7001, 7004}", "tcp.port in {7002..7004}", 
        "tcp.port not in {7001, 7002}", "!(tcp.port in {7001..7003})",
        "tcp.stream == 0", "tcp.stream == 3", "tcp.stream in {1..4}", "tcp.stream > 2 && tcp.stream < 6",
        "tcp.len > 0", "tcp.len == 0", "tcp.len >= 1000", "tcp.len < 100 and tcp.len > 0", "tcp.len == 1448",
        "tcp.seq == 1", "tcp.seq == 0", "tcp.ack == 1", "tcp.ack > 100000", "tcp.nxtseq == 1",
        "tcp.flags.syn == 1", "tcp.flags.syn == 1 && tcp.flags.ack == 0", "tcp.flags.syn == 1 && tcp.flags.ack == 1", "tcp.flags.fin == 1",
        "tcp.flags.reset == 1", "tcp.flags.push == 1", "tcp.flags.reset eq 1 or tcp.flags.fin eq 1", "tcp.flags == 0x012", "tcp.flags == 0x0002",
        "tcp.flags & 0x02", "tcp.flags & 0x05", "tcp.flags & 0x11 == 0x11", "tcp.flags.syn", "tcp.flags.ece == 1", "tcp.flags.cwr == 0",
        "tcp.window_size == 0", "tcp.window_size > 60000", "tcp.window_size_value < 100", "tcp.window_size_scalefactor == 128",
        "tcp.window_size_scalefactor == -1", "tcp.hdr_len == 32", "tcp.hdr_len > 32",
        "tcp.analysis", "tcp.analysis.flags", "!tcp.analysis.flags", "tcp.analysis.flags && !tcp.analysis.window_update",
        "tcp.analysis.retransmission", "tcp.analysis.fast_retransmission", "tcp.analysis.spurious_retransmission", "tcp.analysis.out_of_order",
        "tcp.analysis.lost_segment", "tcp.analysis.ack_lost_segment", "tcp.analysis.duplicate_ack", "tcp.analysis.duplicate_ack_num == 1",
        "tcp.analysis.duplicate_ack_num >= 3", "tcp.analysis.zero_window", "tcp.analysis.zero_window_probe", "tcp.analysis.window_full",
        "tcp.analysis.window_update", "tcp.analysis.keep_alive", "tcp.analysis.keep_alive_ack", "tcp.analysis.reused_ports",
        "tcp.analysis.acks_frame", "tcp.analysis.acks_frame > 100", "tcp.analysis.ack_rtt > 0.001", "tcp.analysis.ack_rtt < 0.0005",
        "tcp.analysis.initial_rtt", "tcp.analysis.bytes_in_flight > 10000", "tcp.analysis.bytes_in_flight <= 1448", "tcp.analysis.push_bytes_sent > 5000",
        "tcp.analysis.rto", "tcp.analysis.rto > 0.1", "tcp.completeness == 31", "tcp.completeness < 16", "tcp.time_delta > 0.5",
        "tcp.time_relative > 1", "frame.number < 10", "frame.number in {1, 5, 10..20}", "frame.len > 1000", "frame.len == 66",
        "frame.cap_len < 70", "frame.time_delta > 0.2",
        "ip.src == 198.18.0.1", "ip.dst == 198.18.0.1", "ip.addr == 198.18.0.2", "ip.addr == 198.18.0.0/24", "ip.src == 198.18.0.0/31",
        "ip.dst != 198.18.0.2", "ip.addr eq 198.18.0.1 and tcp.port eq 7006", "ip.ttl == 64", "ip.ttl < 64", "ip.proto == 6", "ip.len > 1000",
        "ip.flags.df == 1", "ip.id == 0x0000", "ip.version == 4",
        "ipv6.src == 2001:db8::1", "ipv6.addr == 2001:db8::2", "ipv6.addr == 2001:db8::/32", "ipv6.dst == 2001:db8::1", "ipv6.hlim == 64",
        "ipv6.plen > 1000",
        "eth.type == 0x0800", "eth.type == 0x86dd",
        "tcp.options.mss_val == 1460", "tcp.options.mss_val > 1400", "tcp.options.wscale.shift == 7", "tcp.options.wscale.multiplier == 128",
        "tcp.options.sack_perm", "tcp.options.sack_le", "tcp.options.sack.count == 2", "tcp.options.sack_re > 100000", "tcp.options.timestamp.tsval",
        "tcp.port == 7001 || tcp.port == 7002 && tcp.len > 0", "(tcp.port == 7001 || tcp.port == 7002) && tcp.len > 0",
        "not tcp.port == 7001 and tcp.len == 0", "!(tcp.flags.ack == 1) || tcp.flags.syn == 1",
        "tcp.stream == 2 && (tcp.flags.fin == 1 || tcp.flags.reset == 1)", "tcp.len > 0 && !tcp.analysis.retransmission && tcp.window_size > 1000",
        "tcp.port === 7001", "tcp.port !== 7001",

        // Slices: [i:j] [i-j] [i] [:j] [i:] [-1], joined ranges, on payloads, headers (protocols), addresses.
        "tcp.payload[0:4] == \"ping\"", "tcp.payload == \"hello\"", "tcp.payload[0:3] == 62:79:65", "tcp.payload[-1] == 0x6f",
        "tcp.payload[1-3] == \"ell\"", "tcp.payload[:2] == 68.65", "tcp.payload[2:] == \"llo\"", "tcp.payload[0:1,4] == 68:6f",
        "tcp.payload[0:1,3-4] == \"hlo\"", "tcp.payload[1400:]", "tcp.payload[1427]", "tcp.payload[0] == 'h'", "tcp.payload == r\"bye\"",
        "tcp[13] == 0x12", "tcp[13] & 0x01", "tcp[14:2] == 00:00", "ip[0] == 45", "ip[8] == 0x40", "ip[12:2] == c6:12",
        "ipv6[0] & 0xf0 == 0x60", "ipv6[24:16] == 20:01:0d:b8:00:00:00:00:00:00:00:00:00:00:00:02", "ipv6.src[15] == 01", "ipv6.dst[-1] == 2",
        "ip.dst[3] == 2", "ip.src[2:2] == 00:01", "ip.addr[3] == 1", "eth.src[0:3] == eth.dst[0:3]", "eth.dst[0] & 0x02 == 0x02",
        "frame[0:6] == eth.dst", "frame[-4:] == frame[-4:4]", "tcp.options[0] == 01", "tcp.options contains 05:0a", "tcp.options.sack_perm == 04:02",
        "tcp.payload contains \"ell\"", "tcp.payload contains \"yes\"", "tcp.payload matches \"^(hello|bye)$\"",

        // Functions.
        "len(tcp.payload) == 5", "len(tcp.payload) > 1000", "len(frame) > 1500", "len(ip.src) == 4", "len(ipv6.addr) == 16", "len(tcp.options) == 12",
        "count(tcp.options.sack_le) == 2", "count(tcp.options.sack_le) > count(tcp.options.timestamp.tsval)", "count(ip.addr) == 2",
        "abs(tcp.srcport - tcp.dstport) < 40000", "min(tcp.srcport, tcp.dstport) == 7003", "max(tcp.port) > 50000", "min(tcp.len, 100) == 100",
        "string(tcp.stream) == \"3\"", "string(tcp.srcport) matches \"^700[1-3]$\"", "string(ip.src) == \"198.18.0.2\"",
        "string(ipv6.dst) contains \"::1\"", "string(frame.number) matches \"[13579]$\" && tcp.stream == 2",

        // Field-to-field comparisons and arithmetic.
        "tcp.srcport == tcp.dstport", "tcp.srcport > tcp.dstport", "tcp.seq > tcp.ack", "tcp.seq == tcp.ack", "tcp.nxtseq == tcp.seq + tcp.len",
        "tcp.nxtseq != tcp.seq + tcp.len", "tcp.ack - tcp.seq > 1000000", "tcp.window_size == tcp.window_size_value * 128",
        "tcp.window_size > tcp.window_size_value", "tcp.len * 2 > 2000", "tcp.len / 100 == 14", "tcp.len % 1428 == 0 && tcp.len > 0",
        "{tcp.srcport + 1} == 7002", "tcp.dstport >= 4 * {tcp.srcport + 3}", "tcp.srcport - 1 == 7000", "-tcp.len < -1400", "tcp.stream * 2 + 1 == 5",
        "tcp.hdr_len - 20 == 12", "ip.len - ip.hdr_len - tcp.hdr_len == tcp.len", "ip.src == ip.dst", "ip.src != ip.dst", "ip.src > ip.dst",
        "ipv6.src < ipv6.dst", "tcp.options.sack_le < tcp.options.sack_re", "tcp.options.sack_le >= tcp.ack",
        "tcp.analysis.acks_frame == frame.number - 1", "tcp.analysis.duplicate_ack_frame + 2 < frame.number",
        "tcp.options.timestamp.tsecr > tcp.options.timestamp.tsval", "tcp.time_relative > frame.time_relative", "tcp.analysis.ack_rtt + 0.001 > 0.002",
        "tcp.srcport/7 == 1000",

        // Quantifiers and "all not equal".
        "all tcp.port > 7000", "any tcp.port < 7000", "all tcp.port != 7001", "any tcp.port != 7001", "all ip.addr == 198.18.0.0/24",
        "all tcp.options.sack_le > 100000", "any tcp.options.sack_re < 50000", "all tcp.port in {7001, 39850}", "all tcp.port in {0..65535}",
        "tcp.port != 7001 && tcp.port != 7002",

        // Literal forms.
        "tcp.flags.syn == True", "tcp.flags.fin == False", "frame.len > 0x5dc", "frame.len == 0b1000010", "frame.number < 012",
        "tcp.seq in {1 .. 1000}", "tcp.analysis.ack_rtt in {0.0001 .. 0.0005}", "ip.addr in {198.18.0.1 .. 198.18.0.1}", "ipv6.src in {2001:db8::1, 2001:db8::3}",
        "tcp.srcport == ${tcp.srcport}", "!(tcp.srcport == ${tcp.srcport})", "${tcp.len} == 0", "tcp.flags.syn == 1 || ip.src == ${ip.dst}", "tcp.srcport != ${tcp.dstport}",
    ];

    /// <summary>Filters tshark 4.0 rejects; TcpKit must reject them too rather than guess a meaning.</summary>
    public static readonly string[] Rejected =
    [
        "21 == tcp.srcport", "tcp.srcport[0] == 0", "len(tcp.payload[0:2]) > 1", "len(tcp.srcport)", "count(tcp.port)", "string(tcp.payload) == \"x\"",
        "string(tcp.flags.syn) == \"1\"", "string(frame.time_delta) == \"0\"", "frame.time_relative * 2 < 1", "tcp.srcport in {7001 7002}",
        "tcp.srcport-1 == 20", "lower(ip.src) == \"x\"", "max(tcp.len, tcp.hdr_len) == 32", "tcp.flags == 'a' - 'Q'", "tcp.payload[0:2] in {68:65}",
        "tcp[12] >> 4", "tcp.flags.syn == true", "ip.src == 8d.8e.dc.eb", "tcp.flags == 'a' - 0x49",
        "ip.src == \"198.18.0.1\"", "ipv6.dst == \"2001:db8::1\"", "eth.src == \"02:00:00:00:00:01\"", "ip.addr == nosuchhost.invalid",
        "tcp.srcport == ${ip.src}", "tcp.srcport == ${tcp.nosuch}", "tcp.srcport == ${ tcp.dstport }",
    ];

    public static TheoryData<int> Chunks => [0, 1, 2, 3];

    [SkippableTheory]
    [MemberData(nameof(Chunks))]
    public void Every_filter_selects_the_frames_tshark_selects(int chunk)
    {
        Skip.If(captures.SkipReason is not null, captures.SkipReason);
        Skip.If(!Tool.Exists("mergecap"), "needs mergecap");
        var joined = Joined(captures);
        var mine = Filters.Where((_, i) => i % 4 == chunk).ToArray();
        var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
        var expected = new System.Collections.Concurrent.ConcurrentDictionary<string, string>();
        Parallel.ForEach(mine, new ParallelOptions { MaxDegreeOfParallelism = 2 }, f =>
            expected[f] = string.Join(",", Tshark.Lines(["-r", joined, "-Y", f, "-T", "fields", "-e", "frame.number"])));

        foreach (var f in mine)
        {
            var actual = string.Join(",", Select(joined, f));
            if (actual != expected[f])
            {
                failures.Add($"\"{f}\": tshark [{Abbreviate(expected[f])}] tcpkit [{Abbreviate(actual)}]");
            }
        }

        Assert.True(failures.IsEmpty, $"{failures.Count} of {mine.Length} filters disagree:\n" + string.Join("\n", failures));
    }

    [SkippableFact]
    public void Filters_tshark_rejects_are_rejected_with_a_column()
    {
        Skip.If(!Tool.Exists("tshark"), "needs tshark");
        var empty = Path.Combine(Path.GetTempPath(), $"tcpkit-empty-{Guid.NewGuid():N}.pcap");
        using (PcapWriter.Create(empty, LinkType.Ethernet))
        {
        }

        try
        {
            foreach (var f in Rejected)
            {
                var (exit, _, _) = Tool.RunFull("tshark", ["-r", empty, "-Y", f]);
                Assert.True(exit != 0, $"tshark accepts \"{f}\"; it does not belong in this list");
                var e = Assert.Throws<FilterException>(() => DisplayFilter.Compile(f));
                Assert.InRange(e.Column, 0, f.Length);
            }

            Assert.Equal(0, Tool.RunFull("tshark", ["-r", empty, "-Y", Filters[^1]]).ExitCode);
        }
        finally
        {
            File.Delete(empty);
        }
    }

    [SkippableFact]
    public void A_misspelt_field_is_reported_at_its_column_with_a_suggestion()
    {
        Skip.If(captures.SkipReason is not null, captures.SkipReason);
        var (exit, _, stderr) = TcpKitCli.Run("read", "-r", captures["resets"], "-Y", "tcp.len > 0 && tcp.prt == 80");
        Assert.Equal(1, exit);
        Assert.Contains("unknown field \"tcp.prt\" (did you mean \"tcp.port\"?)", stderr, StringComparison.Ordinal);
        Assert.Contains("\n  tcp.len > 0 && tcp.prt == 80\n" + new string(' ', 2 + 15) + "^~~~~~~", stderr, StringComparison.Ordinal);
    }

    private static List<long> Select(string path, string filter)
    {
        var compiled = DisplayFilter.Compile(filter);
        using var reader = CaptureReader.Open(path);
        var pipeline = new CapturePipeline();
        var frames = new List<long>();
        while (reader.TryRead(out var packet))
        {
            var c = pipeline.Next(packet);
            if (compiled.Matches(c))
            {
                frames.Add(c.Number);
            }
        }

        return frames;
    }

    private static readonly object Gate = new();
    private static string? _joined;

    private static string Joined(AnalysisCaptures captures)
    {
        lock (Gate)
        {
            if (_joined is null || !File.Exists(_joined))
            {
                var path = Path.Combine(Path.GetDirectoryName(captures["resets"])!, "joined.pcapng");
                Tool.Run("mergecap", ["-a", "-w", path, .. AnalysisCaptures.Scenarios.Where(s => s != "loss-v4").Select(s => captures[s])]);
                _joined = path;
            }

            return _joined;
        }
    }

    private static string Abbreviate(string s) => s.Length <= 120 ? s : s[..120] + "...";
}
