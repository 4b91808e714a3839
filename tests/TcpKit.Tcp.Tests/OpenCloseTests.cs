using TcpKit.Wire;
using TcpKit.Wire.Tcp;

namespace TcpKit.Tcp.Tests;

public class OpenCloseTests
{
    [Fact]
    public void Simultaneous_open_moves_both_ends_through_SYN_RECEIVED_to_ESTABLISHED()
    {
        var a = TcpConnection.Connect(TcpConfig.Linux, 40000, 9999, new SeqNum(1000), Instant.Zero);
        var b = TcpConnection.Connect(TcpConfig.Linux, 9999, 40000, new SeqNum(5000), Instant.Zero);
        var h = new Harness(a, b);
        h.RunUntilMs(100);

        Assert.Equal(
            [
                "0ms C>S [S] seq=0 len=0 win=65535 mss=1460",
                "0ms S>C [S] seq=0 len=0 win=65535 mss=1460",
                "10ms S>C [S.] seq=0 ack=1 len=0 win=65535 mss=1460",
                "10ms C>S [S.] seq=0 ack=1 len=0 win=65535 mss=1460",
            ],
            h.Trace());
        Assert.Equal([TcpState.SynSent, TcpState.SynReceived, TcpState.Established], h.StatesOf(client: true));
        Assert.Equal([TcpState.SynSent, TcpState.SynReceived, TcpState.Established], h.StatesOf(client: false));
        Assert.Equal(0, a.Stats.Retransmissions);

        a.Send("ping"u8);
        h.RunUntilMs(200);
        Assert.Equal("ping"u8.ToArray(), h.ServerReceived);
    }

    [Fact]
    public void Simultaneous_close_passes_through_CLOSING_to_TIME_WAIT_on_both_sides()
    {
        var h = Harness.Pair();
        h.RunUntilMs(100);
        h.Client.Close();
        h.Server!.Close();
        h.RunUntilMs(200);

        Assert.Equal(
            [
                "100ms C>S [F.] seq=1 ack=1 len=0 win=65535",
                "100ms S>C [F.] seq=1 ack=1 len=0 win=65535",
                "110ms S>C [.] seq=2 ack=2 len=0 win=65534",
                "110ms C>S [.] seq=2 ack=2 len=0 win=65534",
            ],
            h.Trace().Skip(3));
        Assert.Equal([TcpState.SynSent, TcpState.Established, TcpState.FinWait1, TcpState.Closing, TcpState.TimeWait], h.StatesOf(client: true));
        Assert.Equal(TcpState.TimeWait, h.Server.State);
        Assert.Equal(Instant.FromMilliseconds(120) + TimeSpan.FromSeconds(60), h.Client.TimerDeadline(TimerKind.TimeWait));
    }

    [Fact]
    public void Retransmitted_FIN_in_TIME_WAIT_is_acked_and_restarts_the_timer()
    {
        var h = Harness.Pair();
        h.RunUntilMs(100);
        h.Client.Close();
        h.RunUntilMs(200);
        Assert.Equal(TcpState.FinWait2, h.Client.State);
        Assert.Equal(TcpState.CloseWait, h.Server!.State);

        // The client's last ACK (for the server's FIN) is lost, so LAST-ACK retransmits its FIN after one RTO.
        h.Impair = r => new Impairment(r.FromClient && r.Time == Instant.FromMilliseconds(210), TimeSpan.Zero, false);
        h.Server.Close();
        h.RunUntilMs(1000);

        Assert.Equal(
            [
                "200ms S>C [F.] seq=1 ack=2 len=0 win=65534",
                "210ms C>S [.] seq=2 ack=2 len=0 win=65534 (dropped)",
                "400ms S>C [F.] seq=1 ack=2 len=0 win=65534",
                "410ms C>S [.] seq=2 ack=2 len=0 win=65534",
            ],
            h.Trace().Skip(5));
        Assert.Equal(1, h.Server.Stats.Retransmissions);
        Assert.Equal(TcpState.Closed, h.Server.State);
        Assert.Equal(TcpError.None, h.Server.Error);
        Assert.Equal(TcpState.TimeWait, h.Client.State);
        Assert.Equal(Instant.FromMilliseconds(410) + TimeSpan.FromSeconds(60), h.Client.TimerDeadline(TimerKind.TimeWait));

        h.RunUntil(Instant.FromMilliseconds(409) + TimeSpan.FromSeconds(60));
        Assert.Equal(TcpState.TimeWait, h.Client.State);
        h.RunFor(TimeSpan.FromMilliseconds(2));
        Assert.Equal(TcpState.Closed, h.Client.State);
    }

