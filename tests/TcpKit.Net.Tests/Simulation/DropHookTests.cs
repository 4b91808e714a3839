using TcpKit.Net.Simulation;
using TcpKit.Wire;
using static TcpKit.Net.Tests.Simulation.TestPackets;

namespace TcpKit.Net.Tests.Simulation;

public class DropHookTests
{
    [Fact]
    public void A_drop_filter_discards_exactly_the_packets_it_chooses_and_counts_them()
    {
        var net = new SimulatedNetwork(1);
        SimulatedNic a = net.AddHost("a");
        SimulatedNic b = net.AddHost("b");
        SimulatedLink link = net.Connect(a, b, new LinkProfile { Delay = TimeSpan.FromMilliseconds(1) });
        var atB = new Recorder();
        b.SetReceiver(atB);
        link.AToB.DropFilter = packet => SeqOf(packet.ToArray()) % 3 == 0;
        for (int i = 0; i < 10; i++)
        {
            a.Send(Ipv4(HostB4, 60, i));
        }

        net.RunUntilIdle(TimeSpan.FromSeconds(1));
        Assert.Equal([1, 2, 4, 5, 7, 8], atB.Seqs());
        Assert.Equal(4, link.AToB.Counters.DroppedByFilter);
        Assert.Equal(4, link.AToB.Counters.Dropped);
        Assert.Equal(0, link.AToB.RandomDraws);
    }

    [Fact]
    public void The_drop_observer_sees_every_drop_with_its_reason_channel_and_time()
    {
        var net = new SimulatedNetwork(3);
        SimulatedSwitch sw = net.AddSwitch("sw");
        SimulatedNic a = net.AddHost("a");
        SimulatedNic b = net.AddHost("b");
        b.AddAddress(HostB4);
        SwitchPort portA = sw.Attach(a, new LinkProfile { Mtu = 500, LossRate = 0.3, Delay = TimeSpan.FromMilliseconds(2) });
        SwitchPort portB = sw.Attach(b, LinkProfile.Ideal);
        var atB = new Recorder();
        b.SetReceiver(atB);

        var drops = new List<(string Channel, DropReason Reason, int Length, Instant At)>();
        net.DropObserver = (channel, reason, packet, at) => drops.Add((channel.Name, reason, packet.Length, at));

        a.Send(Ipv4(HostB4, 501, 0)); // too big for the uplink
        for (int i = 1; i <= 200; i++)
        {
            a.Send(Ipv4(i % 10 == 0 ? HostC4 : HostB4, 100, i)); // every tenth has no route
        }

        net.RunUntilIdle(TimeSpan.FromSeconds(1));
        LinkCounters up = portA.Uplink.Counters;
        Assert.Equal(("a->sw", DropReason.Mtu, 501, Instant.Zero), drops[0]);
        Assert.Equal(up.DroppedLoss, drops.Count(d => d.Reason == DropReason.Loss));
        Assert.Equal(up.DroppedNoRoute, drops.Count(d => d.Reason == DropReason.NoRoute));
        Assert.Equal(up.Dropped, drops.Count);
        Assert.Equal(portB.Downlink.Counters.Delivered, atB.Received.Count);
        Assert.Equal(201, up.Dropped + atB.Received.Count);
        Assert.InRange(up.DroppedLoss, 40, 80);
        Assert.True(up.DroppedNoRoute > 0);
        // Loss is decided when sent; no-route when the packet reaches the switch after the delay.
        Assert.All(drops.Where(d => d.Reason == DropReason.Loss), d => Assert.Equal(Instant.Zero, d.At));
        Assert.All(drops.Where(d => d.Reason == DropReason.NoRoute), d => Assert.Equal(Instant.FromMilliseconds(2), d.At));
    }
}
