using System.Net.Sockets;
using System.Runtime.CompilerServices;
using TcpKit.Net.Host;
using TcpKit.Tcp;
using TcpKit.Wire;
using TcpKit.Wire.Tcp;

namespace TcpKit.Net.Tests.Host;

/// <summary>
/// Released connections wait out TIME-WAIT as values in the host's <see cref="TimeWaitTable"/>, not as objects:
/// the table's own mechanics (index, deadlines), and what the host and the application see of such a connection.
/// </summary>
public class TimeWaitTableTests
{
    private static readonly TimeSpan Msl2 = TcpConfig.Linux.TimeWaitDuration;

    // ---- the table ------------------------------------------------------------------------------------

    [Fact]
    public void Colliding_hashes_are_all_found_after_removals_in_the_middle_of_their_probe_run()
    {
        var (host, record) = HostWithRecord();
        var table = new TimeWaitTable();
        var slots = new Dictionary<ushort, int>();
        // Every hash has the same low bits, so all land in one probe run; removing from its middle must shift the rest back.
        for (ushort port = 1; port <= 40; port++)
        {
            slots[port] = table.Add(Owner(host, record, port, hash: (port << 12) | 5), record.Context, record.Values);
        }

        foreach (ushort port in new ushort[] { 1, 7, 8, 20, 39 })
        {
            table.Remove(slots[port]);
            slots.Remove(port);
        }

        Assert.Equal(35, table.Count);
        foreach (var (port, slot) in slots)
        {
            Assert.True(table.TryFind(Key(port), (port << 12) | 5, out int found));
            Assert.Equal(slot, found);
        }

        Assert.False(table.TryFind(Key(7), (7 << 12) | 5, out _));
        Assert.Equal(slots.Values.Order(), table.Slots().Order());
    }

    [Fact]
    public void A_freed_slot_changes_generation_so_its_old_owner_and_deadline_are_stale()
    {
        var (host, record) = HostWithRecord();
        var table = new TimeWaitTable();
        int slot = table.Add(Owner(host, record, 1, 11), record.Context, record.Values);
        int generation = table.Generation(slot);
        Assert.True(table.IsLive(slot, generation));
        Assert.Equal(record.Deadline, table.Earliest);

        table.Remove(slot);

        Assert.False(table.IsLive(slot, generation));
        Assert.Equal(Instant.Never, table.Earliest); // its deadline went with it
        Assert.False(table.TryTakeDue(record.Deadline, out _));
        int reused = table.Add(Owner(host, record, 2, 12), record.Context, record.Values);
        Assert.Equal(slot, reused); // the slot freed last is taken first
        Assert.False(table.IsLive(slot, generation));
        Assert.True(table.TryTakeDue(record.Deadline, out int due));
        Assert.Equal(reused, due);
    }

    [Fact]
    public void Churn_of_connections_reusing_4_tuples_keeps_the_deadline_lane_bounded()
    {
        var (host, record) = HostWithRecord();
        var table = new TimeWaitTable();
        var live = new Queue<int>();
        for (int i = 0; i < 20_000; i++)
        {
            // At most 100 wait at once; each leaves early (MAY-2), leaving its deadline behind in the lane.
            live.Enqueue(table.Add(Owner(host, record, (ushort)(i % 60_000), i + 1), record.Context, record.Values));
            if (live.Count > 100)
            {
                table.Remove(live.Dequeue());
            }
        }

        Assert.Equal(100, table.Count);
        Assert.True(table.LaneCapacity <= 512, $"lane of {table.LaneCapacity} for 100 live deadlines");
        int taken = 0;
        while (table.TryTakeDue(record.Deadline, out int slot))
        {
            table.Remove(slot);
            taken++;
        }

        Assert.Equal(100, taken);
        Assert.Equal(0, table.Count);
    }

    // ---- the host ------------------------------------------------------------------------------------

