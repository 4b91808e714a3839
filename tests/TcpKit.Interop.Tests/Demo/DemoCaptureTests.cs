using TcpKit.Interop.Tests.Infrastructure;
using TcpKit.Net.Demo;
using TcpKit.Wire.Tcp;

namespace TcpKit.Interop.Tests.Demo;

/// <summary>The demo's pcapng read by tshark says what the demo's ladder says.</summary>
public class DemoCaptureTests
{
    [SkippableTheory]
    [InlineData(0.0, 1ul, false)]
    [InlineData(0.0, 1ul, true)]
    [InlineData(0.25, 4ul, false)]
    public void Tshark_reads_the_demo_capture_with_the_ladders_flags_numbers_and_states(double loss, ulong seed, bool clientCloses)
    {
        Skip.If(!Tool.Exists("tshark"), "needs tshark");
        var path = Path.Combine(Path.GetTempPath(), $"tcpkit-demo-{Guid.NewGuid():N}.pcapng");
        try
        {
            var trace = LessonDemo.Run(new LessonOptions { Loss = loss, Seed = seed, ClientCloses = clientCloses, PcapPath = path });

            // What the client's interface saw: everything the client sent, and what reached it.
            var expected = trace.Steps
                .Where(s => s.IsSegment && (s.From == LessonSide.Client || s.Delivered))
                .Select(s => string.Join('|',
                    Flags(s.Flags),
                    s.RelativeSeq,
                    s.RelativeAck?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "",
                    s.Length,
                    $"client {s.Client}; server {s.Server}" + (s.Delivered ? "" : "; lost on the way")))
                .ToArray();

            var (exit, stdout, stderr) = Tool.RunFull("tshark", ["-r", path, "-T", "fields", "-E", "separator=|", "-e", "tcp.flags", "-e", "tcp.seq", "-e", "tcp.ack", "-e", "tcp.len", "-e", "frame.comment"]);
            Assert.Equal(0, exit);
            Assert.DoesNotContain("warning", stderr, StringComparison.OrdinalIgnoreCase);
            var actual = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(l => l.Split('|'))
                // tshark prints tcp.ack for every segment; the ladder shows it only when ACK is set.
                .Select(f => string.Join('|', f[0], f[1], (Convert.ToInt32(f[0], 16) & 0x10) != 0 ? f[2] : "", f[3], f[4]))
                .ToArray();
            Assert.Equal(expected, actual);

            var capinfos = Tool.RunFull("capinfos", [path]);
            Assert.Equal(0, capinfos.ExitCode);
            Assert.Equal("", capinfos.Stderr.Replace("Running as user \"root\" and group \"root\". This could be dangerous.", "").Trim());
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Two_runs_of_tcpkit_demo_with_the_same_seed_write_byte_identical_captures()
    {
        // Separate processes: anything seeded from per-process randomness (string hashes) would differ.
        var paths = new[] { Path.GetTempFileName(), Path.GetTempFileName() };
        try
        {
            foreach (var path in paths)
            {
                var (exit, _, stderr) = TcpKitCli.Run("demo", "--seed", "42", "--loss", "20", "--pcap", path, "--color", "never");
                Assert.True(exit == 0, stderr);
            }

            Assert.Equal(File.ReadAllBytes(paths[0]), File.ReadAllBytes(paths[1]));
        }
        finally
        {
            foreach (var p in paths)
            {
                File.Delete(p);
            }
        }
    }

    private static string Flags(TcpFlags flags) => "0x" + ((ushort)flags).ToString("x4", System.Globalization.CultureInfo.InvariantCulture);
}
