using System.Net.Sockets;
using System.Security.Cryptography;
using TcpKit.Net.Host;
using TcpKit.Net.Simulation;
using TcpKit.Tcp;
using TcpKit.Wire;
using TcpKit.Wire.Ip;
using TcpKit.Wire.Tcp;

namespace TcpKit.Net.Tests.Host;

public class HostStackTests
{
    [Fact]
    public void The_lesson_runs_over_the_simulated_network_and_the_server_that_closed_first_waits_in_TIME_WAIT()
    {
        var sim = new SimPair();
        var listener = new TcpKitListener(sim.Server, 9999);
        listener.Start();
        var received = new List<byte>();
        var server = sim.Loop.Start(async () =>
        {
            using var peer = await listener.AcceptTcpClientAsync();
            var stream = peer.GetStream();
            var buffer = new byte[16];
            while (received.Count < 2)
            {
                int n = await stream.ReadAsync(buffer);
                received.AddRange(buffer.AsSpan(0, n).ToArray());
            }

            peer.Close(); // the server program is stopped: it closes first
        });
        TcpKitClient? client = null;
        HostConnection? serverSide = null;
        sim.Server.ConnectionEvent += (c, _) => serverSide ??= c;
        var clientTask = sim.Loop.Start(async () =>
        {
            client = new TcpKitClient(sim.Client);
            await client.ConnectAsync(SimPair.ServerAddress, 9999);
            var stream = client.GetStream();
            await stream.WriteAsync("a"u8.ToArray());
            await Task.Delay(0);
            await stream.WriteAsync("b"u8.ToArray());
            Assert.Equal(0, await stream.ReadAsync(new byte[8])); // EOF: the server's FIN
            client.Close();
        });

        sim.Run(TimeSpan.FromSeconds(5), server, clientTask);
        sim.Network.RunFor(TimeSpan.FromSeconds(1));
        Assert.Equal("ab"u8.ToArray(), received.ToArray());
        // The side that sends the first FIN waits in TIME-WAIT (RFC 9293 section 3.6): here the server.
        Assert.Equal(TcpState.TimeWait, serverSide!.State);
        Assert.Equal(TcpState.Closed, client!.State);
        sim.Network.RunFor(TimeSpan.FromMinutes(2));
        Assert.Equal(TcpState.Closed, serverSide.State);
        Assert.Equal(0, sim.Client.ConnectionCount);
        Assert.Equal(0, sim.Server.ConnectionCount);
    }

    [Fact]
    public void Connecting_to_a_port_nobody_listens_on_fails_with_ConnectionRefused()
    {
        var sim = new SimPair();
        var task = sim.Loop.Start(async () =>
        {
            var client = new TcpKitClient(sim.Client);
            var e = await Assert.ThrowsAsync<SocketException>(() => client.ConnectAsync(SimPair.ServerAddress, 81));
            Assert.Equal(SocketError.ConnectionRefused, e.SocketErrorCode);
        });
        sim.Run(TimeSpan.FromSeconds(5), task);
        Assert.Equal(1, sim.Server.Counters.ResetsSent);
        Assert.Equal(1, sim.Server.Counters.Drops(HostDropReason.NoConnection));
    }

