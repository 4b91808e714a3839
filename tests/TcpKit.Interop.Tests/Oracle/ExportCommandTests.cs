using TcpKit.Interop.Tests.Infrastructure;

namespace TcpKit.Interop.Tests.Oracle;

/// <summary><c>tcpkit export</c> from the command line: its rows equal what <c>tcpkit read</c> selects and prints.</summary>
public class ExportCommandTests
{
    private static string Demo()
    {
        var path = Path.Combine(Path.GetTempPath(), $"tcpkit-export-demo-{Guid.NewGuid():N}.pcapng");
        var (exit, _, stderr) = TcpKitCli.Run(["demo", "--pcap", path, "--loss", "20", "--seed", "3"]);
        Assert.True(exit == 0, stderr);
        return path;
    }

    [Fact]
    public void A_filtered_CSV_export_has_the_rows_read_prints_for_the_same_filter()
    {
        var capture = Demo();
        var csv = Path.ChangeExtension(capture, ".csv");
        try
        {
            string[] fields = ["frame.number", "tcp.seq", "tcp.ack", "tcpkit.state.client.after"];
            string[] e = fields.SelectMany(f => new[] { "-e", f }).ToArray();
            var (exit, _, stderr) = TcpKitCli.Run(["export", "-r", capture, "-o", csv, "-Y", "tcp.len > 0 || tcp.flags.fin == 1", .. e]);
            Assert.True(exit == 0, stderr);
            var (_, printed, _) = TcpKitCli.Run(["read", "-r", capture, "-Y", "tcp.len > 0 || tcp.flags.fin == 1", "-T", "fields", "-E", "separator=,", .. e]);
            var rows = File.ReadAllLines(csv);
            Assert.Equal(string.Join(",", fields), rows[0]);
            Assert.Equal(printed.Split('\n', StringSplitOptions.RemoveEmptyEntries), rows[1..]);
            Assert.Contains($"{rows.Length - 1} frames written", stderr, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(capture);
            File.Delete(csv);
        }
    }

    [Theory]
    [InlineData("out.txt", "name the output file *.parquet or *.csv")]
    [InlineData("out.csv -e tcp.prt", "unknown field \"tcp.prt\" (did you mean \"tcp.port\"?)")]
    [InlineData("out.csv -Y tcp.prt==1", "invalid display filter")]
    [InlineData("out.csv --conversations -Y tcp", "-Y selects frames")]
    public void Bad_requests_fail_with_a_clear_message_and_leave_no_file(string arguments, string message)
    {
        var capture = Demo();
        var dir = Path.Combine(Path.GetTempPath(), $"tcpkit-export-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            var args = arguments.Split(' ');
            args[0] = Path.Combine(dir, args[0]);
            var (exit, _, stderr) = TcpKitCli.Run(["export", "-r", capture, "-o", .. args]);
            Assert.Equal(1, exit);
            Assert.Contains(message, stderr, StringComparison.Ordinal);
            Assert.Empty(Directory.GetFiles(dir));
        }
        finally
        {
            File.Delete(capture);
            Directory.Delete(dir, recursive: true);
        }
    }
}