    [Fact]
    public void New_SYN_beyond_RCV_NXT_may_reopen_a_connection_in_TIME_WAIT_while_an_old_one_is_only_acknowledged()
    {
        var h = ResetTests.DriveClientTo(TcpState.TimeWait);
        var newSyn = Harness.SegmentTo(h.Client, TcpFlags.Syn, h.Client.RcvNxt + 100000);
        var oldSyn = Harness.SegmentTo(h.Client, TcpFlags.Syn, h.Client.RcvNxt - 5);
        Assert.True(h.Client.AcceptsNewSynInTimeWait(newSyn));
        Assert.False(h.Client.AcceptsNewSynInTimeWait(oldSyn));
        Assert.Equal("TIME-WAIT 40000->9999 SND.UNA=2 SND.NXT=2 SND.WND=65534 RCV.NXT=2 RCV.WND=65534 cwnd=14600 rto=200ms", h.Client.ToString());

        int before = h.Wire.Count;
        h.Inject(toServer: false, oldSyn);
        SegmentRecord ack = Assert.Single(h.Wire.Skip(before));
        Assert.Equal(TcpFlags.Ack, ack.Flags);
        Assert.Equal(TcpState.TimeWait, h.Client.State);
    }

    [Fact]
    public void Half_close_lets_data_flow_back_to_the_closing_side()
    {
        var h = Harness.Pair();
        h.RunUntilMs(100);
        h.Client.Send("GET /"u8);
        h.Client.Shutdown();
        h.RunUntilMs(200);
        Assert.Equal(TcpState.FinWait2, h.Client.State);
        Assert.Equal(TcpState.CloseWait, h.Server!.State);
        Assert.True(h.Server.RemoteClosed);
        Assert.Equal("GET /"u8.ToArray(), h.ServerReceived);

        byte[] response = new byte[5000];
        new Random(7).NextBytes(response);
        Assert.Equal(5000, h.Server.Send(response));
        h.Server.Close();
        h.RunUntilMs(400);

        Assert.Equal(response, h.ClientReceived);
        Assert.True(h.Client.RemoteClosed);
        Assert.Equal(TcpState.TimeWait, h.Client.State);
        Assert.Equal(TcpState.Closed, h.Server.State);
        Assert.Equal([TcpState.Listen, TcpState.SynReceived, TcpState.Established, TcpState.CloseWait, TcpState.LastAck, TcpState.Closed], h.StatesOf(client: false));
    }

