using System.Numerics;
using TcpKit.Net.Simulation;
using TcpKit.Wire;
using static TcpKit.Net.Tests.Simulation.TestPackets;

namespace TcpKit.Net.Tests.Simulation;

public class ImpairmentTests
{
    private static Instant Ms(long ms) => Instant.FromMilliseconds(ms);

    private static Instant Us(long us) => Instant.FromMicroseconds(us);

    private sealed record Pair(SimulatedNetwork Net, SimulatedNic A, SimulatedNic B, SimulatedLink Link, Recorder AtB)
    {
        public LinkCounters Counters => Link.AToB.Counters;
    }

    private static Pair Connect(LinkProfile aToB, ulong seed = 1)
    {
        var net = new SimulatedNetwork(seed);
        SimulatedNic a = net.AddHost("a");
        SimulatedNic b = net.AddHost("b");
        SimulatedLink link = net.Connect(a, b, aToB, LinkProfile.Ideal);
        var recorder = new Recorder();
        b.SetReceiver(recorder);
        return new Pair(net, a, b, link, recorder);
    }

    [Fact]
    public void Packets_arrive_in_order_after_serialization_at_the_bandwidth_plus_the_delay()
    {
        // 8 Mbit/s: a 1000-byte packet takes exactly 1 ms to serialize.
        Pair p = Connect(new LinkProfile { Delay = TimeSpan.FromMilliseconds(10), BandwidthBitsPerSecond = 8_000_000 });
        for (int i = 0; i < 5; i++)
        {
            p.A.Send(Ipv4(HostB4, 1000, i));
        }

        p.Net.RunUntil(Ms(5));
        p.A.Send(Ipv4(HostB4, 500, 5)); // link busy until 5 ms, so it starts at once and takes 0.5 ms
        p.Net.RunUntilIdle(Ms(1000));

        Assert.Equal([0, 1, 2, 3, 4, 5], p.AtB.Seqs());
        Assert.Equal([Ms(11), Ms(12), Ms(13), Ms(14), Ms(15), Us(15_500)], p.AtB.Received.Select(r => r.At));
        Assert.Equal(6, p.Counters.Delivered);
        Assert.Equal(0, p.Counters.InFlight);
    }

    [Fact]
    public void Serialization_time_rounds_up_to_whole_nanoseconds()
    {
        // 1 byte at 3 bit/s is 8/3 s = 2666666666.67 ns.
        Assert.Equal(2_666_666_667, SimulatedChannel.SerializationNanoseconds(1, 3));
        Assert.Equal(1_000_000, SimulatedChannel.SerializationNanoseconds(1000, 8_000_000));
    }

    [Fact]
    public void The_drop_tail_queue_accepts_exactly_its_limit_behind_the_packet_being_serialized()
    {
        const int limit = 3;
        Pair p = Connect(new LinkProfile { BandwidthBitsPerSecond = 8_000_000, QueueLimitPackets = limit });
        for (int i = 0; i < limit + 3; i++)
        {
            p.A.Send(Ipv4(HostB4, 1000, i));
        }

        Assert.Equal(2, p.Counters.DroppedQueueOverflow);

        // At 1 ms the first packet has left and the second is on the wire: one slot is free again.
        p.Net.RunUntil(Ms(1));
        p.A.Send(Ipv4(HostB4, 1000, 100));
        p.A.Send(Ipv4(HostB4, 1000, 101));
        Assert.Equal(3, p.Counters.DroppedQueueOverflow);

        p.Net.RunUntilIdle(Ms(1000));
        Assert.Equal([0, 1, 2, 3, 100], p.AtB.Seqs());
        Assert.Equal([Ms(1), Ms(2), Ms(3), Ms(4), Ms(5)], p.AtB.Received.Select(r => r.At));
        Assert.Equal(8, p.Counters.Sent);
        Assert.Equal(5, p.Counters.Delivered);
    }

    [Fact]
    public void A_queue_limit_of_zero_accepts_only_a_packet_that_finds_the_link_idle()
    {
        Pair p = Connect(new LinkProfile { BandwidthBitsPerSecond = 8_000_000, QueueLimitPackets = 0 });
        p.A.Send(Ipv4(HostB4, 1000, 0));
        p.A.Send(Ipv4(HostB4, 1000, 1));
        p.Net.RunUntil(Ms(1));
        p.A.Send(Ipv4(HostB4, 1000, 2));
        p.Net.RunUntilIdle(Ms(100));
        Assert.Equal([0, 2], p.AtB.Seqs());
        Assert.Equal(1, p.Counters.DroppedQueueOverflow);
    }

