using TcpKit.Interop.Tests.Infrastructure;

namespace TcpKit.Interop.Tests.Oracle;

public class ReadCommandErrorTests
{
    [Fact]
    public void A_missing_file_is_a_clear_error_with_a_failing_exit_code()
    {
        var (exit, stdout, stderr) = TcpKitCli.Run("read", "-r", "/nonexistent/capture.pcap");
        Assert.Equal(1, exit);
        Assert.Empty(stdout);
        Assert.Equal("tcpkit: the file \"/nonexistent/capture.pcap\" does not exist.", stderr.Trim());
    }

    [Fact]
    public void A_file_that_is_not_a_capture_names_the_offset_and_the_reason()
    {
        var path = Path.GetTempFileName();
        File.WriteAllText(path, "this is not a capture file at all");
        try
        {
            var (exit, _, stderr) = TcpKitCli.Run("read", "-r", path);
            Assert.Equal(1, exit);
            Assert.Contains("offset 0", stderr, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void An_unknown_field_suggests_the_closest_known_one()
    {
        var path = Path.GetTempFileName();
        try
        {
            var (exit, _, stderr) = TcpKitCli.Run("read", "-r", path, "-T", "fields", "-e", "tcp.prt");
            Assert.Equal(1, exit);
            Assert.Contains("unknown field \"tcp.prt\" (did you mean \"tcp.port\"?)", stderr, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
