using TcpKit.Net.Host;
using TcpKit.Tcp;
using TcpKit.Wire;
using TcpKit.Wire.Tcp;

namespace TcpKit.Net.Tests.Host;

/// <summary>
/// A connection its user closed waits out TIME-WAIT as a compact record without its engine (as Linux's
/// inet_timewait_sock); what the peer sees and what an observer is told must not change.
/// </summary>
public class TimeWaitHibernationTests
{
    private static readonly TimeSpan Msl2 = TcpConfig.Linux.TimeWaitDuration;

    [Fact]
    public void A_closed_connection_waits_out_TIME_WAIT_as_a_record_and_is_gone_after_2_MSL()
    {
        var (sim, timeWait, _) = TimeWaitReuseTests.ServerInTimeWait();
        Assert.True(timeWait.IsHibernating);
        Assert.Equal(TcpState.TimeWait, timeWait.State);
        var deadline = timeWait.TimeWaitRecord!.Deadline;
        Assert.Equal(1, sim.Server.ConnectionCount);

        sim.Network.RunUntil(deadline - TimeSpan.FromMilliseconds(1));
        Assert.Equal(1, sim.Server.ConnectionCount);
        sim.Network.RunUntil(deadline);

        Assert.Equal(0, sim.Server.ConnectionCount);
        Assert.Equal(TcpState.Closed, timeWait.State);
        Assert.True(timeWait.IsHibernating); // it ended without waking its engine
        Assert.Equal(TcpState.Closed, timeWait.Tcb.State);
        Assert.Equal(TcpError.None, timeWait.Tcb.Error);
    }

    [Fact]
    public void A_retransmitted_FIN_to_a_TIME_WAIT_record_is_acknowledged_and_restarts_2_MSL()
    {
        var (sim, timeWait, replies) = TimeWaitReuseTests.ServerInTimeWait();
        var record = timeWait.TimeWaitRecord!;
        SeqNum rcvNxt = record.RcvNxt;
        sim.Network.RunFor(TimeSpan.FromSeconds(30));
        var finAt = sim.Network.Now;

        TimeWaitReuseTests.Inject(sim, timeWait.Key, rcvNxt - 1, default, TcpFlags.Fin | TcpFlags.Ack);
        sim.Network.RunFor(TimeSpan.FromMilliseconds(1));

        var ack = Assert.Single(replies);
        Assert.Equal(TcpFlags.Ack, ack.Flags);
        Assert.Equal(rcvNxt, ack.Ack);
        Assert.True(timeWait.IsHibernating); // back to a record once the ACK is out
        Assert.Equal(finAt + Msl2, timeWait.TimeWaitRecord!.Deadline);
        sim.Network.RunUntil(finAt + Msl2 - TimeSpan.FromMilliseconds(1));
        Assert.Equal(TcpState.TimeWait, timeWait.State);
        sim.Network.RunUntil(finAt + Msl2);
        Assert.Equal(0, sim.Server.ConnectionCount);
    }

    [Fact]
    public void A_new_SYN_reopens_the_4_tuple_of_a_TIME_WAIT_record()
    {
        var (sim, timeWait, replies) = TimeWaitReuseTests.ServerInTimeWait();
        SeqNum rcvNxt = timeWait.TimeWaitRecord!.RcvNxt;

        TimeWaitReuseTests.InjectSyn(sim, timeWait.Key, rcvNxt + 100_000);

        Assert.Equal(TcpState.Closed, timeWait.State);
        TimeWaitReuseTests.AssertNewConnectionAnswered(sim, timeWait, replies, rcvNxt + 100_000);
    }

    [Fact]
    public void An_exact_RST_ends_a_TIME_WAIT_record_and_a_stray_ACK_is_answered()
    {
        var (sim, timeWait, replies) = TimeWaitReuseTests.ServerInTimeWait();
        var record = timeWait.TimeWaitRecord!;

        TimeWaitReuseTests.Inject(sim, timeWait.Key, record.RcvNxt + 1_000_000, default, TcpFlags.Ack); // outside the window
        sim.Network.RunFor(TimeSpan.FromMilliseconds(1));
        Assert.Equal(record.RcvNxt, Assert.Single(replies).Ack);
        Assert.Equal(TcpState.TimeWait, timeWait.State);

        TimeWaitReuseTests.Inject(sim, timeWait.Key, timeWait.TimeWaitRecord!.RcvNxt, default, TcpFlags.Rst);
        Assert.Equal(TcpState.Closed, timeWait.State);
        Assert.Equal(TcpError.None, timeWait.Tcb.Error); // both FINs were exchanged: still an orderly close
        Assert.Equal(0, sim.Server.ConnectionCount);
    }

    [Fact]
    public void An_observer_still_sees_TIME_WAIT_end_by_its_timer()
    {
        var (sim, timeWait, _) = TimeWaitReuseTests.ServerInTimeWait();
        Assert.True(timeWait.IsHibernating);
        var events = new List<TcpEvent>();
        sim.Server.ConnectionEvent += (c, e) =>
        {
            if (ReferenceEquals(c, timeWait))
            {
                events.Add(e);
            }
        };
        var closed = timeWait.Closed;

        sim.Network.RunFor(Msl2 + TimeSpan.FromSeconds(1));

        var change = Assert.Single(events, e => e.Kind == TcpEventKind.StateChanged);
        Assert.Equal((TcpState.TimeWait, TcpState.Closed, CauseKind.Timer, TimerKind.TimeWait), (change.OldState, change.NewState, change.Cause.Kind, change.Cause.Timer));
        Assert.Equal(TcpError.None, Assert.Single(events, e => e.Kind == TcpEventKind.Closed).Error);
        Assert.True(closed.IsCompletedSuccessfully);
        Assert.Equal(0, sim.Server.ConnectionCount);
    }

