using TcpKit.Wire;
using TcpKit.Wire.Tcp;

namespace TcpKit.Tcp.Tests;

public class FlowControlTests
{
    [Fact]
    public void An_abort_after_zero_window_probes_sends_a_RST_the_peer_accepts()
    {
        var h = Harness.Pair(TcpConfig.Linux, TcpConfig.Linux with { ReceiveBufferSize = 4096 });
        h.AutoReadServer = false;
        h.RunUntilMs(100);
        h.Client.Send(new byte[10000]);
        h.RunUntilMs(3000);
        Assert.True(h.Client.Stats.ZeroWindowProbes >= 3);
        Assert.True(h.Client.SndNxt > h.Client.SndUna); // the probe byte is "sent" but not accepted

        h.Client.Abort();
        h.Pump();
        h.RunUntilMs(3100);

        // SND.NXT lies past the peer's window; the RST carries SND.UNA + SND.WND (here SND.UNA), the peer's RCV.NXT.
        var rst = Assert.Single(h.Wire, r => r.FromClient && r.Flags.HasFlag(TcpFlags.Rst));
        Assert.Equal(h.Server!.RcvNxt, rst.Header.Seq);
        Assert.Equal(TcpState.Closed, h.Server.State);
        Assert.Equal(TcpError.Reset, h.Server.Error);
    }

    [Fact]
    public void Zero_window_is_probed_with_backoff_and_the_transfer_resumes_when_the_reader_catches_up()
    {
        var h = Harness.Pair(TcpConfig.Linux, TcpConfig.Linux with { ReceiveBufferSize = 4096 });
        h.AutoReadServer = false;
        h.RunUntilMs(100);
        Assert.Equal(4096, h.Server!.RcvWnd);

        byte[] data = new byte[10000];
        new Random(1).NextBytes(data);
        Assert.Equal(10000, h.Client.Send(data));
        h.RunUntilMs(3000);

        // The client filled the 4096-byte window, then the server advertised zero.
        Assert.Equal(4096, h.Server.BytesAvailable);
        Assert.Equal(0, h.Server.RcvWnd);
        var probes = h.Wire.Where(r => r.FromClient && r.Length == 1).ToList();
        Assert.True(probes.Count >= 3);
        Assert.All(probes, p => Assert.Equal(h.Client.SndUna, p.Header.Seq));
        var zeroAck = h.Wire.First(r => !r.FromClient && r.Header.Has(TcpFlags.Ack) && r.Header.Window == 0);

        // Persist timer: first probe one RTO (200 ms) after the zero window arrived, then doubling.
        long first = probes[0].Time.Milliseconds - (zeroAck.Time.Milliseconds + 10);
        Assert.Equal(200, first);
        Assert.Equal(400, probes[1].Time.Milliseconds - probes[0].Time.Milliseconds);
        Assert.Equal(800, probes[2].Time.Milliseconds - probes[1].Time.Milliseconds);
        Assert.Equal(probes.Count, h.Client.Stats.ZeroWindowProbes);
        Assert.All(h.Wire.Where(r => !r.FromClient && r.Time > probes[0].Time), r => Assert.Equal(0, r.Header.Window));
        Assert.Equal(TcpState.Established, h.Client.State); // Probes answered with ACKs never time out.

        // The application reads: a window update goes out at once and the rest of the data follows.
        var received = new List<byte>();
        Harness.Drain(h.Server, received);
        int before = h.Wire.Count;
        h.Pump();
        SegmentRecord update = h.Wire[before];
        Assert.False(update.FromClient);
        Assert.Equal(4096, update.Header.Window);

        h.AutoReadServer = true;
        h.RunFor(TimeSpan.FromSeconds(2));
        received.AddRange(h.ServerReceived);
        Assert.Equal(data, received);
    }

    [Fact]
    public void Zero_window_probing_continues_far_beyond_DataRetries()
    {
        var config = TcpConfig.Linux with { DataRetries = 2 };
        var h = Harness.Pair(config, config with { ReceiveBufferSize = 1000 });
        h.AutoReadServer = false;
        h.RunUntilMs(100);
        h.Client.Send(new byte[5000]);
        h.RunUntil(Instant.FromSeconds(600));
        Assert.Equal(TcpState.Established, h.Client.State);
        Assert.True(h.Client.Stats.ZeroWindowProbes > 5);
        // Probe interval is capped at MaxRto (120 s in the Linux profile).
        var probes = h.Wire.Where(r => r.FromClient && r.Length == 1).Select(r => r.Time).ToList();
        Assert.Equal(TimeSpan.FromSeconds(120), probes[^1] - probes[^2]);
    }

