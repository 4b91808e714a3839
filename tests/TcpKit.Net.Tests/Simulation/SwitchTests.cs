using System.Net;
using TcpKit.Net.Simulation;
using TcpKit.Wire;
using static TcpKit.Net.Tests.Simulation.TestPackets;

namespace TcpKit.Net.Tests.Simulation;

public class SwitchTests
{
    private static Instant Ms(long ms) => Instant.FromMilliseconds(ms);

    private sealed class Lan
    {
        public Lan(int hosts, LinkProfile? profile = null)
        {
            Net = new SimulatedNetwork(1);
            Switch = Net.AddSwitch("sw");
            for (int i = 0; i < hosts; i++)
            {
                SimulatedNic nic = Net.AddHost($"h{i + 1}");
                nic.AddAddress([10, 0, 0, (byte)(i + 1)]);
                nic.AddAddress(V6((byte)(i + 1)));
                Switch.Attach(nic, profile ?? LinkProfile.Ideal);
                var recorder = new Recorder();
                nic.SetReceiver(recorder);
                Nics.Add(nic);
                Recorders.Add(recorder);
            }
        }

        public SimulatedNetwork Net { get; }

        public SimulatedSwitch Switch { get; }

        public List<SimulatedNic> Nics { get; } = [];

        public List<Recorder> Recorders { get; } = [];
    }

    [Fact]
    public void The_switch_forwards_each_packet_to_the_host_owning_its_IPv4_or_IPv6_destination()
    {
        var lan = new Lan(4);
        lan.Nics[0].Send(Ipv4([10, 0, 0, 2], 100, 1));
        lan.Nics[0].Send(Ipv6(V6(3), 100, 2));
        lan.Nics[1].Send(Ipv4([10, 0, 0, 3], 100, 3));
        lan.Nics[2].Send(Ipv6(V6(4), 100, 4));
        lan.Nics[3].Send(Ipv4([10, 0, 0, 1], 100, 5));
        lan.Net.RunUntilIdle(Ms(10));

        Assert.Equal([5], lan.Recorders[0].Seqs());
        Assert.Equal([1], lan.Recorders[1].Seqs());
        Assert.Equal([2, 3], lan.Recorders[2].Seqs());
        Assert.Equal([4], lan.Recorders[3].Seqs());
        Assert.Equal(0, lan.Switch.DroppedNoRoute);
        Assert.Equal(2, lan.Switch.Ports[2].Downlink.Counters.Delivered);
    }

    [Fact]
    public void Packets_for_unknown_or_unreadable_destinations_are_dropped_as_no_route()
    {
        var lan = new Lan(3);
        lan.Nics[0].Send(Ipv4([10, 0, 0, 9], 100, 1));
        lan.Nics[0].Send(Ipv6(V6(9), 100, 2));
        lan.Nics[1].Send([0x45, 0, 0, 20]); // too short to hold a destination
        lan.Nics[1].Send(new byte[60]); // version 0
        lan.Net.RunUntilIdle(Ms(10));

        Assert.All(lan.Recorders, r => Assert.Empty(r.Received));
        Assert.Equal(4, lan.Switch.DroppedNoRoute);
        Assert.Equal(2, lan.Switch.Ports[0].Uplink.Counters.DroppedNoRoute);
        Assert.Equal(2, lan.Switch.Ports[1].Uplink.Counters.DroppedNoRoute);
        Assert.Equal(0, lan.Switch.Ports[0].Uplink.Counters.Delivered);
    }

