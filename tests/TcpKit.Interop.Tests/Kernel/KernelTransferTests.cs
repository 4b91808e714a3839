using System.Diagnostics;
using System.Globalization;
using System.Net;
using Xunit.Abstractions;
using System.Net.Sockets;
using System.Security.Cryptography;
using TcpKit.Net;
using static TcpKit.Interop.Tests.Kernel.KernelIo;

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
        var up = RandomBytes(size, 1);
        var down = RandomBytes(size, 2);
        var listener = await ns.Loop.InvokeAsync(() =>
        {
            var l = new TcpKitListener(ns.Host, 9000);
            l.Start();
            return l;
        });
        var server = ns.Loop.InvokeAsync(async () =>
        {
            using var peer = await listener.AcceptTcpClientAsync();
            var stream = peer.GetStream();
            var received = await HashToEnd(stream); // ends at the kernel's FIN (its half-close)
            await WriteAll(stream, down);            // TcpKit keeps sending in CLOSE-WAIT
            peer.Close();
            return received;
        });

        using var socket = ns.KernelSocket();
        var clock = Stopwatch.StartNew();
        await socket.ConnectAsync(TunNamespace.TcpKitAddress, 9000);
        var sending = Task.Run(async () =>
        {
            await SendAll(socket, up);
            socket.Shutdown(SocketShutdown.Send);
        });
        var kernelReceived = await HashToEnd(socket).WaitAsync(Patience);
        await sending.WaitAsync(Patience);
        var tcpkitReceived = await server.WaitAsync(Patience);
        Report("kernel client -> TcpKit server, then back", size, clock);

        Assert.Equal(size, tcpkitReceived.Count);
        Assert.Equal(SHA256.HashData(up), tcpkitReceived.Hash);
        Assert.Equal(size, kernelReceived.Count);
        Assert.Equal(SHA256.HashData(down), kernelReceived.Hash);
    }

    [SkippableTheory]
    [InlineData(1 << 20)]
    [InlineData(20 << 20)]
    [InlineData(100 << 20)]
    public async Task A_TcpKit_client_and_a_kernel_server_move_data_both_ways_intact_after_TcpKit_half_closes(int size)
    {
        TunNamespace.SkipUnlessAvailable();
        using var ns = TunNamespace.Create();
        var up = RandomBytes(size, 3);
        var down = RandomBytes(size, 4);
        using var kernelListener = ns.KernelListener(9001);
        var kernelServer = Task.Run(async () =>
        {
            using var peer = await kernelListener.AcceptAsync();
            var received = await HashToEnd(peer);
            await SendAll(peer, down);
            peer.Shutdown(SocketShutdown.Both);
            return received;
        });

        var clock = Stopwatch.StartNew();
        var tcpkitReceived = await ns.Loop.InvokeAsync(async () =>
        {
            using var client = new TcpKitClient(ns.Host);
            await client.ConnectAsync(TunNamespace.KernelAddress, 9001);
            var stream = client.GetStream();
            var reading = HashToEnd(stream);
            await WriteAll(stream, up);
            client.Shutdown(SocketShutdown.Send); // FIN-WAIT: reading goes on
            var received = await reading;
            client.Close();
            return received;
        }).WaitAsync(Patience);
        var kernelReceived = await kernelServer.WaitAsync(Patience);
        Report("TcpKit client -> kernel server, then back", size, clock);

        Assert.Equal(size, kernelReceived.Count);
        Assert.Equal(SHA256.HashData(up), kernelReceived.Hash);
        Assert.Equal(size, tcpkitReceived.Count);
        Assert.Equal(SHA256.HashData(down), tcpkitReceived.Hash);
    }
}