    [Fact]
    public void A_packet_larger_than_the_path_mtu_is_dropped_and_counted()
    {
        Pair p = Connect(new LinkProfile { Mtu = 1000 });
        p.A.Send(Ipv4(HostB4, 1000, 0));
        p.A.Send(Ipv4(HostB4, 1001, 1));
        p.Net.RunUntilIdle(Ms(100));
        Assert.Equal([0], p.AtB.Seqs());
        Assert.Equal(1, p.Counters.DroppedMtu);
        Assert.Equal(2, p.Counters.Sent);
    }

    [Fact]
    public void A_packet_larger_than_the_host_interface_mtu_never_enters_the_link()
    {
        var net = new SimulatedNetwork(1);
        SimulatedNic a = net.AddHost("a", mtu: 1280);
        SimulatedNic b = net.AddHost("b");
        SimulatedLink link = net.Connect(a, b, LinkProfile.Ideal);
        Assert.Equal(1280, a.Mtu);
        a.Send(Ipv6(V6(2), 1281, 0));
        Assert.Equal(1, a.DroppedOversized);
        Assert.Equal(0, link.AToB.Counters.Sent);
    }

    [Fact]
    public void A_host_that_is_not_connected_counts_what_it_sends_as_dropped()
    {
        var net = new SimulatedNetwork(1);
        SimulatedNic a = net.AddHost("a");
        a.Send(Ipv4(HostB4, 100, 0));
        Assert.Equal(1, a.DroppedNotConnected);
        Assert.False(a.IsConnected);
    }

    [Fact]
    public void Arrivals_without_a_receiver_are_dropped_and_counted()
    {
        Pair p = Connect(LinkProfile.Ideal);
        p.B.SetReceiver(null);
        p.A.Send(Ipv4(HostB4, 100, 0));
        p.Net.RunUntilIdle(Ms(1));
        Assert.Equal(1, p.Counters.DroppedNoReceiver);
        Assert.Equal(0, p.Counters.Delivered);
    }

    [Fact]
    public void The_sender_may_reuse_its_buffer_as_soon_as_Send_returns()
    {
        Pair p = Connect(new LinkProfile { Delay = TimeSpan.FromMilliseconds(1) });
        byte[] buffer = Ipv4(HostB4, 64, 1);
        byte[] original = buffer.ToArray();
        p.A.Send(buffer);
        Array.Fill(buffer, (byte)0xEE);
        p.Net.RunUntilIdle(Ms(10));
        Assert.Equal(original, p.AtB.Received.Single().Packet);
    }

    [Fact]
    public void A_link_with_only_deterministic_impairments_draws_no_random_numbers()
    {
        Pair p = Connect(new LinkProfile { Delay = TimeSpan.FromMilliseconds(3), BandwidthBitsPerSecond = 1_000_000, Mtu = 1500 });
        for (int i = 0; i < 1000; i++)
        {
            p.A.Send(Ipv4(HostB4, 100, i));
        }

        p.Net.RunUntilIdle(TimeSpan.FromSeconds(10));
        Assert.Equal(1000, p.Counters.Delivered);
        Assert.Equal(0, p.Link.AToB.RandomDraws);
        Assert.Equal(0, p.Link.BToA.RandomDraws);
    }

    [Fact]
    public void Random_loss_over_100k_packets_matches_the_configured_rate()
    {
        const int n = 100_000;
        Pair p = Connect(new LinkProfile { LossRate = 0.1 }, seed: 2024);
        byte[] packet = Ipv4(HostB4, 40, 0);
        for (int i = 0; i < n; i++)
        {
            p.A.Send(packet);
        }

        p.Net.RunUntilIdle(Ms(1));
        // Binomial(100000, 0.1): standard deviation 95; allow about 4 of them.
        Assert.InRange(p.Counters.DroppedLoss, 9_620, 10_380);
        Assert.Equal(n, p.Counters.Delivered + p.Counters.DroppedLoss);
        Assert.Equal(n, p.Counters.Sent);
    }

