using TcpKit.Wire;
using TcpKit.Wire.Tcp;

namespace TcpKit.Tcp.Tests;

public class ResetTests
{
    /// <summary>Brings the client of a fresh pair into <paramref name="state"/> (the link then drops everything).</summary>
    internal static Harness DriveClientTo(TcpState state)
    {
        var h = Harness.Pair();
        h.RunUntilMs(100);
        switch (state)
        {
            case TcpState.Established:
                break;
            case TcpState.FinWait1:
                h.DropEverything();
                h.Client.Close();
                h.Pump();
                break;
            case TcpState.FinWait2:
                h.Client.Close();
                h.RunUntilMs(200);
                break;
            case TcpState.CloseWait:
                h.Server!.Close();
                h.RunUntilMs(200);
                break;
            case TcpState.LastAck:
                h.Server!.Close();
                h.RunUntilMs(200);
                h.DropEverything();
                h.Client.Close();
                h.Pump();
                break;
            case TcpState.Closing:
                h.Impair = r => new Impairment(r.Time >= Instant.FromMilliseconds(110), TimeSpan.Zero, false);
                h.Client.Close();
                h.Server!.Close();
                h.RunUntilMs(150);
                break;
            case TcpState.TimeWait:
                h.Client.Close();
                h.RunUntilMs(200);
                h.Server!.Close();
                h.RunUntilMs(300);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(state));
        }

