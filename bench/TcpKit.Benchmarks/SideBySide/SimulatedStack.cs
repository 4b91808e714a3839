using System.Diagnostics;
using System.Globalization;
using TcpKit.Net;
using TcpKit.Net.Host;
using TcpKit.Net.Simulation;
using TcpKit.Tcp;
using TcpKit.Wire;
using TcpKit.Wire.Tcp;

namespace TcpKit.Benchmarks.SideBySide;

/// <summary>
/// Whole-stack measurements on the simulated network, in wall-clock time on one thread:
/// bulk throughput between two TcpKit hosts, connection open+close rate, and memory per idle connection.
/// </summary>
internal static class SimulatedStack
{
    private static readonly IpAddress ClientAddress = IpAddress.Parse("198.18.0.1");
    private static readonly IpAddress ServerAddress = IpAddress.Parse("198.18.0.2");

    private sealed record Pair(SimulatedNetwork Network, SimulatedEventLoop Loop, TcpHost Client, TcpHost Server);

    private static Pair MakePair(TcpConfig config, LinkProfile profile)
    {
        var network = new SimulatedNetwork(1);
        var loop = new SimulatedEventLoop(network);
        var a = network.AddHost("client");
        var b = network.AddHost("server");
        a.AddAddress(ClientAddress.ToIPAddress());
        b.AddAddress(ServerAddress.ToIPAddress());
        network.Connect(a, b, profile, profile);
        var client = new TcpHost("client", a, loop, config, 1);
        var server = new TcpHost("server", b, loop, config, 1);
        client.AddAddress(ClientAddress);
        server.AddAddress(ServerAddress);
        return new Pair(network, loop, client, server);
    }

