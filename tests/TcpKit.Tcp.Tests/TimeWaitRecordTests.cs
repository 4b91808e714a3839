using CsCheck;
using TcpKit.Wire;
using TcpKit.Wire.Tcp;

namespace TcpKit.Tcp.Tests;

/// <summary>
/// A connection in TIME-WAIT reduced to a <see cref="TimeWaitRecord"/> and rebuilt with
/// <see cref="TcpConnection.Resume"/> must behave exactly as the engine it came from: both are fed the same
/// segments and timers, and every segment, event, deadline and sequence variable must agree.
/// </summary>
public sealed class TimeWaitRecordTests
{
    private static readonly Gen<(int Scenario, int ClientBytes, int ServerBytes, int Buffer, uint ClientIss, uint ServerIss)> Scenarios =
        Gen.Select(Gen.Int[0, 2], Gen.Int[0, 5000], Gen.Int[0, 5000], Gen.Int[600, 70000], Gen.UInt, Gen.UInt);

    // One input: a segment (flags, offsets from RCV.NXT / SND.NXT, window, payload length) after a pause.
    private static readonly Gen<(int Kind, int SeqOffset, int AckOffset, ushort Window, int Payload, int PauseMs)> Inputs =
        Gen.Select(Gen.Int[0, 9], Gen.OneOf(Gen.Int[-3, 3], Gen.Int[-70000, 70000]), Gen.OneOf(Gen.Int[-3, 3], Gen.Int[-70000, 70000]),
            Gen.UShort, Gen.OneOf(Gen.Const(0), Gen.Int[1, 100]), Gen.OneOf(Gen.Int[0, 50], Gen.Int[0, 70_000]));

    [Fact]
    public void A_resumed_TIME_WAIT_record_answers_every_segment_and_timer_as_the_original_engine()
    {
        Gen.Select(Scenarios, Inputs.Array[0, 12], Inputs.Array[1, 12]).Sample(t =>
        {
            var (scenario, before, input) = t;
            var original = DriveToTimeWait(scenario.Scenario, scenario.ClientBytes, scenario.ServerBytes, scenario.Buffer, scenario.ClientIss, scenario.ServerIss, out Instant now);
            // Segments before the record is taken leave their mark (challenge-ACK budget, restarted 2 MSL...).
            foreach (var (kind, seqOffset, ackOffset, window, payloadLength, pauseMs) in before)
            {
                now += TimeSpan.FromMilliseconds(Math.Min(pauseMs, 200));
                original.OnSegment(Segment(original, kind, seqOffset, ackOffset, window), new byte[kind == 9 ? Math.Max(1, payloadLength) : payloadLength], now);
                Drain(original, now);
            }

            if (original.State != TcpState.TimeWait)
            {
                return; // a RST ended it
            }

            Assert.True(original.CanHibernate);
            var record = original.ToTimeWaitRecord();
            var twin = TcpConnection.Resume(record);
            AssertSame(original, twin);

            foreach (var (kind, seqOffset, ackOffset, window, payloadLength, pauseMs) in input)
            {
                now += TimeSpan.FromMilliseconds(pauseMs);
                if (original.NextDeadline <= now)
                {
                    original.OnTimer(now);
                    twin.OnTimer(now);
                }
                else
                {
                    var seg = Segment(original, kind, seqOffset, ackOffset, window);
                    var payload = new byte[kind == 9 ? Math.Max(1, payloadLength) : payloadLength];
                    original.OnSegment(seg, payload, now);
                    twin.OnSegment(seg, payload, now);
                }

                AssertSameOutput(original, twin, now);
                AssertSame(original, twin);
            }
        }, iter: 400);
    }