    [Fact]
    public void Gilbert_Elliott_loss_comes_in_bursts_with_mean_length_one_over_r()
    {
        const int n = 100_000;
        var model = new GilbertElliott(P: 0.02, R: 0.25);
        (double burstMean, double rate, long dropped) = LossBursts(new LinkProfile { BurstLoss = model }, n, seed: 99);
        // Mean burst 1/r = 4 (about 1850 bursts, standard error 0.08); loss rate p/(p+r) = 0.074.
        Assert.InRange(burstMean, 3.7, 4.3);
        Assert.InRange(rate, 0.068, 0.080);

        // The same loss rate spread independently gives bursts barely longer than one packet.
        (double bernoulliBurstMean, _, long bernoulliDropped) = LossBursts(new LinkProfile { LossRate = 0.074 }, n, seed: 99);
        Assert.InRange(bernoulliBurstMean, 1.0, 1.15);
        Assert.True(dropped > 0 && bernoulliDropped > 0);
    }

    private static (double BurstMean, double Rate, long Dropped) LossBursts(LinkProfile profile, int n, ulong seed)
    {
        Pair p = Connect(profile, seed);
        for (int i = 0; i < n; i++)
        {
            p.A.Send(Ipv4(HostB4, 40, i));
        }

        p.Net.RunUntilIdle(Ms(1));
        var delivered = new bool[n];
        foreach (int seq in p.AtB.Seqs())
        {
            delivered[seq] = true;
        }

        int bursts = 0, lost = 0;
        for (int i = 0; i < n; i++)
        {
            if (!delivered[i])
            {
                lost++;
                if (i == 0 || delivered[i - 1])
                {
                    bursts++;
                }
            }
        }

        long dropped = p.Counters.DroppedBurstLoss + p.Counters.DroppedLoss;
        Assert.Equal(lost, dropped);
        return ((double)lost / bursts, (double)lost / n, dropped);
    }

    [Theory]
    [InlineData(JitterDistribution.Uniform)]
    [InlineData(JitterDistribution.Normal)]
    public void Jitter_varies_the_delay_but_never_reorders_packets(JitterDistribution distribution)
    {
        Pair p = Connect(new LinkProfile
        {
            Delay = TimeSpan.FromMilliseconds(10),
            Jitter = TimeSpan.FromMilliseconds(4),
            JitterDistribution = distribution,
        });
        var sentAt = new Dictionary<int, Instant>();
        for (int i = 0; i < 2000; i++)
        {
            sentAt[i] = p.Net.Now;
            p.A.Send(Ipv4(HostB4, 100, i));
            p.Net.RunFor(TimeSpan.FromMicroseconds(200)); // far less than the jitter
        }

        p.Net.RunUntilIdle(TimeSpan.FromSeconds(1));
        List<int> seqs = p.AtB.Seqs();
        Assert.Equal(Enumerable.Range(0, 2000), seqs);

        var delays = p.AtB.Received.Select((r, i) => (r.At - sentAt[i]).TotalMilliseconds).ToList();
        Assert.All(delays, d => Assert.True(d >= 0));
        Assert.True(delays.Distinct().Count() > 100, "jitter should vary the delay");
        Assert.True(p.AtB.Received.Zip(p.AtB.Received.Skip(1)).All(pair => pair.First.At <= pair.Second.At));
        Assert.Equal(0, p.Counters.Reordered);
    }

    [Fact]
    public void Uniform_jitter_stays_within_plus_or_minus_the_jitter_when_packets_are_spaced_apart()
    {
        Pair p = Connect(new LinkProfile { Delay = TimeSpan.FromMilliseconds(10), Jitter = TimeSpan.FromMilliseconds(2) });
        var delays = new List<double>();
        for (int i = 0; i < 500; i++)
        {
            Instant sent = p.Net.Now;
            p.A.Send(Ipv4(HostB4, 100, i));
            p.Net.RunFor(TimeSpan.FromMilliseconds(20)); // spaced beyond the jitter: the FIFO clamp never applies
            delays.Add((p.AtB.Received[^1].At - sent).TotalMilliseconds);
        }

        Assert.All(delays, d => Assert.InRange(d, 8.0, 12.0));
        Assert.InRange(delays.Average(), 9.8, 10.2);
        Assert.True(delays.Min() < 8.2 && delays.Max() > 11.8, "the whole range should be used");
    }

