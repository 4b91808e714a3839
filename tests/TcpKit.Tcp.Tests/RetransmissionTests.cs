using TcpKit.Wire;
using TcpKit.Wire.Tcp;

namespace TcpKit.Tcp.Tests;

public class RetransmissionTests
{
    [Fact]
    public void Unanswered_SYN_is_retransmitted_with_doubling_RTO_until_SynRetries_then_times_out()
    {
        var client = TcpConnection.Connect(TcpConfig.Linux, 40000, 9999, new SeqNum(1), Instant.Zero);
        var h = new Harness(client, null);
        h.DropEverything();
        h.RunUntil(Instant.FromSeconds(200));

        Assert.Equal([0L, 1000, 3000, 7000, 15000, 31000, 63000], h.Wire.Select(r => r.Time.Milliseconds));
        Assert.All(h.Wire, r => Assert.Equal(TcpFlags.Syn, r.Flags));
        Assert.Equal(TcpState.Closed, client.State);
        Assert.Equal(TcpError.TimedOut, client.Error);
        var closed = h.ClientEvents.Single(e => e.Event.Kind == TcpEventKind.Closed);
        Assert.Equal(127_000, closed.Time.Milliseconds);
        Assert.Equal(TimerKind.Retransmission, closed.Event.Cause.Timer);
        Assert.Equal(6, client.Stats.Retransmissions);
    }

    [Fact]
    public void Lost_data_is_retransmitted_with_exponential_backoff_until_DataRetries_then_times_out()
    {
        var config = TcpConfig.Rfc with { DataRetries = 3 };
        var h = Harness.Pair(config, config);
        h.RunUntilMs(100);
        h.Impair = r => new Impairment(r.FromClient && r.Length > 0, TimeSpan.Zero, false);
        h.Client.Send(new byte[100]);
        h.RunUntil(Instant.FromSeconds(60));

        // RTT 20 ms gives RTO = SRTT + 4*RTTVAR = 60 ms, raised to the 1 s minimum (RFC 6298 (2.4)).
        Assert.Equal([100L, 1100, 3100, 7100], h.Wire.Where(r => r.Length > 0).Select(r => r.Time.Milliseconds));
        Assert.Equal(TcpError.TimedOut, h.Client.Error);
        Assert.Equal(15_100, h.ClientEvents.Single(e => e.Event.Kind == TcpEventKind.Closed).Time.Milliseconds);
        Assert.Equal(3, h.Client.Stats.Retransmissions);
        Assert.Equal(4, h.Client.Stats.RetransmissionTimeouts);
    }

    [Fact]
    public void Backed_off_RTO_is_capped_at_MaxRto()
    {
        var config = TcpConfig.Rfc with { DataRetries = 6, MaxRto = TimeSpan.FromSeconds(5) };
        var h = Harness.Pair(config, config);
        h.RunUntilMs(100);
        h.Impair = r => new Impairment(r.FromClient && r.Length > 0, TimeSpan.Zero, false);
        h.Client.Send(new byte[10]);
        h.RunUntil(Instant.FromSeconds(60));
        Assert.Equal([100L, 1100, 3100, 7100, 12100, 17100, 22100], h.Wire.Where(r => r.Length > 0).Select(r => r.Time.Milliseconds));
    }

    [Fact]
    public void Retransmission_recovers_a_lost_segment_and_Karn_keeps_its_ACK_out_of_the_RTT_estimate()
    {
        var h = Harness.Pair();
        h.RunUntilMs(100);
        TimeSpan? srtt = h.Client.Stats.Srtt;
        Assert.Equal(TimeSpan.FromMilliseconds(20), srtt);
        bool dropped = false;
        h.Impair = r =>
        {
            bool drop = r.FromClient && r.Length > 0 && !dropped;
            dropped |= drop;
            return new Impairment(drop, TimeSpan.Zero, false);
        };
        h.Client.Send("lost once"u8);
        h.RunUntilMs(1000);

        Assert.Equal("lost once"u8.ToArray(), h.ServerReceived);
        Assert.Equal(1, h.Client.Stats.Retransmissions);
        // Linux profile: RTO = max(200 ms, 20 + 4*10) = 200 ms, so the retransmission leaves at 300 ms.
        Assert.Equal([100L, 300], h.Wire.Where(r => r.FromClient && r.Length > 0).Select(r => r.Time.Milliseconds));
        Assert.Equal(srtt, h.Client.Stats.Srtt);
    }

