using System.Net.Sockets;
using TcpKit.Net;
using static TcpKit.Interop.Tests.Kernel.KernelIo;

namespace TcpKit.Interop.Tests.Kernel;

/// <summary>The kernel and TcpKit over IPv6 on a TUN interface (2001:db8::/64), in a namespace per test.</summary>
[Collection("kernel")]
public class KernelIpv6Tests
{
    [SkippableFact]
    public void The_kernel_side_of_the_interface_gets_its_IPv6_address_without_the_ip_tool()
    {
        TunNamespace.SkipUnlessAvailable();
        using var ns = TunNamespace.Create(ipv6: true);
        var addresses = ns.Exec("ip", "-o", "-6", "addr", "show", "dev", TunNamespace.Interface);
        Assert.Contains("2001:db8::2/64", addresses, StringComparison.Ordinal);
        Assert.DoesNotContain("tentative", addresses, StringComparison.Ordinal);
        Assert.Contains("2001:db8::/64 dev " + TunNamespace.Interface, ns.Exec("ip", "-6", "route", "show"), StringComparison.Ordinal);
    }

    [SkippableTheory]
    [InlineData(1 << 20)]
    [InlineData(20 << 20)]
    public async Task A_kernel_client_and_a_TcpKit_server_move_data_both_ways_intact_over_IPv6(int size)
    {
        TunNamespace.SkipUnlessAvailable();
        using var ns = TunNamespace.Create(ipv6: true);
        await KernelScenarios.KernelClientToTcpKitServer(ns, size, 9100);
    }

    [SkippableTheory]
    [InlineData(1 << 20)]
    [InlineData(20 << 20)]
    public async Task A_TcpKit_client_and_a_kernel_server_move_data_both_ways_intact_over_IPv6(int size)
    {
        TunNamespace.SkipUnlessAvailable();
        using var ns = TunNamespace.Create(ipv6: true);
        await KernelScenarios.TcpKitClientToKernelServer(ns, size, 9101);
    }

    [SkippableFact]
    public async Task TcpKit_advertises_an_MSS_of_the_MTU_less_60_bytes_of_IPv6_and_TCP_headers()
    {
        TunNamespace.SkipUnlessAvailable();
        using var ns = TunNamespace.Create(ipv6: true);
        var listener = await ns.Loop.InvokeAsync(() =>
        {
            var l = new TcpKitListener(ns.Host, 9102) { Config = ns.Host.Config };
            l.Start();
            return l;
        });
        var accepted = ns.Loop.InvokeAsync(async () => await listener.AcceptTcpClientAsync());
        using var socket = ns.KernelSocket();
        await socket.ConnectAsync(ns.TcpKit, 9102).WaitAsync(Patience);
        using var peer = await accepted.WaitAsync(Patience);

        var ss = ns.Exec("ss", "-tin", "dst", "[2001:db8::1]:9102");
        Assert.Matches(@"\bmss:1440\b", ss);
    }
}
