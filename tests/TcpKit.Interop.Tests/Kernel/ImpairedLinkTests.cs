using TcpKit.Net.Host;
using TcpKit.Net.Links;
using TcpKit.Net.Simulation;
using TcpKit.Wire;

namespace TcpKit.Interop.Tests.Kernel;

/// <summary>
/// The impairment wrapper used on TcpKit's side of a TUN link, driven here by a simulated loop so that time
/// is virtual and every test is exact. (It lives with the kernel tests because that is where it is used.)
/// </summary>
public class ImpairedLinkTests
{
    [Fact]
    public void An_ideal_profile_passes_every_packet_on_at_once_in_both_directions()
    {
        var (net, _, inner, link, host) = Build(LinkProfile.Ideal, LinkProfile.Ideal);
        link.Send(Packet(1));
        inner.Deliver(Packet(2));

        Assert.Equal([1], inner.Sent.Select(p => (int)p[0]));
        Assert.Equal([(2, net.Now)], host.Received.Select(r => ((int)r.Packet[0], r.At)));
        Assert.Equal(0, link.Outbound.Queued);
    }

    [Fact]
    public void Delay_holds_each_packet_back_by_the_delay_and_keeps_the_order()
    {
        var profile = new LinkProfile { Delay = TimeSpan.FromMilliseconds(20) };
        var (net, _, inner, link, _) = Build(profile, LinkProfile.Ideal);
        var start = net.Now;
        for (int i = 0; i < 5; i++)
        {
            link.Send(Packet(i));
        }

        net.RunFor(TimeSpan.FromMilliseconds(19));
        Assert.Empty(inner.Sent);
        net.RunFor(TimeSpan.FromMilliseconds(1));
        Assert.Equal([0, 1, 2, 3, 4], inner.Sent.Select(p => (int)p[0]));
        Assert.All(inner.SentAt, t => Assert.Equal(start + TimeSpan.FromMilliseconds(20), t));
    }

    [Fact]
    public void Jitter_varies_the_delay_within_its_bound_but_never_reorders()
    {
        var profile = new LinkProfile { Delay = TimeSpan.FromMilliseconds(20), Jitter = TimeSpan.FromMilliseconds(5) };
        var (net, _, inner, link, _) = Build(profile, LinkProfile.Ideal);
        var start = net.Now;
        for (int i = 0; i < 200; i++)
        {
            link.Send(Packet(i));
            net.RunFor(TimeSpan.FromMilliseconds(0.1));
        }

        net.RunFor(TimeSpan.FromSeconds(1));
        Assert.Equal(Enumerable.Range(0, 200), inner.Sent.Select(p => (int)p[0] | (p[1] << 8)));
        for (int i = 0; i < 200; i++)
        {
            var offered = start + TimeSpan.FromMilliseconds(0.1 * i);
            var delay = inner.SentAt[i] - offered;
            Assert.InRange(delay.TotalMilliseconds, 14.999, 25.001); // the in-order clamp only lifts a low draw up to an earlier packet's due time
        }

        Assert.True(inner.SentAt.Select((t, i) => (t - start).TotalMilliseconds - (0.1 * i)).Distinct().Count() > 10, "the delays did not vary");
    }

    [Fact]
    public void Loss_drops_about_its_share_of_packets_and_counts_them()
    {
        var (_, _, inner, link, _) = Build(new LinkProfile { LossRate = 0.2 }, LinkProfile.Ideal);
        for (int i = 0; i < 10_000; i++)
        {
            link.Send(Packet(i));
        }

        Assert.Equal(10_000, link.Outbound.Offered);
        Assert.Equal(10_000, link.Outbound.Lost + inner.Sent.Count);
        Assert.InRange(link.Outbound.Lost, 1_800, 2_200);
    }

    [Fact]
    public void A_reordered_packet_is_overtaken_by_packets_offered_after_it()
    {
        var profile = new LinkProfile { ReorderProbability = 0.1, ReorderDelay = TimeSpan.FromMilliseconds(5) };
        var (net, _, _, link, host) = Build(LinkProfile.Ideal, profile);
        var inner = (FakeLink)link.Inner;
        for (int i = 0; i < 1_000; i++)
        {
            inner.Deliver(Packet(i));
            net.RunFor(TimeSpan.FromMilliseconds(0.1));
        }

        net.RunFor(TimeSpan.FromSeconds(1));
        var order = host.Received.Select(r => r.Packet[0] | (r.Packet[1] << 8)).ToList();
        Assert.Equal(1_000, order.Count);
        Assert.Equal(Enumerable.Range(0, 1_000), order.Order());
        int overtaken = order.Zip(order.Skip(1)).Count(p => p.First > p.Second);
        Assert.True(link.Inbound.Reordered > 50, link.Inbound.ToString());
        Assert.True(overtaken > 50, $"{overtaken} packets arrived after a later one");
        Assert.Equal(0, link.Inbound.Queued);
    }

