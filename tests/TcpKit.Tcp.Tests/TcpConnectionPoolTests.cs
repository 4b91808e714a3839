using System.Reflection;
using TcpKit.Wire;
using TcpKit.Wire.Tcp;

namespace TcpKit.Tcp.Tests;

/// <summary>
/// An engine recycled through <see cref="TcpConnectionPool"/> must be indistinguishable from a new one:
/// every field (and those of its buffers and RTO estimator) equal, and the same segments on the wire.
/// </summary>
public sealed class TcpConnectionPoolTests
{
    [Fact]
    public void A_recycled_engine_has_every_field_of_a_new_one()
    {
        var pool = new TcpConnectionPool();
        var used = UsedEngine(TcpConfig.Linux with { SendBufferSize = 3000, ReceiveBufferSize = 5000, NoDelay = true });
        Assert.True(pool.Return(used));

        var config = TcpConfig.Linux with { SendBufferSize = 9000, ReceiveBufferSize = 7000 };
        var recycled = pool.Listen(config, 9999, new SeqNum(123));
        var fresh = new TcpConnectionPool().Listen(config, 9999, new SeqNum(123)); // a new engine, as a pool makes it
        Assert.Same(used, recycled);
        AssertSameFields(fresh, recycled, nameof(TcpConnection));

        var used2 = UsedEngine(TcpConfig.Linux);
        var controller2 = used2.CongestionControl;
        Assert.True(pool.Return(used2));
        var recycledClient = pool.Connect(config, 40001, 80, new SeqNum(77), Instant.FromMilliseconds(5));
        var freshClient = new TcpConnectionPool().Connect(config, 40001, 80, new SeqNum(77), Instant.FromMilliseconds(5));
        AssertSameFields(freshClient, recycledClient, nameof(TcpConnection));
    }

    [Fact]
    public void A_recycled_engine_resets_its_default_controller_and_calls_a_custom_factory()
    {
        var pool = new TcpConnectionPool();
        var used = UsedEngine(TcpConfig.Linux);
        var controller = used.CongestionControl;
        Assert.True(pool.Return(used));
        var recycled = pool.Listen(TcpConfig.Linux, 9999, new SeqNum(5000));
        Lesson(recycled);
        Assert.Same(controller, recycled.CongestionControl); // reset for this connection, not allocated

        int made = 0;
        var custom = TcpConfig.Linux with { CongestionControl = (c, mss) => { made++; return new NewReno(mss, 2); } };
        var used2 = UsedEngine(TcpConfig.Linux);
        var controller2 = used2.CongestionControl;
        Assert.True(pool.Return(used2));
        var withCustom = pool.Listen(custom, 9999, new SeqNum(5000));
        Lesson(withCustom);
        Assert.Equal(1, made); // a configured factory is always asked
        Assert.NotSame(controller2, withCustom.CongestionControl);
    }

    [Fact]
    public void A_controller_from_a_configured_factory_is_never_reset_for_another_connection()
    {
        // A factory may hand one object to several connections; the pool must not reset it under them.
        var shared = new NewReno(1460);
        var custom = TcpConfig.Linux with { CongestionControl = (c, mss) => shared };
        var pool = new TcpConnectionPool();
        var used = UsedEngine(custom);
        Assert.Same(shared, used.CongestionControl);
        int cwnd = shared.Cwnd;
        Assert.True(pool.Return(used));

        var recycled = pool.Listen(TcpConfig.Linux, 9999, new SeqNum(5000));
        Lesson(recycled);
        Assert.NotSame(shared, recycled.CongestionControl);
        Assert.Equal(cwnd, shared.Cwnd);
    }

    [Fact]
    public void A_recycled_engine_puts_the_same_segments_on_the_wire_as_a_new_one()
    {
        var pool = new TcpConnectionPool();
        Assert.True(pool.Return(UsedEngine(TcpConfig.Linux with { ReceiveBufferSize = 1000 })));
        var recycledServer = pool.Listen(TcpConfig.Linux, 9999, new SeqNum(5000));
        Assert.Equal(0, pool.Count);

        var withRecycled = Lesson(recycledServer);
        var withFresh = Lesson(TcpConnection.Listen(TcpConfig.Linux, 9999, new SeqNum(5000)));
        Assert.Equal(withFresh, withRecycled);
        Assert.Equal(11, withFresh.Count);
    }

