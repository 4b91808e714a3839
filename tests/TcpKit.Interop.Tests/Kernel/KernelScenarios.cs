using System.Net.Sockets;
using System.Security.Cryptography;
using TcpKit.Net;
using static TcpKit.Interop.Tests.Kernel.KernelIo;

namespace TcpKit.Interop.Tests.Kernel;

/// <summary>Transfers between the kernel and TcpKit in a <see cref="TunNamespace"/>, in its IP version, checked by SHA-256.</summary>
internal static class KernelScenarios
{
    /// <summary>
    /// A kernel client sends <paramref name="size"/> bytes to a TcpKit server and half-closes; TcpKit then
    /// sends <paramref name="size"/> bytes back from CLOSE-WAIT and closes. Asserts both directions arrived intact.
    /// </summary>
    public static async Task KernelClientToTcpKitServer(TunNamespace ns, int size, int port, TimeSpan? patience = null)
    {
        var limit = patience ?? Patience;
        var up = RandomBytes(size, 1);
        var down = RandomBytes(size, 2);
        var listener = await ns.Loop.InvokeAsync(() =>
        {
            var l = new TcpKitListener(ns.Host, port);
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
        await socket.ConnectAsync(ns.TcpKit, port).WaitAsync(limit);
        var sending = Task.Run(async () =>
        {
            await SendAll(socket, up);
            socket.Shutdown(SocketShutdown.Send);
        });
        var kernelReceived = await HashToEnd(socket).WaitAsync(limit);
        await sending.WaitAsync(limit);
        var tcpkitReceived = await server.WaitAsync(limit);

        Assert.Equal(size, tcpkitReceived.Count);
        Assert.Equal(SHA256.HashData(up), tcpkitReceived.Hash);
        Assert.Equal(size, kernelReceived.Count);
        Assert.Equal(SHA256.HashData(down), kernelReceived.Hash);
    }

    /// <summary>
    /// A TcpKit client sends <paramref name="size"/> bytes to a kernel server and half-closes (FIN-WAIT, still
    /// reading); the kernel sends <paramref name="size"/> bytes back and closes. Asserts both directions arrived intact.
    /// </summary>
    public static async Task TcpKitClientToKernelServer(TunNamespace ns, int size, int port, TimeSpan? patience = null)
    {
        var limit = patience ?? Patience;
        var up = RandomBytes(size, 3);
        var down = RandomBytes(size, 4);
        using var kernelListener = ns.KernelListener(port);
        var kernelServer = Task.Run(async () =>
        {
            using var peer = await kernelListener.AcceptAsync();
            var received = await HashToEnd(peer);
            await SendAll(peer, down);
            peer.Shutdown(SocketShutdown.Both);
            return received;
        });

        var tcpkitReceived = await ns.Loop.InvokeAsync(async () =>
        {
            using var client = new TcpKitClient(ns.Host);
            await client.ConnectAsync(ns.Kernel, port);
            var stream = client.GetStream();
            var reading = HashToEnd(stream);
            await WriteAll(stream, up);
            client.Shutdown(SocketShutdown.Send); // FIN-WAIT: reading goes on
            var received = await reading;
            client.Close();
            return received;
        }).WaitAsync(limit);
        var kernelReceived = await kernelServer.WaitAsync(limit);

        Assert.Equal(size, kernelReceived.Count);
        Assert.Equal(SHA256.HashData(up), kernelReceived.Hash);
        Assert.Equal(size, tcpkitReceived.Count);
        Assert.Equal(SHA256.HashData(down), tcpkitReceived.Hash);
    }
}
