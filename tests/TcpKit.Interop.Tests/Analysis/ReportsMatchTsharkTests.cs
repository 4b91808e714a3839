using TcpKit.Interop.Tests.Infrastructure;

namespace TcpKit.Interop.Tests.Analysis;

/// <summary><c>tcpkit conv</c>, <c>expert</c> and <c>follow</c> print exactly what tshark's -z conv,tcp, -z expert and -z follow print.</summary>
[Collection(AnalysisCaptureCollection.Name)]
public class ReportsMatchTsharkTests(AnalysisCaptures captures)
{
    public static TheoryData<string> Scenarios => [.. AnalysisCaptures.Scenarios];

    [SkippableTheory]
    [MemberData(nameof(Scenarios))]
    public void The_conversation_table_equals_tsharks(string scenario)
    {
        Skip.If(captures.SkipReason is not null, captures.SkipReason);
        var path = captures[scenario];
        AssertSameText(TsharkReport(path, "conv,tcp"), TcpKit("conv", "-r", path));
    }

    [SkippableTheory]
    [MemberData(nameof(Scenarios))]
    public void The_expert_summary_equals_tsharks(string scenario)
    {
        Skip.If(captures.SkipReason is not null, captures.SkipReason);
        var path = captures[scenario];
        AssertSameText(TsharkReport(path, "expert"), TcpKit("expert", "-r", path));
    }

    [SkippableTheory]
    [InlineData("loss-v4", 0, "ascii")]
    [InlineData("loss-v4", 0, "hex")]
    [InlineData("loss-v6", 0, "raw")]
    [InlineData("zero-window", 0, "ascii")]
    [InlineData("port-reuse", 3, "ascii")]
    [InlineData("port-reuse", 4, "hex")]
    [InlineData("resets", 1, "ascii")]
    [InlineData("resets", 9, "ascii")]
    public void Following_a_stream_prints_what_tshark_prints(string scenario, int stream, string format)
    {
        Skip.If(captures.SkipReason is not null, captures.SkipReason);
        var path = captures[scenario];
        AssertSameText(TsharkReport(path, $"follow,tcp,{format},{stream}"), TcpKit("follow", "-r", path, "--stream", stream.ToString(), "--format", format));
    }

    [SkippableTheory]
    [InlineData("loss-v4", "json")]
    [InlineData("port-reuse", "json")]
    [InlineData("zero-window", "ek")]
    public void Json_and_ek_output_of_chosen_fields_equals_tsharks(string scenario, string format)
    {
        Skip.If(captures.SkipReason is not null, captures.SkipReason);
        var path = captures[scenario];
        string[] fields = ["-e", "frame.number", "-e", "ip.src", "-e", "ipv6.src", "-e", "tcp.stream", "-e", "tcp.seq", "-e", "tcp.analysis.flags",
            "-e", "tcp.analysis.duplicate_ack", "-e", "tcp.options.sack_le", "-e", "tcp.analysis.ack_rtt", "-e", "tcp.analysis.bytes_in_flight"];
        var (exit, expected, stderr) = Tool.RunFull("tshark", ["-r", path, "-T", format, .. fields, .. Tshark.NoPayloadDissection]);
        Assert.True(exit == 0, stderr);
        AssertSameText(expected, TcpKit(["read", "-r", path, "-T", format, .. fields]));
    }

    private static string TsharkReport(string path, string report)
    {
        var (exit, stdout, stderr) = Tool.RunFull("env", ["LC_ALL=C", "tshark", "-q", "-r", path, "-z", report, .. Tshark.NoPayloadDissection]);
        Assert.True(exit == 0, stderr);
        return stdout;
    }

    private static string TcpKit(params string[] args)
    {
        var (exit, stdout, stderr) = TcpKitCli.Run(args);
        Assert.True(exit == 0, stderr);
        return stdout;
    }

    private static void AssertSameText(string expected, string actual)
    {
        var e = expected.Split('\n');
        var a = actual.Split('\n');
        int first = Enumerable.Range(0, Math.Min(e.Length, a.Length)).FirstOrDefault(i => e[i] != a[i], -1);
        Assert.True(first < 0 && e.Length == a.Length,
            $"{e.Length} lines from tshark, {a.Length} from tcpkit; first difference at line {first + 1}:\n tshark: {(first >= 0 ? e[first] : "")}\n tcpkit: {(first >= 0 ? a[first] : "")}");
    }
}
