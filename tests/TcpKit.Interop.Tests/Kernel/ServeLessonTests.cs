using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;
using TcpKit.Interop.Tests.Infrastructure;

namespace TcpKit.Interop.Tests.Kernel;

/// <summary>
/// The classic lesson for real: <c>tcpkit serve --tun</c> runs inside a namespace, a kernel client (as
/// telnet would) connects to port 9999, sends "a" and "b", the server program is stopped with Ctrl+C
/// (SIGINT) so TcpKit closes first, and the states it prints are the demo's.
/// </summary>
[Collection("kernel")]
public partial class ServeLessonTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [SkippableFact]
    public async Task Stopping_tcpkit_serve_after_a_kernel_client_sent_a_and_b_walks_the_demos_states_to_TIME_WAIT()
    {
        TunNamespace.SkipUnlessAvailable();
        using var ns = TunNamespace.CreateEmpty();
        using var serve = CliProcess.Start(ns.Namespace, "serve", "--tun", "tk0", "--addr", "192.0.2.1/24", "--port", "9999");
        await serve.WaitForLine(l => l.StartsWith("Listening on 192.0.2.1:9999", StringComparison.Ordinal), Patience);
        var pcap = Path.Combine(Path.GetTempPath(), $"lesson-{ns.Namespace}.pcapng");
        using var capture = CliProcess.Start(ns.Namespace, "capture", "-i", "tk0", "-w", pcap);
        await capture.WaitForLine(l => l.StartsWith("Capturing on tk0", StringComparison.Ordinal), Patience);
        await Task.Delay(500); // libpcap is attached once the banner is out; give it a moment to be reading

        using var client = NetnsPair.InNamespace(ns.Namespace, () => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
        await client.ConnectAsync(IPAddress.Parse("192.0.2.1"), 9999);
        await client.SendAsync("a\r\n"u8.ToArray());
        await serve.WaitForLine(l => l.Contains("data from", StringComparison.Ordinal) && l.Contains("\"a\\r\\n\"", StringComparison.Ordinal), Patience);
        await client.SendAsync("b\r\n"u8.ToArray());
        await serve.WaitForLine(l => l.Contains("\"b\\r\\n\"", StringComparison.Ordinal), Patience);

        serve.Interrupt(); // Ctrl+C: the server program is stopped, TcpKit sends its FIN first
        var buffer = new byte[16];
        Assert.Equal(0, await client.ReceiveAsync(buffer).WaitAsync(Patience)); // telnet: "Connection closed by foreign host."
        await Task.Delay(200);
        client.Close();
        Assert.True(serve.WaitForExit(Patience), "tcpkit serve did not exit after Ctrl+C:\n" + serve.Output);
        Assert.Equal(0, serve.ExitCode);

        var states = StateLine().Matches(serve.Output).Select(m => $"{m.Groups[1].Value} -> {m.Groups[2].Value}").ToList();
        Assert.Equal(
            [
                "CLOSED -> LISTEN",
                "LISTEN -> SYN-RECEIVED",
                "SYN-RECEIVED -> ESTABLISHED",
                "ESTABLISHED -> FIN-WAIT-1",
                "FIN-WAIT-1 -> FIN-WAIT-2",
                "FIN-WAIT-2 -> TIME-WAIT",
            ],
            states);

        // The same server states as tcpkit demo on the simulated network, up to TIME-WAIT (tcpkit serve
        // exits then; the demo waits out 2*MSL). The demo's ladder shows the server LISTENing from the start.
        var demo = TcpKit.Net.Demo.LessonDemo.Run(new TcpKit.Net.Demo.LessonOptions { PcapPath = null });
        var demoStates = demo.Steps.Where(st => st.Server.Changed).Select(st => st.Server.ToString()).ToList();
        int timeWait = demoStates.IndexOf("FIN-WAIT-2 -> TIME-WAIT");
        Assert.True(timeWait > 0, string.Join(", ", demoStates));
        Assert.Equal(demoStates.Take(timeWait + 1), states.Skip(1));

        // tcpkit capture saw the same conversation live and its capture draws the same ladder.
        Assert.True(capture.WaitForExit(Patience), "tcpkit capture did not stop when the interface went away:\n" + capture.Output);
        try
        {
            var tcpLines = capture.Stdout.Split('\n').Where(l => l.Contains(" TCP ", StringComparison.Ordinal)).ToList();
            Assert.True(tcpLines.Count >= 10, capture.Output); // handshake, a, b, their ACKs (the last may ride on the FIN), two FINs and their ACKs
            Assert.Contains(tcpLines, l => l.Contains("9999 [SYN] Seq=0", StringComparison.Ordinal));
            Assert.Contains(tcpLines, l => l.Contains("[SYN, ACK] Seq=0 Ack=1", StringComparison.Ordinal));
            Assert.Equal(2, tcpLines.Count(l => l.Contains("[FIN, ACK]", StringComparison.Ordinal)));
            var (code, ladder, err) = TcpKitCli.Run("ladder", "-r", pcap, "--stream", "0", "--color", "never");
            Assert.True(code == 0, err);
            Assert.Contains("ESTABLISHED -> FIN-WAIT-1", ladder, StringComparison.Ordinal);
            Assert.Contains("FIN-WAIT-2 -> TIME-WAIT", ladder, StringComparison.Ordinal);
            Assert.Contains("LAST-ACK -> CLOSED", ladder, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(pcap);
        }
    }

    [SkippableFact]
    public async Task tcpkit_connect_sends_a_file_to_a_kernel_server_and_prints_its_reply()
    {
        TunNamespace.SkipUnlessAvailable();
        using var ns = TunNamespace.CreateEmpty();
        var path = Path.GetTempFileName();
        try
        {
            var payload = KernelIo.RandomBytes(300_000, 9);
            File.WriteAllBytes(path, payload);
            // The kernel's address exists only once tcpkit has created the interface: listen on any address.
            using var listener = NetnsPair.InNamespace(ns.Namespace, () => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
            listener.Bind(new IPEndPoint(IPAddress.Any, 7000));
            listener.Listen();
            var server = Task.Run(async () =>
            {
                using var peer = await listener.AcceptAsync();
                var received = await KernelIo.HashToEnd(peer);
                await peer.SendAsync("thanks\n"u8.ToArray());
                peer.Shutdown(SocketShutdown.Both);
                return received;
            });

            using var connect = CliProcess.Start(ns.Namespace, "connect", "--tun", "tk1", "--addr", "192.0.2.1/24", "192.0.2.2", "7000", "--send", path);
            var received = await server.WaitAsync(Patience);
            Assert.True(connect.WaitForExit(Patience), "tcpkit connect did not exit:\n" + connect.Output);

            Assert.Equal(0, connect.ExitCode);
            Assert.Equal(System.Security.Cryptography.SHA256.HashData(payload), received.Hash);
            Assert.Equal("thanks\n", connect.Stdout);
            Assert.Contains("SYN-SENT -> ESTABLISHED", connect.Output, StringComparison.Ordinal);
            Assert.Contains("-> TIME-WAIT", connect.Output, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [SkippableFact]
    public async Task tcpkit_serve_echo_returns_a_kernel_clients_megabyte_intact()
    {
        TunNamespace.SkipUnlessAvailable();
        using var ns = TunNamespace.CreateEmpty();
        using var serve = CliProcess.Start(ns.Namespace, "serve", "--tun", "tk2", "--addr", "198.18.5.1/24", "--kernel-addr", "198.18.5.77", "--port", "7", "--echo");
        await serve.WaitForLine(l => l.StartsWith("Listening on 198.18.5.1:7", StringComparison.Ordinal), Patience);
        Assert.Contains("the kernel is 198.18.5.77/24", serve.Output, StringComparison.Ordinal);

        var data = KernelIo.RandomBytes(1 << 20, 11);
        using var client = NetnsPair.InNamespace(ns.Namespace, () => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
        await client.ConnectAsync(IPAddress.Parse("198.18.5.1"), 7);
        Assert.Equal(IPAddress.Parse("198.18.5.77"), ((IPEndPoint)client.LocalEndPoint!).Address);
        var echoed = KernelIo.HashToEnd(client);
        await KernelIo.SendAll(client, data);
        client.Shutdown(SocketShutdown.Send); // the echo server closes once it has read everything
        var (hash, count) = await echoed.WaitAsync(Patience);

        Assert.Equal(data.Length, count);
        Assert.Equal(System.Security.Cryptography.SHA256.HashData(data), hash);
        await serve.WaitForLine(l => l.Contains("closed its side after 1048576 bytes", StringComparison.Ordinal), Patience);
    }

    [SkippableFact]
    public async Task tcpkit_serve_over_IPv6_with_loss_delay_and_reordering_echoes_a_kernel_clients_data_intact()
    {
        TunNamespace.SkipUnlessAvailable();
        using var ns = TunNamespace.CreateEmpty();
        using var serve = CliProcess.Start(ns.Namespace, "serve", "--tun", "tk3", "--addr", "2001:db8::1/64", "--port", "7", "--echo",
            "--loss", "5", "--delay", "20", "--reorder", "5", "--impair-seed", "3");
        await serve.WaitForLine(l => l.StartsWith("Listening on [2001:db8::1]:7", StringComparison.Ordinal) || l.StartsWith("Listening on 2001:db8::1:7", StringComparison.Ordinal), Patience);
        Assert.Contains("the kernel is 2001:db8::2/64", serve.Output, StringComparison.Ordinal);
        Assert.Contains("loss 5 %, delay 20 ms", serve.Output, StringComparison.Ordinal);

        var data = KernelIo.RandomBytes(64 << 10, 12);
        using var client = NetnsPair.InNamespace(ns.Namespace, () => new Socket(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp));
        await client.ConnectAsync(IPAddress.Parse("2001:db8::1"), 7).WaitAsync(Patience);
        var echoed = KernelIo.HashToEnd(client);
        await KernelIo.SendAll(client, data);
        client.Shutdown(SocketShutdown.Send);
        var (hash, count) = await echoed.WaitAsync(Patience);

        Assert.Equal(data.Length, count);
        Assert.Equal(System.Security.Cryptography.SHA256.HashData(data), hash);
        serve.Interrupt();
        Assert.True(serve.WaitForExit(Patience), serve.Output);
        Assert.Matches(@"impairments: TcpKit -> kernel \d+ offered, \d+ delivered, [1-9]\d* lost", serve.Output);
    }

    [SkippableFact]
    public async Task tcpkit_capture_with_a_display_filter_shows_and_writes_only_matching_packets_and_draws_a_live_ladder()
    {
        TunNamespace.SkipUnlessAvailable();
        using var ns = TunNamespace.CreateEmpty();
        using var serve = CliProcess.Start(ns.Namespace, "serve", "--tun", "tk4", "--addr", "192.0.2.1/24", "--port", "9999");
        await serve.WaitForLine(l => l.StartsWith("Listening on", StringComparison.Ordinal), Patience);
        string pcap = Path.Combine(Path.GetTempPath(), $"tkfilter{Environment.ProcessId}.pcapng");
        using var filtered = CliProcess.Start(ns.Namespace, "capture", "-i", "tk4", "-Y", "tcp.len > 0 || tcp.flags.fin == 1", "-w", pcap);
        using var ladder = CliProcess.Start(ns.Namespace, "capture", "-i", "tk4", "--ladder", "--color", "never");
        await filtered.WaitForLine(l => l.StartsWith("Capturing on tk4", StringComparison.Ordinal), Patience);
        await ladder.WaitForLine(l => l.StartsWith("Capturing on tk4", StringComparison.Ordinal), Patience);
        await Task.Delay(500); // libpcap is reading once the line is printed; give both a moment to be in the loop

        try
        {
            using (var client = NetnsPair.InNamespace(ns.Namespace, () => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp)))
            {
                await client.ConnectAsync(TunNamespace.TcpKitAddress, 9999).WaitAsync(Patience);
                client.Send("a\r\n"u8);
                await serve.WaitForLine(l => l.Contains("data from", StringComparison.Ordinal), Patience);
                client.Send("b\r\n"u8);
                await serve.WaitForLine(l => l.Contains(@"""b\r\n""", StringComparison.Ordinal), Patience);
                client.Shutdown(SocketShutdown.Send); // the client closes first; serve closes its side in reply
                Assert.Equal(0, await client.ReceiveAsync(new byte[16]).WaitAsync(Patience));
            }

            await serve.WaitForLine(l => l.Contains("closed its side after 6 bytes", StringComparison.Ordinal), Patience);
            await serve.WaitForLine(l => l.Contains("LAST-ACK -> CLOSED", StringComparison.Ordinal), Patience);
            await ladder.WaitForLine(l => l.Contains("LAST-ACK -> CLOSED", StringComparison.Ordinal), Patience);
            await Task.Delay(500); // let the captures print what they have before the interface goes
            serve.Interrupt();
            Assert.True(serve.WaitForExit(Patience), serve.Output);
            Assert.True(filtered.WaitForExit(Patience), filtered.Output);
            Assert.True(ladder.WaitForExit(Patience), ladder.Output);

            // "a\r\n" and "b\r\n" and the two FINs: four packets, and none of the handshake or pure ACKs.
            var shown = filtered.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(4, shown.Length);
            Assert.All(shown, l => Assert.True(l.Contains("Len=3", StringComparison.Ordinal) || l.Contains("FIN", StringComparison.Ordinal), l));
            Assert.Contains("4 shown, those written to", filtered.Output, StringComparison.Ordinal);
            Assert.Equal(4, CountPackets(pcap));

            // The live ladder draws the conversation with both endpoints' states, like tcpkit ladder on a file.
            string drawn = ladder.Stdout;
            Assert.True(drawn.Contains("tcp.stream 0", StringComparison.Ordinal), ladder.Output);
            Assert.True(drawn.Contains("client 192.0.2.2:", StringComparison.Ordinal), ladder.Output);
            Assert.True(drawn.Contains("server 192.0.2.1:9999", StringComparison.Ordinal), ladder.Output);
            Assert.True(drawn.Contains("LISTEN -> SYN-RECEIVED", StringComparison.Ordinal), ladder.Output);
            Assert.True(drawn.Contains("FIN-WAIT-2 -> TIME-WAIT", StringComparison.Ordinal), ladder.Output);
            Assert.True(drawn.Contains("LAST-ACK -> CLOSED", StringComparison.Ordinal), ladder.Output); // the last ACK
            Assert.DoesNotContain("dropped by the kernel", ladder.Output, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(pcap);
        }

        static int CountPackets(string path)
        {
            using var reader = TcpKit.Wire.Capture.CaptureReader.Open(path);
            int n = 0;
            while (reader.TryRead(out _))
            {
                n++;
            }

            return n;
        }
    }

    [SkippableFact]
    public async Task tcpkit_capture_on_a_TUN_device_loses_no_packet_while_its_reader_is_stalled()
    {
        // libpcap sized the ring's frames by the 256 KiB snapshot length on a raw-IP link, which left room for 8
        // packets: a ladder held up by its first rows lost a connection's last ACK. Stalling the reader for a whole
        // conversation of more than 30 packets shows the ring now holds them all.
        TunNamespace.SkipUnlessAvailable();
        using var ns = TunNamespace.CreateEmpty();
        using var serve = CliProcess.Start(ns.Namespace, "serve", "--tun", "tk6", "--addr", "192.0.2.1/24", "--port", "9999");
        await serve.WaitForLine(l => l.StartsWith("Listening on", StringComparison.Ordinal), Patience);
        using var ladder = CliProcess.Start(ns.Namespace, "capture", "-i", "tk6", "-f", "tcp", "--ladder", "--color", "never");
        await ladder.WaitForLine(l => l.StartsWith("Capturing on tk6", StringComparison.Ordinal), Patience);
        await Task.Delay(500);

        ladder.Pause();
        int lines = await Converse(ns.Namespace, serve, 12);
        ladder.Resume();

        await ladder.WaitForLine(l => l.Contains("LAST-ACK -> CLOSED", StringComparison.Ordinal), Patience);
        await Task.Delay(500);
        serve.Interrupt();
        Assert.True(serve.WaitForExit(Patience), serve.Output);
        Assert.True(ladder.WaitForExit(Patience), ladder.Output);
        var captured = Regex.Match(ladder.Output, @"(\d+) packets captured");
        Assert.True(captured.Success, ladder.Output);
        Assert.True(int.Parse(captured.Groups[1].Value, CultureInfo.InvariantCulture) >= 3 + (2 * lines) + 3, ladder.Output);
        Assert.DoesNotContain("dropped by the kernel", ladder.Output, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task tcpkit_capture_reports_the_packets_the_kernel_dropped_when_its_buffer_overflowed()
    {
        TunNamespace.SkipUnlessAvailable();
        using var ns = TunNamespace.CreateEmpty();
        using var serve = CliProcess.Start(ns.Namespace, "serve", "--tun", "tk7", "--addr", "192.0.2.1/24", "--port", "9999");
        await serve.WaitForLine(l => l.StartsWith("Listening on", StringComparison.Ordinal), Patience);
        using var capture = CliProcess.Start(ns.Namespace, "capture", "-i", "tk7", "-f", "tcp", "--buffer-size", "4");
        await capture.WaitForLine(l => l.StartsWith("Capturing on tk7", StringComparison.Ordinal), Patience);
        await Task.Delay(500);

        capture.Pause(); // a 4 KiB buffer holds 2 frames of an MTU-1500 link; the conversation has more than 20 packets
        await Converse(ns.Namespace, serve, 8);
        capture.Resume();

        await Task.Delay(1500); // the capture reads what the ring kept, then sits idle and samples the kernel's counters
        serve.Interrupt();
        Assert.True(serve.WaitForExit(Patience), serve.Output);
        Assert.True(capture.WaitForExit(Patience), capture.Output);
        Assert.Matches(@"\d+ packets captured, [1-9]\d* dropped by the kernel \(the capture fell behind; a larger --buffer-size helps\)", capture.Output);
    }

    /// <summary>A kernel client sends <paramref name="lines"/> lines, each its own segment, and closes; returns <paramref name="lines"/>.</summary>
    private static async Task<int> Converse(string ns, CliProcess serve, int lines)
    {
        using var client = NetnsPair.InNamespace(ns, () => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
        await client.ConnectAsync(TunNamespace.TcpKitAddress, 9999).WaitAsync(Patience);
        for (int i = 0; i < lines; i++)
        {
            client.Send(System.Text.Encoding.ASCII.GetBytes($"line{i}\r\n"));
            await serve.WaitForLine(l => l.Contains($@"""line{i}\r\n""", StringComparison.Ordinal), Patience);
        }

        client.Shutdown(SocketShutdown.Send);
        Assert.Equal(0, await client.ReceiveAsync(new byte[16]).WaitAsync(Patience));
        await serve.WaitForLine(l => l.Contains("LAST-ACK -> CLOSED", StringComparison.Ordinal), Patience);
        return lines;
    }

    [SkippableFact]
    public void tcpkit_serve_without_the_rights_to_open_dev_net_tun_says_what_is_missing()
    {
        TunNamespace.SkipUnlessAvailable();
        Skip.If(!Tool.Exists("setpriv"), "needs setpriv (util-linux) to run as an unprivileged user");
        var (exitCode, stdout, stderr) = Tool.RunFull("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "--", "dotnet", TcpKitCli.Path, "serve", "--tun", "tk9", "--addr", "192.0.2.1/24"]);
        Assert.Equal(1, exitCode);
        Assert.Contains("/dev/net/tun", stderr, StringComparison.Ordinal);
        Assert.Contains("root", stderr, StringComparison.Ordinal);
        Assert.Contains("CAP_NET_ADMIN", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", stderr + stdout, StringComparison.Ordinal);
    }

    [GeneratedRegex(@"  ([A-Z0-9-]+) -> ([A-Z0-9-]+)  \(")]
    private static partial Regex StateLine();

    /// <summary>The tcpkit CLI running inside a namespace, its output collected line by line.</summary>
    private sealed partial class CliProcess : IDisposable
    {
        private readonly Process _process;
        private readonly StringBuilder _output = new();
        private readonly StringBuilder _stdout = new();
        private readonly List<(Func<string, bool> Match, TaskCompletionSource Done)> _waits = [];

        private CliProcess(Process process) => _process = process;

        public string Output
        {
            get
            {
                lock (_output)
                {
                    return _output.ToString();
                }
            }
        }

        public string Stdout
        {
            get
            {
                lock (_output)
                {
                    return _stdout.ToString();
                }
            }
        }

        public int ExitCode => _process.ExitCode;

        public static CliProcess Start(string ns, params string[] args)
        {
            // ip netns exec execs dotnet in place, so the pid is tcpkit's and SIGINT reaches it.
            var psi = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
            foreach (var a in (string[])["netns", "exec", ns, "dotnet", TcpKitCli.Path, .. args])
            {
                psi.ArgumentList.Add(a);
            }

            var cli = new CliProcess(Process.Start(psi)!);
            cli._process.OutputDataReceived += (_, e) => cli.OnLine(e.Data, stdout: true);
            cli._process.ErrorDataReceived += (_, e) => cli.OnLine(e.Data, stdout: false);
            cli._process.BeginOutputReadLine();
            cli._process.BeginErrorReadLine();
            return cli;
        }

        public async Task WaitForLine(Func<string, bool> match, TimeSpan timeout)
        {
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_output)
            {
                if (_output.ToString().Split('\n').Any(match))
                {
                    return;
                }

                _waits.Add((match, done));
            }

            try
            {
                await done.Task.WaitAsync(timeout);
            }
            catch (TimeoutException)
            {
                throw new TimeoutException("tcpkit did not print the expected line:\n" + Output);
            }
        }

        /// <summary>
        /// Stops tcpkit as Ctrl+C would. SIGTERM, which tcpkit handles exactly like SIGINT, because a test run
        /// started in the background inherits an ignored SIGINT (POSIX) and would never see Ctrl+C.
        /// </summary>
        public void Interrupt() => _ = Kill(_process.Id, 15);

        /// <summary>Stops the process (SIGSTOP) so that it reads nothing until <see cref="Resume"/>.</summary>
        public void Pause() => _ = Kill(_process.Id, 19);

        public void Resume() => _ = Kill(_process.Id, 18);

        public bool WaitForExit(TimeSpan timeout)
        {
            if (!_process.WaitForExit(timeout))
            {
                return false;
            }

            _process.WaitForExit(); // flushes the asynchronous output readers
            return true;
        }

        public void Dispose()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit();
            }

            _process.Dispose();
        }

        private void OnLine(string? line, bool stdout)
        {
            if (line is null)
            {
                return;
            }

            lock (_output)
            {
                _output.AppendLine(line);
                if (stdout)
                {
                    _stdout.Append(line).Append('\n');
                }

                foreach (var w in _waits.Where(w => w.Match(line)).ToList())
                {
                    w.Done.TrySetResult();
                    _waits.Remove(w);
                }
            }
        }

        [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
        private static partial int Kill(int pid, int sig);
    }
}