    [Fact]
    public void A_connection_its_user_has_not_closed_keeps_its_engine_in_TIME_WAIT()
    {
        var sim = new SimPair(config: TcpConfig.Linux);
        var listener = new TcpKitListener(sim.Server, 80);
        listener.Start();
        TcpKitClient? client = null;
        var server = sim.Loop.Start(async () =>
        {
            var peer = await listener.AcceptTcpClientAsync();
            Assert.Equal(0, await peer.GetStream().ReadAsync(new byte[1]));
            peer.Close();
        });
        var connect = sim.Loop.Start(async () =>
        {
            client = new TcpKitClient(sim.Client);
            await client.ConnectAsync(SimPair.ServerAddress, 80);
            client.Shutdown(System.Net.Sockets.SocketShutdown.Send); // half-close only: the user may still read
            Assert.Equal(0, await client.GetStream().ReadAsync(new byte[1]));
        });
        sim.Run(TimeSpan.FromSeconds(1), server, connect);
        sim.Network.RunFor(TimeSpan.FromMilliseconds(100));

        var timeWait = client!.Connection!;
        Assert.Equal(TcpState.TimeWait, timeWait.State);
        Assert.False(timeWait.IsHibernating);

        client.Close(); // now released: it hibernates at its next pump, and still ends on time
        sim.Network.RunFor(Msl2);
        Assert.Equal(0, sim.Client.ConnectionCount);
        Assert.Equal(TcpState.Closed, timeWait.State);
    }

    [Fact]
    public void The_engine_of_a_TIME_WAIT_record_serves_the_next_connection()
    {
        var (sim, timeWait, _) = TimeWaitReuseTests.ServerInTimeWait();
        Assert.True(timeWait.IsHibernating);
        Assert.Equal(1, sim.Server.SpareEngines);
        sim.Link.BToA.DropFilter = null;

        var listener = new TcpKitListener(sim.Server, 81);
        listener.Start();
        var server = sim.Loop.Start(async () => (await listener.AcceptTcpClientAsync()).Close());
        var client = sim.Loop.Start(async () =>
        {
            var c = new TcpKitClient(sim.Client);
            await c.ConnectAsync(SimPair.ServerAddress, 81);
            Assert.Equal(0, await c.GetStream().ReadAsync(new byte[1]));
            c.Close();
        });
        sim.Run(TimeSpan.FromSeconds(1), server, client);
        sim.Network.RunFor(TimeSpan.FromMilliseconds(100));

        // The second server end took the spare engine, and now waits in TIME-WAIT itself.
        Assert.Equal(2, sim.Server.ConnectionCount);
        Assert.Equal(1, sim.Server.SpareEngines);
        Assert.All(sim.Server.Connections, c => Assert.True(c.IsHibernating));
    }

    [Fact]
    public void An_engine_the_application_took_is_never_recycled()
    {
        TcpConnection? held = null;
        var (sim, _) = TimeWaitReuseTests.ServerClosesFirst(peer => held = peer.Connection!.Tcb); // the application keeps the engine

        // A held engine stays the connection's engine (not a record), so it still reaches CLOSED after 2 MSL.
        Assert.False(Assert.Single(sim.Server.Connections).IsHibernating);
        Assert.Equal(0, sim.Server.SpareEngines);
        Assert.Equal(TcpState.TimeWait, held!.State);
    }

    [Fact]
    public async Task A_closed_connection_its_user_released_keeps_a_record_and_gives_its_engine_back()
    {
        var sim = new SimPair(config: TcpConfig.Linux);
        var listener = new TcpKitListener(sim.Server, 80);
        listener.Start();
        HostConnection? clientSide = null;
        var server = sim.Loop.Start(async () =>
        {
            var peer = await listener.AcceptTcpClientAsync();
            await peer.GetStream().WriteAsync(new byte[100]);
            peer.Close();
        });
        var client = sim.Loop.Start(async () =>
        {
            var c = new TcpKitClient(sim.Client);
            await c.ConnectAsync(SimPair.ServerAddress, 80);
            clientSide = c.Connection;
            var buffer = new byte[200];
            Assert.Equal(100, await c.GetStream().ReadAsync(buffer));
            Assert.Equal(0, await c.GetStream().ReadAsync(buffer));
            c.Close(); // LAST-ACK, then CLOSED
        });
        sim.Run(TimeSpan.FromSeconds(1), server, client);
        sim.Network.RunFor(TimeSpan.FromMilliseconds(100));

        Assert.Equal(0, sim.Client.ConnectionCount);
        Assert.True(clientSide!.IsHibernating);
        Assert.Equal(TcpState.Closed, clientSide.State);
        Assert.Equal(1, sim.Client.SpareEngines);
        Assert.Equal(0, await clientSide.ReadAsync(new byte[1])); // end of stream at once, as before the record

        // What the application may still ask of the engine is kept: the engine comes back from the record.
        var tcb = clientSide.Tcb;
        Assert.Equal((TcpState.Closed, TcpError.None, 100L), (tcb.State, tcb.Error, tcb.Stats.BytesIn));
        Assert.True(tcb.Stats.SegmentsOut >= 4);
    }
}
