using TcpKit.Net.Host;
using TcpKit.Tcp;
using TcpKit.Wire.Tcp;

namespace TcpKit.Net.Tests.Host;

/// <summary>The host's task-free connection API: Listen with an accept callback, Open, ConnectionEvent.</summary>
public class CallbackApiTests
{
    [Fact]
    public void A_callback_listener_is_handed_each_established_connection_and_the_server_closing_first_ends_in_its_TIME_WAIT()
    {
        var sim = new SimPair(config: TcpConfig.Linux);
        var accepted = new List<HostConnection>();
        sim.Server.Listen(80, 16, conn =>
        {
            Assert.Equal(TcpState.Established, conn.State);
            accepted.Add(conn);
            conn.Close();
        });
        var clientStates = new List<TcpState>();
        sim.Client.ConnectionEvent += (conn, e) =>
        {
            if (e.Kind == TcpEventKind.StateChanged)
            {
                clientStates.Add(e.NewState);
                if (e.NewState == TcpState.CloseWait)
                {
                    conn.Close();
                }
            }
        };

        var client = sim.Client.Open(SimPair.ServerAddress, 80);
        Assert.Equal(TcpState.SynSent, client.State);
        sim.Network.RunFor(TimeSpan.FromSeconds(1));

        var server = Assert.Single(accepted);
        Assert.Equal(client.Key.LocalPort, server.Key.RemotePort);
        Assert.Equal([TcpState.SynSent, TcpState.Established, TcpState.CloseWait, TcpState.LastAck, TcpState.Closed], clientStates);
        Assert.Equal(TcpState.TimeWait, server.State);
        Assert.Equal(0, sim.Client.ConnectionCount);
        // Linux's TIME-WAIT lasts 60 s; then the server's end is gone too.
        sim.Network.RunFor(TimeSpan.FromSeconds(61));
        Assert.Equal(TcpState.Closed, server.State);
        Assert.Equal(0, sim.Server.ConnectionCount);
    }

    [Fact]
    public void After_StopListening_a_SYN_to_the_port_is_refused()
    {
        var sim = new SimPair(config: TcpConfig.Linux);
        int accepted = 0;
        sim.Server.Listen(80, 16, _ => accepted++);
        Assert.Throws<System.Net.Sockets.SocketException>(() => sim.Server.Listen(80, 16, _ => { }));
        sim.Server.StopListening(80);
        TcpError? error = null;
        sim.Client.ConnectionEvent += (_, e) =>
        {
            if (e.Kind == TcpEventKind.Closed)
            {
                error = e.Error;
            }
        };

        sim.Client.Open(SimPair.ServerAddress, 80);
        sim.Network.RunFor(TimeSpan.FromSeconds(1));

        Assert.Equal(TcpError.Refused, error);
        Assert.Equal(0, accepted);
    }
}