    [Fact]
    public void An_IPv4_address_does_not_match_the_IPv6_address_with_the_same_low_bits()
    {
        var net = new SimulatedNetwork(1);
        SimulatedSwitch sw = net.AddSwitch("sw");
        SimulatedNic a = net.AddHost("a");
        SimulatedNic b = net.AddHost("b");
        a.AddAddress(IPAddress.Parse("10.0.0.1"));
        b.AddAddress(IPAddress.Parse("::a00:2")); // 10.0.0.2 in the low 32 bits
        sw.Attach(a, LinkProfile.Ideal);
        sw.Attach(b, LinkProfile.Ideal);
        var atB = new Recorder();
        b.SetReceiver(atB);
        a.Send(Ipv4([10, 0, 0, 2], 60, 1));
        net.RunUntilIdle(Ms(1));
        Assert.Empty(atB.Received);
        Assert.Equal(1, sw.DroppedNoRoute);
    }

    [Fact]
    public void An_address_added_after_attaching_is_routed_too()
    {
        var lan = new Lan(2);
        lan.Nics[1].AddAddress(IPAddress.Parse("192.0.2.7"));
        lan.Nics[0].Send(Ipv4([192, 0, 2, 7], 100, 1));
        lan.Net.RunUntilIdle(Ms(10));
        Assert.Equal([1], lan.Recorders[1].Seqs());
        Assert.Contains(IPAddress.Parse("192.0.2.7"), lan.Nics[1].Addresses);
    }

    [Fact]
    public void Two_hosts_cannot_register_the_same_address_on_one_switch()
    {
        var lan = new Lan(2);
        Assert.Throws<InvalidOperationException>(() => lan.Nics[1].AddAddress([10, 0, 0, 1]));
        SimulatedNic late = lan.Net.AddHost("late");
        late.AddAddress(V6(2));
        Assert.Throws<InvalidOperationException>(() => lan.Switch.Attach(late, LinkProfile.Ideal));
        Assert.False(late.IsConnected);
    }

    [Fact]
    public void Senders_converging_on_one_host_share_its_downlink_bandwidth()
    {
        // Host links are fast; the switch port towards h3 runs at 8 Mbit/s: 1 ms per 1000 bytes.
        var net = new SimulatedNetwork(1);
        SimulatedSwitch sw = net.AddSwitch("sw");
        var fast = new LinkProfile { BandwidthBitsPerSecond = 8_000_000_000 };
        var slow = new LinkProfile { BandwidthBitsPerSecond = 8_000_000, QueueLimitPackets = 2 };
        var nics = new List<SimulatedNic>();
        for (byte i = 1; i <= 3; i++)
        {
            SimulatedNic nic = net.AddHost($"h{i}");
            nic.AddAddress([10, 0, 0, i]);
            sw.Attach(nic, fast, i == 3 ? slow : fast);
            nics.Add(nic);
        }

        var atH3 = new Recorder();
        nics[2].SetReceiver(atH3);
        for (int i = 0; i < 3; i++)
        {
            nics[0].Send(Ipv4([10, 0, 0, 3], 1000, i));
            nics[1].Send(Ipv4([10, 0, 0, 3], 1000, 10 + i));
        }

        net.RunUntilIdle(Ms(100));
        // Each uplink needs 1 us per packet, so the six reach the switch interleaved h1, h2, h1, ...;
        // one is serialized, two wait, the other three overflow the egress queue.
        Assert.Equal([0, 10, 1], atH3.Seqs());
        Assert.Equal([Us(1001), Us(2001), Us(3001)], atH3.Received.Select(r => r.At));
        Assert.Equal(3, sw.Ports[2].Downlink.Counters.DroppedQueueOverflow);
        Assert.Equal(3, sw.Ports[0].Uplink.Counters.Delivered);
    }

    private static Instant Us(long us) => Instant.FromMicroseconds(us);

    [Fact]
    public void Impairments_on_uplink_and_downlink_add_up()
    {
        var lan = new Lan(2, new LinkProfile { Delay = TimeSpan.FromMilliseconds(3) });
        lan.Nics[0].Send(Ipv4([10, 0, 0, 2], 100, 1));
        lan.Net.RunUntilIdle(Ms(100));
        Assert.Equal(Ms(6), lan.Recorders[1].Received.Single().At);
    }
}
