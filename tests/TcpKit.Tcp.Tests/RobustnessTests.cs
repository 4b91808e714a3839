using TcpKit.Wire;
using TcpKit.Wire.Tcp;

namespace TcpKit.Tcp.Tests;

/// <summary>RFC 5961 and the acceptability test of RFC 9293 section 3.10.7.4.</summary>
public class RobustnessTests
{
    [Theory]
    [InlineData(0, 0, 0, true)] // len 0, wnd 0: SEG.SEQ = RCV.NXT
    [InlineData(1, 0, 0, false)]
    [InlineData(0, 0, 100, true)] // len 0, wnd > 0: RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND
    [InlineData(99, 0, 100, true)]
    [InlineData(100, 0, 100, false)]
    [InlineData(-1, 0, 100, false)]
    [InlineData(0, 10, 0, false)] // len > 0, wnd 0: never
    [InlineData(-5, 10, 100, true)] // len > 0, wnd > 0: the end is in the window
    [InlineData(-10, 10, 100, false)]
    [InlineData(99, 10, 100, true)] // the start is in the window
    [InlineData(100, 10, 100, false)]
    public void Acceptability_test_follows_the_four_cases(int offset, int len, int wnd, bool acceptable)
    {
        var rcvNxt = new SeqNum(uint.MaxValue - 3); // across the wrap
        Assert.Equal(acceptable, TcpConnection.IsAcceptable(rcvNxt + offset, len, rcvNxt, wnd));
    }

    [Fact]
    public void SYN_in_ESTABLISHED_gets_a_challenge_ACK_whatever_its_sequence_number()
    {
        var h = ResetTests.DriveClientTo(TcpState.Established);
        foreach (int offset in new[] { 0, 5, -100000, 1 << 30 })
        {
            int before = h.Wire.Count;
            h.Inject(toServer: false, Harness.SegmentTo(h.Client, TcpFlags.Syn, h.Client.RcvNxt + offset));
            SegmentRecord ack = Assert.Single(h.Wire.Skip(before));
            Assert.Equal(TcpFlags.Ack, ack.Flags);
            Assert.Equal(h.Client.SndNxt, ack.Header.Seq);
            Assert.Equal(h.Client.RcvNxt, ack.Header.Ack);
        }

        Assert.Equal(TcpState.Established, h.Client.State);
        Assert.Equal(4, h.Client.Stats.ChallengeAcks); // RFC 5961 4.2: in the window or not, each SYN is a (rate-limited) challenge ACK.
        Assert.Equal(2, h.Client.Stats.Drops(DropReason.SynInSynchronizedState));
    }

    [Fact]
    public void Challenge_ACKs_are_rate_limited_per_second()
    {
        var h = ResetTests.DriveClientTo(TcpState.Established);
        int before = h.Wire.Count;
        for (int i = 0; i < 15; i++)
        {
            h.Inject(toServer: false, Harness.SegmentTo(h.Client, TcpFlags.Syn, h.Client.RcvNxt));
        }

        Assert.Equal(10, h.Wire.Count - before);
        Assert.Equal(10, h.Client.Stats.ChallengeAcks);
        Assert.Equal(5, h.Client.Stats.ChallengeAcksSuppressed);

        h.RunFor(TimeSpan.FromSeconds(1));
        h.Inject(toServer: false, Harness.SegmentTo(h.Client, TcpFlags.Rst, h.Client.RcvNxt + 1));
        Assert.Equal(11, h.Client.Stats.ChallengeAcks);
    }

    [Fact]
    public void ACK_for_data_never_sent_is_answered_with_an_ACK_and_its_text_dropped()
    {
        var h = ResetTests.DriveClientTo(TcpState.Established);
        int before = h.Wire.Count;
        h.Inject(toServer: false, Harness.SegmentTo(h.Client, TcpFlags.Ack | TcpFlags.Psh, h.Client.RcvNxt, h.Client.SndNxt + 10), "evil"u8);
        Assert.Empty(h.ClientReceived);
        Assert.Equal(1, h.Client.Stats.Drops(DropReason.AckOutOfRange));
        SegmentRecord ack = Assert.Single(h.Wire.Skip(before));
        Assert.Equal(TcpFlags.Ack, ack.Flags);
    }