    [Fact]
    public void A_released_connection_waits_out_TIME_WAIT_in_the_table_and_its_object_can_be_collected()
    {
        var (sim, key, weak) = ServerInTimeWaitUnheld();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();

        Assert.False(weak.IsAlive); // nothing of the host keeps the object
        Assert.Equal(1, sim.Server.ConnectionCount);
        Assert.Equal(1, sim.Server.TimeWaits.Count);
        var listed = Assert.Single(sim.Server.Connections); // a new object for the same connection
        Assert.Equal(key, listed.Key);
        Assert.Equal(TcpState.TimeWait, listed.State);
        Assert.True(listed.IsHibernating);
        Assert.Same(listed, Assert.Single(sim.Server.Connections)); // and it stays the connection's object

        sim.Network.RunFor(Msl2);
        Assert.Equal(0, sim.Server.ConnectionCount);
        Assert.Equal(TcpState.Closed, listed.State);
        Assert.Equal(TcpError.None, listed.Tcb.Error);
    }

    [Fact]
    public void A_retransmitted_FIN_for_a_connection_whose_object_was_collected_is_acknowledged_and_restarts_2_MSL()
    {
        var (sim, key, weak) = ServerInTimeWaitUnheld();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        Assert.False(weak.IsAlive);
        var replies = TimeWaitReuseTests.CaptureServerReplies(sim);
        Assert.True(sim.Server.TimeWaits.TryFind(key, HashOf(sim.Server, key), out int slot));
        SeqNum rcvNxt = new TimeWaitRecord(sim.Server.TimeWaits.Context(slot), sim.Server.TimeWaits.Values(slot)).RcvNxt;
        sim.Network.RunFor(TimeSpan.FromSeconds(30));
        var finAt = sim.Network.Now;

        TimeWaitReuseTests.Inject(sim, key, rcvNxt - 1, default, TcpFlags.Fin | TcpFlags.Ack);
        sim.Network.RunFor(TimeSpan.FromMilliseconds(1));

        var ack = Assert.Single(replies);
        Assert.Equal((TcpFlags.Ack, rcvNxt), (ack.Flags, ack.Ack));
        Assert.Equal(1, sim.Server.TimeWaits.Count); // back in the table once the ACK is out
        sim.Network.RunUntil(finAt + Msl2 - TimeSpan.FromMilliseconds(1));
        Assert.Equal(1, sim.Server.ConnectionCount);
        sim.Network.RunUntil(finAt + Msl2);
        Assert.Equal(0, sim.Server.ConnectionCount);
    }

    [Fact]
    public void A_segment_wakes_the_object_the_application_still_holds()
    {
        var (sim, serverSide, _) = TimeWaitReuseTests.ServerInTimeWait();
        Assert.True(serverSide.IsHibernating);
        Assert.Equal(0, sim.Server.Connections.Count(c => !c.IsHibernating));
        var seen = new List<HostConnection>();
        sim.Server.ConnectionEvent += (c, e) => seen.Add(c);

        SeqNum rcvNxt = serverSide.TimeWaitRecord!.RcvNxt;

        TimeWaitReuseTests.Inject(sim, serverSide.Key, rcvNxt + 1_000_000, default, TcpFlags.Ack); // outside the window: answered with an ACK
        Assert.False(serverSide.IsHibernating); // watched now: the engine stays
        TimeWaitReuseTests.Inject(sim, serverSide.Key, rcvNxt, default, TcpFlags.Rst); // exact RST: the end

        Assert.NotEmpty(seen);
        Assert.All(seen, c => Assert.Same(serverSide, c));
        Assert.Equal(TcpState.Closed, serverSide.State);
        Assert.Equal(0, sim.Server.ConnectionCount);
    }

    [Fact]
    public void Connections_with_a_shorter_2_MSL_than_those_before_them_end_at_their_own_deadlines()
    {
        var sim = new SimPair(config: TcpConfig.Linux);
        var shortWait = TcpConfig.Linux with { TimeWaitDuration = TimeSpan.FromSeconds(5) };
        sim.Server.Listen(80, 16, c => c.Close());
        sim.Server.Listen(81, 16, c => c.Close(), shortWait);
        var longDone = ClientThatClosesAfterEof(sim, 80);
        sim.Run(TimeSpan.FromSeconds(1), longDone);
        var shortDone = ClientThatClosesAfterEof(sim, 81);
        sim.Run(TimeSpan.FromSeconds(1), shortDone);
        sim.Network.RunFor(TimeSpan.FromMilliseconds(100));
        var waits = sim.Server.Connections.ToDictionary(c => c.Key.LocalPort, c => c.TimeWaitRecord!.Deadline);
        Assert.Equal(2, sim.Server.TimeWaits.Count);
        Assert.True(waits[81] < waits[80]); // the later connection's deadline comes first

        sim.Network.RunUntil(waits[81]);
        Assert.Equal(80, Assert.Single(sim.Server.Connections).Key.LocalPort);
        sim.Network.RunUntil(waits[80] - TimeSpan.FromMilliseconds(1));
        Assert.Equal(1, sim.Server.ConnectionCount);
        sim.Network.RunUntil(waits[80]);
        Assert.Equal(0, sim.Server.ConnectionCount);
    }

