using TcpKit.Net.Links;
using TcpKit.Net.Simulation;
using TcpKit.Wire;
using static TcpKit.Net.Tests.Simulation.TestPackets;

namespace TcpKit.Net.Tests.Simulation;

public class AllocationTests
{
    private sealed class CountingReceiver : ILinkReceiver
    {
        public long Count { get; private set; }

        public void OnPacket(ReadOnlySpan<byte> packet, Instant now) => Count++;
    }

    /// <summary>Sends bursts of 500 packets (more than ArrayPool.Shared retains) and returns bytes allocated per packet once warm.</summary>
    private static double BytesPerPacketOnceWarm(LinkProfile profile, bool viaSwitch)
    {
        var net = new SimulatedNetwork(1);
        SimulatedNic a = net.AddHost("a");
        SimulatedNic b = net.AddHost("b");
        if (viaSwitch)
        {
            SimulatedSwitch sw = net.AddSwitch("sw");
            b.AddAddress(HostB4);
            sw.Attach(a, profile);
            sw.Attach(b, profile);
        }
        else
        {
            net.Connect(a, b, profile, LinkProfile.Ideal);
        }

        var receiver = new CountingReceiver();
        b.SetReceiver(receiver);
        byte[] packet = Ipv4(HostB4, 1400, 0);

        void Run(int rounds)
        {
            for (int r = 0; r < rounds; r++)
            {
                for (int i = 0; i < 500; i++)
                {
                    a.Send(packet);
                }

                net.RunFor(TimeSpan.FromMilliseconds(20));
            }
        }

        Run(10);

        // The least of three windows: a per-packet allocation shows in every one, while a one-off allocation of
        // the runtime on this thread (a method moving to its optimized tier while the machine is busy) does not.
        long least = long.MaxValue;
        for (int window = 0; window < 3; window++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            Run(20);
            least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
        }

        Assert.True(receiver.Count > 30_000);
        return least / 10_000.0;
    }

    [Fact]
    public void A_warm_ideal_point_to_point_link_allocates_nothing_per_packet()
    {
        Assert.True(BytesPerPacketOnceWarm(LinkProfile.Ideal, viaSwitch: false) < 0.1);
    }

    [Fact]
    public void A_warm_impaired_switched_path_allocates_nothing_per_packet()
    {
        var profile = new LinkProfile
        {
            Delay = TimeSpan.FromMilliseconds(2),
            Jitter = TimeSpan.FromMilliseconds(1),
            LossRate = 0.01,
            ReorderProbability = 0.05,
            DuplicateProbability = 0.05,
            CorruptProbability = 0.05,
            MaxCorruptBits = 3,
            BandwidthBitsPerSecond = 10_000_000_000,
        };
        // Any object allocated per packet would cost at least 24 bytes each. What remains is the pool
        // growing when random duplicates and reordering push the packets in flight to a new peak.
        Assert.True(BytesPerPacketOnceWarm(profile, viaSwitch: true) < 4);
    }

    [Fact]
    public void The_packet_pool_hands_out_power_of_two_buffers_large_enough_and_reuses_returned_ones()
    {
        var pool = new PacketBufferPool();
        byte[] small = pool.Rent(1);
        Assert.Equal(64, small.Length);
        byte[] mtu = pool.Rent(1500);
        Assert.Equal(2048, mtu.Length);
        Assert.Equal(65536, pool.Rent(65535).Length);
        Assert.Equal(70000, pool.Rent(70000).Length); // beyond any IP packet: exact and not pooled
        pool.Return(mtu);
        Assert.Same(mtu, pool.Rent(1025));
        pool.Return(new byte[1500]); // not one of ours: ignored
        Assert.Equal(2048, pool.Rent(2000).Length);
    }
}