    /// <summary>Bulk transfer of <paramref name="bytes"/> over an ideal link (MTU 1500, no delay); median of runs.</summary>
    public static int Bulk(long bytes, int runs)
    {
        var times = new List<double>();
        for (int r = 0; r < runs; r++)
        {
            var config = TcpConfig.Linux with { SendBufferSize = 4 << 20, ReceiveBufferSize = 4 << 20 };
            var p = MakePair(config, new LinkProfile { Delay = TimeSpan.FromMicroseconds(50) });
            var listener = new TcpKitListener(p.Server, 5201) { Config = config };
            listener.Start();
            long received = 0;
            var chunk = new byte[256 * 1024];
            var sw = Stopwatch.StartNew();
            var server = p.Loop.Start(async () =>
            {
                using var peer = await listener.AcceptTcpClientAsync();
                var stream = peer.GetStream();
                var buffer = new byte[256 * 1024];
                int n;
                while ((n = await stream.ReadAsync(buffer)) > 0)
                {
                    received += n;
                }
            });
            var client = p.Loop.Start(async () =>
            {
                using var c = new TcpKitClient(p.Client) { Config = config };
                await c.ConnectAsync(ServerAddress, 5201);
                var stream = c.GetStream();
                for (long sent = 0; sent < bytes; sent += chunk.Length)
                {
                    await stream.WriteAsync(chunk.AsMemory(0, (int)Math.Min(chunk.Length, bytes - sent)));
                }

                c.Close();
            });
            p.Network.RunWhile(() => !(server.IsCompleted && client.IsCompleted), p.Network.Now + TimeSpan.FromHours(10));
            sw.Stop();
            server.GetAwaiter().GetResult();
            client.GetAwaiter().GetResult();
            if (received != bytes)
            {
                throw new InvalidOperationException($"received {received} of {bytes} bytes");
            }

            times.Add(sw.Elapsed.TotalSeconds);
        }

        times.Sort();
        double median = times[times.Count / 2];
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"bytes={bytes} median_seconds={median:F3} payload_gbit_per_second={bytes * 8 / median / 1e9:F2} runs={runs}"));
        return 0;
    }

    /// <summary>
    /// Open and close <paramref name="count"/> connections, 64 at a time, after warm-up rounds of a fifth as
    /// many (at least 2 s of them) so the JIT's work is not counted. Each connection is a handshake and a FIN each way: the server
    /// closes first (as a web server does), so the server's end waits in TIME-WAIT for Linux's full 60 s
    /// (2 MSL). A client port comes round again after 28,232 connections; its new SYN then ends the old
    /// TIME-WAIT early (MAY-2 of RFC 1122 4.2.2.13, as Linux does). The round ends when every TIME-WAIT has
    /// expired or been reused, so the cost of each is counted. One pair of hosts serves the warm-up and every
    /// round, as a server that has been running for a while: its connection table and timer arrays have
    /// reached their size, and a round measures connections, not building hosts.
    /// </summary>
    public static int OpenClose(int count, int rounds = 1) => OpenClose(count, rounds, new AsyncOpenClose());

    /// <summary>
    /// The same workload as <see cref="OpenClose(int, int)"/> (64 connections at a time, handshake, the server's
    /// FIN, the client's FIN, the server's 60 s TIME-WAIT expired or reused through MAY-2), with the same
    /// segments on the wire, but driven through the host's callback API (TcpHost.Listen with an accept
    /// callback, TcpHost.Open and ConnectionEvent) instead of TcpKitListener/TcpKitClient and async/await:
    /// it measures the stack without the tasks, state machines and awaits of the socket-like API.
    /// </summary>
    public static int OpenCloseCallbacks(int count, int rounds = 1) => OpenClose(count, rounds, new CallbackOpenClose());

    /// <summary>One way of driving the open+close workload on one pair of hosts, round after round.</summary>
    private abstract class OpenCloseWorkload
    {
        protected OpenCloseWorkload()
        {
            Config = TcpConfig.Linux with { SendBufferSize = 4096, ReceiveBufferSize = 4096 };
            Pair = MakePair(Config, new LinkProfile { Delay = TimeSpan.FromMicroseconds(10) });
        }

        protected TcpConfig Config { get; }

        protected Pair Pair { get; }

        /// <summary>Opens and closes <paramref name="count"/> connections; returns when all of them have ended on both hosts.</summary>
        public (double Seconds, double CpuSeconds, long AllocatedBytes, long Events) Round(int count)
        {
            long eventsBefore = Pair.Network.EventsProcessed;
            long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
            double cpuBefore = ThreadCpu.Seconds();
            var sw = Stopwatch.StartNew();
            Run(count);
            sw.Stop();
            double cpu = ThreadCpu.Seconds() - cpuBefore;
            long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
            if (Pair.Client.ConnectionCount + Pair.Server.ConnectionCount != 0)
            {
                throw new InvalidOperationException("connections left open");
            }

            return (sw.Elapsed.TotalSeconds, cpu, allocated, Pair.Network.EventsProcessed - eventsBefore);
        }

        protected abstract void Run(int count);

        protected void RunUntil(Func<bool> done) =>
            Pair.Network.RunWhile(() => !(done() && Pair.Client.ConnectionCount == 0 && Pair.Server.ConnectionCount == 0), Pair.Network.Now + TimeSpan.FromHours(10));
    }

    /// <summary>TcpKitListener/TcpKitClient with async/await and the ValueTask overloads.</summary>
    private sealed class AsyncOpenClose : OpenCloseWorkload
    {
        private readonly TcpKitListener _listener;

        public AsyncOpenClose()
        {
            _listener = new TcpKitListener(Pair.Server, 80) { Config = Config };
            _listener.Start(backlog: 1024);
        }

        protected override void Run(int count)
        {
            var server = Pair.Loop.Start(async () =>
            {
                for (int accepted = 0; accepted < count; accepted++)
                {
                    // The CancellationToken overloads return ValueTasks, as System.Net.Sockets' do: no Task per accept or connect.
                    var peer = await _listener.AcceptTcpClientAsync(CancellationToken.None);
                    peer.Close(); // the server closes first: its FIN follows the handshake
                }
            });

            int opened = 0;
            var clients = Pair.Loop.Start(async () =>
            {
                var workers = new List<Task>();
                for (int w = 0; w < 64; w++)
                {
                    workers.Add(Worker());
                }

                await Task.WhenAll(workers);
            });
            async Task Worker()
            {
                var buffer = new byte[1];
                while (opened < count)
                {
                    opened++;
                    var c = new TcpKitClient(Pair.Client) { Config = Config };
                    await c.ConnectAsync(ServerAddress, 80, CancellationToken.None);
                    if (await c.GetStream().ReadAsync(buffer) != 0)
                    {
                        throw new InvalidOperationException("the server sent data");
                    }

                    c.Close(); // after the server's FIN: LAST-ACK, then CLOSED
                }
            }

            RunUntil(() => clients.IsCompleted && server.IsCompleted);
            clients.GetAwaiter().GetResult();
            server.GetAwaiter().GetResult();
        }
    }

    /// <summary>The host's callback API: TcpHost.Listen with an accept callback, TcpHost.Open and ConnectionEvent; no tasks.</summary>
    private sealed class CallbackOpenClose : OpenCloseWorkload
    {
        private readonly Action _openNext;
        private int _count;
        private int _accepted;
        private int _opened;
        private int _closed;

        public CallbackOpenClose()
        {
            // The server closes first, as the async variant does right after AcceptTcpClientAsync.
            Pair.Server.Listen(80, 1024, conn =>
            {
                _accepted++;
                conn.Close();
            }, Config);
            // Opening from inside another connection's events would nest one connection's pump in another's,
            // so a connection that ends posts the next open to the loop, as an await's continuation would be.
            _openNext = () =>
            {
                if (_opened < _count)
                {
                    _opened++;
                    Pair.Client.Open(ServerAddress, 80, Config);
                }
            };
            Pair.Client.ConnectionEvent += (conn, e) =>
            {
                if (e.Kind == TcpEventKind.StateChanged && e.NewState == TcpState.CloseWait)
                {
                    conn.Close(); // after the server's FIN: LAST-ACK, then CLOSED
                }
                else if (e.Kind == TcpEventKind.Closed)
                {
                    if (e.Error != TcpError.None)
                    {
                        throw new InvalidOperationException($"connection failed: {e.Error}");
                    }

                    _closed++;
                    Pair.Loop.Post(_openNext);
                }
            };
        }

        protected override void Run(int count)
        {
            _count = count;
            _accepted = _opened = _closed = 0;
            for (int w = 0; w < 64; w++)
            {
                Pair.Loop.Post(_openNext);
            }

            RunUntil(() => _closed == count);
            if (_accepted != count)
            {
                throw new InvalidOperationException($"closed {_closed}, accepted {_accepted} of {count}");
            }
        }
    }

    /// <summary>
    /// Measures <paramref name="rounds"/> rounds of <paramref name="count"/> connections after the warm-up and
    /// prints each and then the best and the median: on a shared machine a round is often slowed by other
    /// tenants, so several rounds in one process show what the code does apart from that.
    /// </summary>
    private static int OpenClose(int count, int rounds, OpenCloseWorkload workload)
    {
        // Steady state, as BenchmarkDotNet's warm-up: the runtime compiles hot methods again with full
        // optimisation (tiered compilation, PGO) in the background over the first second or two, so warm-up
        // rounds run for at least 2 s (one round measured the ~10 % slower instrumented code).
        var warmUp = Stopwatch.StartNew();
        do
        {
            workload.Round(Math.Max(1000, count / 5));
        }
        while (warmUp.Elapsed < TimeSpan.FromSeconds(2));
        var rates = new List<double>();
        var memorySpeeds = new List<double>();
        for (int r = 0; r < Math.Max(1, rounds); r++)
        {
            // The machine's speed just before and after the round (see MachineSpeed): it is shared, and its memory
            // slows down several times over for seconds at a time, which no change to this code can help.
            double memoryBefore = MachineSpeed.MeasureMemory();
            double computeBefore = MachineSpeed.MeasureCompute();
            int gen0 = GC.CollectionCount(0), gen1 = GC.CollectionCount(1), gen2 = GC.CollectionCount(2);
            var pause = GC.GetTotalPauseDuration();
            RoundGate.Enter(r);
            var (seconds, cpuSeconds, allocated, events) = workload.Round(count);
            RoundGate.Leave(r);
            gen0 = GC.CollectionCount(0) - gen0;
            gen1 = GC.CollectionCount(1) - gen1;
            gen2 = GC.CollectionCount(2) - gen2;
            pause = GC.GetTotalPauseDuration() - pause;
            double memory = Math.Min(memoryBefore, MachineSpeed.MeasureMemory());
            double compute = Math.Min(computeBefore, MachineSpeed.MeasureCompute());
            rates.Add(count / seconds);
            memorySpeeds.Add(memory);
            // The simulation runs on this one thread, so its CPU time is the cost without the time spent waiting
            // for a core on a shared machine; allocation and event counts do not depend on the load at all.
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"connections={count} seconds={seconds:F3} open_close_per_second={count / seconds:F0} (after warm-up) thread_cpu_seconds={cpuSeconds:F3} open_close_per_cpu_second={count / cpuSeconds:F0} allocated_bytes_per_connection={allocated / (double)count:F0} events_per_connection={events / (double)count:F1} gc_gen0={gen0} gc_gen1={gen1} gc_gen2={gen2} gc_pause_ms={pause.TotalMilliseconds:F0} machine_memory_steps_per_us={memory:F0} machine_compute_steps_per_ns={compute:F3}"));
        }

        if (rates.Count > 1)
        {
            rates.Sort();
            double median = rates.Count % 2 == 1 ? rates[rates.Count / 2] : (rates[(rates.Count / 2) - 1] + rates[rates.Count / 2]) / 2;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"rounds={rates.Count} best_open_close_per_second={rates[^1]:F0} median_open_close_per_second={median:F0}"));
        }

        return 0;
    }

    /// <summary>Establish <paramref name="count"/> idle connections and report managed memory per connection (both ends), buffers excluded.</summary>
    public static int Idle(int count)
    {
        const int bufferSize = 1024;
        var config = TcpConfig.Linux with { SendBufferSize = bufferSize, ReceiveBufferSize = bufferSize };
        var p = MakePair(config, new LinkProfile { Delay = TimeSpan.FromMicroseconds(10) });
        // One client address reaches one server port through at most 28,232 ephemeral ports, so the
        // server listens on several ports to hold 100,000 connections at once.
        const int ports = 4;
        var accepted = new List<TcpKitClient>(count);
        var clients = new List<TcpKitClient>(count);
        var servers = new List<Task>();
        for (int port = 80; port < 80 + ports; port++)
        {
            var listener = new TcpKitListener(p.Server, port) { Config = config };
            listener.Start(backlog: 4096);
            int share = (count / ports) + (port - 80 < count % ports ? 1 : 0);
            servers.Add(p.Loop.Start(async () =>
            {
                for (int i = 0; i < share; i++)
                {
                    accepted.Add(await listener.AcceptTcpClientAsync());
                }
            }));
        }

        var server = Task.WhenAll(servers);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        long before = GC.GetTotalMemory(true);
        var connecting = p.Loop.Start(async () =>
        {
            for (int i = 0; i < count; i++)
            {
                var c = new TcpKitClient(p.Client) { Config = config };
                clients.Add(c);
                var connect = c.ConnectAsync(ServerAddress, 80 + (i % ports));
                if (i % 512 == 511)
                {
                    await connect;
                }
            }
        });
        p.Network.RunWhile(() => !(connecting.IsCompleted && server.IsCompleted), p.Network.Now + TimeSpan.FromHours(1));
        p.Network.RunFor(TimeSpan.FromSeconds(1)); // delayed ACKs settle; nothing left to send
        connecting.GetAwaiter().GetResult();
        long after = GC.GetTotalMemory(true);
        int connections = p.Client.ConnectionCount + p.Server.ConnectionCount;
        // Rings are rented only while data is queued, so an idle connection holds none: this is all of it.
        double perConnection = (after - before) / (double)connections;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"established={connections} managed_bytes={after - before} bytes_per_idle_connection_end={perConnection:F0} (no rings held)"));
        GC.KeepAlive(accepted);
        GC.KeepAlive(clients);
        return 0;
    }
}