    [Fact]
    public void A_new_SYN_for_a_waiting_connection_is_dropped_while_the_listen_queue_is_full_and_the_wait_goes_on()
    {
        var sim = new SimPair(config: TcpConfig.Linux);
        var listener = new TcpKitListener(sim.Server, 80);
        listener.Start(backlog: 1);
        var first = sim.Loop.Start(async () => (await listener.AcceptTcpClientAsync()).Close());
        var firstClient = ClientThatClosesAfterEof(sim, 80);
        sim.Run(TimeSpan.FromSeconds(1), first, firstClient);
        sim.Network.RunFor(TimeSpan.FromMilliseconds(100));
        var waiting = Assert.Single(sim.Server.Connections);
        Assert.True(waiting.IsHibernating);
        // A second connection completes its handshake but is never accepted: the queue of one is full.
        var second = sim.Loop.Start(async () => await new TcpKitClient(sim.Client).ConnectAsync(SimPair.ServerAddress, 80));
        sim.Run(TimeSpan.FromSeconds(1), second);

        TimeWaitReuseTests.InjectSyn(sim, waiting.Key, waiting.TimeWaitRecord!.RcvNxt + 100_000);

        Assert.Equal(1, sim.Server.Counters.Drops(HostDropReason.ListenQueueFull));
        Assert.Equal(TcpState.TimeWait, waiting.State);
        Assert.Equal(1, sim.Server.TimeWaits.Count);
    }

    [Fact]
    public void An_ephemeral_port_whose_connection_waits_in_the_table_is_not_given_to_a_new_connection()
    {
        var sim = new SimPair(config: TcpConfig.Linux);
        // The client closes first, so its end waits in TIME-WAIT, released and in the table.
        var listener = new TcpKitListener(sim.Server, 80);
        listener.Start();
        var server = sim.Loop.Start(async () =>
        {
            var peer = await listener.AcceptTcpClientAsync();
            Assert.Equal(0, await peer.GetStream().ReadAsync(new byte[1]));
            peer.Close();
        });
        var client = sim.Loop.Start(async () =>
        {
            var c = new TcpKitClient(sim.Client);
            await c.ConnectAsync(SimPair.ServerAddress, 80);
            c.Close();
        });
        sim.Run(TimeSpan.FromSeconds(1), server, client);
        sim.Network.RunFor(TimeSpan.FromMilliseconds(100));
        Assert.Equal(1, sim.Client.TimeWaits.Count);
        ushort waitingPort = Assert.Single(sim.Client.Connections).Key.LocalPort;

        // Every other port of the range (the network does not run, so these stay in SYN-SENT).
        const int others = TcpHost.EphemeralLast - TcpHost.EphemeralFirst;
        for (int i = 0; i < others; i++)
        {
            Assert.NotEqual(waitingPort, sim.Client.Open(SimPair.ServerAddress, 80).Key.LocalPort);
        }

        var error = Assert.Throws<SocketException>(() => sim.Client.Open(SimPair.ServerAddress, 80));
        Assert.Equal(SocketError.AddressAlreadyInUse, error.SocketErrorCode);
    }

    // ---- helpers -----------------------------------------------------------------------------------

