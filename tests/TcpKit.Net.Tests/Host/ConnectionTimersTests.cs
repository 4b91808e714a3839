using CsCheck;
using TcpKit.Net.Host;
using TcpKit.Tcp;
using TcpKit.Wire;
using TcpKit.Wire.Tcp;
using Xunit;

namespace TcpKit.Net.Tests.Host;

public class ConnectionTimersTests
{
    private const int Connections = 24;

    private static readonly long[] Lengths = [1000, 200, 40, 5000, 7];

    /// <summary>
    /// Random Set/Cancel/take sequences, with deadlines both in order (as TIME-WAIT's constant 2 MSL and the
    /// other constant timer lengths give, which the FIFO lanes take) and out of order (the heap's), against a
    /// plain list as the model: the
    /// earliest deadline, the count and the order connections come due (deadline, then order of setting) agree.
    /// </summary>
    [Fact]
    public void Heap_and_lane_together_fire_deadlines_in_the_order_a_sorted_list_does()
    {
        var op = Gen.Select(Gen.Int[0, 9], Gen.Int[0, Connections - 1], Gen.Int[0, 60]);
        op.Array[1, 400].Sample(ops =>
        {
            var pair = new SimPair();
            var conns = new HostConnection[Connections];
            for (int i = 0; i < Connections; i++)
            {
                var key = new FlowKey(SimPair.ServerAddress, 80, SimPair.ClientAddress, (ushort)(40000 + i));
                conns[i] = new HostConnection(pair.Server, key, i, TcpConnection.Listen(TcpConfig.Linux, 80, new SeqNum(0)), null);
            }

            var timers = new ConnectionTimers();
            var model = new Dictionary<HostConnection, (long Deadline, long Order)>();
            long order = 0;
            long now = 0;
            foreach (var (kind, index, value) in ops)
            {
                var c = conns[index];
                if (kind < 4)
                {
                    // In order per length: constant lifetimes from a clock that only moves forward. Five lengths
                    // for four lanes, so some in-order deadlines find no lane of their own and go to the heap.
                    long deadline = now + Lengths[value % Lengths.Length];
                    timers.Set(c, new Instant(deadline));
                    model[c] = (deadline, order++);
                }
                else if (kind < 7)
                {
                    long deadline = now + value;
                    timers.Set(c, new Instant(deadline));
                    model[c] = (deadline, order++);
                }
                else if (kind < 8)
                {
                    timers.Cancel(c);
                    model.Remove(c);
                }
                else
                {
                    now += value * 20;
                    while (timers.TryTakeDue(new Instant(now), out var due))
                    {
                        var first = model.MinBy(kv => (kv.Value.Deadline, kv.Value.Order));
                        Assert.Same(first.Key, due);
                        Assert.True(first.Value.Deadline <= now);
                        Assert.Equal(Instant.Never, due.TimerDeadline);
                        model.Remove(due);
                    }

                    Assert.DoesNotContain(model, kv => kv.Value.Deadline <= now);
                }

                Assert.Equal(model.Count, timers.Count);
                var expected = model.Count == 0 ? Instant.Never : new Instant(model.Values.Min(v => v.Deadline));
                Assert.Equal(expected, timers.Earliest);
            }
        }, iter: 300);
    }

    [Fact]
    public void A_lane_that_wraps_and_compacts_keeps_its_order()
    {
        // One length, connections re-armed at random: cleared entries pile up in the middle of the ring while
        // its front moves, so the lane compacts in place with its start anywhere in the array.
        var pair = new SimPair();
        var conns = new HostConnection[10];
        for (int i = 0; i < conns.Length; i++)
        {
            var key = new FlowKey(SimPair.ServerAddress, 80, SimPair.ClientAddress, (ushort)(40000 + i));
            conns[i] = new HostConnection(pair.Server, key, i, TcpConnection.Listen(TcpConfig.Linux, 80, new SeqNum(0)), null);
        }

        var timers = new ConnectionTimers();
        var model = new Dictionary<HostConnection, (long Deadline, long Order)>();
        var random = new Random(7);
        long order = 0;
        for (long now = 1; now <= 20_000; now++)
        {
            var c = conns[random.Next(conns.Length)];
            timers.Set(c, new Instant(now + 100));
            model[c] = (now + 100, order++);
            if (now % 97 == 0)
            {
                // Let the earliest few come due, so the front moves past live entries too.
                long due = now + 100 - random.Next(100);
                while (timers.TryTakeDue(new Instant(due), out var taken))
                {
                    var first = model.MinBy(kv => (kv.Value.Deadline, kv.Value.Order));
                    Assert.Same(first.Key, taken);
                    model.Remove(taken);
                }
            }

            Assert.Equal(model.Count, timers.Count);
        }

        while (timers.TryTakeDue(new Instant(long.MaxValue - 1), out var rest))
        {
            var first = model.MinBy(kv => (kv.Value.Deadline, kv.Value.Order));
            Assert.Same(first.Key, rest);
            model.Remove(rest);
        }

        Assert.Empty(model);
        Assert.True(timers.LaneCapacity <= 64, $"lane capacity {timers.LaneCapacity}");
    }

    [Fact]
    public void Many_cancelled_in_order_deadlines_do_not_accumulate()
    {
        var pair = new SimPair();
        var key = new FlowKey(SimPair.ServerAddress, 80, SimPair.ClientAddress, 40000);
        var c = new HostConnection(pair.Server, key, 1, TcpConnection.Listen(TcpConfig.Linux, 80, new SeqNum(0)), null);
        var other = new HostConnection(pair.Server, key with { RemotePort = 40001 }, 2, TcpConnection.Listen(TcpConfig.Linux, 80, new SeqNum(0)), null);
        var timers = new ConnectionTimers();
        timers.Set(other, new Instant(1));
        // Moving one connection's deadline later a million times leaves stale lane entries behind it; the
        // lane compacts them away instead of growing, and the earliest deadline stays the other connection's.
        for (long i = 2; i < 1_000_000; i++)
        {
            timers.Set(c, new Instant(i));
        }

        Assert.Equal(2, timers.Count);
        Assert.True(timers.LaneCapacity <= 256, $"lane capacity {timers.LaneCapacity}");
        Assert.True(timers.TryTakeDue(new Instant(1), out var first));
        Assert.Same(other, first);
        Assert.False(timers.TryTakeDue(new Instant(999_998), out _));
        Assert.True(timers.TryTakeDue(new Instant(999_999), out var second));
        Assert.Same(c, second);
        Assert.Equal(0, timers.Count);
    }
}