    [Fact]
    public void An_expired_record_resumes_as_a_connection_closed_in_order()
    {
        var original = DriveToTimeWait(0, 10, 10, 4096, 1000, 5000, out _);
        var record = original.ToTimeWaitRecord();
        record.Expire();
        var closed = TcpConnection.Resume(record);
        Assert.Equal(TcpState.Closed, closed.State);
        Assert.Equal(TcpError.None, closed.Error);
        Assert.Equal(Instant.Never, closed.NextDeadline);
        Assert.False(record.AcceptsNewSyn(Harness.SegmentTo(closed, TcpFlags.Syn, closed.RcvNxt + 100)));
    }

    [Fact]
    public void The_record_keeps_the_counters_the_statistics_report()
    {
        var original = DriveToTimeWait(1, 3000, 200, 4096, 7, 9, out _);
        long segmentsIn = original.Stats.SegmentsIn, segmentsOut = original.Stats.SegmentsOut, bytesIn = original.Stats.BytesIn, bytesOut = original.Stats.BytesOut;
        var srtt = original.Stats.Srtt;
        int cwnd = original.Stats.Cwnd;
        int ssthresh = original.Stats.Ssthresh;
        var record = original.ToTimeWaitRecord();
        // The record copies the controller's values instead of keeping it: nothing keeps the controller (the
        // recycled engine's) alive through 2 MSL.
        Assert.DoesNotContain(typeof(TimeWaitRecord).GetFields(System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic),
            f => typeof(ICongestionControl).IsAssignableFrom(f.FieldType));
        var twin = TcpConnection.Resume(record);
        Assert.Equal((segmentsIn, segmentsOut, bytesIn, bytesOut), (twin.Stats.SegmentsIn, twin.Stats.SegmentsOut, twin.Stats.BytesIn, twin.Stats.BytesOut));
        Assert.Equal(srtt, twin.Stats.Srtt);
        Assert.Equal(cwnd, twin.Stats.Cwnd);
        Assert.Equal(ssthresh, twin.Stats.Ssthresh);
        Assert.Equal(original.Iss, twin.Iss);
        Assert.Equal(original.Irs, twin.Irs);
    }

    [Fact]
    public void Only_a_TIME_WAIT_connection_with_nothing_pending_can_be_reduced()
    {
        var h = Harness.Pair();
        h.RunUntilMs(100);
        Assert.False(h.Client.CanHibernate);
        Assert.Throws<InvalidOperationException>(() => h.Client.ToTimeWaitRecord());
        h.Client.Close();
        h.RunUntilMs(200);
        h.Server!.Close();
        h.Pump();
        h.RunUntilMs(300);
        Assert.Equal(TcpState.TimeWait, h.Client.State);
        Assert.True(h.Client.CanHibernate);

        // A retransmitted FIN leaves an ACK to send: not reducible until it is polled.
        h.Client.OnSegment(Harness.SegmentTo(h.Client, TcpFlags.Fin | TcpFlags.Ack, h.Client.RcvNxt - 1, h.Client.SndNxt), default, h.Now);
        Assert.False(h.Client.CanHibernate);
        h.Pump();
        Assert.True(h.Client.CanHibernate);
    }

    /// <summary>Scenario 0: the client closes first; 1: the server closes first; 2: simultaneous close through CLOSING.</summary>
    private static TcpConnection DriveToTimeWait(int scenario, int clientBytes, int serverBytes, int buffer, uint clientIss, uint serverIss, out Instant now)
    {
        var config = TcpConfig.Linux with { SendBufferSize = buffer, ReceiveBufferSize = buffer };
        var h = Harness.Pair(config, config, clientIss, serverIss);
        h.RunUntilMs(100);
        h.Client.Send(new byte[Math.Min(clientBytes, h.Client.SendBufferFree)]);
        h.Server!.Send(new byte[Math.Min(serverBytes, h.Server.SendBufferFree)]);
        h.RunUntilMs(2000);
        switch (scenario)
        {
            case 0:
                h.Client.Close();
                h.RunUntilMs(3000);
                h.Server.Close();
                break;
            case 1:
                h.Server.Close();
                h.RunUntilMs(3000);
                h.Client.Close();
                break;
            default:
                h.Client.Close();
                h.Server.Close();
                break;
        }

        h.Pump();
        h.RunUntilMs(5000);
        var timeWait = h.Client.State == TcpState.TimeWait ? h.Client : h.Server;
        Assert.Equal(TcpState.TimeWait, timeWait.State);
        now = h.Now;
        return timeWait;
    }

