using System.Security.Cryptography;
using CsCheck;
using TcpKit.Net.Links;
using TcpKit.Net.Simulation;
using TcpKit.Wire;
using static TcpKit.Net.Tests.Simulation.TestPackets;

namespace TcpKit.Net.Tests.Simulation;

public class DeterminismTests
{
    private static readonly LinkProfile Rough = new()
    {
        Delay = TimeSpan.FromMilliseconds(2),
        Jitter = TimeSpan.FromMilliseconds(1),
        LossRate = 0.05,
        BurstLoss = new GilbertElliott(0.01, 0.3),
        ReorderProbability = 0.05,
        ReorderDelay = TimeSpan.FromMilliseconds(3),
        DuplicateProbability = 0.03,
        CorruptProbability = 0.03,
        MaxCorruptBits = 4,
        BandwidthBitsPerSecond = 50_000_000,
        QueueLimitPackets = 20,
    };

    /// <summary>Hashes every delivery (host, arrival time in ns, bytes) of a three-host switched scenario driven by timers.</summary>
    private static string TraceHash(ulong seed, LinkProfile profile)
    {
        var net = new SimulatedNetwork(seed);
        SimulatedSwitch sw = net.AddSwitch("sw");
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var nics = new List<SimulatedNic>();
        for (byte i = 1; i <= 3; i++)
        {
            SimulatedNic nic = net.AddHost($"h{i}");
            nic.AddAddress([10, 0, 0, i]);
            nic.AddAddress(V6(i));
            sw.Attach(nic, profile);
            nic.SetReceiver(new HashingReceiver(hash, i));
            nics.Add(nic);
        }

        // Each host sends 300 packets of varying size to varying peers on a timer, choosing with the
        // network's own random stream, so the whole run is a function of the seed.
        byte[] buffer = new byte[1500];
        for (int h = 0; h < 3; h++)
        {
            SimulatedNic nic = nics[h];
            int sent = 0;
            SimTimer? timer = null;
            timer = net.CreateTimer(() =>
            {
                byte peer = (byte)(1 + net.Random.NextInt32(3));
                int length = 60 + net.Random.NextInt32(1400);
                byte[] packet = sent % 2 == 0 ? Ipv4([10, 0, 0, peer], length, sent) : Ipv6(V6(peer), length, sent);
                packet.CopyTo(buffer, 0);
                nic.Send(buffer.AsSpan(0, packet.Length));
                if (++sent < 300)
                {
                    timer!.Set(net.Now + TimeSpan.FromMicroseconds(50 + net.Random.NextInt32(200)));
                }
            });
            timer.Set(Instant.Zero);
        }

        Assert.True(net.RunUntilIdle(TimeSpan.FromSeconds(60)));
        foreach (SwitchPort port in sw.Ports)
        {
            Assert.Equal(0, port.Uplink.Counters.InFlight);
            Assert.Equal(0, port.Downlink.Counters.InFlight);
            hash.AppendData(System.Text.Encoding.UTF8.GetBytes(port.Uplink.ToString() + port.Downlink.ToString()));
        }

        return Convert.ToHexString(hash.GetHashAndReset());
    }

    private sealed class HashingReceiver(IncrementalHash hash, byte host) : ILinkReceiver
    {
        public void OnPacket(ReadOnlySpan<byte> packet, Instant now)
        {
            Span<byte> header = stackalloc byte[13];
            header[0] = host;
            BitConverter.TryWriteBytes(header[1..], now.Nanoseconds);
            BitConverter.TryWriteBytes(header[9..], packet.Length);
            hash.AppendData(header);
            hash.AppendData(packet);
        }
    }

    [Fact]
    public void Two_runs_with_the_same_seed_deliver_identical_bytes_at_identical_times()
    {
        Assert.Equal(TraceHash(42, Rough), TraceHash(42, Rough));
    }

    [Fact]
    public void Different_seeds_give_different_traces()
    {
        Assert.NotEqual(TraceHash(42, Rough), TraceHash(43, Rough));
    }

