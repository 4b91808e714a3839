using CsCheck;
using TcpKit.Wire;
using TcpKit.Wire.Tcp;

namespace TcpKit.Tcp.Tests;

public class CongestionControlTests
{
    private static Func<SegmentRecord, Impairment> DropFirstTransmissionOf(params int[] relativeSeqs)
    {
        var pending = new HashSet<int>(relativeSeqs);
        return r =>
        {
            if (!r.FromClient || r.Length == 0)
            {
                return Impairment.None;
            }

            int rel = (int)r.Header.Seq.RelativeTo(new SeqNum(1000));
            return new Impairment(pending.Remove(rel), TimeSpan.Zero, false);
        };
    }

    [Fact]
    public void Third_duplicate_ACK_triggers_fast_retransmit_without_waiting_for_the_timer()
    {
        var h = Harness.Pair(TcpConfig.Linux with { NoDelay = true });
        h.RunUntilMs(100);
        h.Impair = DropFirstTransmissionOf(1461);
        byte[] data = new byte[10 * 1460];
        new Random(5).NextBytes(data);
        h.Client.Send(data);
        h.RunUntilMs(1000);

        Assert.Equal(data, h.ServerReceived);
        Assert.Equal(1, h.Client.Stats.FastRetransmits);
        Assert.Equal(1, h.Client.Stats.Retransmissions);
        Assert.Equal(0, h.Client.Stats.RetransmissionTimeouts);
        var retransmission = h.Wire.Where(r => r.FromClient && r.Header.Seq == new SeqNum(1000 + 1461)).ToList();
        Assert.Equal(2, retransmission.Count);
        Assert.Equal(120, retransmission[1].Time.Milliseconds); // One RTT after the burst: on the third duplicate ACK.
        Assert.Equal(7, h.Client.Stats.DuplicateAcksReceived); // Segments 4..10 each caused one; the third triggered it.
        Assert.Equal(6570, h.Client.Stats.Ssthresh); // FlightSize/2 = (14600 - 1460 acked)/2 (RFC 5681 equation 4).
    }

    [Fact]
    public void Partial_ACK_during_fast_recovery_retransmits_the_next_hole_at_once()
    {
        var h = Harness.Pair(TcpConfig.Linux with { NoDelay = true });
        h.RunUntilMs(100);
        h.Impair = DropFirstTransmissionOf(1461, 5841);
        byte[] data = new byte[10 * 1460];
        new Random(6).NextBytes(data);
        h.Client.Send(data);
        h.RunUntilMs(1000);

        Assert.Equal(data, h.ServerReceived);
        Assert.Equal(1, h.Client.Stats.FastRetransmits);
        Assert.Equal(2, h.Client.Stats.Retransmissions);
        Assert.Equal(0, h.Client.Stats.RetransmissionTimeouts);
        var second = h.Wire.Where(r => r.FromClient && r.Header.Seq == new SeqNum(1000 + 5841)).ToList();
        Assert.Equal(140, second[1].Time.Milliseconds); // Right when the partial ACK arrives, one RTT after the first repair.
    }

    [Fact]
    public void Initial_window_is_ten_segments_and_slow_start_grows_it_per_ACK()
    {
        var h = Harness.Pair(TcpConfig.Linux with { NoDelay = true, SendBufferSize = 1 << 20 }, TcpConfig.Linux with { DelayedAck = false });
        h.RunUntilMs(100);
        h.Client.Send(new byte[30 * 1460]);
        h.Pump();
        Assert.Equal(10, h.Wire.Count(r => r.FromClient && r.Length > 0));
        h.RunUntilMs(121);
        Assert.Equal(30, h.Wire.Count(r => r.FromClient && r.Length > 0)); // each of 10 ACKs released two segments
    }
}

public class NewRenoTests
{
    private static AckEvent Ack(int acked, int flight, bool dup = false, uint ack = 0, uint highest = 100000) =>
        new(Instant.Zero, new SeqNum(ack), acked, 0, dup, flight, new SeqNum(highest), null);

    [Fact]
    public void A_reset_NewReno_has_every_field_of_a_new_one()
    {
        // A recycled engine resets its last connection's controller instead of allocating one: after a loss
        // episode (recovery, reduced ssthresh, counted duplicates) nothing of it may survive the reset.
        var used = new NewReno(1000, 4);
        used.OnAck(Ack(0, 10000, dup: true, ack: 1));
        used.OnAck(Ack(0, 10000, dup: true, ack: 1));
        used.OnAck(Ack(0, 10000, dup: true, ack: 1, highest: 10001));
        used.OnAck(Ack(3000, 10000, ack: 3001, highest: 10001));
        Assert.True(used.InRecovery);

        used.Reset(536, 10);
        var fresh = new NewReno(536, 10);
        foreach (var field in typeof(NewReno).GetFields(System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic))
        {
            Assert.True(Equals(field.GetValue(fresh), field.GetValue(used)), $"{field.Name}: {field.GetValue(fresh)} vs {field.GetValue(used)}");
        }
    }

