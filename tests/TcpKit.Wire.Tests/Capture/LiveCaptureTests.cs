using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using TcpKit.Wire.Capture;

namespace TcpKit.Wire.Tests.Capture;

/// <summary>
/// A real capture: dumpcap records a TCP exchange on loopback made by this test, and our reader
/// must see exactly the packets tshark sees (count, timestamps, lengths).
/// </summary>
public class LiveCaptureTests
{
    [SkippableTheory]
    [InlineData(false)]
    [InlineData(true)]
    public void Reader_sees_every_packet_tshark_sees_in_a_real_loopback_capture(bool pcapFormat)
    {
        Skip.IfNot(OperatingSystem.IsLinux() && Environment.UserName == "root", "needs root to capture");
        Skip.IfNot(ExternalTool.Exists("dumpcap") && ExternalTool.Exists("tshark"), "dumpcap/tshark not installed");

        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        string path = Path.Combine(Path.GetTempPath(), $"tcpkit-live-{Guid.NewGuid():N}.{(pcapFormat ? "pcap" : "pcapng")}");
        var psi = new ProcessStartInfo("dumpcap") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in new[] { "-i", "lo", "-f", $"tcp port {port}", "-c", "12", "-a", "duration:20", "-w", path })
        {
            psi.ArgumentList.Add(a);
        }

        if (pcapFormat)
        {
            psi.ArgumentList.Add("-P");
        }

        using var dumpcap = Process.Start(psi)!;
        try
        {
            var ready = new TaskCompletionSource();
            var stderr = new System.Text.StringBuilder();
            dumpcap.ErrorDataReceived += (_, e) =>
            {
                if (e.Data is null)
                {
                    return;
                }

                lock (stderr)
                {
                    stderr.AppendLine(e.Data);
                }

                if (e.Data.Contains("Capturing on", StringComparison.Ordinal))
                {
                    ready.TrySetResult();
                }
            };
            dumpcap.BeginErrorReadLine();
            Skip.IfNot(ready.Task.Wait(TimeSpan.FromSeconds(15)), $"dumpcap did not start capturing: {stderr}");

            // Small exchanges on 127.0.0.1 (handshake, echoed messages, close), repeated until dumpcap
            // has its 12 packets: "Capturing on" can come a moment before the filter is attached.
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (!dumpcap.HasExited && DateTime.UtcNow < deadline)
            {
                using (var client = new TcpClient())
                {
                    client.NoDelay = true;
                    client.Connect(IPAddress.Loopback, port);
                    using var server = listener.AcceptTcpClient();
                    server.NoDelay = true;
                    var cs = client.GetStream();
                    var ss = server.GetStream();
                    var buffer = new byte[64];
                    for (int i = 0; i < 3; i++)
                    {
                        cs.Write(System.Text.Encoding.ASCII.GetBytes($"hello {i}"));
                        int n = ss.Read(buffer);
                        ss.Write(buffer, 0, n);
                        cs.ReadExactly(buffer, 0, n);
                    }
                }

                dumpcap.WaitForExit(200);
            }

            Assert.True(dumpcap.WaitForExit(25_000), "dumpcap did not stop");
            Assert.True(dumpcap.ExitCode == 0, $"dumpcap exit {dumpcap.ExitCode}: {stderr}");

            var tshark = ExternalTool.Run("tshark", "-r", path, "-T", "fields", "-E", "separator=|", "-e", "frame.time_epoch", "-e", "frame.len", "-e", "frame.cap_len");
            Assert.Equal(0, tshark.ExitCode);
            var theirs = tshark.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(l => l.Split('|'))
                .Select(f => (ExternalTool.EpochToNs(f[0]), long.Parse(f[1], CultureInfo.InvariantCulture), int.Parse(f[2], CultureInfo.InvariantCulture)))
                .ToList();

            var ours = CaptureKit.ReadAll(File.ReadAllBytes(path));
            Assert.Equal(12, theirs.Count);
            Assert.Equal(pcapFormat ? CaptureFormat.Pcap : CaptureFormat.Pcapng, ours.Format);
            Assert.Equal(theirs, ours.Packets.Select(p => (p.TimestampNs, p.OriginalLength, p.CapturedLength)));
            Assert.All(ours.Packets, p => Assert.Equal(LinkType.Ethernet, p.LinkType));

            // And through the path-based entry point that maps the file.
            using var reader = CaptureReader.Open(path);
            Assert.Equal(CaptureAccess.MemoryMapped, reader.Access);
            int count = 0;
            while (reader.TryRead(out _))
            {
                count++;
            }

            Assert.Equal(12, count);
        }
        finally
        {
            if (!dumpcap.HasExited)
            {
                dumpcap.Kill();
            }

            File.Delete(path);
        }
    }
}
