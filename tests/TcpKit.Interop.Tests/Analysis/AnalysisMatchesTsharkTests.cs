using TcpKit.Interop.Tests.Infrastructure;
using Xunit.Abstractions;

namespace TcpKit.Interop.Tests.Analysis;

/// <summary>
/// The expert analysis against tshark 4.0.17 on real Linux captures: loss (IPv4 and IPv6), a stalled
/// receiver, keep-alives, resets and port reuse. Every tcp.analysis flag tshark sets must be set on the
/// same frame and no other; the analysis values must be equal.
/// </summary>
[Collection(AnalysisCaptureCollection.Name)]
public class AnalysisMatchesTsharkTests(AnalysisCaptures captures, ITestOutputHelper output)
{
    public static readonly string[] FlagFields =
    [
        "tcp.analysis.flags", "tcp.analysis.retransmission", "tcp.analysis.fast_retransmission", "tcp.analysis.spurious_retransmission",
        "tcp.analysis.out_of_order", "tcp.analysis.lost_segment", "tcp.analysis.ack_lost_segment", "tcp.analysis.duplicate_ack",
        "tcp.analysis.duplicate_ack_num", "tcp.analysis.duplicate_ack_frame", "tcp.analysis.zero_window", "tcp.analysis.zero_window_probe",
        "tcp.analysis.zero_window_probe_ack", "tcp.analysis.window_full", "tcp.analysis.window_update", "tcp.analysis.keep_alive",
        "tcp.analysis.keep_alive_ack", "tcp.analysis.reused_ports",
    ];

    public static readonly string[] ValueFields =
    [
        "tcp.stream", "tcp.seq", "tcp.ack", "tcp.nxtseq", "tcp.len", "tcp.window_size", "tcp.window_size_scalefactor", "tcp.completeness",
        "tcp.analysis", "tcp.analysis.acks_frame", "tcp.analysis.ack_rtt", "tcp.analysis.initial_rtt", "tcp.analysis.bytes_in_flight",
        "tcp.analysis.push_bytes_sent", "tcp.analysis.rto", "tcp.analysis.rto_frame", "tcp.time_relative", "tcp.time_delta",
        "tcp.options.sack_le", "tcp.options.sack_re",
    ];

    public static TheoryData<string> Scenarios => [.. AnalysisCaptures.Scenarios];

    /// <summary>What each scenario is made to show; tshark must find it, so the comparison is not vacuous.</summary>
    private static readonly Dictionary<string, string[]> Intended = new()
    {
        ["loss-v4"] = ["tcp.analysis.retransmission", "tcp.analysis.duplicate_ack", "tcp.analysis.fast_retransmission"],
        ["loss-v6"] = ["tcp.analysis.retransmission", "tcp.analysis.duplicate_ack"],
        // Linux probes a zero window with an empty segment at SND.UNA-1, which Wireshark calls a keep-alive;
        // its one-byte "zero window probe" case is covered by the reference-trace unit tests.
        ["zero-window"] = ["tcp.analysis.zero_window", "tcp.analysis.window_full", "tcp.analysis.window_update", "tcp.analysis.keep_alive"],
        ["keep-alive"] = ["tcp.analysis.keep_alive", "tcp.analysis.keep_alive_ack"],
        ["resets"] = [],
        ["port-reuse"] = ["tcp.analysis.reused_ports"],
        ["capture-gaps"] = ["tcp.analysis.lost_segment", "tcp.analysis.ack_lost_segment", "tcp.analysis.duplicate_ack"],
    };

    [SkippableTheory]
    [MemberData(nameof(Scenarios))]
    public void Every_analysis_flag_tshark_sets_is_set_on_the_same_frame_and_no_other(string scenario)
    {
        Skip.If(captures.SkipReason is not null, captures.SkipReason);
        var result = FieldAgreement.Measure(captures[scenario], FlagFields);
        var report = result.Report($"{scenario}: tcp.analysis flags");
        output.WriteLine(report);
        foreach (var f in Intended[scenario])
        {
            Assert.True(result.PresentInTshark[f] > 0, $"the {scenario} capture should make tshark report {f}\n{report}");
        }

        Assert.True(result.AllAgree, report);
    }

    [SkippableTheory]
    [MemberData(nameof(Scenarios))]
    public void Analysis_values_equal_tsharks_on_every_frame(string scenario)
    {
        Skip.If(captures.SkipReason is not null, captures.SkipReason);
        var result = FieldAgreement.Measure(captures[scenario], ValueFields);
        var report = result.Report($"{scenario}: analysis values");
        output.WriteLine(report);
        Assert.True(result.AllAgree, report);
    }

    [SkippableTheory]
    [MemberData(nameof(Scenarios))]
    public void Summary_lines_with_expert_prefixes_equal_tsharks(string scenario)
    {
        Skip.If(captures.SkipReason is not null, captures.SkipReason);
        var path = captures[scenario];
        var expected = Tshark.Lines("-r", path).Where(IsTcpLine).ToArray();
        var (exit, stdout, stderr) = TcpKitCli.Run("read", "-r", path);
        Assert.True(exit == 0, stderr);
        var actual = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(IsTcpLine).ToArray();
        Assert.NotEmpty(expected);
        var firstDifference = Enumerable.Range(0, Math.Min(expected.Length, actual.Length)).FirstOrDefault(i => expected[i] != actual[i], -1);
        Assert.True(expected.Length == actual.Length && firstDifference < 0,
            $"{expected.Length} tshark lines, {actual.Length} tcpkit lines; first difference at line {firstDifference + 1}:\n tshark: {(firstDifference >= 0 ? expected[firstDifference] : "")}\n tcpkit: {(firstDifference >= 0 ? actual[firstDifference] : "")}");
    }

    private static bool IsTcpLine(string line) => line.Contains(" TCP ", StringComparison.Ordinal);
}
