using System.Text;
using TcpKit.Wire;
using TcpKit.Wire.Tcp;

namespace TcpKit.Tcp.Tests;

public class ClassicLessonTests
{
    [Fact]
    public void Classic_lesson_exchanges_exactly_eleven_segments_with_delayed_acks()
    {
        // Client connects to port 9999, writes "a" then "b" in two separate writes, the server closes
        // first, and the client closes after reading end of stream. One-way delay 10 ms, delayed ACK 40 ms.
        // The server's window shrinks by the bytes read: receiver SWS avoidance (RFC 9293 3.8.6.2.2) keeps
        // the right edge fixed until it can move by min(RCV.BUFF/2, MSS).
        var h = Harness.Pair();
        h.RunUntilMs(100);
        Assert.Equal(TcpState.Established, h.Client.State);
        Assert.Equal(TcpState.Established, h.Server!.State);

        h.Client.Send("a"u8);
        h.RunUntilMs(200);
        h.Client.Send("b"u8);
        h.RunUntilMs(300);
        Assert.Equal("ab", Encoding.ASCII.GetString([.. h.ServerReceived]));

        h.Server.Close();
        h.RunUntilMs(400);
        Assert.True(h.Client.RemoteClosed);
        Assert.Equal(0, h.Client.BytesAvailable);
        Assert.Equal(TcpState.CloseWait, h.Client.State);

        h.Client.Close();
        h.RunUntilMs(500);

        Assert.Equal(
            [
                "0ms C>S [S] seq=0 len=0 win=65535 mss=1460",
                "10ms S>C [S.] seq=0 ack=1 len=0 win=65535 mss=1460",
                "20ms C>S [.] seq=1 ack=1 len=0 win=65535",
                "100ms C>S [P.] seq=1 ack=1 len=1 win=65535",
                "150ms S>C [.] seq=1 ack=2 len=0 win=65534",
                "200ms C>S [P.] seq=2 ack=1 len=1 win=65535",
                "250ms S>C [.] seq=1 ack=3 len=0 win=65533",
                "300ms S>C [F.] seq=1 ack=3 len=0 win=65533",
                "310ms C>S [.] seq=3 ack=2 len=0 win=65534",
                "400ms C>S [F.] seq=3 ack=2 len=0 win=65534",
                "410ms S>C [.] seq=2 ack=4 len=0 win=65532",
            ],
            h.Trace());

        Assert.Equal(TcpState.Closed, h.Client.State);
        Assert.Equal(TcpState.TimeWait, h.Server.State);
        Assert.Equal(
            [TcpState.SynSent, TcpState.Established, TcpState.CloseWait, TcpState.LastAck, TcpState.Closed],
            h.StatesOf(client: true));

        // The active closer stays in TIME-WAIT for 2*MSL (60 s in the Linux profile), then closes.
        h.RunUntil(Instant.FromMilliseconds(410) + TimeSpan.FromSeconds(60) - TimeSpan.FromMilliseconds(1));
        Assert.Equal(TcpState.TimeWait, h.Server.State);
        h.RunFor(TimeSpan.FromMilliseconds(2));
        Assert.Equal(TcpState.Closed, h.Server.State);
        Assert.Equal(
            [TcpState.Listen, TcpState.SynReceived, TcpState.Established, TcpState.FinWait1, TcpState.FinWait2, TcpState.TimeWait, TcpState.Closed],
            h.StatesOf(client: false));
        Assert.Equal(TcpError.None, h.ClosedEvent(client: false)!.Value.Error);
        Assert.Equal(11, h.Wire.Count);
    }
}