    [Fact]
    public void Initial_window_follows_RFC_6928()
    {
        Assert.Equal(14600, new NewReno(1460).Cwnd);
        Assert.Equal(10 * 536, new NewReno(536).Cwnd);
        Assert.Equal(2 * 9000, new NewReno(9000).Cwnd);
    }

    [Fact]
    public void Slow_start_adds_at_most_one_MSS_per_ACK_and_congestion_avoidance_one_MSS_per_window()
    {
        var cc = new NewReno(1000, 2);
        cc.OnAck(Ack(5000, 2000));
        Assert.Equal(3000, cc.Cwnd);
        cc.OnRetransmissionTimeout(8000, new SeqNum(0));
        Assert.Equal(1000, cc.Cwnd);
        Assert.Equal(4000, cc.Ssthresh);
        for (int i = 0; i < 3; i++)
        {
            cc.OnAck(Ack(1000, 1000));
        }

        Assert.Equal(4000, cc.Cwnd);
        cc.OnAck(Ack(2000, 4000));
        Assert.Equal(4000, cc.Cwnd);
        cc.OnAck(Ack(2000, 4000));
        Assert.Equal(5000, cc.Cwnd);
    }

    [Fact]
    public void Three_duplicates_enter_fast_recovery_and_a_full_ACK_leaves_it()
    {
        var cc = new NewReno(1000);
        Assert.Equal(CongestionAction.None, cc.OnAck(Ack(0, 10000, dup: true, ack: 1)));
        Assert.Equal(CongestionAction.None, cc.OnAck(Ack(0, 10000, dup: true, ack: 1)));
        Assert.Equal(CongestionAction.FastRetransmit, cc.OnAck(Ack(0, 10000, dup: true, ack: 1, highest: 10001)));
        Assert.True(cc.InRecovery);
        Assert.Equal(5000, cc.Ssthresh);
        Assert.Equal(8000, cc.Cwnd);
        cc.OnAck(Ack(0, 10000, dup: true, ack: 1));
        Assert.Equal(9000, cc.Cwnd);

        Assert.Equal(CongestionAction.RetransmitFirstUnacked, cc.OnAck(Ack(3000, 10000, ack: 3001, highest: 10001)));
        Assert.True(cc.InRecovery);
        Assert.Equal(CongestionAction.None, cc.OnAck(Ack(7000, 7000, ack: 10001, highest: 10001)));
        Assert.False(cc.InRecovery);
        Assert.Equal(1000 + 1000, cc.Cwnd); // min(ssthresh, max(FlightSize, MSS) + MSS)
    }

    [Fact]
    public void Duplicates_for_data_sent_before_the_last_reduction_do_not_reduce_again()
    {
        var cc = new NewReno(1000);
        cc.OnRetransmissionTimeout(10000, new SeqNum(20000));
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(CongestionAction.None, cc.OnAck(Ack(0, 5000, dup: true, ack: 15000)));
        }

        Assert.False(cc.InRecovery);
    }
}

public class RtoEstimatorArithmeticTests
{
    [Fact]
    public void Tick_arithmetic_rounds_exactly_as_TimeSpan_operators_do()
    {
        Gen.Long[0, 1L << 45].Sample(ticks =>
        {
            var t = new TimeSpan(ticks);
            Assert.Equal((t / 2).Ticks, RtoEstimator.DivideRounded(ticks, 2));
            Assert.Equal((t / 4).Ticks, RtoEstimator.DivideRounded(ticks, 4));
            Assert.Equal((t / 8).Ticks, RtoEstimator.DivideRounded(ticks, 8));
            Assert.Equal((t * 3 / 4).Ticks, RtoEstimator.DivideRounded(ticks * 3, 4));
            Assert.Equal((t * 7 / 8).Ticks, RtoEstimator.DivideRounded(ticks * 7, 8));
        }, iter: 20_000);
    }

    [Fact]
    public void A_sequence_of_samples_gives_the_RFC_6298_estimate()
    {
        var rto = new RtoEstimator(TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(120));
        rto.OnSample(TimeSpan.FromMilliseconds(100));
        Assert.Equal((TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(50)), (rto.Srtt!.Value, rto.RttVar!.Value));
        Assert.Equal(TimeSpan.FromMilliseconds(300), rto.Rto); // SRTT + 4 RTTVAR
        rto.OnSample(TimeSpan.FromMilliseconds(180));
        // RTTVAR = 3/4 * 50 + 1/4 * |100 - 180| = 57.5 ms; SRTT = 7/8 * 100 + 1/8 * 180 = 110 ms.
        Assert.Equal((TimeSpan.FromMilliseconds(110), TimeSpan.FromMilliseconds(57.5)), (rto.Srtt!.Value, rto.RttVar!.Value));
        Assert.Equal(TimeSpan.FromMilliseconds(340), rto.Rto);
    }
}
