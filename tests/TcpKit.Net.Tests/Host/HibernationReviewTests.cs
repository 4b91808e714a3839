using TcpKit.Net.Host;
using TcpKit.Tcp;
using TcpKit.Wire;
using TcpKit.Wire.Tcp;

namespace TcpKit.Net.Tests.Host;

/// <summary>
/// Adversarial checks of TIME-WAIT hibernation: whatever the application can still reach of a closed
/// connection (its engine, its options, its waits) must behave as it did before connections were reduced to records.
/// </summary>
public class HibernationReviewTests
{
    private static readonly TimeSpan Msl2 = TcpConfig.Linux.TimeWaitDuration;

    /// <summary>The server closes first after accepting; the server end ends in TIME-WAIT. <paramref name="take"/> runs on the accepted client.</summary>
    private static (SimPair Sim, HostConnection ServerSide) ServerClosesFirst(Action<TcpKitClient>? take = null)
    {
        var sim = new SimPair(config: TcpConfig.Linux);
        var listener = new TcpKitListener(sim.Server, 80);
        listener.Start();
        HostConnection? serverSide = null;
        var server = sim.Loop.Start(async () =>
        {
            var peer = await listener.AcceptTcpClientAsync();
            serverSide = peer.Connection;
            take?.Invoke(peer);
            peer.Close();
        });
        var client = sim.Loop.Start(async () =>
        {
            var c = new TcpKitClient(sim.Client);
            await c.ConnectAsync(SimPair.ServerAddress, 80);
            Assert.Equal(0, await c.GetStream().ReadAsync(new byte[1]));
            c.Close();
        });
        sim.Run(TimeSpan.FromSeconds(1), server, client);
        sim.Network.RunFor(TimeSpan.FromMilliseconds(100));
        Assert.Equal(TcpState.TimeWait, serverSide!.State);
        return (sim, serverSide);
    }

    [Fact]
    public void An_engine_the_application_holds_reaches_CLOSED_when_TIME_WAIT_ends()
    {
        TcpConnection? held = null;
        var (sim, serverSide) = ServerClosesFirst(peer => held = peer.Connection!.Tcb);
        Assert.Same(held, serverSide.Tcb); // the engine the application holds is still the connection's engine
        var deadline = held!.TimerDeadline(TimerKind.TimeWait);

        sim.Network.RunUntil(deadline + TimeSpan.FromMilliseconds(1));

        // RFC 9293 3.10.7.4 / 3.10.8: the 2 MSL timeout deletes the TCB; the engine the application holds says so.
        Assert.Equal(TcpState.Closed, serverSide.State);
        Assert.Equal(TcpState.Closed, held.State);
        Assert.Equal(Instant.Never, held.NextDeadline);
    }

    [Fact]
    public void An_engine_the_application_holds_counts_the_retransmitted_FIN_it_acknowledges_in_TIME_WAIT()
    {
        TcpConnection? held = null;
        var (sim, serverSide) = ServerClosesFirst(peer => held = peer.Connection!.Tcb);
        long segmentsIn = held!.Stats.SegmentsIn;
        sim.Network.RunFor(TimeSpan.FromSeconds(10));

        TimeWaitReuseTests.Inject(sim, serverSide.Key, held.RcvNxt - 1, held.SndNxt, TcpFlags.Fin | TcpFlags.Ack);
        sim.Network.RunFor(TimeSpan.FromMilliseconds(1));

        Assert.Equal(segmentsIn + 1, held.Stats.SegmentsIn);
        Assert.Equal(sim.Network.Now - TimeSpan.FromMilliseconds(1) + Msl2, held.TimerDeadline(TimerKind.TimeWait)); // 2 MSL restarted
    }
}
