using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using TcpKit.Net;
using TcpKit.Tcp;
using TcpKit.Wire.Tcp;
using static TcpKit.Interop.Tests.Kernel.KernelIo;

namespace TcpKit.Interop.Tests.Kernel;

/// <summary>Refusals, resets, loss, many connections and the kernel's own view of a TcpKit peer.</summary>
[Collection("kernel")]
public class KernelBehaviourTests
{
    [SkippableTheory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_TcpKit_client_to_a_closed_kernel_port_is_refused_by_the_kernels_RST(bool ipv6)
    {
        TunNamespace.SkipUnlessAvailable();
        using var ns = TunNamespace.Create(ipv6: ipv6);
        var error = await ns.Loop.InvokeAsync(async () =>
        {
            using var client = new TcpKitClient(ns.Host);
            try
            {
                await client.ConnectAsync(ns.Kernel, 9);
                return SocketError.Success;
            }
            catch (SocketException e)
            {
                return e.SocketErrorCode;
            }
        }).WaitAsync(Patience);

        Assert.Equal(SocketError.ConnectionRefused, error);
    }

    [SkippableTheory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_kernel_client_to_a_port_where_TcpKit_does_not_listen_is_refused_by_TcpKits_RST(bool ipv6)
    {
        TunNamespace.SkipUnlessAvailable();
        using var ns = TunNamespace.Create(ipv6: ipv6);
        using var socket = ns.KernelSocket();
        var e = await Assert.ThrowsAsync<SocketException>(() => socket.ConnectAsync(ns.TcpKit, 9).WaitAsync(Patience));

        // The host's counters say why, should the kernel ever give up on a SYN timeout instead.
        var counters = await ns.Loop.InvokeAsync(() => ns.Host.Counters);
        string seen = $"{e.SocketErrorCode}; host: {counters.PacketsReceived} in, {counters.PacketsSent} out, {counters.ResetsSent} RSTs, drops: "
            + string.Join(", ", Enum.GetValues<TcpKit.Net.Host.HostDropReason>().Select(r => $"{r} {counters.Drops(r)}"));
        Assert.True(e.SocketErrorCode == SocketError.ConnectionRefused, seen);
        Assert.True(counters.ResetsSent == 1, seen);
    }

    [SkippableFact]
    public async Task An_abortive_close_by_TcpKit_resets_the_kernels_connection()
    {
        TunNamespace.SkipUnlessAvailable();
        using var ns = TunNamespace.Create();
        var listener = await StartListener(ns, 9002);
        var server = ns.Loop.InvokeAsync(async () =>
        {
            var peer = await listener.AcceptTcpClientAsync();
            var buffer = new byte[1];
            _ = await peer.GetStream().ReadAsync(buffer);
            peer.LingerState = new LingerOption(true, 0);
            peer.Close();
            return peer.State;
        });

        using var socket = ns.KernelSocket();
        await socket.ConnectAsync(TunNamespace.TcpKitAddress, 9002);
        await socket.SendAsync(new byte[] { 1 });
        Assert.Equal(TcpState.Closed, await server.WaitAsync(Patience));
        var e = await Assert.ThrowsAsync<SocketException>(async () =>
        {
            var buffer = new byte[16];
            while (await socket.ReceiveAsync(buffer).WaitAsync(Patience) > 0)
            {
            }
        });
        Assert.Equal(SocketError.ConnectionReset, e.SocketErrorCode);
    }

    [SkippableFact]
    public async Task An_abortive_close_by_the_kernel_resets_TcpKits_connection_and_fails_its_read()
    {
        TunNamespace.SkipUnlessAvailable();
        using var ns = TunNamespace.Create();
        var listener = await StartListener(ns, 9003);
        var accepted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var server = ns.Loop.InvokeAsync(async () =>
        {
            using var peer = await listener.AcceptTcpClientAsync();
            accepted.SetResult();
            try
            {
                var buffer = new byte[64];
                while (await peer.GetStream().ReadAsync(buffer) > 0)
                {
                }

                return SocketError.Success;
            }
            catch (SocketException e)
            {
                return e.SocketErrorCode;
            }
        });

        using (var socket = ns.KernelSocket())
        {
            await socket.ConnectAsync(TunNamespace.TcpKitAddress, 9003);
            await accepted.Task.WaitAsync(Patience);
            socket.LingerState = new LingerOption(true, 0);
            socket.Close(); // SO_LINGER 0: the kernel sends RST
        }

        Assert.Equal(SocketError.ConnectionReset, await server.WaitAsync(Patience));
    }

    [SkippableTheory]
    [InlineData(1)]
    [InlineData(5)]
    [InlineData(10)]
    public async Task Transfers_stay_intact_when_nftables_drops_N_percent_of_the_kernels_segments(int percent)
    {
        TunNamespace.SkipUnlessAvailable();
        Skip.If(!Infrastructure.Tool.Exists("nft"), "needs nft (nftables)");
        using var ns = TunNamespace.Create();
        // Without GSO the output hook sees each segment, not 64 KB super-packets, so N % means N % of segments.
        Skip.If(!Infrastructure.Tool.Exists("ethtool"), "needs ethtool to turn GSO off");
        ns.Exec("ethtool", "-K", TunNamespace.Interface, "gso", "off", "tso", "off");
        ns.Exec("nft", "add", "table", "inet", "loss");
        foreach (var hook in new[] { "input", "output" })
        {
            ns.Exec("nft", "add", "chain", "inet", "loss", hook, $"{{ type filter hook {hook} priority 0 ; }}");
            ns.Exec("nft", "add", "rule", "inet", "loss", hook, "meta", "l4proto", "tcp", "numgen", "random", "mod", "100", "<", percent.ToString(), "counter", "drop");
        }

        const int size = 1 << 20;
        var up = RandomBytes(size, 5);
        var down = RandomBytes(size, 6);
        var listener = await StartListener(ns, 9004);
        var server = ns.Loop.InvokeAsync(async () =>
        {
            using var peer = await listener.AcceptTcpClientAsync();
            var stream = peer.GetStream();
            var writing = WriteAll(stream, down);
            var received = await HashToEnd(stream);
            await writing;
            peer.Close();
            return received;
        });

        using var socket = ns.KernelSocket();
        await socket.ConnectAsync(TunNamespace.TcpKitAddress, 9004).WaitAsync(Patience);
        var sending = Task.Run(async () =>
        {
            await SendAll(socket, up);
            socket.Shutdown(SocketShutdown.Send);
        });
        var kernelReceived = await HashToEnd(socket).WaitAsync(Patience);
        await sending.WaitAsync(Patience);
        var tcpkitReceived = await server.WaitAsync(Patience);

        Assert.Equal(SHA256.HashData(up), tcpkitReceived.Hash);
        Assert.Equal(SHA256.HashData(down), kernelReceived.Hash);
        // The loss really happened: nft counted drops in both directions.
        var rules = ns.Exec("nft", "list", "table", "inet", "loss");
        var drops = Regex.Matches(rules, @"counter packets (\d+)").Select(m => long.Parse(m.Groups[1].Value)).ToList();
        Assert.Equal(2, drops.Count);
        Assert.All(drops, d => Assert.True(d > 0, $"nft dropped nothing in one direction:\n{rules}"));
    }

    [SkippableFact]
    public async Task A_TcpKit_listener_holds_a_thousand_concurrent_kernel_connections()
    {
        TunNamespace.SkipUnlessAvailable();
        const int count = 1000;
        using var ns = TunNamespace.Create();
        var listener = await ns.Loop.InvokeAsync(() =>
        {
            var l = new TcpKitListener(ns.Host, 9005);
            l.Start(backlog: 2 * count);
            return l;
        });
        var allOpen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int peak = 0;
        var server = ns.Loop.InvokeAsync(async () =>
        {
            var echoes = new List<Task>();
            for (int i = 0; i < count; i++)
            {
                var peer = await listener.AcceptTcpClientAsync();
                echoes.Add(Echo(peer, allOpen.Task));
            }

            peak = ns.Host.ConnectionCount;
            allOpen.SetResult();
            await Task.WhenAll(echoes);
        });

        var sockets = Enumerable.Range(0, count).Select(_ => ns.KernelSocket()).ToList();
        try
        {
            await Task.WhenAll(sockets.Select(s => s.ConnectAsync(TunNamespace.TcpKitAddress, 9005))).WaitAsync(Patience);
            await allOpen.Task.WaitAsync(Patience);
            var replies = await Task.WhenAll(sockets.Select(async (s, i) =>
            {
                var message = BitConverter.GetBytes(i);
                await s.SendAsync(message);
                s.Shutdown(SocketShutdown.Send);
                var reply = await HashToEnd(s);
                return reply.Hash.AsSpan().SequenceEqual(SHA256.HashData(message));
            })).WaitAsync(Patience);
            await server.WaitAsync(Patience);

            Assert.True(peak >= count, $"only {peak} connections were open at once");
            Assert.All(replies, Assert.True);
        }
        finally
        {
            sockets.ForEach(s => s.Dispose());
        }

        static async Task Echo(TcpKitClient peer, Task start)
        {
            await start;
            using (peer)
            {
                var stream = peer.GetStream();
                var buffer = new byte[64];
                int n;
                while ((n = await stream.ReadAsync(buffer)) > 0)
                {
                    await stream.WriteAsync(buffer.AsMemory(0, n));
                }
            }
        }
    }

    [SkippableFact]
    public async Task The_kernels_ss_shows_the_MSS_TcpKit_advertised()
    {
        TunNamespace.SkipUnlessAvailable();
        Skip.If(!Infrastructure.Tool.Exists("ss"), "needs ss (iproute2)");
        using var ns = TunNamespace.Create(TcpConfig.Linux with { Mss = 1000 });
        var listener = await StartListener(ns, 9006);
        var server = ns.Loop.InvokeAsync(async () =>
        {
            using var peer = await listener.AcceptTcpClientAsync();
            _ = await HashToEnd(peer.GetStream());
        });
        using var socket = ns.KernelSocket();
        await socket.ConnectAsync(TunNamespace.TcpKitAddress, 9006);
        await SendAll(socket, RandomBytes(100_000, 7));

        var ss = ns.Exec("ss", "-tin", "dst", TunNamespace.TcpKitAddress.ToString());
        socket.Shutdown(SocketShutdown.Send);
        await server.WaitAsync(Patience);

        Assert.True(Regex.IsMatch(ss, @"\bmss:1000\b"), ss);
        Assert.Contains("192.0.2.1:9006", ss, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task Packets_from_the_TUN_device_reach_the_host_on_the_loop_without_allocating_per_packet()
    {
        TunNamespace.SkipUnlessAvailable();
        using var ns = TunNamespace.Create();
        // UDP to TcpKit's address: the kernel routes it into the device, the link hands it to the host
        // on the loop, and the host drops it as not TCP (no reply, nothing queued).
        using var udp = Infrastructure.NetnsPair.InNamespace(ns.Namespace, () => new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp));
        udp.Connect(TunNamespace.TcpKitAddress, 9);
        var payload = new byte[200];
        Flood(udp, payload, 2_000); // warm-up: JIT, queue growth
        WaitUntilQuiet(ns);

        long allocatedBefore = await ns.Loop.InvokeAsync(() => GC.GetAllocatedBytesForCurrentThread());
        long receivedBefore = ns.Link.PacketsReceived;
        Flood(udp, payload, 20_000);
        WaitUntilQuiet(ns);
        long received = ns.Link.PacketsReceived - receivedBefore;
        long allocated = await ns.Loop.InvokeAsync(() => GC.GetAllocatedBytesForCurrentThread()) - allocatedBefore;

        Assert.True(received >= 10_000, $"only {received} packets came through the device");
        Assert.True(allocated < 4_096, $"the loop allocated {allocated} bytes for {received} packets");
        Assert.True(ns.Link.ReadBatches <= ns.Link.PacketsReceived);

        static void Flood(Socket socket, byte[] payload, int count)
        {
            // In bursts: the device's queue (txqueuelen 500) drops what a tight loop sends faster than we read.
            for (int i = 0; i < count; i++)
            {
                socket.Send(payload);
                if (i % 100 == 99)
                {
                    Thread.Sleep(1);
                }
            }
        }

        static void WaitUntilQuiet(TunNamespace ns)
        {
            long last = -1;
            for (int stable = 0; stable < 4;)
            {
                Thread.Sleep(50);
                long now = ns.Link.PacketsReceived;
                stable = now == last ? stable + 1 : 0;
                last = now;
            }
        }
    }

    [SkippableFact]
    public void Disposing_the_link_stops_its_reader_at_once_and_the_kernel_removes_the_interface()
    {
        TunNamespace.SkipUnlessAvailable();
        using var ns = TunNamespace.Create();
        Assert.Contains(TunNamespace.Interface + ":", ns.Exec("ip", "-o", "link", "show"), StringComparison.Ordinal);
        Assert.Contains("192.0.2.2/24", ns.Exec("ip", "-o", "-4", "addr", "show", "dev", TunNamespace.Interface), StringComparison.Ordinal);

        var clock = System.Diagnostics.Stopwatch.StartNew();
        ns.Link.Dispose(); // the reader is blocked in poll(2); the eventfd wakes it
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"Dispose took {clock.Elapsed}");
        Assert.DoesNotContain(TunNamespace.Interface + ":", ns.Exec("ip", "-o", "link", "show"), StringComparison.Ordinal);
        Assert.Null(ns.Link.ReaderError);
    }

    private static Task<TcpKitListener> StartListener(TunNamespace ns, int port) => ns.Loop.InvokeAsync(() =>
    {
        // TcpKitListener.Config defaults to TcpConfig.Linux, not the host's Config: pass the host's on.
        var l = new TcpKitListener(ns.Host, port) { Config = ns.Host.Config };
        l.Start();
        return l;
    });
}
