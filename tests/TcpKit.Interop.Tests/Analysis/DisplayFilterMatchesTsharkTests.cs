using TcpKit.Analysis;
using TcpKit.Analysis.Filters;
using TcpKit.Interop.Tests.Infrastructure;
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