    private static TcpHeader Segment(TcpConnection target, int kind, int seqOffset, int ackOffset, ushort window)
    {
        TcpFlags flags = kind switch
        {
            0 => TcpFlags.Ack,
            1 => TcpFlags.Fin | TcpFlags.Ack,
            2 => TcpFlags.Rst,
            3 => TcpFlags.Rst | TcpFlags.Ack,
            4 => TcpFlags.Syn,
            5 => TcpFlags.Syn | TcpFlags.Ack,
            6 => TcpFlags.Fin,
            7 => TcpFlags.Urg | TcpFlags.Ack,
            8 => TcpFlags.Psh | TcpFlags.Ack,
            _ => TcpFlags.Ack,
        };

        // FIN offsets are taken from the FIN's own sequence number, so 0 is a retransmission of the peer's FIN.
        SeqNum seq = (flags & TcpFlags.Fin) != 0 ? target.RcvNxt - 1 + seqOffset : target.RcvNxt + seqOffset;
        var seg = Harness.SegmentTo(target, flags, seq, target.SndNxt + ackOffset, window);
        seg.UrgentPointer = (flags & TcpFlags.Urg) != 0 ? (ushort)1 : (ushort)0;
        return seg;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_closed_connection_resumed_from_its_record_answers_and_reports_as_the_original(bool reset)
    {
        var h = Harness.Pair();
        h.RunUntilMs(100);
        h.Client.Send(new byte[1500]);
        h.RunUntilMs(500);
        if (reset)
        {
            h.Inject(toServer: true, Harness.SegmentTo(h.Server!, TcpFlags.Rst, h.Server!.RcvNxt));
        }
        else
        {
            h.Client.Close();
            h.RunUntilMs(700);
            h.Server!.Close(); // LAST-ACK, then CLOSED
            h.RunUntilMs(900);
        }

        var original = h.Server!;
        Assert.Equal(TcpState.Closed, original.State);
        Assert.True(original.CanBeReducedWhenClosed);
        var record = original.ToClosedRecord();
        Assert.Equal(TcpState.Closed, record.State);
        var twin = TcpConnection.Resume(record);
        Assert.Equal(reset ? TcpError.Reset : TcpError.None, twin.Error);
        Assert.Equal(original.RemoteClosed, twin.RemoteClosed);
        AssertSame(original, twin);
        Assert.Equal(original.Stats.BytesIn, twin.Stats.BytesIn);

        // 3.10.7.1: both answer a stray segment with the same RST.
        var stray = Harness.SegmentTo(original, TcpFlags.Ack, original.RcvNxt, original.SndNxt);
        var now = h.Now + TimeSpan.FromSeconds(1);
        original.OnSegment(stray, default, now);
        twin.OnSegment(stray, default, now);
        AssertSameOutput(original, twin, now);
    }

    [Fact]
    public void The_challenge_ACK_budget_of_RFC_5961_survives_the_record()
    {
        var original = DriveToTimeWait(0, 0, 0, 4096, 1000, 5000, out Instant now);
        var badRst = Harness.SegmentTo(original, TcpFlags.Rst, original.RcvNxt + 5);
        for (int i = 0; i < original.Config.ChallengeAckLimitPerSecond; i++)
        {
            original.OnSegment(badRst, default, now);
            Assert.Equal(1, Drain(original, now));
        }

        var twin = TcpConnection.Resume(original.ToTimeWaitRecord());
        twin.OnSegment(badRst, default, now + TimeSpan.FromMilliseconds(10));
        Assert.Equal(0, Drain(twin, now)); // the budget for this second is spent
        Assert.Equal(1, twin.Stats.ChallengeAcksSuppressed);
        twin.OnSegment(badRst, default, now + TimeSpan.FromSeconds(1));
        Assert.Equal(1, Drain(twin, now + TimeSpan.FromSeconds(1)));
    }

    /// <summary>Polls every segment and event; returns the number of segments.</summary>
    private static int Drain(TcpConnection c, Instant now)
    {
        var buffer = new byte[65536];
        int segments = 0;
        while (c.TryPollSegment(now, buffer, out _, out _))
        {
            segments++;
        }

        while (c.TryPollEvent(out _))
        {
        }

        return segments;
    }

    private static void AssertSameOutput(TcpConnection a, TcpConnection b, Instant now)
    {
        var bufferA = new byte[65536];
        var bufferB = new byte[65536];
        while (true)
        {
            bool sentA = a.TryPollSegment(now, bufferA, out var headerA, out int lengthA);
            bool sentB = b.TryPollSegment(now, bufferB, out var headerB, out int lengthB);
            Assert.Equal(sentA, sentB);
            if (!sentA)
            {
                break;
            }

            Assert.Equal(Describe(headerA), Describe(headerB));
            Assert.Equal(lengthA, lengthB);
        }

        while (true)
        {
            bool eventA = a.TryPollEvent(out var ea);
            bool eventB = b.TryPollEvent(out var eb);
            Assert.Equal(eventA, eventB);
            if (!eventA)
            {
                break;
            }

            Assert.Equal((ea.Kind, ea.OldState, ea.NewState, ea.Error, ea.Cause.Kind), (eb.Kind, eb.OldState, eb.NewState, eb.Error, eb.Cause.Kind));
        }
    }

    private static string Describe(in TcpHeader h) =>
        $"{h.SourcePort}>{h.DestinationPort} [{Harness.FlagString(h.Flags)}] seq={h.Seq} ack={h.Ack} win={h.Window} urp={h.UrgentPointer} " +
        $"mss={h.Options.Mss} ws={h.Options.WindowScale} sackok={h.Options.SackPermitted} ts={h.Options.Timestamp}";

    private static void AssertSame(TcpConnection a, TcpConnection b)
    {
        Assert.Equal(a.State, b.State);
        Assert.Equal(a.Error, b.Error);
        Assert.Equal(a.NextDeadline, b.NextDeadline);
        Assert.Equal(a.TimerDeadline(TimerKind.TimeWait), b.TimerDeadline(TimerKind.TimeWait));
        Assert.Equal((a.SndUna, a.SndNxt, a.SndWnd, a.SndWl1, a.SndWl2), (b.SndUna, b.SndNxt, b.SndWnd, b.SndWl1, b.SndWl2));
        Assert.Equal((a.RcvNxt, a.RcvWnd, a.RcvUp), (b.RcvNxt, b.RcvWnd, b.RcvUp));
        Assert.Equal((a.BytesAvailable, a.RemoteClosed, a.CanSend), (b.BytesAvailable, b.RemoteClosed, b.CanSend));
        Assert.Equal(a.Stats.SegmentsIn, b.Stats.SegmentsIn);
        Assert.Equal(a.Stats.SegmentsOut, b.Stats.SegmentsOut);
        Assert.Equal(a.Stats.ChallengeAcks, b.Stats.ChallengeAcks);
        Assert.Equal(a.Stats.ChallengeAcksSuppressed, b.Stats.ChallengeAcksSuppressed);
        Assert.Equal(a.Stats.TotalDrops, b.Stats.TotalDrops);
        Assert.Equal(a.Stats.Srtt, b.Stats.Srtt);
        Assert.Equal(a.Stats.Rto, b.Stats.Rto);
    }
}
