using System.Net.Sockets;
using TcpKit.Net.Host;
using TcpKit.Tcp;
using TcpKit.Wire;
using TcpKit.Wire.Tcp;

namespace TcpKit.Net.Tests.Host;

/// <summary>Adversarial checks of the reusable waits (LoopWaiter) behind accept, connect, read and write.</summary>
public class WaitReviewTests
{

    private static TcpKitClient Connect(SimPair sim)
    {
        TcpKitClient? client = null;
        sim.Run(TimeSpan.FromSeconds(1), sim.Loop.Start(async () =>
        {
            var c = new TcpKitClient(sim.Client);
            await c.ConnectAsync(SimPair.ServerAddress, 80);
            client = c;
        }));
        return client!;
    }

    [Fact]
    public async Task A_cancelled_accept_leaves_the_next_connection_to_the_next_accept()
    {
        var sim = new SimPair(config: TcpConfig.Linux);
        var listener = new TcpKitListener(sim.Server, 80);
        listener.Start();
        Task<TcpKitClient>? next = null;
        sim.Run(TimeSpan.FromSeconds(1), sim.Loop.Start(async () =>
        {
            using var cts = new CancellationTokenSource();
            var cancelled = listener.AcceptTcpClientAsync(cts.Token);
            cts.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await cancelled);
            next = listener.AcceptTcpClientAsync();
        }));

        Connect(sim);
        sim.Network.RunFor(TimeSpan.FromMilliseconds(50));