    [Fact]
    public void Connecting_to_a_silent_address_times_out_after_the_SYN_retries()
    {
        var sim = new SimPair(clientToServer: new LinkProfile { Delay = TimeSpan.FromMilliseconds(10), LossRate = 1.0 });
        var task = sim.Loop.Start(async () =>
        {
            var client = new TcpKitClient(sim.Client) { Config = TcpConfig.Linux with { SynRetries = 2 } };
            var e = await Assert.ThrowsAsync<SocketException>(() => client.ConnectAsync(SimPair.ServerAddress, 80));
            Assert.Equal(SocketError.TimedOut, e.SocketErrorCode);
        });
        sim.Run(TimeSpan.FromMinutes(1), task);
        // Linux profile: SYN at 0, retries at 1 s and 3 s, give up after a further 4 s.
        Assert.InRange(sim.Network.Now.TotalSeconds, 6.9, 7.1);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_megabyte_crosses_intact_both_ways_with_half_close(bool ipv6)
    {
        var sim = new SimPair(seed: 7);
        var listener = new TcpKitListener(sim.Server, 5001);
        listener.Start();
        var up = RandomNumberGenerator.GetBytes(1 << 20);
        var down = RandomNumberGenerator.GetBytes(300_000);
        byte[]? gotUp = null, gotDown = null;
        var server = sim.Loop.Start(async () =>
        {
            using var peer = await listener.AcceptTcpClientAsync();
            var stream = peer.GetStream();
            gotUp = await ReadToEnd(stream); // the client half-closed: EOF while we can still send
            await stream.WriteAsync(down);
            peer.Close();
        });
        var client = sim.Loop.Start(async () =>
        {
            using var c = new TcpKitClient(sim.Client);
            await c.ConnectAsync(ipv6 ? SimPair.ServerAddress6 : SimPair.ServerAddress, 5001);
            var stream = c.GetStream();
            await stream.WriteAsync(up);
            c.Shutdown(SocketShutdown.Send);
            gotDown = await ReadToEnd(stream);
        });
        sim.Run(TimeSpan.FromMinutes(1), server, client);
        Assert.Equal(SHA256.HashData(up), SHA256.HashData(gotUp!));
        Assert.Equal(SHA256.HashData(down), SHA256.HashData(gotDown!));
    }

    [Theory]
    [InlineData(0.05, 0.0, 0.0, 0.0)]
    [InlineData(0.0, 0.05, 0.0, 0.0)]
    [InlineData(0.0, 0.0, 0.05, 0.0)]
    [InlineData(0.0, 0.0, 0.0, 0.05)]
    public void Data_survives_loss_reordering_duplication_and_corruption(double loss, double reorder, double duplicate, double corrupt)
    {
        // One flipped bit always changes the Internet checksum; two compensating flips could fool it.
        var profile = new LinkProfile { Delay = TimeSpan.FromMilliseconds(5), LossRate = loss, ReorderProbability = reorder, ReorderDelay = TimeSpan.FromMilliseconds(3), DuplicateProbability = duplicate, CorruptProbability = corrupt, MaxCorruptBits = 1 };
        var sim = new SimPair(seed: 11, clientToServer: profile, serverToClient: profile);
        var listener = new TcpKitListener(sim.Server, 5001);
        listener.Start();
        var data = RandomNumberGenerator.GetBytes(200_000);
        byte[]? got = null;
        var server = sim.Loop.Start(async () =>
        {
            using var peer = await listener.AcceptTcpClientAsync();
            got = await ReadToEnd(peer.GetStream());
        });
        var client = sim.Loop.Start(async () =>
        {
            using var c = new TcpKitClient(sim.Client);
            await c.ConnectAsync(SimPair.ServerAddress, 5001);
            await c.GetStream().WriteAsync(data);
            c.Close();
        });
        sim.Run(TimeSpan.FromMinutes(5), server, client);
        Assert.Equal(data, got);
        long checksumDrops = sim.Server.Counters.Drops(HostDropReason.BadChecksum) + sim.Client.Counters.Drops(HostDropReason.BadChecksum);
        Assert.Equal(corrupt > 0, checksumDrops > 0);
    }

    [Theory]
    [InlineData(8)] // TTL: outside the TCP checksum's pseudo-header, so only the IP header checksum can catch it
    [InlineData(10)] // the header checksum itself
    public void A_datagram_with_a_bad_IPv4_header_checksum_is_silently_discarded_and_counted(int corruptByte)
    {
        // RFC 1122 3.2.1.2: a host MUST verify the IP header checksum of every datagram and silently discard a bad one.
        var sim = new SimPair();
        var listener = new TcpKitListener(sim.Server, 7100);
        listener.Start();
        var replies = TimeWaitReuseTests.CaptureServerReplies(sim);

        byte[] Syn(ushort sourcePort)
        {
            var syn = new TcpHeader { SourcePort = sourcePort, DestinationPort = 7100, Seq = new SeqNum(1000), Flags = TcpFlags.Syn, Window = 65535 };
            var packet = new byte[Ipv4Packet.MinHeaderLength + 20];
            int tcpLength = syn.Emit(packet.AsSpan(Ipv4Packet.MinHeaderLength), ReadOnlySpan<byte>.Empty, SimPair.ClientAddress, SimPair.ServerAddress);
            new Ipv4Header { TimeToLive = 64, Protocol = IpProtocol.Tcp, Source = SimPair.ClientAddress, Destination = SimPair.ServerAddress }.Emit(packet, tcpLength);
            return packet;
        }

        var bad = Syn(40000);
        bad[corruptByte] ^= 0x01;
        sim.Server.OnPacket(bad, sim.Network.Now);
        sim.Network.RunFor(TimeSpan.FromMilliseconds(10));
        Assert.Equal(1, sim.Server.Counters.Drops(HostDropReason.BadIpChecksum));
        Assert.Equal(0, sim.Server.ConnectionCount);
        Assert.Empty(replies); // silently: no SYN-ACK, no RST

        sim.Server.OnPacket(Syn(40001), sim.Network.Now); // the same SYN intact is answered
        sim.Network.RunFor(TimeSpan.FromMilliseconds(10));
        Assert.Equal(TcpFlags.Syn | TcpFlags.Ack, Assert.Single(replies).Flags);
        Assert.Equal(1, sim.Server.Counters.Drops(HostDropReason.BadIpChecksum));
    }

    [Fact]
    public void A_full_listen_queue_drops_SYNs_until_the_application_accepts()
    {
        var sim = new SimPair();
        var listener = new TcpKitListener(sim.Server, 7000);
        listener.Start(backlog: 1);
        var first = sim.Loop.Start(async () =>
        {
            var c = new TcpKitClient(sim.Client);
            await c.ConnectAsync(SimPair.ServerAddress, 7000);
        });
        sim.Run(TimeSpan.FromSeconds(1), first);
        var second = sim.Loop.Start(async () =>
        {
            var c = new TcpKitClient(sim.Client);
            await c.ConnectAsync(SimPair.ServerAddress, 7000);
        });
        sim.Network.RunFor(TimeSpan.FromMilliseconds(500));
        Assert.False(second.IsCompleted);
        Assert.Equal(1, sim.Server.Counters.Drops(HostDropReason.ListenQueueFull));
        var accept = sim.Loop.Start(async () =>
        {
            await listener.AcceptTcpClientAsync();
            await listener.AcceptTcpClientAsync();
        });
        sim.Run(TimeSpan.FromSeconds(10), second, accept);
    }

    private static async Task<byte[]> ReadToEnd(Stream stream)
    {
        var ms = new MemoryStream();
        var buffer = new byte[8192];
        int n;
        while ((n = await stream.ReadAsync(buffer)) > 0)
        {
            ms.Write(buffer, 0, n);
        }

        return ms.ToArray();
    }
}
