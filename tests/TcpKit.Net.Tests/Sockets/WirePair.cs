using TcpKit.Net.Simulation;
using TcpKit.Net.Tests.Host;
using TcpKit.Tcp;
using TcpKit.Wire;
using TcpKit.Wire.Ip;
using TcpKit.Wire.Tcp;

namespace TcpKit.Net.Tests.Sockets;

/// <summary>One TCP segment seen on the simulated link, stamped with the virtual time it was sent.</summary>
internal sealed record WireSegment(Instant Time, bool FromClient, TcpHeader Header, int Length)
{
    public bool Has(TcpFlags flag) => (Header.Flags & flag) != 0;
}

/// <summary>
/// A connected <see cref="TcpKitClient"/> and its accepted peer over <see cref="SimPair"/> (10 ms each way), with
/// every segment sent from then on recorded in <see cref="Wire"/>.
/// </summary>
internal sealed class WirePair
{
    private WirePair(SimPair sim, TcpKitListener listener, TcpKitClient client, TcpKitClient server)
    {
        Sim = sim;
        Listener = listener;
        Client = client;
        Server = server;
    }

    public SimPair Sim { get; }

    /// <summary>The server's listener on port 80, still started.</summary>
    public TcpKitListener Listener { get; }

    public TcpKitClient Client { get; }

    public TcpKitClient Server { get; }

    public List<WireSegment> Wire { get; } = [];

    public Instant Now => Sim.Network.Now;

    /// <summary>Drops (after recording) every segment from the server to the client.</summary>
    public bool BlackHoleServerToClient { get; set; }

    /// <summary>
    /// Connects; <paramref name="beforeConnect"/> configures the client before ConnectAsync. With <paramref name="record"/>
    /// the link's segments are parsed into <see cref="Wire"/> (leave it off for long transfers).
    /// </summary>
    public static WirePair Connect(
        TcpConfig? clientConfig = null,
        TcpConfig? serverConfig = null,
        LinkProfile? profile = null,
        Action<TcpKitClient>? beforeConnect = null,
        bool record = true,
        ulong seed = 1)
    {
        var sim = new SimPair(seed, profile, profile, clientConfig ?? TcpConfig.Linux);
        var listener = new TcpKitListener(sim.Server, 80) { Config = serverConfig ?? TcpConfig.Linux };
        listener.Start();
        TcpKitClient? server = null;
        var accept = sim.Loop.Start(async () => server = await listener.AcceptTcpClientAsync());
        var client = new TcpKitClient(sim.Client);
        beforeConnect?.Invoke(client);
        var connect = sim.Loop.Start(async () => await client.ConnectAsync(SimPair.ServerAddress, 80));
        sim.Run(TimeSpan.FromSeconds(10), accept, connect);
        sim.Network.RunFor(TimeSpan.FromMilliseconds(100)); // the handshake's last ACK has arrived
        var pair = new WirePair(sim, listener, client, server!);
        if (record)
        {
            pair.Watch(sim.Link.AToB, fromClient: true);
            pair.Watch(sim.Link.BToA, fromClient: false);
        }

        return pair;
    }

    public void RunFor(TimeSpan duration) => Sim.Network.RunFor(duration);

    /// <summary>Starts async code on the loop (its awaits resume as simulation events).</summary>
    public Task Start(Func<Task> work) => Sim.Loop.Start(work);

    /// <inheritdoc cref="Start(Func{Task})"/>
    public Task<T> Start<T>(Func<Task<T>> work) => Sim.Loop.Start(work);

    /// <summary>Runs the simulation until the tasks finish (within <paramref name="limit"/>), rethrowing their failures.</summary>
    public void Run(TimeSpan limit, params Task[] tasks) => Sim.Run(limit, tasks);

    private void Watch(SimulatedChannel channel, bool fromClient) => channel.DropFilter = packet =>
    {
        Assert.True(Ipv4Packet.TryParse(packet, out var ip));
        Assert.True(TcpSegment.TryParse(ip.Payload, out var seg));
        Wire.Add(new WireSegment(Sim.Network.Now, fromClient, seg.ToHeader(), seg.PayloadLength));
        return !fromClient && BlackHoleServerToClient;
    };
}