    [Fact]
    public void Send_after_close_is_refused_with_connection_closing()
    {
        var h = Harness.Pair();
        h.RunUntilMs(100);
        h.Client.Close();
        Assert.False(h.Client.CanSend);
        var ex = Assert.Throws<InvalidOperationException>(() => h.Client.Send("x"u8));
        Assert.Contains("closing", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Data_queued_before_the_handshake_completes_is_sent_with_the_first_ACK()
    {
        var h = Harness.Pair();
        h.Client.Send("early"u8);
        h.Client.Shutdown();
        h.RunUntilMs(100);

        Assert.Equal(
            [
                "0ms C>S [S] seq=0 len=0 win=65535 mss=1460",
                "10ms S>C [S.] seq=0 ack=1 len=0 win=65535 mss=1460",
                "20ms C>S [FP.] seq=1 ack=1 len=5 win=65535",
                "30ms S>C [.] seq=1 ack=7 len=0 win=65529",
            ],
            h.Trace());
        Assert.Equal("early"u8.ToArray(), h.ServerReceived);
        Assert.Equal(TcpState.FinWait2, h.Client.State);
    }

    [Fact]
    public void Close_in_SYN_SENT_deletes_the_connection_without_a_segment()
    {
        var c = TcpConnection.Connect(TcpConfig.Rfc, 1, 2, new SeqNum(0), Instant.Zero);
        c.Close();
        Assert.Equal(TcpState.Closed, c.State);
        Assert.False(c.TryPollSegment(Instant.Zero, new byte[100], out _, out _));
        Assert.Equal(Instant.Never, c.NextDeadline);
    }

    [Fact]
    public void Peer_without_MSS_option_is_sent_536_byte_segments()
    {
        var c = TcpConnection.Connect(TcpConfig.Linux with { NoDelay = true }, 40000, 80, new SeqNum(100), Instant.Zero);
        var buf = new byte[2000];
        Assert.True(c.TryPollSegment(Instant.Zero, buf, out TcpHeader syn, out _));
        Assert.Equal((ushort)1460, syn.Options.Mss);
        c.OnSegment(Harness.SegmentTo(c, TcpFlags.Syn | TcpFlags.Ack, new SeqNum(9000), new SeqNum(101)), default, Instant.FromMilliseconds(10));
        Assert.Equal(536, c.EffectiveSendMss);
        Assert.True(c.TryPollSegment(Instant.FromMilliseconds(10), buf, out _, out int ackLen));
        Assert.Equal(0, ackLen);

        c.Send(new byte[1500]);
        var lengths = new List<int>();
        while (c.TryPollSegment(Instant.FromMilliseconds(10), buf, out _, out int len))
        {
            lengths.Add(len);
        }

        Assert.Equal([536, 536, 428], lengths);
    }

    [Fact]
    public void IPv6_host_can_assume_1220_bytes_when_the_peer_sends_no_MSS()
    {
        var c = TcpConnection.Connect(TcpConfig.Linux with { DefaultPeerMss = 1220 }, 40000, 80, new SeqNum(100), Instant.Zero);
        Assert.True(c.TryPollSegment(Instant.Zero, new byte[10], out _, out _));
        c.OnSegment(Harness.SegmentTo(c, TcpFlags.Syn | TcpFlags.Ack, new SeqNum(9000), new SeqNum(101)), default, Instant.FromMilliseconds(10));
        Assert.Equal(1220, c.EffectiveSendMss);
    }

    [Fact]
    public void Peer_MSS_option_bounds_the_segment_size()
    {
        var h = Harness.Pair(serverConfig: TcpConfig.Linux with { Mss = 1000 });
        h.RunUntilMs(100);
        Assert.Equal(1000, h.Client.EffectiveSendMss);
        Assert.Equal(1000, h.Server!.EffectiveSendMss);
        h.Client.Send(new byte[2500]);
        h.RunUntilMs(300);
        Assert.Equal([1000, 1000, 500], h.Wire.Where(r => r.FromClient && r.Length > 0).Select(r => r.Length));
    }

    [Fact]
    public void Connecting_to_a_port_without_listener_is_refused_by_the_RST_of_section_3_10_7_1()
    {
        var client = TcpConnection.Connect(TcpConfig.Linux, 40000, 9999, new SeqNum(1000), Instant.Zero);
        var h = new Harness(client, null);
        h.RunUntilMs(100);

        Assert.Equal(TcpState.Closed, client.State);
        Assert.Equal(TcpError.Refused, client.Error);
        Assert.Equal(TcpError.Refused, h.ClosedEvent(client: true)!.Value.Error);
        SegmentRecord rst = h.Wire[1];
        Assert.Equal(TcpFlags.Rst | TcpFlags.Ack, rst.Flags);
        Assert.Equal(new SeqNum(0), rst.Header.Seq);
        Assert.Equal(new SeqNum(1001), rst.Header.Ack);
    }

    [Fact]
    public void Reset_for_a_segment_with_ACK_takes_its_sequence_number_from_SEG_ACK()
    {
        var seg = new TcpHeader { SourcePort = 1, DestinationPort = 2, Seq = new SeqNum(10), Ack = new SeqNum(777), Flags = TcpFlags.Ack | TcpFlags.Psh };
        Assert.True(TcpConnection.MakeResetFor(seg, 5, out TcpHeader rst));
        Assert.Equal(TcpFlags.Rst, rst.Flags);
        Assert.Equal(new SeqNum(777), rst.Seq);
        Assert.Equal((ushort)2, rst.SourcePort);
        Assert.Equal((ushort)1, rst.DestinationPort);

        var fin = new TcpHeader { SourcePort = 1, DestinationPort = 2, Seq = new SeqNum(uint.MaxValue), Flags = TcpFlags.Fin };
        Assert.True(TcpConnection.MakeResetFor(fin, 3, out rst));
        Assert.Equal(TcpFlags.Rst | TcpFlags.Ack, rst.Flags);
        Assert.Equal(new SeqNum(3), rst.Ack); // SEG.SEQ + 3 bytes + FIN, wrapping around 2^32

        Assert.False(TcpConnection.MakeResetFor(seg with { Flags = TcpFlags.Rst }, 0, out _));
    }

    [Fact]
    public void LISTEN_answers_an_ACK_with_a_reset_and_ignores_a_RST()
    {
        var l = TcpConnection.Listen(TcpConfig.Rfc, 80, new SeqNum(0));
        var buf = new byte[100];
        l.OnSegment(new TcpHeader { SourcePort = 5555, DestinationPort = 80, Seq = new SeqNum(1), Flags = TcpFlags.Rst }, default, Instant.Zero);
        Assert.False(l.TryPollSegment(Instant.Zero, buf, out _, out _));
        l.OnSegment(new TcpHeader { SourcePort = 5555, DestinationPort = 80, Seq = new SeqNum(1), Ack = new SeqNum(4242), Flags = TcpFlags.Ack }, default, Instant.Zero);
        Assert.True(l.TryPollSegment(Instant.Zero, buf, out TcpHeader rst, out _));
        Assert.Equal(TcpFlags.Rst, rst.Flags);
        Assert.Equal(new SeqNum(4242), rst.Seq);
        Assert.Equal((ushort)5555, rst.DestinationPort);
        Assert.Equal(TcpState.Listen, l.State);
    }

    [Fact]
    public void Retransmitted_SYN_in_SYN_RECEIVED_gets_the_SYN_ACK_again()
    {
        var h = Harness.Pair();
        h.Impair = r => new Impairment(!r.FromClient && r.Time == Instant.FromMilliseconds(10), TimeSpan.Zero, false);
        h.RunUntilMs(2000);

        Assert.Equal(
            [
                "0ms C>S [S] seq=0 len=0 win=65535 mss=1460",
                "10ms S>C [S.] seq=0 ack=1 len=0 win=65535 mss=1460 (dropped)",
                "1000ms C>S [S] seq=0 len=0 win=65535 mss=1460",
                "1010ms S>C [S.] seq=0 ack=1 len=0 win=65535 mss=1460",
                "1020ms C>S [.] seq=1 ack=1 len=0 win=65535",
            ],
            h.Trace());
        Assert.Equal(TcpState.Established, h.Server!.State);
        Assert.Equal(TcpState.Established, h.Client.State);

        // RFC 6298 (5.7): the SYN timed out, so the data phase starts with an RTO of 3 s.
        Assert.Equal(TimeSpan.FromSeconds(3), h.Client.RtoEstimator.Rto);
    }
}

public class HandshakeEdgeTests
{
    [Fact]
    public void Text_on_a_SYN_ACK_is_accepted_once_ESTABLISHED()
    {
        var c = TcpConnection.Connect(TcpConfig.Linux, 40000, 80, new SeqNum(100), Instant.Zero);
        var buf = new byte[1500];
        Assert.True(c.TryPollSegment(Instant.Zero, buf, out _, out _));
        c.OnSegment(Harness.SegmentTo(c, TcpFlags.Syn | TcpFlags.Ack | TcpFlags.Fin, new SeqNum(7000), new SeqNum(101)), "hello"u8, Instant.FromMilliseconds(10));
        Assert.Equal(TcpState.CloseWait, c.State);
        Assert.Equal(5, c.BytesAvailable);
        Assert.True(c.RemoteClosed);
        Assert.True(c.TryPollSegment(Instant.FromMilliseconds(10), buf, out TcpHeader ack, out _));
        Assert.Equal(new SeqNum(7000 + 1 + 5 + 1), ack.Ack);
    }

    [Fact]
    public void Text_on_a_SYN_in_LISTEN_is_not_acknowledged_so_the_peer_sends_it_again()
    {
        var l = TcpConnection.Listen(TcpConfig.Linux, 80, new SeqNum(0));
        l.OnSegment(new TcpHeader { SourcePort = 9, DestinationPort = 80, Seq = new SeqNum(50), Flags = TcpFlags.Syn, Window = 100 }, "early"u8, Instant.Zero);
        Assert.True(l.TryPollSegment(Instant.Zero, new byte[100], out TcpHeader synAck, out _));
        Assert.Equal(new SeqNum(51), synAck.Ack);
        Assert.Equal(1, l.Stats.Drops(DropReason.DataOnSyn));
    }

    [Fact]
    public void Unacceptable_ACK_in_SYN_RECEIVED_is_answered_with_a_reset()
    {
        var l = TcpConnection.Listen(TcpConfig.Linux, 80, new SeqNum(0));
        l.OnSegment(new TcpHeader { SourcePort = 9, DestinationPort = 80, Seq = new SeqNum(50), Flags = TcpFlags.Syn, Window = 100 }, default, Instant.Zero);
        var buf = new byte[100];
        Assert.True(l.TryPollSegment(Instant.Zero, buf, out _, out _));
        l.OnSegment(new TcpHeader { SourcePort = 9, DestinationPort = 80, Seq = new SeqNum(51), Ack = new SeqNum(999), Flags = TcpFlags.Ack, Window = 100 }, default, Instant.Zero);
        Assert.True(l.TryPollSegment(Instant.Zero, buf, out TcpHeader rst, out _));
        Assert.Equal(TcpFlags.Rst, rst.Flags);
        Assert.Equal(new SeqNum(999), rst.Seq);
        Assert.Equal(TcpState.SynReceived, l.State);
    }

    [Fact]
    public void Unanswered_SYN_ACK_times_out_the_embryonic_connection()
    {
        var l = TcpConnection.Listen(TcpConfig.Linux with { SynRetries = 2 }, 80, new SeqNum(0));
        l.OnSegment(new TcpHeader { SourcePort = 9, DestinationPort = 80, Seq = new SeqNum(50), Flags = TcpFlags.Syn, Window = 100 }, default, Instant.Zero);
        var buf = new byte[100];
        var sent = new List<long>();
        var now = Instant.Zero;
        while (l.State != TcpState.Closed)
        {
            while (l.TryPollSegment(now, buf, out _, out _))
            {
                sent.Add(now.Milliseconds);
            }

            now = l.NextDeadline;
            l.OnTimer(now);
        }

        Assert.Equal([0L, 1000, 3000], sent);
        Assert.Equal(7000, now.Milliseconds);
        Assert.Equal(TcpError.TimedOut, l.Error);
    }
}
