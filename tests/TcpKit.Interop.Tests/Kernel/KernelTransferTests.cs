using System.Diagnostics;
using System.Globalization;
using Xunit.Abstractions;

namespace TcpKit.Interop.Tests.Kernel;

/// <summary>The Linux kernel's TCP as TcpKit's peer over a TUN interface, in a namespace per test.</summary>
[Collection("kernel")]
public class KernelTransferTests(ITestOutputHelper output)
{
    private void Report(string what, int size, Stopwatch clock) =>
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{what}: {size >> 20} MiB each way in {clock.Elapsed.TotalSeconds:0.00} s ({2.0 * size * 8 / clock.Elapsed.TotalSeconds / 1e6:0} Mbit/s both directions together)"));

    [SkippableTheory]
    [InlineData(1 << 20)]
    [InlineData(20 << 20)]
    [InlineData(100 << 20)]
    public async Task A_kernel_client_and_a_TcpKit_server_move_data_both_ways_intact_after_the_kernel_half_closes(int size)
    {
        TunNamespace.SkipUnlessAvailable();
        using var ns = TunNamespace.Create();
        var clock = Stopwatch.StartNew();
        await KernelScenarios.KernelClientToTcpKitServer(ns, size, 9000);
        Report("kernel client -> TcpKit server, then back", size, clock);
    }

    [SkippableTheory]
    [InlineData(1 << 20)]
    [InlineData(20 << 20)]
    [InlineData(100 << 20)]
    public async Task A_TcpKit_client_and_a_kernel_server_move_data_both_ways_intact_after_TcpKit_half_closes(int size)
    {
        TunNamespace.SkipUnlessAvailable();
        using var ns = TunNamespace.Create();
        var clock = Stopwatch.StartNew();
        await KernelScenarios.TcpKitClientToKernelServer(ns, size, 9001);
        Report("TcpKit client -> kernel server, then back", size, clock);
    }
}