    [Fact]
    public void ACK_older_than_SND_UNA_minus_MAX_SND_WND_is_rejected()
    {
        var h = ResetTests.DriveClientTo(TcpState.Established);
        h.Inject(toServer: false, Harness.SegmentTo(h.Client, TcpFlags.Ack, h.Client.RcvNxt, h.Client.SndUna - 70000), "evil"u8);
        Assert.Empty(h.ClientReceived);
        Assert.Equal(1, h.Client.Stats.Drops(DropReason.AckOutOfRange));

        // An old ACK within MAX.SND.WND is fine: its text is accepted.
        h.Inject(toServer: false, Harness.SegmentTo(h.Client, TcpFlags.Ack, h.Client.RcvNxt, h.Client.SndUna - 10), "good"u8);
        Assert.Equal("good"u8.ToArray(), h.ClientReceived);
    }

    [Fact]
    public void Duplicate_segment_is_discarded_and_acknowledged()
    {
        var h = Harness.Pair();
        h.RunUntilMs(100);
        h.Server!.Send("hello"u8);
        h.RunUntilMs(200);
        Assert.Equal("hello"u8.ToArray(), h.ClientReceived);

        SegmentRecord data = h.Wire.Single(r => !r.FromClient && r.Length == 5);
        int before = h.Wire.Count;
        h.Inject(toServer: false, data.Header, data.Payload);
        Assert.Equal("hello"u8.ToArray(), h.ClientReceived);
        Assert.Equal(1, h.Client.Stats.Drops(DropReason.NotAcceptable));
        SegmentRecord ack = Assert.Single(h.Wire.Skip(before));
        Assert.Equal(h.Client.RcvNxt, ack.Header.Ack);

        // A segment that overlaps old and new data delivers only the new part ("straddle").
        var overlap = data.Header;
        h.Inject(toServer: false, overlap, "helloworld"u8);
        Assert.Equal("helloworld"u8.ToArray(), h.ClientReceived);
        Assert.Equal(1, h.Client.Stats.Drops(DropReason.DuplicateData));
    }

    [Fact]
    public void Urgent_pointer_is_recorded_and_counted_while_the_data_stays_in_the_stream()
    {
        var h = ResetTests.DriveClientTo(TcpState.Established);
        var seg = Harness.SegmentTo(h.Client, TcpFlags.Ack | TcpFlags.Urg, h.Client.RcvNxt, h.Client.SndNxt);
        seg.UrgentPointer = 3;
        SeqNum start = h.Client.RcvNxt;
        h.Inject(toServer: false, seg, "abcdef"u8);
        Assert.Equal(1, h.Client.Stats.UrgentSegments);
        Assert.Equal(start + 3, h.Client.RcvUp);
        Assert.Equal("abcdef"u8.ToArray(), h.ClientReceived);
        Assert.Single(h.ClientEvents, e => e.Event.Kind == TcpEventKind.UrgentData);
        Assert.Equal(0, h.Client.UrgentBytesPending); // the harness read everything

        h.AutoReadClient = false;
        seg.Seq = h.Client.RcvNxt;
        seg.UrgentPointer = 2;
        h.Inject(toServer: false, seg, "uvwxyz"u8);
        Assert.Equal(2, h.Client.UrgentBytesPending);
        Assert.Equal(2, h.ClientEvents.Count(e => e.Event.Kind == TcpEventKind.UrgentData));
    }

    [Fact]
    public void Segment_for_other_ports_is_counted_and_ignored()
    {
        var h = ResetTests.DriveClientTo(TcpState.Established);
        var seg = Harness.SegmentTo(h.Client, TcpFlags.Rst, h.Client.RcvNxt);
        seg.SourcePort = 1;
        h.Inject(toServer: false, seg);
        Assert.Equal(TcpState.Established, h.Client.State);
        Assert.Equal(1, h.Client.Stats.Drops(DropReason.WrongPort));
    }
}
