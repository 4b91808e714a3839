using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace TcpKit.Interop.Tests.Infrastructure;

/// <summary>Real Linux TCP conversations between the two namespaces of a <see cref="NetnsPair"/>.</summary>
internal static class KernelTraffic
{
    /// <summary>The lesson: the client sends "a" then "b", the server closes first, then the client.</summary>
    public static void Lesson(NetnsPair net, IPAddress server, int port)
    {
        using var listener = NetnsPair.InNamespace(net.NsB, () => Listen(server, port));
        using var client = NetnsPair.InNamespace(net.NsA, () => new Socket(server.AddressFamily, SocketType.Stream, ProtocolType.Tcp));
        client.Connect(server, port);
        using var accepted = listener.Accept();
        client.Send("a"u8);
        ReadExactly(accepted, 1);
        Thread.Sleep(50);
        client.Send("b"u8);
        ReadExactly(accepted, 1);
        Thread.Sleep(50);
        accepted.Close(); // the server program is stopped: FIN from the server
        Assert.Equal(0, client.Receive(new byte[16]));
        client.Close();
        Thread.Sleep(50);
    }

    /// <summary>Bulk data in both directions with distinct byte patterns, then an orderly close.</summary>
    public static void BothWays(NetnsPair net, IPAddress server, int port, int bytesEachWay)
    {
        using var listener = NetnsPair.InNamespace(net.NsB, () => Listen(server, port));
        using var client = NetnsPair.InNamespace(net.NsA, () => new Socket(server.AddressFamily, SocketType.Stream, ProtocolType.Tcp));
        client.Connect(server, port);
        using var accepted = listener.Accept();
        var up = Pattern(bytesEachWay, 7);
        var down = Pattern(bytesEachWay, 13);
        var sendUp = Task.Run(() => client.Send(up));
        var sendDown = Task.Run(() => accepted.Send(down));
        Assert.Equal(up, ReadExactly(accepted, bytesEachWay));
        Assert.Equal(down, ReadExactly(client, bytesEachWay));
        sendUp.Wait();
        sendDown.Wait();
        client.Shutdown(SocketShutdown.Send);
        Assert.Equal(0, accepted.Receive(new byte[16]));
        accepted.Close();
        Assert.Equal(0, client.Receive(new byte[16]));
        client.Close();
        Thread.Sleep(50);
    }

    /// <summary>A connection attempt to a port nobody listens on: SYN answered by RST.</summary>
    public static void Refused(NetnsPair net, IPAddress server, int port)
    {
        using var client = NetnsPair.InNamespace(net.NsA, () => new Socket(server.AddressFamily, SocketType.Stream, ProtocolType.Tcp));
        var e = Assert.Throws<SocketException>(() => client.Connect(server, port));
        Assert.Equal(SocketError.ConnectionRefused, e.SocketErrorCode);
    }

    /// <summary>
    /// A connection attempt that a firewall in the server's namespace rejects with an ICMP(v6) port
    /// unreachable, which quotes the client's SYN: the capture then holds TCP headers inside ICMP errors.
    /// Linux ends a SYN-SENT connection on such an error with ECONNREFUSED (tcp_v4_err / tcp_v6_err).
    /// </summary>
    public static void RejectedByIcmp(NetnsPair net, IPAddress server, int port)
    {
        if (!Tool.Exists("nft"))
        {
            return;
        }

        string table = $"icmpreject{port}";
        Tool.Run("ip", "netns", "exec", net.NsB, "nft", "add", "table", "inet", table);
        Tool.Run("ip", "netns", "exec", net.NsB, "nft", "add", "chain", "inet", table, "input", "{ type filter hook input priority 0 ; }");
        Tool.Run("ip", "netns", "exec", net.NsB, "nft", "add", "rule", "inet", table, "input", "tcp", "dport", port.ToString(CultureInfo.InvariantCulture), "reject", "with", "icmpx", "type", "port-unreachable");
        try
        {
            using var client = NetnsPair.InNamespace(net.NsA, () => new Socket(server.AddressFamily, SocketType.Stream, ProtocolType.Tcp));
            var e = Assert.Throws<SocketException>(() => client.Connect(server, port));
            Assert.Equal(SocketError.ConnectionRefused, e.SocketErrorCode);
        }
        finally
        {
            Tool.Run("ip", "netns", "exec", net.NsB, "nft", "delete", "table", "inet", table);
        }
    }

    /// <summary>An abortive close (SO_LINGER 0): the client resets an established connection.</summary>
    public static void Reset(NetnsPair net, IPAddress server, int port)
    {
        using var listener = NetnsPair.InNamespace(net.NsB, () => Listen(server, port));
        using var client = NetnsPair.InNamespace(net.NsA, () => new Socket(server.AddressFamily, SocketType.Stream, ProtocolType.Tcp));
        client.Connect(server, port);
        using var accepted = listener.Accept();
        client.Send("hello"u8);
        ReadExactly(accepted, 5);
        client.LingerState = new LingerOption(true, 0);
        client.Close();
        Thread.Sleep(50);
    }

    /// <summary>A listening socket with SO_REUSEADDR (create it inside the namespace).</summary>
    internal static Socket Listen(IPAddress address, int port, int? receiveBufferSize = null)
    {
        var s = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        if (receiveBufferSize is int size)
        {
            s.ReceiveBufferSize = size; // before listen(), so accepted sockets inherit it
        }

        s.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        s.Bind(new IPEndPoint(address, port));
        s.Listen(16);
        return s;
    }

    public static byte[] Pattern(int length, int seed)
    {
        var data = new byte[length];
        uint x = (uint)seed * 2654435761u;
        for (int i = 0; i < data.Length; i++)
        {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            data[i] = (byte)x;
        }

        return data;
    }

    /// <summary>Reads exactly <paramref name="count"/> bytes; EOF before that is an error.</summary>
    internal static byte[] ReadExactly(Socket s, int count)
    {
        var buffer = new byte[count];
        int got = 0;
        s.ReceiveTimeout = 30_000;
        while (got < count)
        {
            int n = s.Receive(buffer, got, count - got, SocketFlags.None);
            if (n == 0)
            {
                throw new InvalidOperationException($"EOF after {got} of {count} bytes");
            }

            got += n;
        }

        return buffer;
    }
}
