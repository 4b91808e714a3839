using TcpKit.Wire;
using TcpKit.Wire.Tcp;

namespace TcpKit.Tcp.Tests;

/// <summary>Adversarial checks of <see cref="TimeWaitRecord"/> and <see cref="TcpConnection.Resume"/> beyond the property test.</summary>
public sealed class TimeWaitRecordReviewTests
{
    /// <summary>The client closes first and ends in TIME-WAIT; <paramref name="configure"/> runs on it while established.</summary>
    private static (Harness H, TcpConnection TimeWait) ClientInTimeWait(Action<TcpConnection, Instant>? configure = null, TcpConfig? config = null)
    {
        var h = Harness.Pair(config ?? TcpConfig.Linux, config ?? TcpConfig.Linux);
        h.RunUntilMs(100);
        configure?.Invoke(h.Client, h.Now);
        h.Client.Send(new byte[3000]);
        h.Server!.Send(new byte[2000]);
        h.RunUntilMs(1000);
        h.Client.Close();
        h.RunUntilMs(1500);
        h.Server.Close();
        h.Pump();
        h.RunUntilMs(2000);
        Assert.Equal(TcpState.TimeWait, h.Client.State);
        Assert.True(h.Client.CanHibernate);
        return (h, h.Client);
    }

    private static int Drain(TcpConnection c, Instant now, List<TcpHeader>? into = null)
    {
        var buffer = new byte[65536];
        int n = 0;
        while (c.TryPollSegment(now, buffer, out var header, out _))
        {
            into?.Add(header);
            n++;
        }

        while (c.TryPollEvent(out _))
        {
        }

        return n;
    }

    [Fact]
    public void Options_changed_on_the_live_connection_survive_the_record()
    {
        var keepalive = new KeepaliveConfig { Enabled = true, Idle = TimeSpan.FromSeconds(7), Interval = TimeSpan.FromSeconds(3), Count = 4 };
        var (_, original) = ClientInTimeWait((c, now) =>
        {
            c.NoDelay = !c.NoDelay;
            c.SetKeepalive(keepalive, now);
            c.SetSendBufferSize(12_345);
            c.SetReceiveBufferSize(100_000);
        });
        Assert.Equal(100_000, original.ReceiveBufferSize);
        var twin = TcpConnection.Resume(original.ToTimeWaitRecord());

        Assert.Equal((original.NoDelay, original.Keepalive, original.SendBufferSize, original.ReceiveBufferSize),
            (twin.NoDelay, twin.Keepalive, twin.SendBufferSize, twin.ReceiveBufferSize));
        Assert.True(twin.Keepalive.Enabled);
        Assert.Equal(original.Negotiated, twin.Negotiated);
        Assert.Equal((original.RcvWnd, original.UrgentBytesPending, original.EffectiveSendMss), (twin.RcvWnd, twin.UrgentBytesPending, twin.EffectiveSendMss));
    }

    [Fact]
    public void A_stray_ACK_is_answered_with_the_same_window_with_a_receive_buffer_beyond_64_KiB()
    {
        // The window field of TIME-WAIT's ACK comes from the buffer's free space, capped at 65535 without a window scale.
        var config = TcpConfig.Linux with { ReceiveBufferSize = 300_000, SendBufferSize = 300_000 };
        var (h, original) = ClientInTimeWait(config: config);
        var twin = TcpConnection.Resume(original.ToTimeWaitRecord());
        var stray = Harness.SegmentTo(original, TcpFlags.Ack, original.RcvNxt + 1_000_000, original.SndNxt);
        var now = h.Now + TimeSpan.FromSeconds(1);
        original.OnSegment(stray, default, now);
        twin.OnSegment(stray, default, now);
        var a = new List<TcpHeader>();
        var b = new List<TcpHeader>();
        Drain(original, now, a);
        Drain(twin, now, b);
        Assert.Equal(a.Select(x => (x.Flags, x.Seq, x.Ack, x.Window)), b.Select(x => (x.Flags, x.Seq, x.Ack, x.Window)));
        Assert.Single(a);
    }

    [Fact]
    public void A_record_of_a_connection_closed_by_timeout_reports_the_timeout()
    {
        var h = Harness.Pair(TcpConfig.Linux with { DataRetries = 2, R1Retries = 1 }, TcpConfig.Linux);
        h.RunUntilMs(100);
        h.DropEverything();
        h.Client.Send(new byte[100]);
        h.RunUntilMs(120_000);
        Assert.Equal((TcpState.Closed, TcpError.TimedOut), (h.Client.State, h.Client.Error));
        Assert.True(h.Client.CanBeReducedWhenClosed);
        var record = h.Client.ToClosedRecord();
        Assert.Equal((TcpState.Closed, TcpError.TimedOut), (record.State, record.Error));
        var twin = TcpConnection.Resume(record);
        Assert.Equal((TcpState.Closed, TcpError.TimedOut, Instant.Never), (twin.State, twin.Error, twin.NextDeadline));
        Assert.Equal(h.Client.Stats.RetransmissionTimeouts, twin.Stats.RetransmissionTimeouts);
    }

    [Fact]
    public void An_engine_reduced_to_a_record_keeps_its_own_statistics_while_the_resumed_engine_works()
    {
        var (h, original) = ClientInTimeWait();
        long segmentsIn = original.Stats.SegmentsIn; // statistics exist when the record is taken
        var twin = TcpConnection.Resume(original.ToTimeWaitRecord());

        // A retransmitted FIN reaches the resumed engine only.
        twin.OnSegment(Harness.SegmentTo(twin, TcpFlags.Fin | TcpFlags.Ack, twin.RcvNxt - 1, twin.SndNxt), default, h.Now);
        Drain(twin, h.Now);

        Assert.Equal(segmentsIn + 1, twin.Stats.SegmentsIn);
        Assert.Equal(segmentsIn, original.Stats.SegmentsIn); // "this engine's behaviour is unchanged"
    }

    [Fact]
    public void Two_engines_resumed_from_one_record_count_their_own_segments()
    {
        var (h, original) = ClientInTimeWait();
        _ = original.Stats;
        var record = original.ToTimeWaitRecord();
        var first = TcpConnection.Resume(record);
        var second = TcpConnection.Resume(record);
        long before = second.Stats.SegmentsIn;

        first.OnSegment(Harness.SegmentTo(first, TcpFlags.Fin | TcpFlags.Ack, first.RcvNxt - 1, first.SndNxt), default, h.Now);
        Drain(first, h.Now);

        Assert.Equal(before + 1, first.Stats.SegmentsIn);
        Assert.Equal(before, second.Stats.SegmentsIn);
    }
}