    [Fact]
    public void Reordered_packets_are_held_back_by_the_reorder_delay_and_overtaken()
    {
        var profile = new LinkProfile
        {
            Delay = TimeSpan.FromMilliseconds(1),
            ReorderProbability = 0.1,
            ReorderDelay = TimeSpan.FromMilliseconds(5),
        };
        Pair p = Connect(profile, seed: 5);
        var sentAt = new Instant[1100];
        for (int i = 0; i < 1100; i++)
        {
            if (i == 1000)
            {
                // The tail is sent in order so that every held-back packet gets overtaken.
                p.Link.AToB.Profile = profile with { ReorderProbability = 0 };
            }

            sentAt[i] = p.Net.Now;
            p.A.Send(Ipv4(HostB4, 100, i));
            p.Net.RunFor(TimeSpan.FromMicroseconds(100));
        }

        p.Net.RunUntilIdle(TimeSpan.FromSeconds(1));
        long reordered = p.Counters.Reordered;
        Assert.InRange(reordered, 70, 130);

        int late = 0, highest = -1;
        foreach ((Instant at, byte[] packet) in p.AtB.Received)
        {
            int seq = SeqOf(packet);
            double delay = (at - sentAt[seq]).TotalMilliseconds;
            if (seq < highest)
            {
                late++;
                Assert.Equal(6.0, delay);
            }
            else
            {
                Assert.Equal(1.0, delay);
                highest = seq;
            }
        }

        Assert.Equal(reordered, late);
        Assert.Equal(1100, p.Counters.Delivered);
    }

    [Fact]
    public void Duplicated_packets_arrive_twice_back_to_back_with_identical_bytes()
    {
        Pair p = Connect(new LinkProfile { DuplicateProbability = 0.2, Delay = TimeSpan.FromMilliseconds(2) }, seed: 8);
        for (int i = 0; i < 10_000; i++)
        {
            p.A.Send(Ipv4(HostB4, 64, i));
        }

        p.Net.RunUntilIdle(Ms(100));
        long duplicated = p.Counters.Duplicated;
        Assert.InRange(duplicated, 1_850, 2_150);
        Assert.Equal(10_000 + duplicated, p.Counters.Delivered);

        int twice = 0;
        var received = p.AtB.Received;
        for (int i = 1; i < received.Count; i++)
        {
            if (SeqOf(received[i].Packet) == SeqOf(received[i - 1].Packet))
            {
                twice++;
                Assert.Equal(received[i - 1].Packet, received[i].Packet);
                Assert.Equal(received[i - 1].At, received[i].At);
            }
        }

        Assert.Equal(duplicated, twice);
        Assert.Equal(Enumerable.Range(0, 10_000), p.AtB.Seqs().Distinct());
    }

    [Fact]
    public void Corruption_flips_one_to_max_bits_that_the_internet_checksum_always_detects()
    {
        const int maxBits = 5;
        Pair p = Connect(new LinkProfile { CorruptProbability = 0.3, MaxCorruptBits = maxBits }, seed: 13);
        var sent = new List<byte[]>();
        var contentRandom = new SimRandom(77);
        for (int i = 0; i < 6000; i++)
        {
            int length = 41 + contentRandom.NextInt32(1400);
            byte[] packet = i % 2 == 0 ? Ipv4(HostB4, length, i) : Ipv6(V6(2), length, i);
            for (int j = 44; j < packet.Length; j++)
            {
                packet[j] = (byte)contentRandom.NextUInt64();
            }

            sent.Add(packet);
            p.A.Send(packet);
        }

        p.Net.RunUntilIdle(Ms(1));
        Assert.Equal(sent.Count, p.AtB.Received.Count);

        int corrupted = 0;
        var bitCounts = new HashSet<int>();
        for (int i = 0; i < sent.Count; i++)
        {
            byte[] before = sent[i], after = p.AtB.Received[i].Packet; // no loss or reordering: same order
            Assert.Equal(before.Length, after.Length);
            int flipped = 0;
            for (int j = 0; j < before.Length; j++)
            {
                flipped += BitOperations.PopCount((uint)(before[j] ^ after[j]));
            }

            if (flipped == 0)
            {
                continue;
            }

            corrupted++;
            bitCounts.Add(flipped);
            Assert.InRange(flipped, 1, maxBits);
            bool v6 = (before[0] >> 4) == 6;
            if (v6)
            {
                // Version, traffic class, flow label, payload length, next header and hop limit are not covered by any checksum.
                Assert.Equal(before.AsSpan(0, 8).ToArray(), after.AsSpan(0, 8).ToArray());
                Assert.NotEqual(OnesComplementSum(before.AsSpan(8)), OnesComplementSum(after.AsSpan(8)));
            }
            else
            {
                // The IPv4 header checksum covers bytes 0..19, the TCP checksum the rest: each region
                // that took a flip must show a different sum.
                AssertSumChangesIfTouched(before.AsSpan(0, 20), after.AsSpan(0, 20));
                AssertSumChangesIfTouched(before.AsSpan(20), after.AsSpan(20));
            }
        }

        Assert.Equal(p.Counters.Corrupted, corrupted);
        Assert.InRange(corrupted, 1_650, 1_950);
        Assert.Equal(new HashSet<int> { 1, 2, 3, 4, 5 }, bitCounts);
    }

