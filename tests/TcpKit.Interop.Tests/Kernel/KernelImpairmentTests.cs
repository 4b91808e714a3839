using System.Diagnostics;
using System.Net.Sockets;
using TcpKit.Net;
using TcpKit.Net.Simulation;
using static TcpKit.Interop.Tests.Kernel.KernelIo;

namespace TcpKit.Interop.Tests.Kernel;

/// <summary>
/// Impairments on TcpKit's side of the TUN link (an <see cref="Net.Links.ImpairedLink"/> between the host and
/// the device, in real time): every transfer with the kernel still completes intact, and the counters show
/// that the impairment really happened in both directions.
/// </summary>
[Collection("kernel")]
public class KernelImpairmentTests
{
    private static readonly TimeSpan Slow = TimeSpan.FromMinutes(4);

    [SkippableTheory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Transfers_stay_intact_when_TcpKits_side_loses_5_percent_of_packets_each_way(bool ipv6)
    {
        TunNamespace.SkipUnlessAvailable();
        using var ns = TunNamespace.Create(ipv6: ipv6, impairment: new LinkProfile { LossRate = 0.05 }, seed: 5);
        await KernelScenarios.KernelClientToTcpKitServer(ns, 256 << 10, 9200, Slow);
        await KernelScenarios.TcpKitClientToKernelServer(ns, 256 << 10, 9201, Slow);

        var (outbound, inbound) = await ns.Loop.InvokeAsync(() => (ns.Impairment!.Outbound.Lost, ns.Impairment.Inbound.Lost));
        Assert.True(outbound > 0, "nothing TcpKit sent was lost");
        Assert.True(inbound > 0, "nothing the kernel sent was lost");
    }

    [SkippableFact]
    public async Task Transfers_stay_intact_when_TcpKits_side_reorders_and_duplicates_packets()
    {
        TunNamespace.SkipUnlessAvailable();
        var profile = new LinkProfile { ReorderProbability = 0.05, ReorderDelay = TimeSpan.FromMilliseconds(2), DuplicateProbability = 0.02 };
        using var ns = TunNamespace.Create(impairment: profile, seed: 6);
        await KernelScenarios.KernelClientToTcpKitServer(ns, 1 << 20, 9202, Slow);
        await KernelScenarios.TcpKitClientToKernelServer(ns, 1 << 20, 9203, Slow);

        var counters = await ns.Loop.InvokeAsync(() => (ns.Impairment!.Outbound, ns.Impairment.Inbound));
        Assert.True(counters.Outbound.Reordered > 0 && counters.Inbound.Reordered > 0, $"out: {counters.Outbound}; in: {counters.Inbound}");
        Assert.True(counters.Outbound.Duplicated > 0 && counters.Inbound.Duplicated > 0, $"out: {counters.Outbound}; in: {counters.Inbound}");

        // Nothing stays stuck in the delay queue: a packet held back 2 ms at the very end (a last ACK) may
        // still be waiting when the transfers report completion, so give the queue a moment to drain.
        long queued = counters.Outbound.Queued;
        for (int i = 0; i < 100 && queued != 0; i++)
        {
            await Task.Delay(20);
            queued = await ns.Loop.InvokeAsync(() => ns.Impairment!.Outbound.Queued);
        }

        Assert.Equal(0, queued);
    }

    [SkippableFact]
    public async Task Transfers_stay_intact_with_20_ms_delay_and_jitter_each_way_and_the_handshake_takes_the_round_trip()
    {
        TunNamespace.SkipUnlessAvailable();
        var profile = new LinkProfile { Delay = TimeSpan.FromMilliseconds(20), Jitter = TimeSpan.FromMilliseconds(3) };
        using var ns = TunNamespace.Create(impairment: profile, seed: 7);
        var listener = await ns.Loop.InvokeAsync(() =>
        {
            var l = new TcpKitListener(ns.Host, 9204);
            l.Start();
            return l;
        });
        var accepted = ns.Loop.InvokeAsync(async () => await listener.AcceptTcpClientAsync());
        using (var socket = ns.KernelSocket())
        {
            // SYN in (20 ms) and SYN-ACK out (20 ms), each within 3 ms of jitter.
            var clock = Stopwatch.StartNew();
            await socket.ConnectAsync(ns.TcpKit, 9204).WaitAsync(Patience);
            Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(34), $"the handshake took {clock.Elapsed.TotalMilliseconds} ms");
            using var peer = await accepted.WaitAsync(Patience);
        }

        await KernelScenarios.KernelClientToTcpKitServer(ns, 1 << 20, 9205, Slow);
        await KernelScenarios.TcpKitClientToKernelServer(ns, 1 << 20, 9206, Slow);
    }

    [SkippableFact]
    public async Task Transfers_stay_intact_with_loss_reordering_and_delay_together()
    {
        TunNamespace.SkipUnlessAvailable();
        var profile = new LinkProfile { LossRate = 0.05, ReorderProbability = 0.05, Delay = TimeSpan.FromMilliseconds(20) };
        using var ns = TunNamespace.Create(impairment: profile, seed: 8);
        await KernelScenarios.KernelClientToTcpKitServer(ns, 128 << 10, 9207, Slow);
        await KernelScenarios.TcpKitClientToKernelServer(ns, 128 << 10, 9208, Slow);
    }
}