    [Fact]
    public void Duplication_delivers_an_identical_copy_right_behind_the_original()
    {
        var profile = new LinkProfile { DuplicateProbability = 0.5, Delay = TimeSpan.FromMilliseconds(1) };
        var (net, _, inner, link, _) = Build(profile, LinkProfile.Ideal);
        for (int i = 0; i < 100; i++)
        {
            link.Send(Packet(i));
        }

        net.RunFor(TimeSpan.FromMilliseconds(2));
        var seen = inner.Sent.Select(p => p[0] | (p[1] << 8)).ToList();
        Assert.Equal(100 + link.Outbound.Duplicated, seen.Count);
        Assert.InRange(link.Outbound.Duplicated, 30, 70);
        Assert.Equal(Enumerable.Range(0, 100), seen.Distinct());
        Assert.True(seen.Zip(seen.Skip(1)).All(p => p.First <= p.Second), "a copy did not follow its original");
    }

    [Fact]
    public void The_same_seed_makes_the_same_decisions()
    {
        static List<int> Run(ulong seed)
        {
            var (net, _, inner, link, _) = Build(new LinkProfile { LossRate = 0.3, ReorderProbability = 0.2, Jitter = TimeSpan.FromMilliseconds(2) }, LinkProfile.Ideal, seed);
            for (int i = 0; i < 300; i++)
            {
                link.Send(Packet(i));
                net.RunFor(TimeSpan.FromMilliseconds(0.5));
            }

            net.RunFor(TimeSpan.FromSeconds(1));
            return inner.Sent.Select(p => p[0] | (p[1] << 8)).ToList();
        }

        Assert.Equal(Run(42), Run(42));
        Assert.NotEqual(Run(42), Run(43));
    }

    [Fact]
    public void Bandwidth_limits_and_corruption_are_refused_with_a_pointer_to_the_simulator()
    {
        var net = new SimulatedNetwork(1);
        var loop = new SimulatedEventLoop(net);
        var inner = new FakeLink(net);
        var e = Assert.Throws<ArgumentException>(() => new ImpairedLink(inner, loop, new LinkProfile { BandwidthBitsPerSecond = 1_000_000 }, LinkProfile.Ideal, 1));
        Assert.Contains("simulator", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new ImpairedLink(inner, loop, LinkProfile.Ideal, new LinkProfile { CorruptProbability = 0.1 }, 1));
        Assert.Throws<ArgumentException>(() => new ImpairedLink(inner, loop, new LinkProfile { LossRate = 2 }, LinkProfile.Ideal, 1));
    }

    [Fact]
    public void Disposing_drops_what_is_still_waiting_and_passes_nothing_on_later()
    {
        var (net, _, inner, link, _) = Build(new LinkProfile { Delay = TimeSpan.FromMilliseconds(10) }, LinkProfile.Ideal);
        link.Send(Packet(1));
        Assert.Equal(1, link.Outbound.Queued);
        link.Dispose();
        net.RunFor(TimeSpan.FromMilliseconds(50));
        Assert.Empty(inner.Sent);
        Assert.Equal(0, link.Outbound.Queued);
    }

    private static byte[] Packet(int i)
    {
        var p = new byte[40];
        p[0] = (byte)i;
        p[1] = (byte)(i >> 8);
        return p;
    }

    private static (SimulatedNetwork Net, SimulatedEventLoop Loop, FakeLink Inner, ImpairedLink Link, Recorder Host) Build(LinkProfile outbound, LinkProfile inbound, ulong seed = 7)
    {
        var net = new SimulatedNetwork(1);
        var loop = new SimulatedEventLoop(net);
        var inner = new FakeLink(net);
        var link = new ImpairedLink(inner, loop, outbound, inbound, seed);
        var host = new Recorder();
        link.SetReceiver(host);
        return (net, loop, inner, link, host);
    }

    private sealed class FakeLink(SimulatedNetwork net) : ILink
    {
        private ILinkReceiver? _receiver;

        public List<byte[]> Sent { get; } = [];

        public List<Instant> SentAt { get; } = [];

        public int Mtu => 1500;

        public LinkType LinkType => LinkType.Raw;

        public void Send(ReadOnlySpan<byte> ipPacket)
        {
            Sent.Add(ipPacket.ToArray());
            SentAt.Add(net.Now);
        }

        public void SetReceiver(ILinkReceiver? receiver) => _receiver = receiver;

        public void Deliver(byte[] packet) => _receiver?.OnPacket(packet, net.Now);
    }

    private sealed class Recorder : ILinkReceiver
    {
        public List<(byte[] Packet, Instant At)> Received { get; } = [];

        public void OnPacket(ReadOnlySpan<byte> packet, Instant now) => Received.Add((packet.ToArray(), now));
    }
}
