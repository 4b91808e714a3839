using TcpKit.Cli.Commands;
using TcpKit.Interop.Tests.Infrastructure;
using TcpKit.Wire;
using TcpKit.Wire.Capture;
using TcpKit.Wire.Ip;
using TcpKit.Wire.Link;
using TcpKit.Wire.Tcp;

namespace TcpKit.Interop.Tests.Oracle;

/// <summary>The progress line is for a person at a terminal: scripts that capture stderr never see it.</summary>
public class ProgressOutputTests
{
    /// <summary>A one-way bulk transfer of <paramref name="segments"/> 100-byte segments, every 50th sent twice.</summary>
    private static string BulkCapture(int segments)
    {
        var path = Path.Combine(Path.GetTempPath(), $"tcpkit-progress-{Guid.NewGuid():N}.pcap");
        IpAddress.TryParse("10.2.0.1", out var client);
        IpAddress.TryParse("10.2.0.2", out var server);
        var frame = new byte[14 + 20 + 20 + 100];
        new EthernetHeader { Source = new MacAddress(1), Destination = new MacAddress(2), EtherType = 0x0800 }.Emit(frame);
        new Ipv4Header { TimeToLive = 64, Protocol = 6, Source = client, Destination = server }.Emit(frame.AsSpan(14), 120);
        using var w = PcapWriter.Create(path, LinkType.Ethernet);
        uint seq = 1;
        for (int i = 0; i < segments; i++)
        {
            var tcp = new TcpHeader { SourcePort = 40000, DestinationPort = 5001, Seq = new SeqNum(seq), Ack = new SeqNum(1), Flags = TcpFlags.Ack, Window = 1000 };
            tcp.Emit(frame.AsSpan(34), new byte[100], client, server);
            w.WritePacket(1_000_000_000L + (i * 10_000L), frame);
            if (i % 50 != 49)
            {
                seq += 100;
            }
        }

        return path;
    }

    [SkippableFact]
    public void Under_a_redirected_stderr_the_commands_make_no_progress_display()
    {
        Skip.IfNot(Console.IsErrorRedirected, "the test runner's stderr is a terminal");
        var path = BulkCapture(10);
        try
        {
            using var reader = ConvCommand.OpenForAnalysis(path);
            Assert.True(reader.Length > 0);
            Assert.Null(ConvCommand.StderrProgress(reader));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("conv")]
    [InlineData("expert")]
    [InlineData("read")]
    public void Reading_a_long_capture_with_stderr_captured_writes_nothing_to_stderr(string command)
    {
        var path = BulkCapture(400_000);
        try
        {
            string[] args = command == "read" ? ["read", "-r", path, "-Y", "tcp.analysis.retransmission"] : [command, "-r", path];
            var (exit, stdout, stderr) = TcpKitCli.Run(args);
            Assert.Equal(0, exit);
            Assert.NotEmpty(stdout);
            Assert.Equal("", stderr);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
