using TcpKit.Wire.Capture;

namespace TcpKit.Wire.Tests.Capture;

public class CaptureProgressTests
{
    /// <summary>A clock the test moves by hand.</summary>
    private sealed class ManualTime : TimeProvider
    {
        public long Ticks;

        public int Reads;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp()
        {
            Reads++;
            return Ticks;
        }

        public void Advance(TimeSpan by) => Ticks += by.Ticks;
    }

    private static void ReportOneClockRead(CaptureProgress progress, long bytes, long packets)
    {
        for (int i = 0; i < CaptureProgress.PacketsPerClockRead; i++)
        {
            progress.Report(bytes, packets);
        }
    }

    [Fact]
    public void The_line_gives_percent_megabytes_packet_rate_and_time_left()
    {
        string line = CaptureProgress.Format(64_300_000, 153_000_000, 2_500_000, TimeSpan.FromSeconds(2));
        // 42 % of the bytes in 2 s: the other 58 % take 2.76 s more at the same rate, shown rounded up.
        Assert.Equal(" 42% 64.3 of 153.0 MB, 1.25 M packets/s, 0:03 left", line);
    }

    [Theory]
    [InlineData(0, 0, 0, "  0% 0.0 of 1.0 MB, - packets/s, - left")]
    [InlineData(1_000_000, 900, 1, "100% 1.0 of 1.0 MB, 900 packets/s, 0:00 left")]
    [InlineData(10_000, 5000, 10, "  1% 0.0 of 1.0 MB, 500 packets/s, 16:30 left")]
    [InlineData(1, 42_000, 7, "  0% 0.0 of 1.0 MB, 6.0 k packets/s, 99:59:59 left")]
    public void The_line_handles_the_start_the_end_and_very_slow_reads(long bytes, long packets, double seconds, string expected)
    {
        Assert.Equal(expected, CaptureProgress.Format(bytes, 1_000_000, packets, TimeSpan.FromSeconds(seconds)));
    }

    [Fact]
    public void Output_that_is_not_a_terminal_gets_no_progress()
    {
        Assert.Null(CaptureProgress.ForTerminal(new StringWriter(), outputIsTerminal: false, totalBytes: 10_000_000));
    }

    [Fact]
    public void An_input_of_unknown_size_gets_no_progress()
    {
        Assert.Null(CaptureProgress.ForTerminal(new StringWriter(), outputIsTerminal: true, totalBytes: -1));
    }

    [Fact]
    public void Nothing_is_drawn_in_the_first_half_second()
    {
        var time = new ManualTime();
        var output = new StringWriter();
        var progress = CaptureProgress.ForTerminal(output, true, 1_000_000, time)!;
        for (int i = 0; i < 4; i++)
        {
            time.Advance(TimeSpan.FromMilliseconds(120));
            ReportOneClockRead(progress, 100_000 * (i + 1), 1000 * (i + 1));
        }

        progress.Finish();
        Assert.Equal("", output.ToString());
    }

    [Fact]
    public void Redraws_come_at_most_every_tenth_of_a_second_and_the_clock_is_read_once_per_4096_packets()
    {
        var time = new ManualTime();
        var output = new StringWriter();
        var progress = CaptureProgress.ForTerminal(output, true, 1_000_000, time)!;
        int readsAtStart = time.Reads;
        time.Advance(TimeSpan.FromSeconds(1));
        for (int step = 0; step < 20; step++)
        {
            time.Advance(TimeSpan.FromMilliseconds(30));
            ReportOneClockRead(progress, 10_000 * (step + 1), 4096 * (step + 1));
        }

        // 600 ms of reports, 30 ms apart: a draw at the first report and then every fourth (120 ms >= 100 ms).
        Assert.Equal(20, time.Reads - readsAtStart);
        Assert.Equal(5, progress.Draws);
        Assert.Equal(5, output.ToString().Count(c => c == '\r'));
    }

    [Fact]
    public void Finishing_erases_the_line_drawn()
    {
        var time = new ManualTime();
        var output = new StringWriter();
        var progress = CaptureProgress.ForTerminal(output, true, 1_000_000, time)!;
        time.Advance(TimeSpan.FromSeconds(1));
        ReportOneClockRead(progress, 500_000, 4096);
        string drawn = output.ToString();
        progress.Finish();

        string line = drawn.TrimStart('\r');
        Assert.StartsWith(" 50% 0.5 of 1.0 MB", line);
        Assert.Equal(drawn + "\r" + new string(' ', line.Length) + "\r", output.ToString());
    }

    [Fact]
    public void The_reader_reports_its_position_up_to_the_length_of_the_input()
    {
        var ms = new MemoryStream();
        using (var w = new PcapWriter(ms, LinkType.Ethernet, leaveOpen: true))
        {
            for (int i = 0; i < 10; i++)
            {
                w.WritePacket(i * 1000L, new byte[60 + i]);
            }
        }

        var file = ms.ToArray();
        foreach (var reader in new[] { CaptureReader.Open(file), CaptureReader.Open(new MemoryStream(file)) })
        {
            using (reader)
            {
                Assert.Equal(file.Length, reader.Length);
                Assert.Equal(24, reader.Position);
                Assert.True(reader.TryRead(out _));
                Assert.Equal(24 + 16 + 60, reader.Position);
                while (reader.TryRead(out _))
                {
                }

                Assert.Equal(file.Length, reader.Position);
            }
        }
    }
}
