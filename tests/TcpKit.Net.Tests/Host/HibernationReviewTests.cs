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

    [Fact]
    public void An_engine_the_application_holds_reaches_CLOSED_when_TIME_WAIT_ends()
    {
        TcpConnection? held = null;
        var (sim, serverSide) = TimeWaitReuseTests.ServerClosesFirst(peer => held = peer.Connection!.Tcb);
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
        var (sim, serverSide) = TimeWaitReuseTests.ServerClosesFirst(peer => held = peer.Connection!.Tcb);
        long segmentsIn = held!.Stats.SegmentsIn;
        sim.Network.RunFor(TimeSpan.FromSeconds(10));

        TimeWaitReuseTests.Inject(sim, serverSide.Key, held.RcvNxt - 1, held.SndNxt, TcpFlags.Fin | TcpFlags.Ack);
        sim.Network.RunFor(TimeSpan.FromMilliseconds(1));

        Assert.Equal(segmentsIn + 1, held.Stats.SegmentsIn);
        Assert.Equal(sim.Network.Now - TimeSpan.FromMilliseconds(1) + Msl2, held.TimerDeadline(TimerKind.TimeWait)); // 2 MSL restarted
    }

    [Fact]
    public void An_observer_subscribed_after_hibernation_is_told_when_2_MSL_ends()
    {
        var (sim, serverSide) = TimeWaitReuseTests.ServerClosesFirst();
        Assert.True(serverSide.IsHibernating);
        var deadline = serverSide.TimeWaitRecord!.Deadline;
        var seen = new List<(HostConnection Connection, TcpEvent Event)>();
        sim.Server.ConnectionEvent += (c, e) => seen.Add((c, e));

        sim.Network.RunUntil(deadline - TimeSpan.FromMilliseconds(1));
        Assert.Empty(seen);
        sim.Network.RunUntil(deadline);

        Assert.Contains(seen, x => x.Connection == serverSide && x.Event.Kind == TcpEventKind.StateChanged
            && x.Event.OldState == TcpState.TimeWait && x.Event.NewState == TcpState.Closed && x.Event.Cause.Kind == CauseKind.Timer);
        Assert.Contains(seen, x => x.Connection == serverSide && x.Event.Kind == TcpEventKind.Closed && x.Event.Error == TcpError.None);
        Assert.Equal(0, sim.Server.ConnectionCount);
    }

    [Fact]
    public void Closed_awaited_after_hibernation_completes_at_the_2_MSL_deadline_and_not_before()
    {
        var (sim, serverSide) = TimeWaitReuseTests.ServerClosesFirst();
        Assert.True(serverSide.IsHibernating);
        var deadline = serverSide.TimeWaitRecord!.Deadline;
        var closed = serverSide.Closed;

        sim.Network.RunUntil(deadline - TimeSpan.FromMilliseconds(1));
        Assert.False(closed.IsCompleted);
        sim.Network.RunUntil(deadline + TimeSpan.FromMilliseconds(1));
        Assert.True(closed.IsCompletedSuccessfully);
        Assert.Equal(0, sim.Server.ConnectionCount);
    }

    [Fact]
    public void Closed_awaited_on_a_hibernating_TIME_WAIT_completes_when_a_new_SYN_reopens_its_4_tuple()
    {
        var (sim, serverSide) = TimeWaitReuseTests.ServerClosesFirst();
        SeqNum rcvNxt = serverSide.TimeWaitRecord!.RcvNxt;
        var closed = serverSide.Closed;
        Assert.False(serverSide.IsHibernating); // awaited: the connection is back from the TIME-WAIT table with its engine, which reports the close

        TimeWaitReuseTests.InjectSyn(sim, serverSide.Key, rcvNxt + 100_000); // MAY-2 of RFC 1122 4.2.2.13
        sim.Network.RunFor(TimeSpan.FromMilliseconds(1));

        Assert.True(closed.IsCompletedSuccessfully);
        Assert.Equal(TcpState.Closed, serverSide.State);
        var fresh = Assert.Single(sim.Server.Connections);
        Assert.NotSame(serverSide, fresh);
    }

    [Fact]
    public async Task Calls_on_a_hibernating_connection_behave_as_on_its_engine_and_keep_the_2_MSL_deadline()
    {
        var (sim, serverSide) = TimeWaitReuseTests.ServerClosesFirst();
        var deadline = serverSide.TimeWaitRecord!.Deadline;

        Assert.Equal(0, await serverSide.ReadAsync(new byte[10])); // the peer's FIN was received: end of stream
        var write = serverSide.WriteAsync(new byte[10]);
        var error = await Assert.ThrowsAsync<System.Net.Sockets.SocketException>(async () => await write);
        Assert.Equal(System.Net.Sockets.SocketError.Shutdown, error.SocketErrorCode);
        serverSide.Shutdown();
        serverSide.Close();
        serverSide.SetNoDelay(true);
        serverSide.SetSendBufferSize(1000);
        serverSide.SetKeepalive(new KeepaliveConfig { Enabled = true, Idle = TimeSpan.FromSeconds(1), Interval = TimeSpan.FromSeconds(1), Count = 1 });
        serverSide.SetReceiveBufferSize(1000);
        Assert.Equal(TcpState.TimeWait, serverSide.State);
        Assert.Equal(1, sim.Server.ConnectionCount);

        sim.Network.RunUntil(deadline - TimeSpan.FromMilliseconds(1));
        Assert.Equal(TcpState.TimeWait, serverSide.State); // no keep-alive or other timer ended it early
        sim.Network.RunUntil(deadline);
        Assert.Equal(TcpState.Closed, serverSide.State);
        Assert.Equal(TcpError.None, serverSide.Tcb.Error);
        Assert.Equal(0, sim.Server.ConnectionCount);
    }

    [Fact]
    public void Options_of_a_closed_client_whose_engine_was_recycled_read_back_what_was_set()
    {
        var sim = new SimPair(config: TcpConfig.Linux);
        var listener = new TcpKitListener(sim.Server, 80);
        listener.Start();
        TcpKitClient? closedClient = null;
        var server = sim.Loop.Start(async () =>
        {
            var peer = await listener.AcceptTcpClientAsync();
            Assert.Equal(0, await peer.GetStream().ReadAsync(new byte[1]));
            peer.Close();
        });
        var client = sim.Loop.Start(async () =>
        {
            var c = new TcpKitClient(sim.Client) { NoDelay = true, SendBufferSize = 5000, ReceiveBufferSize = 6000 };
            await c.ConnectAsync(SimPair.ServerAddress, 80);
            c.Close(); // the client closes first: TIME-WAIT, then a record
            closedClient = c;
        });
        sim.Run(TimeSpan.FromSeconds(1), server, client);
        sim.Network.RunFor(TimeSpan.FromMilliseconds(100));
        var c = closedClient!;
        Assert.True(c.Connection!.IsHibernating);
        Assert.Equal(1, sim.Client.SpareEngines);

        // A new connection takes the spare engine with other settings.
        var other = sim.Loop.Start(async () =>
        {
            var o = new TcpKitClient(sim.Client) { NoDelay = false, SendBufferSize = 7000, ReceiveBufferSize = 8000 };
            await o.ConnectAsync(SimPair.ServerAddress, 80);
        });
        var accept = listener.AcceptTcpClientAsync();
        sim.Run(TimeSpan.FromSeconds(1), other, accept);
        Assert.Equal(0, sim.Client.SpareEngines);

        Assert.Equal((true, 5000, 6000), (c.NoDelay, c.SendBufferSize, c.ReceiveBufferSize));
        c.NoDelay = false;
        c.KeepAlive = true;
        Assert.Equal((false, true), (c.NoDelay, c.KeepAlive));
        Assert.Equal(TcpState.TimeWait, c.State);
    }

    [Fact]
    public void An_IPv6_connection_hibernates_and_its_spare_engine_carries_the_next_IPv6_connection()
    {
        var sim = new SimPair(config: TcpConfig.Linux);
        var listener = new TcpKitListener(sim.Server, 80);
        listener.Start();
        var payload = Enumerable.Range(0, 50_000).Select(i => (byte)(i * 7)).ToArray();

        void Exchange()
        {
            var server = sim.Loop.Start(async () =>
            {
                var peer = await listener.AcceptTcpClientAsync();
                await peer.GetStream().WriteAsync(payload);
                peer.Close(); // the server closes first: its end waits in TIME-WAIT
            });
            var client = sim.Loop.Start(async () =>
            {
                var c = new TcpKitClient(sim.Client);
                await c.ConnectAsync(SimPair.ServerAddress6, 80);
                var received = new MemoryStream();
                var buffer = new byte[4096];
                int n;
                while ((n = await c.GetStream().ReadAsync(buffer)) > 0)
                {
                    received.Write(buffer, 0, n);
                }

                Assert.Equal(payload, received.ToArray());
                c.Close();
            });
            sim.Run(TimeSpan.FromSeconds(5), server, client);
            sim.Network.RunFor(TimeSpan.FromMilliseconds(100));
        }

        Exchange();
        var first = Assert.Single(sim.Server.Connections);
        Assert.Equal(6, first.Key.LocalAddress.Version);
        Assert.True(first.IsHibernating);
        Assert.Equal(1, sim.Server.SpareEngines);

        Exchange(); // a new port on the client: a second 4-tuple, served by the spare engine
        Assert.Equal(2, sim.Server.ConnectionCount);
        Assert.All(sim.Server.Connections, c => Assert.True(c.IsHibernating));
        sim.Network.RunFor(Msl2);
        Assert.Equal(0, sim.Server.ConnectionCount);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void CloseAsync_after_the_engine_went_to_another_connection_reports_how_the_close_ended(bool reset)
    {
        var sim = new SimPair(config: TcpConfig.Linux);
        var listener = new TcpKitListener(sim.Server, 80);
        listener.Start();
        TcpKitClient? closed = null;
        var server = sim.Loop.Start(async () =>
        {
            var peer = await listener.AcceptTcpClientAsync();
            await peer.GetStream().WriteAsync(new byte[100]);
            if (reset)
            {
                peer.Connection!.Abort();
            }
            else
            {
                peer.Close();
            }
        });
        var client = sim.Loop.Start(async () =>
        {
            var c = new TcpKitClient(sim.Client);
            await c.ConnectAsync(SimPair.ServerAddress, 80);
            var buffer = new byte[200];
            try
            {
                while (await c.GetStream().ReadAsync(buffer) > 0)
                {
                }
            }
            catch (System.Net.Sockets.SocketException)
            {
                // the server's reset
            }

            c.Close(); // LAST-ACK then CLOSED, or already CLOSED by the reset
            closed = c;
        });
        sim.Run(TimeSpan.FromSeconds(1), server, client);
        sim.Network.RunFor(TimeSpan.FromMilliseconds(100));
        var c = closed!;
        Assert.Equal(TcpState.Closed, c.State);
        Assert.Equal(!reset, c.Connection!.IsHibernating); // a reset connection's user had not closed it when it ended

        // Another connection on the client host takes whatever engine is spare.
        var other = sim.Loop.Start(async () => await new TcpKitClient(sim.Client).ConnectAsync(SimPair.ServerAddress, 80));
        var accept = listener.AcceptTcpClientAsync();
        sim.Run(TimeSpan.FromSeconds(1), other, accept);

        bool acknowledged = false;
        sim.Run(TimeSpan.FromSeconds(1), sim.Loop.Start(async () => acknowledged = await c.CloseAsync()));
        Assert.Equal(!reset, acknowledged);
        Assert.Equal(reset ? TcpError.Reset : TcpError.None, c.Connection.Tcb.Error);
    }

    [Fact]
    public void An_engine_taken_from_a_hibernating_connection_is_the_one_that_answers_and_closes()
    {
        var (sim, serverSide) = TimeWaitReuseTests.ServerClosesFirst();
        Assert.True(serverSide.IsHibernating);
        var deadline = serverSide.TimeWaitRecord!.Deadline;
        var held = serverSide.Tcb; // rebuilt from the record, now held by the application
        long segmentsIn = held.Stats.SegmentsIn;

        TimeWaitReuseTests.Inject(sim, serverSide.Key, held.RcvNxt + 1_000_000, held.SndNxt, TcpFlags.Ack); // a stray ACK
        sim.Network.RunFor(TimeSpan.FromMilliseconds(1));
        Assert.Equal(segmentsIn + 1, held.Stats.SegmentsIn);
        Assert.Same(held, serverSide.Tcb);

        sim.Network.RunUntil(deadline);
        Assert.Equal(TcpState.Closed, held.State);
        Assert.Equal(0, sim.Server.ConnectionCount);
    }
}
