using TcpKit.Wire;
using TcpKit.Wire.Tcp;

namespace TcpKit.Tcp.Tests;

public class AckAndNagleTests
{
    [Fact]
    public void Nagle_holds_a_second_small_write_until_the_delayed_ACK_of_the_first_arrives()
    {
        var h = Harness.Pair();
        h.RunUntilMs(100);
        h.Client.Send("a"u8);
        h.Pump();
        h.Client.Send("b"u8);
        h.RunUntilMs(300);

        Assert.Equal(
            [
                "100ms C>S [P.] seq=1 ack=1 len=1 win=65535",
                "150ms S>C [.] seq=1 ack=2 len=0 win=65534",
                "160ms C>S [P.] seq=2 ack=1 len=1 win=65535",
                "210ms S>C [.] seq=1 ack=3 len=0 win=65533",
            ],
            h.Trace().Skip(3));
    }

    [Fact]
    public void NoDelay_sends_each_small_write_at_once()
    {
        var h = Harness.Pair(TcpConfig.Linux with { NoDelay = true });
        h.RunUntilMs(100);
        h.Client.Send("a"u8);
        h.Pump();
        h.Client.Send("b"u8);
        h.RunUntilMs(300);

        Assert.Equal(
            [
                "100ms C>S [P.] seq=1 ack=1 len=1 win=65535",
                "100ms C>S [P.] seq=2 ack=1 len=1 win=65535",
                "150ms S>C [.] seq=1 ack=3 len=0 win=65533",
            ],
            h.Trace().Skip(3));
    }

    [Fact]
    public void Every_second_full_sized_segment_is_acknowledged_at_once_and_an_odd_one_after_the_delay()
    {
        // The server application reads each segment as it arrives; the advertised window follows the
        // free buffer space once it can move by one MSS (receiver SWS avoidance).
        var h = Harness.Pair();
        h.RunUntilMs(100);
        h.Client.Send(new byte[5 * 1460]);
        h.RunUntilMs(300);

        Assert.Equal(
            [
                "100ms C>S [.] seq=1 ack=1 len=1460 win=65535",
                "100ms C>S [.] seq=1461 ack=1 len=1460 win=65535",
                "100ms C>S [.] seq=2921 ack=1 len=1460 win=65535",
                "100ms C>S [.] seq=4381 ack=1 len=1460 win=65535",
                "100ms C>S [P.] seq=5841 ack=1 len=1460 win=65535",
                "110ms S>C [.] seq=1 ack=2921 len=0 win=64076",
                "110ms S>C [.] seq=1 ack=5841 len=0 win=64076",
                "150ms S>C [.] seq=1 ack=7301 len=0 win=65535",
            ],
            h.Trace().Skip(3));
    }

    [Fact]
    public void Delayed_ACK_can_be_turned_off()
    {
        var h = Harness.Pair(serverConfig: TcpConfig.Linux with { DelayedAck = false });
        h.RunUntilMs(100);
        h.Client.Send("x"u8);
        h.RunUntilMs(300);
        Assert.Equal("110ms S>C [.] seq=1 ack=2 len=0 win=65534", h.Trace()[^1]);
    }

    [Fact]
    public void Out_of_order_segment_is_acknowledged_at_once_and_so_is_the_segment_filling_the_hole()
    {
        var h = Harness.Pair();
        h.RunUntilMs(100);
        bool delayed = false;
        h.Impair = r =>
        {
            bool first = r.FromClient && r.Length > 0 && !delayed;
            delayed |= first;
            return new Impairment(false, first ? TimeSpan.FromMilliseconds(5) : TimeSpan.Zero, false);
        };
        byte[] data = new byte[3 * 1460];
        new Random(3).NextBytes(data);
        h.Client.Send(data);
        h.RunUntilMs(300);

        Assert.Equal(
            [
                "110ms S>C [.] seq=1 ack=1 len=0 win=65535",
                "110ms S>C [.] seq=1 ack=1 len=0 win=65535",
                "115ms S>C [.] seq=1 ack=4381 len=0 win=61155",
            ],
            h.Trace().Where(l => l.Contains("S>C", StringComparison.Ordinal)).Skip(1));
        Assert.Equal(data, h.ServerReceived);
        Assert.Equal(2, h.Server!.Stats.OutOfOrderSegments);
    }

    [Fact]
    public void PSH_is_set_on_the_last_segment_of_a_write()
    {
        var h = Harness.Pair();
        h.RunUntilMs(100);
        h.Client.Send(new byte[3000]);
        h.RunUntilMs(300);
        Assert.Equal(
            [TcpFlags.Ack, TcpFlags.Ack, TcpFlags.Ack | TcpFlags.Psh],
            h.Wire.Where(r => r.FromClient && r.Length > 0).Select(r => r.Flags));
    }
}
