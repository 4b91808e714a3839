using TcpKit.Wire;
using TcpKit.Wire.Tcp;

namespace TcpKit.Tcp.Tests;

/// <summary>Options changed on a live connection (what setsockopt does on a connected socket).</summary>
public class SocketOptionTests
{
    [Fact]
    public void Turning_NoDelay_on_sends_the_data_Nagle_was_holding_at_once()
    {
        var h = Harness.Pair();
        h.RunUntilMs(100);
        h.Client.Send("a"u8);
        h.Pump();
        h.Client.Send("b"u8); // held by Nagle: "a" is not acknowledged yet
        h.RunUntilMs(120);
        Assert.Equal(4, h.Wire.Count);

        h.Client.NoDelay = true;
        h.Pump();
        h.RunUntilMs(300);

        Assert.Equal(
            [
                "100ms C>S [P.] seq=1 ack=1 len=1 win=65535",
                "120ms C>S [P.] seq=2 ack=1 len=1 win=65535",
                "150ms S>C [.] seq=1 ack=3 len=0 win=65533",
            ],
            h.Trace().Skip(3));
    }

    [Fact]
    public void A_larger_receive_buffer_opens_a_closed_window_with_a_window_update()
    {
        var h = Harness.Pair(serverConfig: TcpConfig.Linux with { ReceiveBufferSize = 1000 });
        h.AutoReadServer = false;
        h.RunUntilMs(100);
        h.Client.Send(new byte[3000]);
        h.RunUntilMs(200);
        Assert.Equal(0, h.Server!.RcvWnd);

        h.Server.SetReceiveBufferSize(8000);
        h.Pump();
        h.RunUntilMs(300);

        Assert.Equal(
            [
                "100ms C>S [.] seq=1 ack=1 len=1000 win=65535",
                "150ms S>C [.] seq=1 ack=1001 len=0 win=0",
                "200ms S>C [.] seq=1 ack=1001 len=0 win=7000", // the window update, at once
                "210ms C>S [.] seq=1001 ack=1 len=1460 win=65535",
            ],
            h.Trace().Skip(3).Take(4));
        Assert.Equal(3000, h.Server.BytesAvailable);
        Assert.Equal(8000, h.Server.ReceiveBufferSize);
    }

    [Fact]
    public void A_smaller_receive_buffer_never_moves_the_right_edge_of_the_offered_window_left()
    {
        var h = Harness.Pair(serverConfig: TcpConfig.Linux with { ReceiveBufferSize = 8000 });
        h.AutoReadServer = false;
        h.RunUntilMs(100);
        SeqNum rightEdge = h.Server!.RcvNxt + h.Server.RcvWnd;
        h.Server.SetReceiveBufferSize(1000);
        h.Client.Send(new byte[8000]);
        h.RunUntilMs(500);

        // Everything the window offered is taken; every ACK keeps RCV.NXT + RCV.WND where it was (RFC 9293 3.8.6).
        Assert.Equal(8000, h.Server.BytesAvailable);
        Assert.Equal(0, h.Server.Stats.TotalDrops);
        var acks = h.Delivered(fromClient: false).Skip(1).ToList();
        Assert.NotEmpty(acks);
        Assert.All(acks, a => Assert.Equal(rightEdge, a.Header.Ack + a.Header.Window));

        // Once the application has read the bytes, the buffer is the smaller size and so is the window.
        Harness.Drain(h.Server, h.ServerReceived);
        Assert.Equal(1000, h.Server.ReceiveBufferSize);
        h.Pump();
        h.RunUntilMs(700);
        Assert.Equal(1000, h.Server.RcvWnd);
        Assert.Equal(rightEdge + 1000, h.Delivered(fromClient: false)[^1].Header.Ack + h.Delivered(fromClient: false)[^1].Header.Window);
    }

    [Fact]
    public void A_larger_send_buffer_wakes_a_blocked_writer_and_takes_more_data()
    {
        var h = Harness.Pair(TcpConfig.Linux with { SendBufferSize = 1000 });
        h.RunUntilMs(100);
        Assert.Equal(1000, h.Client.Send(new byte[3000]));
        h.Client.SetSendBufferSize(4000);
        h.Pump();

        Assert.Contains(h.ClientEvents, e => e.Event.Kind == TcpEventKind.Writable && e.Time == Instant.FromMilliseconds(100));
        Assert.Equal(2000, h.Client.Send(new byte[2000]));
        h.RunUntilMs(300);
        Assert.Equal(3000, h.ServerReceived.Count);
    }

    [Fact]
    public void A_smaller_send_buffer_keeps_the_queued_data_and_takes_no_more_until_it_fits()
    {
        var h = Harness.Pair(TcpConfig.Linux with { SendBufferSize = 4000 });
        h.RunUntilMs(100);
        h.DropEverything(); // keep the data queued
        Assert.Equal(3000, h.Client.Send(new byte[3000]));
        h.Client.SetSendBufferSize(1000);
        Assert.Equal(0, h.Client.Send(new byte[10]));
        Assert.Equal(3000, h.Client.SendBufferCount);

        h.Impair = null;
        h.RunUntil(Instant.FromSeconds(5)); // retransmitted and acknowledged
        Assert.Equal(3000, h.ServerReceived.Count);
        Assert.Equal(1000, h.Client.SendBufferFree);
    }

    [Fact]
    public void Keepalive_enabled_on_an_established_connection_probes_after_the_idle_time()
    {
        var h = Harness.Pair();
        h.RunUntilMs(100);
        h.Client.SetKeepalive(new KeepaliveConfig { Enabled = true, Idle = TimeSpan.FromSeconds(10), Interval = TimeSpan.FromSeconds(1), Count = 3 }, h.Now);
        h.Pump();
        h.RunUntil(Instant.FromSeconds(15));

        Assert.Equal(
            [
                "10100ms C>S [.] seq=0 ack=1 len=0 win=65535",
                "10110ms S>C [.] seq=1 ack=1 len=0 win=65535",
            ],
            h.Trace().Skip(3));
    }

    [Fact]
    public void Keepalive_disabled_on_a_live_connection_sends_no_more_probes()
    {
        var keepalive = new KeepaliveConfig { Enabled = true, Idle = TimeSpan.FromSeconds(10), Interval = TimeSpan.FromSeconds(1), Count = 3 };
        var h = Harness.Pair(TcpConfig.Linux with { Keepalive = keepalive });
        h.RunUntil(Instant.FromSeconds(15));
        Assert.Equal(2, h.Trace().Skip(3).Count()); // one probe and its answer

        h.Client.SetKeepalive(keepalive with { Enabled = false }, h.Now);
        h.RunUntil(Instant.FromSeconds(100));
        Assert.Equal(2, h.Trace().Skip(3).Count());
        Assert.Equal(Instant.Never, h.Client.TimerDeadline(TimerKind.Keepalive));
    }
}
