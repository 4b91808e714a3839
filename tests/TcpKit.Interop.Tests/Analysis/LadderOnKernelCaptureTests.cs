using TcpKit.Interop.Tests.Infrastructure;

namespace TcpKit.Interop.Tests.Analysis;

/// <summary>The endpoint states TcpKit infers for real Linux connections follow RFC 9293's state diagram.</summary>
[Collection(AnalysisCaptureCollection.Name)]
public class LadderOnKernelCaptureTests(AnalysisCaptures captures)
{
    [SkippableFact]
    public void A_client_that_closes_an_idle_keep_alive_connection_ends_in_TIME_WAIT_and_the_server_in_CLOSED()
    {
        Skip.If(captures.SkipReason is not null, captures.SkipReason);
        var (exit, stdout, stderr) = TcpKitCli.Run("ladder", "-r", captures["keep-alive"], "--stream", "0", "--color", "never", "--width", "140");
        Assert.True(exit == 0, stderr);
        string[] expectedInOrder =
        [
            "CLOSED -> SYN-SENT", "LISTEN -> SYN-RECEIVED", "SYN-SENT -> ESTABLISHED", "SYN-RECEIVED -> ESTABLISHED",
            "[TCP Keep-Alive]", "[TCP Keep-Alive ACK]",
            // Linux answers the FIN with FIN+ACK at once, so the client skips FIN-WAIT-2.
            "ESTABLISHED -> FIN-WAIT-1", "ESTABLISHED -> CLOSE-WAIT", "FIN-WAIT-1 -> TIME-WAIT", "CLOSE-WAIT -> LAST-ACK", "LAST-ACK -> CLOSED",
        ];
        int at = 0;
        foreach (var text in expectedInOrder)
        {
            int found = stdout.IndexOf(text, at, StringComparison.Ordinal);
            Assert.True(found >= 0, $"\"{text}\" not found after offset {at} in:\n{stdout}");
            at = found;
        }

        var states = TcpKitCli.Run("read", "-r", captures["keep-alive"], "-T", "fields", "-e", "tcpkit.conn_state", "-e", "tcpkit.history").Stdout
            .Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("SF\tShADaFf", states[^1]);
    }

    [SkippableFact]
    public void Refused_and_reset_connections_are_REJ_and_RSTO()
    {
        Skip.If(captures.SkipReason is not null, captures.SkipReason);
        var lines = TcpKitCli.Run("read", "-r", captures["resets"], "-T", "fields", "-e", "tcp.stream", "-e", "tcpkit.conn_state").Stdout
            .Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var last = lines.Select(l => l.Split('\t')).GroupBy(p => p[0]).ToDictionary(g => g.Key, g => g.Last()[1]);
        Assert.Equal("REJ", last["0"]);
        Assert.Equal("RSTO", last["1"]);
        Assert.Equal("REJ", last["2"]);
        Assert.Equal("RSTO", last["3"]);
    }
}
