using TcpKit.Net.Host;
using TcpKit.Net.Simulation;

namespace TcpKit.Net.Tests.Host;

/// <summary>The reusable wait behind ReadAsync, ConnectAsync and AcceptTcpClientAsync.</summary>
public class LoopWaiterTests
{
    [Fact]
    public void A_waiter_completes_on_the_loop_and_can_wait_again()
    {
        var loop = new SimulatedEventLoop(new SimulatedNetwork(1));
        var waiter = new LoopWaiter<int>(loop);
        var results = new List<int>();
        var run = loop.Start(async () =>
        {
            for (int i = 1; i <= 3; i++)
            {
                var wait = waiter.WaitAsync(CancellationToken.None);
                Assert.False(wait.IsCompleted);
                int value = i;
                loop.Post(() => waiter.TrySetResult(value * 10));
                results.Add(await wait);
                Assert.True(waiter.IsFree);
            }
        });

        RunToEnd(loop, run);
        Assert.Equal([10, 20, 30], results);
    }

    [Fact]
    public void Completing_a_waiter_never_runs_the_awaiting_code_inline()
    {
        var loop = new SimulatedEventLoop(new SimulatedNetwork(1));
        var waiter = new LoopWaiter<bool>(loop);
        var order = new List<string>();
        var run = loop.Start(async () =>
        {
            var wait = waiter.WaitAsync(CancellationToken.None);
            loop.Post(() =>
            {
                waiter.TrySetResult(true);
                order.Add("completed");
            });
            await wait.ConfigureAwait(false); // asks for no context: it still resumes on the loop
            order.Add("resumed");
            Assert.Same(loop.Context, SynchronizationContext.Current);
        });

        RunToEnd(loop, run);
        Assert.Equal(["completed", "resumed"], order);
    }

    [Fact]
    public void A_second_wait_while_one_is_pending_is_refused_and_the_first_is_unharmed()
    {
        var loop = new SimulatedEventLoop(new SimulatedNetwork(1));
        var waiter = new LoopWaiter<int>(loop);
        var run = loop.Start(async () =>
        {
            var first = waiter.WaitAsync(CancellationToken.None);
            Assert.Throws<InvalidOperationException>(() => StartSecondWait(waiter));
            Assert.True(waiter.TrySetResult(7));
            Assert.False(waiter.TrySetResult(8)); // already completed
            Assert.False(waiter.IsFree); // its awaiter has not taken the result yet
            Assert.Throws<InvalidOperationException>(() => StartSecondWait(waiter));
            Assert.Equal(7, await first);
            Assert.True(waiter.IsFree);
        });

        RunToEnd(loop, run);
    }

    [Fact]
    public void Cancelling_ends_the_wait_with_OperationCanceledException_and_runs_the_cancel_action_once()
    {
        var loop = new SimulatedEventLoop(new SimulatedNetwork(1));
        var waiter = new LoopWaiter<bool>(loop);
        int cancelActions = 0;
        var run = loop.Start(async () =>
        {
            using var cts = new CancellationTokenSource();
            var wait = waiter.WaitWithoutResultAsync(() => cancelActions++, cts.Token);
            cts.Cancel(); // on the loop: a simulated loop is single-threaded
            var e = await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await wait);
            Assert.Equal(cts.Token, e.CancellationToken);
            Assert.False(waiter.TrySetResult(true)); // the cancellation completed it

            // The waiter is reusable, and a later wait is not touched by the old token.
            var next = waiter.WaitAsync(CancellationToken.None);
            loop.Post(() => waiter.TrySetResult(true));
            Assert.True(await next);
        });

        RunToEnd(loop, run);
        Assert.Equal(1, cancelActions);
    }

    [Fact]
    public async Task A_cancellation_from_another_thread_reaches_a_real_time_loop_wait()
    {
        using var loop = new RealTimeEventLoop();
        loop.Start();
        var waiter = new LoopWaiter<int>(loop);
        using var cts = new CancellationTokenSource();
        var waiting = loop.InvokeAsync(async () =>
        {
            var e = await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await waiter.WaitAsync(cts.Token));
            Assert.True(loop.IsLoopThread);
            Assert.Equal(cts.Token, e.CancellationToken);
        });

        cts.CancelAfter(TimeSpan.FromMilliseconds(20)); // a timer thread, not the loop
        await waiting.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public void An_exception_reaches_the_awaiter_and_the_pool_only_takes_free_waiters()
    {
        var loop = new SimulatedEventLoop(new SimulatedNetwork(1));
        var pool = new LoopWaiterPool<int>(loop);
        var waiter = pool.Rent();
        var run = loop.Start(async () =>
        {
            var wait = waiter.WaitAsync(CancellationToken.None);
            pool.Return(waiter); // still waiting: not taken
            Assert.NotSame(waiter, pool.Rent());
            waiter.TrySetException(new System.Net.Sockets.SocketException((int)System.Net.Sockets.SocketError.ConnectionReset));
            await Assert.ThrowsAsync<System.Net.Sockets.SocketException>(async () => await wait);
            pool.Return(waiter);
            Assert.Same(waiter, pool.Rent());
        });

        RunToEnd(loop, run);
    }

    [Fact]
    public void A_released_one_shot_waiter_returns_to_its_pool_only_after_its_awaiter_took_the_result()
    {
        var loop = new SimulatedEventLoop(new SimulatedNetwork(1));
        var pool = new LoopWaiterPool<bool>(loop);
        var waiter = pool.Rent();
        var run = loop.Start(async () =>
        {
            var wait = waiter.WaitAsync(CancellationToken.None);
            waiter.TrySetResult(true);
            waiter.ReleaseTo(pool);
            Assert.NotSame(waiter, pool.Rent()); // the awaiter has not resumed yet
            Assert.True(await wait);
            Assert.Same(waiter, pool.Rent());
        });

        RunToEnd(loop, run);
    }

    // The second WaitAsync throws before it returns a ValueTask, so there is nothing to await.
    private static void StartSecondWait(LoopWaiter<int> waiter) => waiter.WaitAsync(CancellationToken.None).AsTask().Dispose();

    private static void RunToEnd(SimulatedEventLoop loop, Task run)
    {
        Assert.True(loop.RunUntilComplete(run, TimeSpan.FromSeconds(1)));
        run.GetAwaiter().GetResult();
    }
}
