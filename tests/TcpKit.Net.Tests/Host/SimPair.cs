using TcpKit.Net.Host;
using TcpKit.Net.Simulation;
using TcpKit.Tcp;
using TcpKit.Wire;

namespace TcpKit.Net.Tests.Host;

/// <summary>Two hosts on a simulated point-to-point link: the client at 192.0.2.1, the server at 192.0.2.2.</summary>
internal sealed class SimPair
{
    public static readonly IpAddress ClientAddress = IpAddress.Parse("192.0.2.1");
    public static readonly IpAddress ServerAddress = IpAddress.Parse("192.0.2.2");
    public static readonly IpAddress ClientAddress6 = IpAddress.Parse("2001:db8::1");
    public static readonly IpAddress ServerAddress6 = IpAddress.Parse("2001:db8::2");

    public SimPair(ulong seed = 1, LinkProfile? clientToServer = null, LinkProfile? serverToClient = null, TcpConfig? config = null)
    {
        Network = new SimulatedNetwork(seed);
        Loop = new SimulatedEventLoop(Network);
        var a = Network.AddHost("client");
        var b = Network.AddHost("server");
        a.AddAddress(ClientAddress.ToIPAddress());
        a.AddAddress(ClientAddress6.ToIPAddress());
        b.AddAddress(ServerAddress.ToIPAddress());
        b.AddAddress(ServerAddress6.ToIPAddress());
        Link = Network.Connect(a, b, clientToServer ?? DefaultProfile, serverToClient ?? DefaultProfile);
        Client = new TcpHost("client", a, Loop, config, seed);
        Server = new TcpHost("server", b, Loop, config, seed);
        Client.AddAddress(ClientAddress);
        Client.AddAddress(ClientAddress6);
        Server.AddAddress(ServerAddress);
        Server.AddAddress(ServerAddress6);
    }

    /// <summary>10 ms one way, so a round trip is 20 ms of virtual time.</summary>
    public static LinkProfile DefaultProfile { get; } = new() { Delay = TimeSpan.FromMilliseconds(10) };

    public SimulatedNetwork Network { get; }

    public SimulatedEventLoop Loop { get; }

    public SimulatedLink Link { get; }

    public TcpHost Client { get; }

    public TcpHost Server { get; }

    /// <summary>Runs both tasks to completion within <paramref name="limit"/> of virtual time, rethrowing their failures.</summary>
    public void Run(TimeSpan limit, params Task[] tasks)
    {
        var all = Task.WhenAll(tasks);
        Assert.True(Loop.RunUntilComplete(all, limit), $"did not finish within {limit} of virtual time (now {Network.Now})");
        all.GetAwaiter().GetResult();
    }
}
