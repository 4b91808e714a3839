using TcpKit.Wire;
using TcpKit.Wire.Tcp;

namespace TcpKit.Tcp.Tests;

public class KeepaliveTests
{
    private static readonly TcpConfig WithKeepalive = TcpConfig.Linux with
    {
        Keepalive = new KeepaliveConfig { Enabled = true, Idle = TimeSpan.FromSeconds(10), Interval = TimeSpan.FromSeconds(1), Count = 3 },
    };

    [Fact]
    public void Keepalive_probe_carries_SND_NXT_minus_one_and_no_data_and_the_answer_keeps_the_connection_alive()
    {
        var h = Harness.Pair(WithKeepalive);
        h.RunUntil(Instant.FromSeconds(25));

        Assert.Equal(
            [
                "10020ms C>S [.] seq=0 ack=1 len=0 win=65535",
                "10030ms S>C [.] seq=1 ack=1 len=0 win=65535",
                "20040ms C>S [.] seq=0 ack=1 len=0 win=65535",
                "20050ms S>C [.] seq=1 ack=1 len=0 win=65535",
            ],
            h.Trace().Skip(3));
        Assert.Equal(TcpState.Established, h.Client.State);
        Assert.Equal(2, h.Client.Stats.KeepaliveProbes);
    }

    [Fact]
    public void Keepalive_declares_the_peer_dead_after_Count_unanswered_probes()
    {
        var h = Harness.Pair(WithKeepalive);
        h.RunUntilMs(100);
        h.DropEverything();
        h.RunUntil(Instant.FromSeconds(30));

        Assert.Equal([10_020L, 11_020, 12_020], h.Wire.Skip(3).Select(r => r.Time.Milliseconds));
        Assert.Equal(TcpError.TimedOut, h.Client.Error);
        var closed = h.ClientEvents.Single(e => e.Event.Kind == TcpEventKind.Closed);
        Assert.Equal(13_020, closed.Time.Milliseconds);
        Assert.Equal(TimerKind.Keepalive, closed.Event.Cause.Timer);
    }

    [Fact]
    public void Keepalive_is_off_by_default()
    {
        var h = Harness.Pair();
        h.RunUntil(Instant.FromSeconds(3 * 3600));
        Assert.Equal(3, h.Wire.Count);
        Assert.Equal(Instant.Never, h.Client.NextDeadline);
    }
}