    private static void AssertSumChangesIfTouched(ReadOnlySpan<byte> before, ReadOnlySpan<byte> after)
    {
        if (!before.SequenceEqual(after))
        {
            Assert.NotEqual(OnesComplementSum(before), OnesComplementSum(after));
        }
    }

    /// <summary>RFC 1071 sum of 16-bit big-endian words, reduced modulo 0xFFFF (so 0x0000 and 0xFFFF, both zero in one's complement, compare equal).</summary>
    private static long OnesComplementSum(ReadOnlySpan<byte> data)
    {
        long sum = 0;
        for (int i = 0; i + 1 < data.Length; i += 2)
        {
            sum += (data[i] << 8) | data[i + 1];
        }

        if ((data.Length & 1) != 0)
        {
            sum += data[^1] << 8;
        }

        return sum % 0xFFFF;
    }

    [Fact]
    public void Invalid_profiles_are_rejected_with_the_setting_named()
    {
        var net = new SimulatedNetwork(1);
        SimulatedNic a = net.AddHost("a");
        SimulatedNic b = net.AddHost("b");
        var ex = Assert.Throws<ArgumentException>(() => net.Connect(a, b, new LinkProfile { LossRate = 1.5 }));
        Assert.Contains("LossRate", ex.Message);
        Assert.Throws<ArgumentException>(() => net.Connect(a, b, new LinkProfile { MaxCorruptBits = 16 }));
        Assert.Throws<ArgumentException>(() => net.Connect(a, b, new LinkProfile { Delay = TimeSpan.FromTicks(-1) }));
        Assert.Throws<ArgumentException>(() => net.Connect(a, b, new LinkProfile { Jitter = TimeSpan.MaxValue }));
        Assert.Throws<ArgumentException>(() => net.Connect(a, b, new LinkProfile { QueueLimitPackets = -1 }));
        Assert.Throws<ArgumentException>(() => net.Connect(a, b, new LinkProfile { BandwidthBitsPerSecond = -8 }));
        Assert.Throws<ArgumentException>(() => net.Connect(a, b, new LinkProfile { BurstLoss = new GilbertElliott(double.NaN, 0.5) }));
        Assert.Throws<ArgumentException>(() => net.Connect(a, b, new LinkProfile { Mtu = 0 }));
        Assert.False(a.IsConnected);
    }

    [Fact]
    public void Replacing_a_profile_with_an_invalid_one_is_refused_and_keeps_the_old_one()
    {
        Pair p = Connect(new LinkProfile { Delay = TimeSpan.FromMilliseconds(1) });
        LinkProfile before = p.Link.AToB.Profile;
        Assert.Throws<ArgumentException>(() => p.Link.AToB.Profile = before with { DuplicateProbability = -0.1 });
        Assert.Same(before, p.Link.AToB.Profile);
    }

    [Fact]
    public void A_host_cannot_be_connected_twice()
    {
        var net = new SimulatedNetwork(1);
        SimulatedNic a = net.AddHost("a");
        SimulatedNic b = net.AddHost("b");
        SimulatedNic c = net.AddHost("c");
        net.Connect(a, b, LinkProfile.Ideal);
        Assert.Throws<InvalidOperationException>(() => net.Connect(a, c, LinkProfile.Ideal));
        Assert.Throws<ArgumentException>(() => net.Connect(c, c, LinkProfile.Ideal));
    }
}