    [Fact]
    public void Reading_less_than_min_of_half_the_buffer_and_one_MSS_sends_no_window_update()
    {
        var h = Harness.Pair(TcpConfig.Linux, TcpConfig.Linux with { ReceiveBufferSize = 8000 });
        h.AutoReadServer = false;
        h.RunUntilMs(100);
        h.Client.Send(new byte[8000]);
        h.RunUntilMs(200);
        Assert.Equal(0, h.Server!.RcvWnd);

        int before = h.Wire.Count;
        Assert.Equal(1000, h.Server.Receive(new byte[1000]));
        h.Pump();
        Assert.Equal(before, h.Wire.Count); // 1000 < min(4000, 1460): receiver SWS avoidance holds the window.

        Assert.Equal(500, h.Server.Receive(new byte[500]));
        h.Pump();
        SegmentRecord update = Assert.Single(h.Wire.Skip(before));
        Assert.Equal(1500, update.Header.Window);
    }

    [Fact]
    public void Sender_does_not_send_a_silly_small_segment_into_a_small_window_when_more_data_waits()
    {
        // The receiver offers 100 bytes after the handshake; Nagle and sender SWS avoidance (3.8.6.2.1)
        // wait for a usable window rather than dribbling bytes, until the override (persist) timer fires.
        var c = TcpConnection.Connect(TcpConfig.Linux, 40000, 80, new SeqNum(0), Instant.Zero);
        var buf = new byte[2000];
        Assert.True(c.TryPollSegment(Instant.Zero, buf, out _, out _));
        c.OnSegment(Harness.SegmentTo(c, TcpFlags.Syn | TcpFlags.Ack, new SeqNum(0), new SeqNum(1), window: 3000), default, Instant.FromMilliseconds(10));
        Assert.True(c.TryPollSegment(Instant.FromMilliseconds(10), buf, out _, out _)); // ACK

        // Window shrinks to 100 bytes on the next ACK (no data sent yet).
        c.OnSegment(Harness.SegmentTo(c, TcpFlags.Ack, new SeqNum(1), new SeqNum(1), window: 100), default, Instant.FromMilliseconds(20));
        c.Send(new byte[1000]);
        Assert.False(c.TryPollSegment(Instant.FromMilliseconds(20), buf, out _, out _));
        Assert.Equal(Instant.FromMilliseconds(20) + c.RtoEstimator.Rto, c.TimerDeadline(TimerKind.Persist));

        Instant fire = c.NextDeadline;
        c.OnTimer(fire);
        Assert.True(c.TryPollSegment(fire, buf, out TcpHeader h, out int len));
        Assert.Equal(100, len);
        Assert.Equal(new SeqNum(1), h.Seq);
    }
}

public class ZeroWindowCloseTests
{
    [Fact]
    public void FIN_waits_for_window_space_and_is_probed_like_data_instead_of_timing_out()
    {
        var config = TcpConfig.Linux with { DataRetries = 2 };
        var h = Harness.Pair(config, config with { ReceiveBufferSize = 2920 });
        h.AutoReadServer = false;
        h.RunUntilMs(100);
        h.Client.Send(new byte[2920]);
        h.Client.Close();
        h.RunUntil(Instant.FromSeconds(30));

        // The data filled the window exactly: the FIN goes out only as a persist probe, never timing out.
        Assert.Equal(TcpState.FinWait1, h.Client.State);
        var fins = h.Wire.Where(r => r.FromClient && r.Header.Has(TcpFlags.Fin)).ToList();
        Assert.True(fins.Count >= 4);
        Assert.Equal(400, (fins[1].Time - fins[0].Time).TotalMilliseconds);
        Assert.Equal(800, (fins[2].Time - fins[1].Time).TotalMilliseconds);
        Assert.False(h.Server!.RemoteClosed);

        h.AutoReadServer = true;
        h.Pump(); // the reader drains the buffer; the window update lets the FIN in
        h.RunFor(TimeSpan.FromSeconds(1));
        Assert.Equal(2920, h.ServerReceived.Count);
        Assert.True(h.Server.RemoteClosed);
        Assert.Equal(TcpState.FinWait2, h.Client.State);
        Assert.Equal(TcpError.None, h.Client.Error);
    }
}
