using TcpKit.Interop.Tests.Infrastructure;

namespace TcpKit.Interop.Tests.Oracle;

/// <summary><c>tcpkit read -w</c>: what it writes holds the same packets, and tshark reads it without a warning.</summary>
[Collection(KernelCaptureCollection.Name)]
public class ReadWriteTests(KernelCaptures captures)
{
    [SkippableTheory]
    [InlineData("pcap", "pcapng")]
    [InlineData("pcap", "pcap")]
    [InlineData("pcapng", "pcapng")]
    [InlineData("pcapng", "pcap")]
    public void Writing_a_capture_keeps_every_packet_and_tshark_reads_it_cleanly(string from, string to)
    {
        Skip.If(captures.SkipReason is not null, captures.SkipReason);
        var source = from == "pcap" ? captures.PcapPath : captures.PcapngPath;
        var output = Path.Combine(Path.GetTempPath(), $"tcpkit-rw-{Guid.NewGuid():N}.{to}");
        try
        {
            var (exit, stdout, stderr) = TcpKitCli.Run("read", "-r", source, "-w", output, "-F", to);
            Assert.True(exit == 0, stderr);
            Assert.Empty(stdout); // like tshark: -w writes instead of printing

            string[] fields = ["-T", "fields", "-e", "frame.len", "-e", "frame.cap_len", "-e", "frame.time_epoch", "-e", "tcp.seq_raw", "-e", "tcp.flags"];
            Assert.Equal(Tshark.Lines(["-r", source, .. fields]), Tshark.Lines(["-r", output, .. fields]));
            var check = Tool.RunFull("tshark", ["-r", output, "-c", "1"]);
            Assert.Equal(0, check.ExitCode);
            Assert.DoesNotContain("warn", check.Stderr, StringComparison.OrdinalIgnoreCase);
            Assert.Equal(TcpKitCli.Run("read", "-r", source).Stdout, TcpKitCli.Run("read", "-r", output).Stdout);
        }
        finally
        {
            File.Delete(output);
        }
    }
}
