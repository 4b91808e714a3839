using System.Net;
using System.Net.Sockets;
using TcpKit.Interop.Tests.Infrastructure;

namespace TcpKit.Interop.Tests.Analysis;

/// <summary>Linux TCP conversations that exercise Wireshark's expert analysis: loss, zero windows, keep-alives, port reuse.</summary>
internal static class AnalysisTraffic
{
    /// <summary>Drops a random <paramref name="percent"/>% of the TCP segments arriving at <paramref name="ns"/> on <paramref name="port"/> (nftables numgen).</summary>
    public static IDisposable DropIncoming(string ns, int port, int percent)
    {
        string table = "tkloss" + port;
        Tool.Run("ip", "netns", "exec", ns, "nft", "add", "table", "inet", table);
        Tool.Run("ip", "netns", "exec", ns, "nft", "add", "chain", "inet", table, "input", "{ type filter hook input priority 0 ; }");
        Tool.Run("ip", "netns", "exec", ns, "nft", "add", "rule", "inet", table, "input", "tcp", "dport", port.ToString(), "numgen", "random", "mod", "100", "<", percent.ToString(), "drop");
        return new Cleanup(() => Tool.RunFull("ip", ["netns", "exec", ns, "nft", "delete", "table", "inet", table]));
    }

    /// <summary>The client sends <paramref name="bytes"/> to the server, which checks them; then an orderly close.</summary>
    public static void Bulk(NetnsPair net, IPAddress server, int port, int bytes)
    {
        using var listener = NetnsPair.InNamespace(net.NsB, () => KernelTraffic.Listen(server, port));
        using var client = NetnsPair.InNamespace(net.NsA, () => new Socket(server.AddressFamily, SocketType.Stream, ProtocolType.Tcp));
        client.Connect(server, port);
        using var accepted = listener.Accept();
        var data = KernelTraffic.Pattern(bytes, port);
        var send = Task.Run(() =>
        {
            client.Send(data);
            client.Shutdown(SocketShutdown.Send);
        });
        Assert.Equal(data, KernelTraffic.ReadExactly(accepted, bytes));
        send.Wait();
        accepted.Close();
        client.ReceiveTimeout = 10_000;
        Assert.Equal(0, client.Receive(new byte[16]));
        client.Close();
        Thread.Sleep(50);
    }

    /// <summary>
    /// A receiver with a small buffer that stops reading: the sender fills the window (Window Full), the
    /// receiver advertises zero (ZeroWindow), the sender probes (ZeroWindowProbe / ACK), then reading resumes (Window Update).
    /// </summary>
    public static void StalledReader(NetnsPair net, IPAddress server, int port, int bytes, TimeSpan stall)
    {
        using var listener = NetnsPair.InNamespace(net.NsB, () => KernelTraffic.Listen(server, port, receiveBufferSize: 4096));
        using var client = NetnsPair.InNamespace(net.NsA, () => new Socket(server.AddressFamily, SocketType.Stream, ProtocolType.Tcp));
        client.Connect(server, port);
        using var accepted = listener.Accept();
        var data = KernelTraffic.Pattern(bytes, port);
        var send = Task.Run(() =>
        {
            client.Send(data);
            client.Shutdown(SocketShutdown.Send);
        });
        Thread.Sleep(stall);
        Assert.Equal(data, KernelTraffic.ReadExactly(accepted, bytes));
        send.Wait();
        accepted.Close();
        client.ReceiveTimeout = 10_000;
        Assert.Equal(0, client.Receive(new byte[16]));
        client.Close();
        Thread.Sleep(50);
    }

    /// <summary>An idle connection with SO_KEEPALIVE after 1 s, every 1 s: keep-alives and their ACKs.</summary>
    public static void KeepAlive(NetnsPair net, IPAddress server, int port, TimeSpan idle)
    {
        using var listener = NetnsPair.InNamespace(net.NsB, () => KernelTraffic.Listen(server, port));
        using var client = NetnsPair.InNamespace(net.NsA, () => new Socket(server.AddressFamily, SocketType.Stream, ProtocolType.Tcp));
        client.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
        client.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime, 1);
        client.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveInterval, 1);
        client.Connect(server, port);
        using var accepted = listener.Accept();
        client.Send("ping"u8);
        KernelTraffic.ReadExactly(accepted, 4);
        Thread.Sleep(idle);
        client.Close();
        Assert.Equal(0, accepted.Receive(new byte[16]));
        accepted.Close();
        Thread.Sleep(50);
    }

    /// <summary>
    /// <paramref name="count"/> short connections from the same client port: the server closes first (so the
    /// server keeps TIME-WAIT and accepts the next SYN on the same 4-tuple), each is a new tcp.stream with reused ports.
    /// </summary>
    public static void PortReuse(NetnsPair net, IPAddress server, int port, int clientPort, int count)
    {
        using var listener = NetnsPair.InNamespace(net.NsB, () => KernelTraffic.Listen(server, port));
        for (int i = 0; i < count; i++)
        {
            using var client = NetnsPair.InNamespace(net.NsA, () =>
            {
                var s = new Socket(server.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                s.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
                s.Bind(new IPEndPoint(server.AddressFamily == AddressFamily.InterNetwork ? IPAddress.Any : IPAddress.IPv6Any, clientPort));
                return s;
            });
            client.Connect(server, port);
            using var accepted = listener.Accept();
            client.Send("hello"u8);
            KernelTraffic.ReadExactly(accepted, 5);
            accepted.Send("bye"u8);
            accepted.Close();
            client.ReceiveTimeout = 10_000;
            var buffer = new byte[16];
            int got = 0;
            while (true)
            {
                int n = client.Receive(buffer, got, buffer.Length - got, SocketFlags.None);
                if (n == 0)
                {
                    break;
                }

                got += n;
            }

            Assert.Equal(3, got);
            client.Close();
            Thread.Sleep(30);
        }
    }

    private sealed class Cleanup(Action action) : IDisposable
    {
        public void Dispose() => action();
    }
}