        Assert.Equal(state, h.Client.State);
        h.DropEverything();
        return h;
    }

    public static TheoryData<TcpState> SynchronizedStates =>
    [
        TcpState.Established, TcpState.FinWait1, TcpState.FinWait2, TcpState.CloseWait,
        TcpState.Closing, TcpState.LastAck, TcpState.TimeWait,
    ];

    [Theory]
    [MemberData(nameof(SynchronizedStates))]
    public void RST_whose_sequence_number_is_exactly_RCV_NXT_closes_a_synchronized_connection(TcpState state)
    {
        var h = DriveClientTo(state);
        long sentBefore = h.Client.Stats.SegmentsOut;
        h.Inject(toServer: false, Harness.SegmentTo(h.Client, TcpFlags.Rst, h.Client.RcvNxt));

        // In TIME-WAIT the stream had already closed in order; the RST only ends the wait early.
        TcpError expected = state == TcpState.TimeWait ? TcpError.None : TcpError.Reset;
        Assert.Equal(TcpState.Closed, h.Client.State);
        Assert.Equal(expected, h.Client.Error);
        Assert.Equal(expected, h.ClosedEvent(client: true)!.Value.Error);
        Assert.Equal(sentBefore, h.Client.Stats.SegmentsOut); // A RST is never answered.
        Assert.Equal(Instant.Never, h.Client.NextDeadline);
        Assert.Equal(CauseKind.Segment, h.ClientEvents.Last(e => e.Event.Kind == TcpEventKind.StateChanged).Event.Cause.Kind);
    }

    [Theory]
    [MemberData(nameof(SynchronizedStates))]
    public void In_window_RST_that_does_not_match_RCV_NXT_gets_a_challenge_ACK(TcpState state)
    {
        var h = DriveClientTo(state);
        int before = h.Wire.Count;
        h.Inject(toServer: false, Harness.SegmentTo(h.Client, TcpFlags.Rst, h.Client.RcvNxt + 100));

        Assert.Equal(state, h.Client.State);
        Assert.Equal(1, h.Client.Stats.ChallengeAcks);
        SegmentRecord challenge = Assert.Single(h.Wire.Skip(before));
        Assert.Equal(TcpFlags.Ack, challenge.Flags);
        Assert.Equal(h.Client.SndNxt, challenge.Header.Seq);
        Assert.Equal(h.Client.RcvNxt, challenge.Header.Ack);
    }

    [Fact]
    public void Out_of_window_RST_is_dropped_silently()
    {
        var h = DriveClientTo(TcpState.Established);
        int before = h.Wire.Count;
        h.Inject(toServer: false, Harness.SegmentTo(h.Client, TcpFlags.Rst, h.Client.RcvNxt + 70000));
        Assert.Equal(TcpState.Established, h.Client.State);
        Assert.Equal(before, h.Wire.Count);
        Assert.Equal(1, h.Client.Stats.Drops(DropReason.NotAcceptable));
    }

    [Fact]
    public void RST_acknowledging_our_SYN_in_SYN_SENT_means_connection_refused()
    {
        var c = TcpConnection.Connect(TcpConfig.Rfc, 40000, 80, new SeqNum(100), Instant.Zero);
        Assert.True(c.TryPollSegment(Instant.Zero, new byte[10], out _, out _));

        // A RST whose ACK does not acknowledge the SYN is ignored (RFC 5961 section 3.2).
        c.OnSegment(Harness.SegmentTo(c, TcpFlags.Rst | TcpFlags.Ack, new SeqNum(0), new SeqNum(100)), default, Instant.Zero);
        Assert.Equal(TcpState.SynSent, c.State);
        c.OnSegment(Harness.SegmentTo(c, TcpFlags.Rst, new SeqNum(0)), default, Instant.Zero);
        Assert.Equal(TcpState.SynSent, c.State);

        c.OnSegment(Harness.SegmentTo(c, TcpFlags.Rst | TcpFlags.Ack, new SeqNum(0), new SeqNum(101)), default, Instant.Zero);
        Assert.Equal(TcpState.Closed, c.State);
        Assert.Equal(TcpError.Refused, c.Error);
    }

    [Fact]
    public void Unacceptable_ACK_in_SYN_SENT_is_answered_with_a_reset_from_SEG_ACK()
    {
        var c = TcpConnection.Connect(TcpConfig.Rfc, 40000, 80, new SeqNum(100), Instant.Zero);
        var buf = new byte[10];
        Assert.True(c.TryPollSegment(Instant.Zero, buf, out _, out _));
        c.OnSegment(Harness.SegmentTo(c, TcpFlags.Syn | TcpFlags.Ack, new SeqNum(7), new SeqNum(5000)), default, Instant.Zero);
        Assert.True(c.TryPollSegment(Instant.Zero, buf, out TcpHeader rst, out _));
        Assert.Equal(TcpFlags.Rst, rst.Flags);
        Assert.Equal(new SeqNum(5000), rst.Seq);
        Assert.Equal(TcpState.SynSent, c.State);
    }

    [Fact]
    public void RST_in_SYN_RECEIVED_after_a_passive_open_returns_to_LISTEN()
    {
        var l = TcpConnection.Listen(TcpConfig.Rfc, 80, new SeqNum(500));
        l.OnSegment(new TcpHeader { SourcePort = 3333, DestinationPort = 80, Seq = new SeqNum(9), Flags = TcpFlags.Syn, Window = 1000 }, default, Instant.Zero);
        Assert.Equal(TcpState.SynReceived, l.State);
        Assert.True(l.TryPollSegment(Instant.Zero, new byte[10], out TcpHeader synAck, out _));
        Assert.Equal(TcpFlags.Syn | TcpFlags.Ack, synAck.Flags);

        l.OnSegment(new TcpHeader { SourcePort = 3333, DestinationPort = 80, Seq = new SeqNum(10), Flags = TcpFlags.Rst }, default, Instant.Zero);
        Assert.Equal(TcpState.Listen, l.State);
        Assert.Equal(Instant.Never, l.NextDeadline);
        Assert.Equal((ushort)0, l.RemotePort);
    }

    [Fact]
    public void RST_in_SYN_RECEIVED_after_simultaneous_open_refuses_the_connection()
    {
        var c = TcpConnection.Connect(TcpConfig.Rfc, 40000, 80, new SeqNum(100), Instant.Zero);
        var buf = new byte[10];
        Assert.True(c.TryPollSegment(Instant.Zero, buf, out _, out _));
        c.OnSegment(Harness.SegmentTo(c, TcpFlags.Syn, new SeqNum(900)), default, Instant.Zero);
        Assert.Equal(TcpState.SynReceived, c.State);
        c.OnSegment(Harness.SegmentTo(c, TcpFlags.Rst, new SeqNum(901)), default, Instant.Zero);
        Assert.Equal(TcpState.Closed, c.State);
        Assert.Equal(TcpError.Refused, c.Error);
    }

    [Fact]
    public void Segment_to_a_CLOSED_connection_is_answered_with_a_reset_but_a_RST_is_not()
    {
        var h = DriveClientTo(TcpState.Established);
        h.Client.Abort();
        h.Pump();
        var buf = new byte[10];
        h.Client.OnSegment(Harness.SegmentTo(h.Client, TcpFlags.Ack, h.Client.RcvNxt, new SeqNum(12345)), default, h.Now);
        Assert.True(h.Client.TryPollSegment(h.Now, buf, out TcpHeader rst, out _));
        Assert.Equal(TcpFlags.Rst, rst.Flags);
        Assert.Equal(new SeqNum(12345), rst.Seq);
        h.Client.OnSegment(Harness.SegmentTo(h.Client, TcpFlags.Rst, h.Client.RcvNxt), default, h.Now);
        Assert.False(h.Client.TryPollSegment(h.Now, buf, out _, out _));
    }

    [Theory]
    [InlineData(TcpState.Established, true)]
    [InlineData(TcpState.FinWait1, true)]
    [InlineData(TcpState.FinWait2, true)]
    [InlineData(TcpState.CloseWait, true)]
    [InlineData(TcpState.Closing, false)]
    [InlineData(TcpState.LastAck, false)]
    [InlineData(TcpState.TimeWait, false)]
    public void Abort_sends_a_RST_from_SND_NXT_only_where_RFC_9293_says_so(TcpState state, bool expectRst)
    {
        var h = DriveClientTo(state);
        int before = h.Wire.Count;
        SeqNum sndNxt = h.Client.SndNxt;
        h.Client.Abort();
        h.Pump();

        Assert.Equal(TcpState.Closed, h.Client.State);
        Assert.Equal(TcpError.Aborted, h.Client.Error);
        var sent = h.Wire.Skip(before).Where(r => r.FromClient).ToList();
        if (expectRst)
        {
            SegmentRecord rst = Assert.Single(sent);
            Assert.Equal(TcpFlags.Rst, rst.Flags);
            Assert.Equal(sndNxt, rst.Header.Seq);
        }
        else
        {
            Assert.Empty(sent);
        }
    }

    [Fact]
    public void Abort_reaches_the_peer_as_connection_reset()
    {
        var h = Harness.Pair();
        h.RunUntilMs(100);
        h.Client.Send(new byte[100]);
        h.RunUntilMs(200);
        h.Client.Abort();
        h.RunUntilMs(300);
        Assert.Equal(TcpError.Aborted, h.Client.Error);
        Assert.Equal(TcpState.Closed, h.Server!.State);
        Assert.Equal(TcpError.Reset, h.Server.Error);
    }
}