    [Fact]
    public void Changing_one_direction_does_not_change_the_random_outcomes_of_another()
    {
        (long Lost, long Reordered) BToAOutcome(LinkProfile aToB)
        {
            var net = new SimulatedNetwork(9);
            SimulatedNic a = net.AddHost("a");
            SimulatedNic b = net.AddHost("b");
            SimulatedLink link = net.Connect(a, b, aToB, Rough);
            a.SetReceiver(new Recorder());
            b.SetReceiver(new Recorder());
            for (int i = 0; i < 2000; i++)
            {
                a.Send(Ipv4(HostB4, 100, i));
                b.Send(Ipv4(HostA4, 100, i));
                net.RunFor(TimeSpan.FromMicroseconds(100));
            }

            net.RunUntilIdle(TimeSpan.FromSeconds(10));
            return (link.BToA.Counters.DroppedLoss + link.BToA.Counters.DroppedBurstLoss, link.BToA.Counters.Reordered);
        }

        Assert.Equal(BToAOutcome(LinkProfile.Ideal), BToAOutcome(Rough));
    }

    /// <summary>
    /// Under any seed and mix of impairments every run ends, every packet is accounted for
    /// (offered + duplicated = delivered + dropped), and nothing arrives before its propagation delay.
    /// </summary>
    [Fact]
    public void Every_packet_is_delivered_or_counted_as_dropped_and_every_run_ends()
    {
        Gen<LinkProfile> profiles =
            from delayUs in Gen.Int[0, 5000]
            from jitterUs in Gen.Int[0, 3000]
            from normal in Gen.Bool
            from loss in Gen.Double[0, 0.5]
            from burst in Gen.Bool
            from reorder in Gen.Double[0, 0.3]
            from duplicate in Gen.Double[0, 0.3]
            from corrupt in Gen.Double[0, 0.3]
            from bits in Gen.Int[1, 15]
            from bandwidth in Gen.OneOf(Gen.Const(0L), Gen.Long[100_000, 1_000_000_000])
            from queue in Gen.Int[0, 50]
            from mtu in Gen.Int[60, 1500]
            select new LinkProfile
            {
                Delay = TimeSpan.FromMicroseconds(delayUs),
                Jitter = TimeSpan.FromMicroseconds(jitterUs),
                JitterDistribution = normal ? JitterDistribution.Normal : JitterDistribution.Uniform,
                LossRate = loss,
                BurstLoss = burst ? new GilbertElliott(0.05, 0.3, 0.01, 0.8) : null,
                ReorderProbability = reorder,
                DuplicateProbability = duplicate,
                CorruptProbability = corrupt,
                MaxCorruptBits = bits,
                BandwidthBitsPerSecond = bandwidth,
                QueueLimitPackets = queue,
                Mtu = mtu,
            };

        Gen.Select(Gen.ULong, profiles, Gen.Int[1, 400]).Sample((seed, profile, count) =>
        {
            var net = new SimulatedNetwork(seed);
            SimulatedNic a = net.AddHost("a");
            SimulatedNic b = net.AddHost("b");
            SimulatedLink link = net.Connect(a, b, profile, LinkProfile.Ideal);
            var sentAt = new Instant[count];
            var atB = new Recorder();
            b.SetReceiver(atB);
            for (int i = 0; i < count; i++)
            {
                sentAt[i] = net.Now;
                a.Send(Ipv4(HostB4, 40 + (int)net.Random.NextBounded(1400), i));
                net.RunFor(TimeSpan.FromMicroseconds(net.Random.NextBounded(300)));
            }

            Assert.True(net.RunUntilIdle(TimeSpan.FromHours(1)));
            LinkCounters c = link.AToB.Counters;
            Assert.Equal(count, c.Sent);
            Assert.Equal(c.Sent + c.Duplicated, c.Delivered + c.Dropped);
            Assert.Equal(0, c.InFlight);
            Assert.Equal(c.Delivered, atB.Received.Count);
            Instant earliest = sentAt[0] + profile.Delay - profile.Jitter * 6;
            Assert.All(atB.Received, r => Assert.True(r.At >= sentAt[0]));
            Assert.True(atB.Received.Count == 0 || atB.Received[0].At >= Instant.Max(Instant.Zero, earliest));
        }, iter: 200);
    }
}
