using Spectre.Console.Testing;
using TcpKit.Cli.Commands;
using TcpKit.Cli.Progress;
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
            Assert.Null(ConvCommand.StderrProgress(reader, path));
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

    private static TestConsole Terminal() => new TestConsole().Interactive().EmitAnsiSequences().Width(120);

    [Fact]
    public void A_read_that_ends_within_the_first_half_second_draws_nothing()
    {
        var console = Terminal();
        var bar = CaptureProgressBar.Start(console, "quick.pcap", 1_000_000, CaptureProgressBar.FirstDrawAfter);
        for (int i = 1; i <= 3 * CaptureProgressBar.PacketsPerPublish; i++)
        {
            bar.Report(i * 100L, i);
        }

        bar.Finish();
        Assert.False(bar.Shown);
        Assert.Equal("", console.Output);
    }

    [Fact]
    public void A_long_read_shows_the_file_its_share_read_and_the_packet_rate_then_erases_the_bar()
    {
        var console = Terminal();
        var bar = CaptureProgressBar.Start(console, "long.pcap", 10_000_000, TimeSpan.Zero);
        long packets = 0;
        for (int step = 1; step <= 4; step++)
        {
            for (int i = 0; i < CaptureProgressBar.PacketsPerPublish; i++)
            {
                bar.Report(step * 1_000_000L, ++packets);
            }

            Thread.Sleep(2 * CaptureProgressBar.RefreshInterval);
        }

        // On a loaded machine the drawing task may start late: wait for it (the last position is drawn at the end).
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!bar.Shown && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(20);
        }

        bar.Finish();
        Assert.True(bar.Shown);
        string output = console.Output;
        Assert.Contains("long.pcap", output, StringComparison.Ordinal);
        Assert.Contains("40%", output, StringComparison.Ordinal);
        Assert.Contains("10.0 \u001b[38;5;8mMB", output, StringComparison.Ordinal);
        Assert.Contains("packets/s", output, StringComparison.Ordinal);
        // AutoClear: the last thing written moves back over the bar and erases it (ESC [ 2K clears a line).
        Assert.EndsWith("\u001b[2K", TrimCursorSequences(output), StringComparison.Ordinal);
    }

    private static string TrimCursorSequences(string output)
    {
        // Spectre ends a live display by showing the cursor again (ESC [ ?25h); what precedes it is the erase.
        const string showCursor = "\u001b[?25h";
        string trimmed = output;
        while (trimmed.EndsWith(showCursor, StringComparison.Ordinal))
        {
            trimmed = trimmed[..^showCursor.Length];
        }

        return trimmed;
    }

    [Theory]
    [InlineData(950, "950 packets/s")]
    [InlineData(12_500, "12.5 k packets/s")]
    [InlineData(1_250_000, "1.25 M packets/s")]
    public void Packet_rates_are_printed_with_a_multiplier(double perSecond, string expected) =>
        Assert.Equal(expected, CaptureProgressBar.FormatRate(perSecond));
}
