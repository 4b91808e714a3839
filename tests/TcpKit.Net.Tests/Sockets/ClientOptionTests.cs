using TcpKit.Net.Simulation;
using TcpKit.Net.Tests.Host;
using TcpKit.Tcp;
using TcpKit.Wire.Ip;
using TcpKit.Wire.Tcp;

namespace TcpKit.Net.Tests.Sockets;

/// <summary>TcpKitClient options set after ConnectAsync/accept act on the live connection, as setsockopt does.</summary>
public class ClientOptionTests
{
    [Fact]
    public void NoDelay_set_after_connecting_sends_the_Nagle_held_write_at_once()
    {
        var (sim, client, _, wire) = Connected();
        var stream = client.GetStream();
        var writes = sim.Loop.Start(async () =>
        {
            await stream.WriteAsync("a"u8.ToArray());
            await stream.WriteAsync("b"u8.ToArray()); // held: "a" is unacknowledged
        });
        Assert.True(writes.IsCompletedSuccessfully);
        Assert.Single(wire, s => s.Length > 0);

        client.NoDelay = true;

        Assert.Equal(2, wire.Count(s => s.Length > 0)); // "b" left at the same instant
        Assert.True(client.Connection!.Tcb.NoDelay);
        sim.Network.RunFor(TimeSpan.FromSeconds(1));
    }

    [Fact]
    public void A_larger_ReceiveBufferSize_on_an_accepted_client_sends_a_window_update()
    {
        var config = TcpConfig.Linux with { ReceiveBufferSize = 2000 };
        var (sim, client, server, wire) = Connected(config);
        var write = sim.Loop.Start(() => client.GetStream().WriteAsync(new byte[6000]).AsTask());
        sim.Network.RunFor(TimeSpan.FromMilliseconds(200)); // the server reads nothing: its window (nearly) closes
        Assert.True(server.Connection!.Tcb.RcvWnd < 1000);
        int held = server.Connection.Tcb.BytesAvailable;
        int before = wire.Count;

        server.ReceiveBufferSize = 8000;

        var update = Assert.Single(wire.Skip(before));
        Assert.False(update.FromClient);
        Assert.Equal(8000 - held, update.Header.Window);
        Assert.True(sim.Loop.RunUntilComplete(write, TimeSpan.FromSeconds(5)));
        sim.Network.RunFor(TimeSpan.FromSeconds(1));
        Assert.Equal(6000, server.Connection.Tcb.BytesAvailable);
    }

    [Fact]
    public void KeepAlive_enabled_after_connecting_probes_after_KeepAliveTime()
    {
        var (sim, client, _, wire) = Connected();
        var start = sim.Network.Now;
        client.KeepAliveTime = TimeSpan.FromSeconds(30);
        client.KeepAliveInterval = TimeSpan.FromSeconds(5);
        client.KeepAliveRetryCount = 2;
        client.KeepAlive = true;
        sim.Network.RunFor(TimeSpan.FromSeconds(31));

        var probe = Assert.Single(wire, s => s.FromClient);
        Assert.Equal(client.Connection!.Tcb.SndNxt - 1, probe.Header.Seq);
        Assert.Equal(start + TimeSpan.FromSeconds(30), probe.Time);
        Assert.Equal(TcpState.Established, client.State);
    }

    [Fact]
    public void LingerState_zero_set_after_connecting_makes_Close_send_a_RST()
    {
        var (sim, client, server, wire) = Connected();
        client.LingerState = new System.Net.Sockets.LingerOption(true, 0);

        client.Close();
        sim.Network.RunFor(TimeSpan.FromSeconds(1));

        var rst = Assert.Single(wire);
        Assert.True(rst.FromClient);
        Assert.Equal(TcpFlags.Rst, rst.Header.Flags);
        Assert.Equal(TcpState.Closed, server.State);
        Assert.Equal(TcpError.Reset, server.Connection!.Tcb.Error);
    }

    private sealed record Segment(Wire.Instant Time, bool FromClient, TcpHeader Header, int Length);

    /// <summary>A connected client and its accepted peer on a 10 ms link; the list records segments sent from then on.</summary>
    private static (SimPair Sim, TcpKitClient Client, TcpKitClient Server, List<Segment> Wire) Connected(TcpConfig? serverConfig = null)
    {
        var sim = new SimPair(config: TcpConfig.Linux);
        var listener = new TcpKitListener(sim.Server, 80) { Config = serverConfig ?? TcpConfig.Linux };
        listener.Start();
        TcpKitClient? server = null;
        var accept = sim.Loop.Start(async () => server = await listener.AcceptTcpClientAsync());
        var client = new TcpKitClient(sim.Client);
        var connect = sim.Loop.Start(async () => await client.ConnectAsync(SimPair.ServerAddress, 80));
        sim.Run(TimeSpan.FromSeconds(1), accept, connect);
        sim.Network.RunFor(TimeSpan.FromMilliseconds(100));
        var wire = new List<Segment>();
        void Watch(SimulatedChannel channel, bool fromClient) => channel.DropFilter = packet =>
        {
            Assert.True(Ipv4Packet.TryParse(packet, out var ip));
            Assert.True(TcpSegment.TryParse(ip.Payload, out var seg));
            wire.Add(new Segment(sim.Network.Now, fromClient, seg.ToHeader(), seg.PayloadLength));
            return false;
        };
        Watch(sim.Link.AToB, fromClient: true);
        Watch(sim.Link.BToA, fromClient: false);
        return (sim, client, server!, wire);
    }
}