    [Fact]
    public void UserTimeout_ends_the_connection_when_data_stays_unacknowledged_that_long()
    {
        var config = TcpConfig.Linux with { UserTimeout = TimeSpan.FromSeconds(5) };
        var h = Harness.Pair(config);
        h.RunUntilMs(100);
        h.DropEverything();
        h.Client.Send(new byte[10]);
        h.RunUntil(Instant.FromSeconds(30));
        Assert.Equal(TcpError.TimedOut, h.Client.Error);
        var closed = h.ClientEvents.Single(e => e.Event.Kind == TcpEventKind.Closed);
        Assert.Equal(5_100, closed.Time.Milliseconds);
        Assert.Equal(TimerKind.UserTimeout, closed.Event.Cause.Timer);
    }

    [Fact]
    public void Lost_FIN_is_retransmitted()
    {
        var h = Harness.Pair();
        h.RunUntilMs(100);
        bool dropped = false;
        h.Impair = r =>
        {
            bool drop = r.FromClient && r.Header.Has(TcpFlags.Fin) && !dropped;
            dropped |= drop;
            return new Impairment(drop, TimeSpan.Zero, false);
        };
        h.Client.Close();
        h.RunUntilMs(1000);
        Assert.Equal([100L, 300], h.Wire.Where(r => r.FromClient && r.Header.Has(TcpFlags.Fin)).Select(r => r.Time.Milliseconds));
        Assert.Equal(TcpState.FinWait2, h.Client.State);
        Assert.Equal(TcpState.CloseWait, h.Server!.State);
    }
}

public class RtoEstimatorTests
{
    [Fact]
    public void First_sample_sets_SRTT_to_R_and_RTTVAR_to_half_of_it()
    {
        var e = new RtoEstimator(TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(1), TimeSpan.FromSeconds(60));
        Assert.Equal(TimeSpan.FromSeconds(1), e.Rto);
        e.OnSample(TimeSpan.FromMilliseconds(100));
        Assert.Equal(TimeSpan.FromMilliseconds(100), e.Srtt);
        Assert.Equal(TimeSpan.FromMilliseconds(50), e.RttVar);
        Assert.Equal(TimeSpan.FromMilliseconds(300), e.Rto);
    }

    [Fact]
    public void Later_samples_are_smoothed_with_alpha_one_eighth_and_beta_one_quarter()
    {
        var e = new RtoEstimator(TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(1), TimeSpan.FromSeconds(60));
        e.OnSample(TimeSpan.FromMilliseconds(100));
        e.OnSample(TimeSpan.FromMilliseconds(200));
        Assert.Equal(TimeSpan.FromMilliseconds(62.5), e.RttVar); // 3/4*50 + 1/4*100
        Assert.Equal(TimeSpan.FromMilliseconds(112.5), e.Srtt); // 7/8*100 + 1/8*200
        Assert.Equal(TimeSpan.FromMilliseconds(362.5), e.Rto);
    }

    [Fact]
    public void RTO_is_kept_within_min_and_max_and_doubles_on_backoff()
    {
        var e = new RtoEstimator(TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(3));
        e.OnSample(TimeSpan.FromMilliseconds(1));
        Assert.Equal(TimeSpan.FromMilliseconds(200), e.Rto);
        e.Backoff();
        Assert.Equal(TimeSpan.FromMilliseconds(400), e.Rto);
        e.Backoff();
        e.Backoff();
        e.Backoff();
        Assert.Equal(TimeSpan.FromSeconds(3), e.Rto);
        e.ResetBackoff();
        Assert.Equal(TimeSpan.FromMilliseconds(200), e.Rto);
    }
}

public class ConnectionFailureTests
{
    [Fact]
    public void RFC_profile_keeps_retrying_a_SYN_for_at_least_three_minutes()
    {
        var client = TcpConnection.Connect(TcpConfig.Rfc, 40000, 9999, new SeqNum(1), Instant.Zero);
        var h = new Harness(client, null);
        h.DropEverything();
        h.RunUntil(Instant.FromSeconds(400));
        Assert.Equal([0L, 1, 3, 7, 15, 31, 63, 123], h.Wire.Select(r => r.Time.Milliseconds / 1000));
        Assert.Equal(183, h.ClientEvents.Single(e => e.Event.Kind == TcpEventKind.Closed).Time.Milliseconds / 1000);
    }

    [Fact]
    public void User_is_told_when_retransmissions_reach_R1()
    {
        var h = Harness.Pair();
        h.RunUntilMs(100);
        h.DropEverything();
        h.Client.Send(new byte[10]);
        h.RunUntil(Instant.FromSeconds(10));
        var warning = Assert.Single(h.ClientEvents, e => e.Event.Kind == TcpEventKind.ExcessiveRetransmissions);
        Assert.Equal(1500, warning.Time.Milliseconds); // third RTO: 100 + 200 + 400 + 800 ms
        Assert.Equal(TcpState.Established, h.Client.State);
    }
}
