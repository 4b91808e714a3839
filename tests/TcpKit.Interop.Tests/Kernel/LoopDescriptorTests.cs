using System.Net;
using System.Net.Sockets;
using TcpKit.Net.Host;

namespace TcpKit.Interop.Tests.Kernel;

/// <summary>
/// The real-time loop's poll(2) wait, which the TUN link relies on: descriptors are serviced on the loop
/// thread, a watch stops when disposed, and posts from other threads wake the loop only while it sleeps.
/// Uses a UDP socket on loopback as the descriptor (Linux only; no root needed).
/// </summary>
public class LoopDescriptorTests
{
    [SkippableFact]
    public async Task A_watched_descriptor_is_serviced_on_the_loop_thread_until_the_watch_is_disposed()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "poll(2) and eventfd are Linux");
        using var loop = new RealTimeEventLoop();
        loop.Start();
        Assert.True(loop.CanWatchDescriptors);
        using var receiver = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { Blocking = false };
        receiver.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        using var sender = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        sender.Connect(receiver.LocalEndPoint!);

        var threads = new List<bool>();
        int datagrams = 0;
        var three = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var buffer = new byte[64];
        var watch = loop.WatchReadable((int)receiver.Handle, () =>
        {
            threads.Add(loop.IsLoopThread);
            while (receiver.Available > 0)
            {
                receiver.Receive(buffer);
                if (++datagrams == 3)
                {
                    three.TrySetResult();
                }
            }
        });

        for (int i = 0; i < 3; i++)
        {
            sender.Send([(byte)i]);
        }

        await three.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.All(threads, onLoop => Assert.True(onLoop));

        watch.Dispose(); // returns once the loop no longer polls the socket
        int callbacks = await loop.InvokeAsync(() => threads.Count);
        sender.Send([9]);
        await Task.Delay(200);
        Assert.Equal(callbacks, await loop.InvokeAsync(() => threads.Count));
        Assert.True(receiver.Available > 0, "the datagram sent after Dispose should wait unread");
    }

    [SkippableFact]
    public async Task Posts_from_another_thread_while_the_loop_is_busy_cost_no_wake_ups()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "poll(2) and eventfd are Linux");
        using var loop = new RealTimeEventLoop();
        loop.Start();
        using var busy = new ManualResetEventSlim();
        using var entered = new ManualResetEventSlim();
        loop.Post(() =>
        {
            entered.Set();
            busy.Wait();
        });
        entered.Wait(TimeSpan.FromSeconds(10));
        long before = loop.CrossThreadWakeups;

        int ran = 0;
        for (int i = 0; i < 1_000; i++)
        {
            loop.Post(() => ran++);
        }

        busy.Set();
        Assert.Equal(1_000, await loop.InvokeAsync(() => ran).WaitAsync(TimeSpan.FromSeconds(10)));
        // The loop was running the whole time, so none of the 1000 posts had to write the eventfd;
        // only the InvokeAsync above may have found it asleep.
        Assert.InRange(loop.CrossThreadWakeups - before, 0, 1);

        await Task.Delay(100); // now it sleeps: one post, one wake-up
        long sleeping = loop.CrossThreadWakeups;
        await loop.InvokeAsync(() => { });
        Assert.Equal(sleeping + 1, loop.CrossThreadWakeups);
    }
}
