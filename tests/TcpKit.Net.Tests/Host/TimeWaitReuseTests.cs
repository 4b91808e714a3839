using TcpKit.Net.Host;
using TcpKit.Tcp;
using TcpKit.Wire;
using TcpKit.Wire.Ip;
using TcpKit.Wire.Tcp;

namespace TcpKit.Net.Tests.Host;

/// <summary>MAY-2 (RFC 1122 4.2.2.13): a new SYN may reopen a 4-tuple whose connection waits in TIME-WAIT.</summary>
public class TimeWaitReuseTests
{
    [Fact]
    public void A_new_SYN_above_RCV_NXT_ends_TIME_WAIT_and_is_answered_with_a_SYN_ACK()
    {
        var (sim, timeWait, replies) = ServerInTimeWait();
        SeqNum rcvNxt = timeWait.Tcb.RcvNxt;
        var closes = new List<TcpEvent>();
        sim.Server.ConnectionEvent += (c, e) =>
        {
            if (ReferenceEquals(c, timeWait) && e.Kind == TcpEventKind.Closed)
            {
                closes.Add(e);
            }
        };

        InjectSyn(sim, timeWait.Key, rcvNxt + 100_000);

        // The old TCB is gone without an error and a new connection answers the SYN.
        var closed = Assert.Single(closes);
        Assert.Equal(TcpError.None, closed.Error);
        Assert.Equal(TcpState.Closed, timeWait.State);
        AssertNewConnectionAnswered(sim, timeWait, replies, rcvNxt + 100_000);
    }

    [Fact]
    public void An_old_SYN_at_or_below_RCV_NXT_leaves_TIME_WAIT_alone_and_gets_an_ACK()
    {
        var (sim, timeWait, replies) = ServerInTimeWait();
        SeqNum rcvNxt = timeWait.Tcb.RcvNxt;

        InjectSyn(sim, timeWait.Key, rcvNxt - 1);

        Assert.Same(timeWait, Assert.Single(sim.Server.Connections));
        Assert.Equal(TcpState.TimeWait, timeWait.State);
        sim.Network.RunFor(TimeSpan.FromMilliseconds(1));
        var ack = Assert.Single(replies);
        Assert.Equal(TcpFlags.Ack, ack.Flags);
        Assert.Equal(rcvNxt, ack.Ack);
    }

    /// <summary>The server closes first, so it waits in TIME-WAIT; returns it and a list that collects what the server sends from then on.</summary>
    internal static (SimPair Sim, HostConnection TimeWait, List<TcpHeader> Replies) ServerInTimeWait()
    {
        var (sim, timeWait) = ServerClosesFirst();
        Assert.Same(timeWait, Assert.Single(sim.Server.Connections));
        Assert.Equal(0, sim.Client.ConnectionCount);

        return (sim, timeWait, CaptureServerReplies(sim));
    }

    /// <summary>
    /// Every segment the server sends from now on, kept from the client: the client never had (or has forgotten)
    /// these connections, so its RSTs would only get in the way.
    /// </summary>
    internal static List<TcpHeader> CaptureServerReplies(SimPair sim)
    {
        var replies = new List<TcpHeader>();
        sim.Link.BToA.DropFilter = packet =>
        {
            Assert.True(Ipv4Packet.TryParse(packet, out var ip));
            Assert.True(TcpSegment.TryParse(ip.Payload, out var seg));
            replies.Add(seg.ToHeader());
            return true;
        };
        return replies;
    }

    /// <summary>The server closes first after accepting; the server end ends in TIME-WAIT. <paramref name="take"/> runs on the accepted client.</summary>
    internal static (SimPair Sim, HostConnection ServerSide) ServerClosesFirst(Action<TcpKitClient>? take = null)
    {
        var sim = new SimPair(config: TcpConfig.Linux);
        var listener = new TcpKitListener(sim.Server, 80);
        listener.Start();
        HostConnection? serverSide = null;
        var server = sim.Loop.Start(async () =>
        {
            var peer = await listener.AcceptTcpClientAsync();
            serverSide = peer.Connection;
            take?.Invoke(peer);
            peer.Close();
        });
        var client = sim.Loop.Start(async () =>
        {
            var c = new TcpKitClient(sim.Client);
            await c.ConnectAsync(SimPair.ServerAddress, 80);
            Assert.Equal(0, await c.GetStream().ReadAsync(new byte[1]));
            c.Close();
        });
        sim.Run(TimeSpan.FromSeconds(1), server, client);
        sim.Network.RunFor(TimeSpan.FromMilliseconds(100));
        Assert.Equal(TcpState.TimeWait, serverSide!.State);
        return (sim, serverSide);
    }

    /// <summary>The SYN at <paramref name="synSeq"/> was taken by a new connection in SYN-RECEIVED, which answers it with a SYN-ACK.</summary>
    internal static void AssertNewConnectionAnswered(SimPair sim, HostConnection timeWait, List<TcpHeader> replies, SeqNum synSeq)
    {
        var fresh = Assert.Single(sim.Server.Connections);
        Assert.NotSame(timeWait, fresh);
        Assert.Equal(TcpState.SynReceived, fresh.State);
        sim.Network.RunFor(TimeSpan.FromMilliseconds(1));
        var synAck = Assert.Single(replies);
        Assert.Equal(TcpFlags.Syn | TcpFlags.Ack, synAck.Flags);
        Assert.Equal(synSeq + 1, synAck.Ack);
    }

    internal static void InjectSyn(SimPair sim, FlowKey serverSide, SeqNum seq) => Inject(sim, serverSide, seq, default, TcpFlags.Syn);

    internal static void Inject(SimPair sim, FlowKey serverSide, SeqNum seq, SeqNum ack, TcpFlags flags)
    {
        var syn = new TcpHeader
        {
            SourcePort = serverSide.RemotePort,
            DestinationPort = serverSide.LocalPort,
            Seq = seq,
            Ack = ack,
            Flags = flags,
            Window = 65535,
        };
        var packet = new byte[Ipv4Packet.MinHeaderLength + 60];
        int tcpLength = syn.Emit(packet.AsSpan(Ipv4Packet.MinHeaderLength), ReadOnlySpan<byte>.Empty, serverSide.RemoteAddress, serverSide.LocalAddress);
        new Ipv4Header
        {
            TimeToLive = 64,
            Protocol = IpProtocol.Tcp,
            Source = serverSide.RemoteAddress,
            Destination = serverSide.LocalAddress,
        }.Emit(packet, tcpLength);
        sim.Server.OnPacket(packet.AsSpan(0, Ipv4Packet.MinHeaderLength + tcpLength), sim.Network.Now);
    }
}
