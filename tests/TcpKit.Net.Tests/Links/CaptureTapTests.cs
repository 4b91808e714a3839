using TcpKit.Net.Links;
using TcpKit.Net.Simulation;
using TcpKit.Net.Tests.Simulation;
using TcpKit.Wire;
using static TcpKit.Net.Tests.Simulation.TestPackets;

namespace TcpKit.Net.Tests.Links;

public class CaptureTapTests
{
    private static Instant Ms(long ms) => Instant.FromMilliseconds(ms);

    private sealed record Frame(LinkDirection Direction, int Seq, Instant At);

    [Fact]
    public void The_tap_sees_both_directions_in_time_order_and_forwards_everything_unchanged()
    {
        var net = new SimulatedNetwork(1);
        SimulatedNic a = net.AddHost("a");
        SimulatedNic b = net.AddHost("b");
        net.Connect(a, b, new LinkProfile { Delay = TimeSpan.FromMilliseconds(5) });

        var frames = new List<Frame>();
        var tap = new CaptureTap(a, net, (direction, frame, at) => frames.Add(new Frame(direction, SeqOf(frame.ToArray()), at)));
        var atA = new Recorder();
        tap.SetReceiver(atA);

        // b answers every packet at once; a sends at 0 ms and 2 ms.
        b.SetReceiver(new Echo(b));
        tap.Send(Ipv4(HostB4, 80, 1));
        net.RunUntil(Ms(2));
        tap.Send(Ipv4(HostB4, 80, 2));
        net.RunUntilIdle(Ms(100));

        Assert.Equal(
            [
                new Frame(LinkDirection.Outbound, 1, Ms(0)),
                new Frame(LinkDirection.Outbound, 2, Ms(2)),
                new Frame(LinkDirection.Inbound, 1001, Ms(10)),
                new Frame(LinkDirection.Inbound, 1002, Ms(12)),
            ],
            frames);
        Assert.Equal([1001, 1002], atA.Seqs());
        Assert.Equal(a.Mtu, tap.Mtu);
        Assert.Equal(LinkType.Raw, tap.LinkType);
        Assert.Same(a, tap.Inner);
    }

    [Fact]
    public void The_tap_records_outbound_frames_even_when_the_link_then_drops_them()
    {
        var net = new SimulatedNetwork(1);
        SimulatedNic a = net.AddHost("a", mtu: 100);
        SimulatedNic b = net.AddHost("b");
        net.Connect(a, b, LinkProfile.Ideal);
        var seen = new List<LinkDirection>();
        var tap = new CaptureTap(a, net, (direction, _, _) => seen.Add(direction));
        tap.Send(Ipv4(HostB4, 101, 1));
        Assert.Equal([LinkDirection.Outbound], seen);
        Assert.Equal(1, a.DroppedOversized);
    }

    [Fact]
    public void The_tap_records_arrivals_while_no_receiver_listens_and_counts_them_as_dropped()
    {
        var net = new SimulatedNetwork(1);
        SimulatedNic a = net.AddHost("a");
        SimulatedNic b = net.AddHost("b");
        SimulatedLink link = net.Connect(a, b, LinkProfile.Ideal);
        var observer = new CountingObserver();
        var tap = new CaptureTap(b, net, observer);
        a.Send(Ipv4(HostB4, 60, 1));
        net.RunUntilIdle(Ms(1));
        Assert.Equal(1, observer.Inbound);
        Assert.Equal(1, tap.DroppedNoReceiver);
        Assert.Equal(1, link.AToB.Counters.Delivered);
    }

    [Fact]
    public void Taps_stack_and_each_sees_every_frame()
    {
        var net = new SimulatedNetwork(1);
        SimulatedNic a = net.AddHost("a");
        SimulatedNic b = net.AddHost("b");
        net.Connect(a, b, LinkProfile.Ideal);
        var inner = new CountingObserver();
        var outer = new CountingObserver();
        var tap = new CaptureTap(new CaptureTap(a, net, inner), net, outer);
        tap.SetReceiver(new Recorder());
        b.SetReceiver(new Echo(b));
        tap.Send(Ipv4(HostB4, 60, 1));
        net.RunUntilIdle(Ms(1));
        Assert.Equal((1, 1), (inner.Outbound, inner.Inbound));
        Assert.Equal((1, 1), (outer.Outbound, outer.Inbound));
    }

    private sealed class CountingObserver : ILinkObserver
    {
        public int Inbound { get; private set; }

        public int Outbound { get; private set; }

        public void OnFrame(LinkDirection direction, ReadOnlySpan<byte> frame, Instant timestamp)
        {
            if (direction == LinkDirection.Inbound)
            {
                Inbound++;
            }
            else
            {
                Outbound++;
            }
        }
    }

    /// <summary>Replies to each packet with seq + 1000, from inside the receive callback.</summary>
    private sealed class Echo(ILink link) : ILinkReceiver
    {
        public void OnPacket(ReadOnlySpan<byte> packet, Instant now) => link.Send(Ipv4(HostA4, packet.Length, SeqOf(packet.ToArray()) + 1000));
    }
}