        Assert.True(next!.IsCompletedSuccessfully);
        Assert.Equal(TcpState.Established, (await next).State);
    }

    [Fact]
    public async Task Pending_accepts_are_served_in_the_order_they_were_issued_even_after_a_cancelled_one()
    {
        var sim = new SimPair(config: TcpConfig.Linux);
        var listener = new TcpKitListener(sim.Server, 80);
        listener.Start();
        Task<TcpKitClient>? earlier = null, later = null;
        sim.Run(TimeSpan.FromSeconds(1), sim.Loop.Start(async () =>
        {
            using var cts = new CancellationTokenSource();
            var cancelled = listener.AcceptTcpClientAsync(cts.Token);
            earlier = listener.AcceptTcpClientAsync(); // a second accept, pending at the same time
            cts.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await cancelled);
            later = listener.AcceptTcpClientAsync(); // issued after `earlier`
        }));

        Connect(sim);
        sim.Network.RunFor(TimeSpan.FromMilliseconds(50));

        // As a socket's accept queue: the connection goes to the accept that has waited longest.
        Assert.True(earlier!.IsCompletedSuccessfully);
        Assert.False(later!.IsCompleted);
        Connect(sim);
        sim.Network.RunFor(TimeSpan.FromMilliseconds(50));
        Assert.True(later.IsCompletedSuccessfully);
        Assert.NotSame((await earlier).Connection, (await later).Connection);
    }

    [Fact]
    public void A_cancelled_connect_throws_OperationCanceledException_and_aborts_the_connection()
    {
        var sim = new SimPair(config: TcpConfig.Linux);
        sim.Link.AToB.DropFilter = _ => true; // the SYN never arrives
        using var cts = new CancellationTokenSource();
        var client = new TcpKitClient(sim.Client);
        Exception? thrown = null;
        var connect = sim.Loop.Start(async () =>
        {
            try
            {
                await client.ConnectAsync(SimPair.ServerAddress, 80, cts.Token);
            }
            catch (Exception e)
            {
                thrown = e;
            }
        });
        sim.Network.RunFor(TimeSpan.FromSeconds(2));
        cts.Cancel();
        sim.Run(TimeSpan.FromSeconds(1), connect);

        Assert.IsAssignableFrom<OperationCanceledException>(thrown);
        Assert.Equal(TcpState.Closed, client.State);
        Assert.Equal(0, sim.Client.ConnectionCount);
    }

    [Fact]
    public async Task Data_arriving_after_a_cancelled_read_goes_to_the_next_read()
    {
        var sim = new SimPair(config: TcpConfig.Linux);
        var listener = new TcpKitListener(sim.Server, 80);
        listener.Start();
        var accept = listener.AcceptTcpClientAsync();
        var client = Connect(sim);
        sim.Run(TimeSpan.FromSeconds(1), accept);
        var server = await accept;
        var first = new byte[10];
        using var cts = new CancellationTokenSource();
        Exception? thrown = null;
        var read = sim.Loop.Start(async () =>
        {
            try
            {
                int read = await client.GetStream().ReadAsync(first, cts.Token);
                Assert.Fail($"the read returned {read} bytes instead of being cancelled");
            }
            catch (Exception e)
            {
                thrown = e;
            }
        });
        sim.Network.RunFor(TimeSpan.FromMilliseconds(10));
        cts.Cancel();
        sim.Run(TimeSpan.FromSeconds(1), read);
        Assert.IsAssignableFrom<OperationCanceledException>(thrown);

        sim.Run(TimeSpan.FromSeconds(1), sim.Loop.Start(async () => await server.GetStream().WriteAsync(new byte[] { 1, 2, 3 })));
        sim.Network.RunFor(TimeSpan.FromMilliseconds(50));
        Assert.Equal(new byte[10], first); // the cancelled read's buffer is not written to afterwards

        var second = new byte[10];
        int n = 0;
        sim.Run(TimeSpan.FromSeconds(1), sim.Loop.Start(async () => n = await client.GetStream().ReadAsync(second)));
        Assert.Equal(3, n);
        Assert.Equal(new byte[] { 1, 2, 3 }, second[..3]);
    }

    [Fact]
    public async Task A_write_blocked_on_a_full_buffer_fails_with_ConnectionReset_when_the_peer_resets()
    {
        var sim = new SimPair(config: TcpConfig.Linux with { SendBufferSize = 4096, ReceiveBufferSize = 4096 });
        var listener = new TcpKitListener(sim.Server, 80);
        listener.Start();
        var accept = listener.AcceptTcpClientAsync();
        var client = Connect(sim);
        sim.Run(TimeSpan.FromSeconds(1), accept);
        var server = await accept; // never reads: the window closes and the client's buffer fills
        Exception? thrown = null;
        var write = sim.Loop.Start(async () =>
        {
            try
            {
                await client.GetStream().WriteAsync(new byte[100_000]);
            }
            catch (Exception e)
            {
                thrown = e;
            }
        });
        sim.Network.RunFor(TimeSpan.FromSeconds(1));
        Assert.False(write.IsCompleted);

        server.Connection!.Abort(); // RST
        sim.Run(TimeSpan.FromSeconds(1), write);

        var socketError = Assert.IsType<SocketException>(thrown);
        Assert.Equal(SocketError.ConnectionReset, socketError.SocketErrorCode);
    }

    [Fact]
    public async Task Stopping_a_listener_fails_every_pending_accept_once_even_after_a_cancelled_one()
    {
        var sim = new SimPair(config: TcpConfig.Linux);
        var listener = new TcpKitListener(sim.Server, 80);
        listener.Start();
        Task<TcpKitClient>? first = null, second = null;
        sim.Run(TimeSpan.FromSeconds(1), sim.Loop.Start(async () =>
        {
            using var cts = new CancellationTokenSource();
            var cancelled = listener.AcceptTcpClientAsync(cts.Token);
            cts.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await cancelled);
            first = listener.AcceptTcpClientAsync(); // reuses the cancelled accept's waiter
            second = listener.AcceptTcpClientAsync();
        }));

        sim.Run(TimeSpan.FromSeconds(1), sim.Loop.Start(() =>
        {
            listener.Stop();
            return Task.CompletedTask;
        }));
        sim.Network.RunFor(TimeSpan.FromMilliseconds(1));

        foreach (var accept in new[] { first!, second! })
        {
            var error = await Assert.ThrowsAsync<SocketException>(() => accept);
            Assert.Equal(SocketError.OperationAborted, error.SocketErrorCode);
        }
    }
}