    /// <summary>
    /// The server closes first through the callback API and keeps nothing of the connection; returns its 4-tuple
    /// and a weak reference to the object the host had for it (taken in this frame, so no local keeps it).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static (SimPair Sim, FlowKey Key, WeakReference Weak) ServerInTimeWaitUnheld()
    {
        var sim = new SimPair(config: TcpConfig.Linux);
        sim.Server.Listen(80, 16, c => c.Close());
        sim.Run(TimeSpan.FromSeconds(1), ClientThatClosesAfterEof(sim, 80));
        sim.Network.RunFor(TimeSpan.FromMilliseconds(100));
        Assert.Equal(1, sim.Server.TimeWaits.Count);
        return (sim, Key(sim.Server), new WeakReference(sim.Server.Connections.Single()));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static FlowKey Key(TcpHost host) => host.Connections.Single().Key;

    private static Task ClientThatClosesAfterEof(SimPair sim, int port) => sim.Loop.Start(async () =>
    {
        var c = new TcpKitClient(sim.Client);
        await c.ConnectAsync(SimPair.ServerAddress, port);
        Assert.Equal(0, await c.GetStream().ReadAsync(new byte[1]));
        c.Close();
    });

    private static int HashOf(TcpHost host, FlowKey key) => host.Connections.Single(c => c.Key == key).Hash;

    /// <summary>A host, and the record of a real connection in TIME-WAIT on it, whose values the table tests store.</summary>
    private static (TcpHost Host, TimeWaitRecord Record) HostWithRecord()
    {
        var (sim, serverSide) = TimeWaitReuseTests.ServerClosesFirst();
        return (sim.Server, serverSide.TimeWaitRecord!);
    }

    private static FlowKey Key(ushort port) => new(SimPair.ServerAddress, 80, SimPair.ClientAddress, port);

    private static HostConnection Owner(TcpHost host, TimeWaitRecord record, ushort port, int hash) =>
        new(host, Key(port), hash, record, slot: -1, generation: 0);
}

/// <summary>The table against a model: random adds (most with the usual 2 MSL, some shorter), early ends and expiries.</summary>
public class TimeWaitTableModelTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void Random_adds_ends_and_expiries_agree_with_a_model(int seed)
    {
        var (sim, serverSide) = TimeWaitReuseTests.ServerClosesFirst();
        var record = serverSide.TimeWaitRecord!;
        var table = new TimeWaitTable();
        var random = new Random(seed);
        var live = new Dictionary<int, (ushort Port, long Deadline)>(); // slot -> what the model expects
        var ports = new HashSet<ushort>();
        long now = 0;
        for (int step = 0; step < 60_000; step++)
        {
            int op = random.Next(10);
            if (op < 5 && live.Count < 3_000)
            {
                ushort port;
                do
                {
                    port = (ushort)random.Next(1, 65_536);
                }
                while (!ports.Add(port));
                long deadline = now + (random.Next(20) == 0 ? random.Next(1, 30_000) : 60_000);
                var owner = new HostConnection(sim.Server, Key(port), Hash(port), record, slot: -1, generation: 0);
                int slot = table.Add(owner, record.Context, record.Values, new Instant(deadline));
                Assert.False(live.ContainsKey(slot));
                live[slot] = (port, deadline);
            }
            else if (op < 8 && live.Count > 0)
            {
                // An early end (MAY-2 reuse, a reset): found through the index, then removed.
                var (slot, entry) = live.ElementAt(random.Next(live.Count));
                Assert.True(table.TryFind(Key(entry.Port), Hash(entry.Port), out int found));
                Assert.Equal(slot, found);
                table.Remove(slot);
                live.Remove(slot);
                ports.Remove(entry.Port);
                Assert.False(table.TryFind(Key(entry.Port), Hash(entry.Port), out _));
            }
            else
            {
                now += random.Next(1, 5_000);
                long previous = long.MinValue;
                while (table.TryTakeDue(new Instant(now), out int slot))
                {
                    var entry = live[slot];
                    Assert.True(entry.Deadline <= now);
                    Assert.True(entry.Deadline >= previous); // earliest first
                    previous = entry.Deadline;
                    table.Remove(slot);
                    live.Remove(slot);
                    ports.Remove(entry.Port);
                }

                Assert.DoesNotContain(live.Values, e => e.Deadline <= now);
            }

            Assert.Equal(live.Count, table.Count);
            long earliest = live.Count == 0 ? long.MaxValue : live.Values.Min(e => e.Deadline);
            Assert.Equal(live.Count == 0 ? Instant.Never : new Instant(earliest), table.Earliest);
        }

        Assert.True(table.LaneCapacity <= 4 * 4_096, $"lane of {table.LaneCapacity}");
    }

    private static FlowKey Key(ushort port) => new(SimPair.ServerAddress, 80, SimPair.ClientAddress, port);

    // A weak hash (many collisions) so probe runs are long and removals shift entries often.
    private static int Hash(ushort port) => (port % 97) + 1;
}