    [Fact]
    public void Only_an_engine_reduced_to_a_record_comes_back_and_only_once()
    {
        var pool = new TcpConnectionPool(capacity: 1);
        var h = Harness.Pair();
        h.RunUntilMs(100);
        Assert.False(pool.Return(h.Client)); // a live connection
        var used = UsedEngine(TcpConfig.Linux);
        Assert.True(pool.Return(used));
        Assert.False(pool.Return(used)); // already there
        Assert.False(pool.Return(UsedEngine(TcpConfig.Linux))); // full

        var withStats = DriveToTimeWait();
        _ = withStats.Stats.SegmentsIn; // the record takes a copy of the statistics, not this engine's object
        _ = withStats.ToTimeWaitRecord();
        Assert.True(new TcpConnectionPool().Return(withStats));
    }

    /// <summary>An engine that ran a connection with data to TIME-WAIT and was reduced to its record.</summary>
    private static TcpConnection UsedEngine(TcpConfig config)
    {
        var timeWait = DriveToTimeWait(config);
        _ = timeWait.ToTimeWaitRecord();
        return timeWait;
    }

    private static TcpConnection DriveToTimeWait(TcpConfig? config = null)
    {
        var h = Harness.Pair(config, config);
        h.RunUntilMs(100);
        h.Client.Send(new byte[2000]);
        h.Server!.Send(new byte[700]);
        h.RunUntilMs(1000);
        h.Client.Close();
        h.RunUntilMs(2000);
        h.Server.Close();
        h.RunUntilMs(3000);
        Assert.Equal(TcpState.TimeWait, h.Client.State);
        return h.Client;
    }

    /// <summary>The lesson: the client sends "a" then "b", the server closes first; the wire as text.</summary>
    private static List<string> Lesson(TcpConnection server)
    {
        var client = TcpConnection.Connect(TcpConfig.Linux, 40000, 9999, new SeqNum(1000), Instant.Zero);
        var h = new Harness(client, server);
        h.RunUntilMs(100);
        client.Send("a"u8);
        h.RunUntilMs(300);
        client.Send("b"u8);
        h.RunUntilMs(500);
        server.Close();
        h.RunUntilMs(700);
        client.Close();
        h.RunUntilMs(900);
        return h.Trace();
    }

    private static void AssertSameFields(object expected, object actual, string path)
    {
        for (var type = expected.GetType(); type is not null && type != typeof(object); type = type.BaseType)
        {
            foreach (var field in type.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            {
                object? e = field.GetValue(expected);
                object? a = field.GetValue(actual);
                string where = $"{path}.{field.Name}";
                if (field.FieldType == typeof(TimerSet))
                {
                    var te = (TimerSet)e!;
                    var ta = (TimerSet)a!;
                    for (int k = 0; k < TimerSet.Count; k++)
                    {
                        Assert.True(te.Get((TimerKind)k) == ta.Get((TimerKind)k), $"{where}[{(TimerKind)k}]");
                    }
                }
                else if (field.FieldType == typeof(byte[]))
                {
                    Assert.True(((byte[])e!).Length == ((byte[])a!).Length, where);
                }
                else if (field.Name == "_spareNewReno")
                {
                    // Not connection state: a recycled engine keeps its last controller to reset instead of allocating one.
                }
                else if (e is EventRingPool)
                {
                    Assert.True(a is EventRingPool, $"{where}: an engine of a pool borrows the pool's event queues"); // the pool's, not the connection's
                }
                else if (e is null || a is null)
                {
                    Assert.True(e is null && a is null, $"{where}: {e ?? "null"} vs {a ?? "null"}");
                }
                else if (field.FieldType.IsValueType || e is TcpConfig || e is KeepaliveConfig)
                {
                    Assert.True(Equals(e, a), $"{where}: {e} vs {a}");
                }
                else if (e is EventRing qe && a is EventRing qa)
                {
                    Assert.Equal(qe.ToArray(), qa.ToArray());
                }
                else if (field.FieldType.Namespace == typeof(TcpConnection).Namespace)
                {
                    AssertSameFields(e, a, where);
                }
                else
                {
                    Assert.Fail($"{where}: no rule to compare a {field.FieldType}");
                }
            }
        }
    }
}
