using System.Security.Cryptography;
using TcpKit.Net.Host;
using TcpKit.Net.Links;
using TcpKit.Wire;

namespace TcpKit.Net.Tests.RealTime;

public class RealTimeEventLoopTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Posted_work_runs_on_the_loop_thread_in_posting_order()
    {
        using var loop = new RealTimeEventLoop();
        loop.Start();
        var order = new List<int>();
        var threads = new HashSet<int>();
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        for (int i = 0; i < 1000; i++)
        {
            int n = i;
            loop.Post(() =>
            {
                order.Add(n);
                threads.Add(Environment.CurrentManagedThreadId);
                if (n == 999)
                {
                    done.SetResult();
                }
            });
        }

        await done.Task.WaitAsync(Patience);
        Assert.Equal(Enumerable.Range(0, 1000), order);
        Assert.Single(threads);
        Assert.NotEqual(Environment.CurrentManagedThreadId, threads.Single());
    }

    [Fact]
    public async Task Timers_fire_in_deadline_order_whatever_order_they_were_armed_in()
    {
        using var loop = new RealTimeEventLoop();
        loop.Start();
        var fired = new List<int>();
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await loop.InvokeAsync(() =>
        {
            var start = loop.Now;
            foreach (int ms in new[] { 60, 20, 100, 40, 80 })
            {
                var timer = loop.CreateTimer(() =>
                {
                    Assert.True(loop.Now >= start + TimeSpan.FromMilliseconds(ms), "a timer fired before its deadline");
                    fired.Add(ms);
                    if (fired.Count == 5)
                    {
                        done.SetResult();
                    }
                });
                timer.Set(start + TimeSpan.FromMilliseconds(ms));
            }
        });

        await done.Task.WaitAsync(Patience);
        Assert.Equal([20, 40, 60, 80, 100], fired);
    }

    [Fact]
    public async Task A_timer_pushed_out_fires_once_at_its_last_deadline_and_keeps_one_heap_entry()
    {
        using var loop = new RealTimeEventLoop();
        loop.Start();
        int fires = 0;
        Instant firedAt = default;
        Instant last = default;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int heapAfterArming = await loop.InvokeAsync(() =>
        {
            var timer = loop.CreateTimer(() =>
            {
                fires++;
                firedAt = loop.Now;
                done.TrySetResult();
            });
            var start = loop.Now;
            // Like a retransmission timer re-armed on every ACK: always later than before.
            for (int i = 1; i <= 10_000; i++)
            {
                last = start + TimeSpan.FromMilliseconds(50 + (i / 100));
                timer.Set(last);
            }

            return loop.TimerHeapCount;
        });

        await done.Task.WaitAsync(Patience);
        await Task.Delay(100);
        Assert.Equal(1, heapAfterArming);
        Assert.Equal(1, fires);
        Assert.True(firedAt >= last);
    }

    [Fact]
    public async Task A_cancelled_timer_does_not_fire_and_an_earlier_deadline_takes_effect()
    {
        using var loop = new RealTimeEventLoop();
        loop.Start();
        var fired = new List<string>();
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await loop.InvokeAsync(() =>
        {
            var start = loop.Now;
            var cancelled = loop.CreateTimer(() => fired.Add("cancelled"));
            cancelled.Set(start + TimeSpan.FromMilliseconds(20));
            cancelled.Cancel();
            var pulledIn = loop.CreateTimer(() => fired.Add("pulled in"));
            pulledIn.Set(start + TimeSpan.FromSeconds(30));
            pulledIn.Set(start + TimeSpan.FromMilliseconds(30));
            var marker = loop.CreateTimer(() => done.SetResult());
            marker.Set(start + TimeSpan.FromMilliseconds(120));
        });

        await done.Task.WaitAsync(Patience);
        Assert.Equal(["pulled in"], fired);
    }

    [Fact]
    public async Task Awaits_inside_invoked_async_code_resume_on_the_loop_thread()
    {
        using var loop = new RealTimeEventLoop();
        loop.Start();
        int loopThread = await loop.InvokeAsync(() => Environment.CurrentManagedThreadId);
        var seen = await loop.InvokeAsync(async () =>
        {
            var threads = new List<int> { Environment.CurrentManagedThreadId };
            for (int i = 0; i < 5; i++)
            {
                await Task.Delay(5).ConfigureAwait(true);
                threads.Add(Environment.CurrentManagedThreadId);
                await Task.Yield();
                threads.Add(Environment.CurrentManagedThreadId);
            }

            return threads;
        });

        Assert.All(seen, t => Assert.Equal(loopThread, t));
    }

    [Fact]
    public async Task InvokeAsync_hands_back_results_and_exceptions_of_the_work()
    {
        using var loop = new RealTimeEventLoop();
        loop.Start();
        Assert.Equal(42, await loop.InvokeAsync(() => 42));
        await Assert.ThrowsAsync<InvalidOperationException>(() => loop.InvokeAsync(() => throw new InvalidOperationException("sync")));
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => loop.InvokeAsync(async () =>
        {
            await Task.Yield();
            throw new InvalidOperationException("async");
        }));
        Assert.Equal("async", e.Message);
        Assert.False(loop.Completion.IsCompleted, "an exception returned to the caller must not stop the loop");
    }

    [Fact]
    public async Task Work_queued_when_the_loop_stops_is_cancelled_for_its_callers()
    {
        var loop = new RealTimeEventLoop();
        loop.Start();
        var gate = new ManualResetEventSlim();
        loop.Post(() => gate.Wait());
        var queued = loop.InvokeAsync(() => 1);
        loop.Stop();
        gate.Set();
        await loop.Completion.WaitAsync(Patience);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => queued.WaitAsync(Patience));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => loop.InvokeAsync(() => 2).WaitAsync(Patience));
        loop.Dispose();
    }

    [Fact]
    public async Task An_exception_in_posted_work_stops_the_loop_unless_a_handler_takes_it()
    {
        using (var handled = new RealTimeEventLoop())
        {
            var seen = new List<string>();
            handled.UnhandledException += e => seen.Add(e.Message);
            handled.Start();
            handled.Post(() => throw new InvalidOperationException("first"));
            Assert.Equal(7, await handled.InvokeAsync(() => 7).WaitAsync(Patience));
            Assert.Equal(["first"], seen);
        }

        using var loop = new RealTimeEventLoop();
        loop.Start();
        loop.Post(() => throw new InvalidOperationException("boom"));
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => loop.Completion.WaitAsync(Patience));
        Assert.Equal("boom", e.Message);
    }

    [Fact]
    public async Task The_loops_context_Send_from_another_thread_runs_on_the_loop_and_waits_for_it()
    {
        using var loop = new RealTimeEventLoop();
        loop.Start();
        int loopThread = await loop.InvokeAsync(() => Environment.CurrentManagedThreadId);
        int ranOn = 0;
        await Task.Run(() => loop.Context.Send(_ =>
        {
            Thread.Sleep(20);
            ranOn = Environment.CurrentManagedThreadId;
        }, null));
        Assert.Equal(loopThread, ranOn); // set before Send returned
    }

    [Fact]
    public async Task A_timer_armed_from_another_thread_still_fires_on_the_loop()
    {
        using var loop = new RealTimeEventLoop();
        loop.Start();
        int loopThread = await loop.InvokeAsync(() => Environment.CurrentManagedThreadId);
        var firedOn = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var timer = loop.CreateTimer(() => firedOn.SetResult(Environment.CurrentManagedThreadId));
        timer.Set(loop.Now + TimeSpan.FromMilliseconds(10));
        Assert.Equal(loopThread, await firedOn.Task.WaitAsync(Patience));
    }

    [Fact]
    public void Run_drives_the_loop_on_the_calling_thread_until_Stop()
    {
        using var loop = new RealTimeEventLoop();
        int caller = Environment.CurrentManagedThreadId;
        int ranOn = 0;
        loop.Post(() =>
        {
            ranOn = Environment.CurrentManagedThreadId;
            var timer = loop.CreateTimer(loop.Stop);
            timer.Set(loop.Now + TimeSpan.FromMilliseconds(10));
        });
        loop.Run();
        Assert.Equal(caller, ranOn);
        Assert.True(loop.Completion.IsCompletedSuccessfully);
    }

    [Fact]
    public async Task Two_host_stacks_on_the_real_time_loop_move_a_megabyte_intact()
    {
        using var loop = new RealTimeEventLoop();
        loop.Start();
        var (linkA, linkB) = LoopbackLinkPair.Create(loop);
        var a = IpAddress.Parse("192.0.2.1");
        var b = IpAddress.Parse("192.0.2.2");
        var data = new byte[1 << 20];
        new Random(7).NextBytes(data);
        var hash = await loop.InvokeAsync(async () =>
        {
            var server = new TcpHost("server", linkB, loop, seed: 1);
            server.AddAddress(b);
            var client = new TcpHost("client", linkA, loop, seed: 2);
            client.AddAddress(a);
            var listener = new TcpKitListener(server, 80);
            listener.Start();
            var accept = listener.AcceptTcpClientAsync();
            using var c = new TcpKitClient(client);
            await c.ConnectAsync(b, 80);
            using var peer = await accept;
            var writer = WriteAllAndClose(c, data);
            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var buffer = new byte[16384];
            var stream = peer.GetStream();
            int n;
            while ((n = await stream.ReadAsync(buffer)) > 0)
            {
                sha.AppendData(buffer, 0, n);
            }

            await writer;
            return sha.GetHashAndReset();
        }).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(SHA256.HashData(data), hash);
    }

    private static async Task WriteAllAndClose(TcpKitClient client, byte[] data)
    {
        var stream = client.GetStream();
        for (int off = 0; off < data.Length; off += 10_000)
        {
            await stream.WriteAsync(data.AsMemory(off, Math.Min(10_000, data.Length - off)));
        }

        client.Close();
    }
}

/// <summary>Two links joined back to back through the loop: what one sends, the other receives on the loop.</summary>
internal sealed class LoopbackLinkPair : ILink
{
    private readonly IEventLoop _loop;
    private LoopbackLinkPair? _peer;
    private ILinkReceiver? _receiver;

    private LoopbackLinkPair(IEventLoop loop) => _loop = loop;

    public int Mtu => 1500;

    public LinkType LinkType => LinkType.Raw;

    public static (LoopbackLinkPair A, LoopbackLinkPair B) Create(IEventLoop loop)
    {
        var a = new LoopbackLinkPair(loop);
        var b = new LoopbackLinkPair(loop);
        a._peer = b;
        b._peer = a;
        return (a, b);
    }

    public void Send(ReadOnlySpan<byte> ipPacket)
    {
        var copy = ipPacket.ToArray();
        var peer = _peer!;
        _loop.Post(() => peer._receiver?.OnPacket(copy, _loop.Now));
    }

    public void SetReceiver(ILinkReceiver? receiver) => _receiver = receiver;
}
