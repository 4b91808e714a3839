using TcpKit.Net.Packetdrill;
using TcpKit.Tcp;
using TcpKit.Wire;
using TcpKit.Wire.Tcp;

namespace TcpKit.Net.Tests.Packetdrill;

/// <summary>The socket layer the engine target emulates, driven directly with explicit ports.</summary>
public class EngineTargetTests
{
    private readonly EngineTarget _target = new(TcpConfig.Linux);
    private readonly Instant _now = Instant.FromMilliseconds(10);

    private SyscallOutcome Call(SocketCallKind kind, int fd, long arg = 0) => _target.Invoke(new SocketCall(kind, fd) { Arg = arg }, _now);

    private List<CapturedSegment> Outbound()
    {
        var list = new List<CapturedSegment>();
        while (_target.TryTakeOutbound(out var s))
        {
            list.Add(s);
        }

        return list;
    }

    private void Syn(ushort port) =>
        _target.Inject(new TcpHeader { SourcePort = port, DestinationPort = 8080, Seq = new SeqNum(1000), Flags = TcpFlags.Syn, Window = 65535 }, default, _now);

    private void CompleteHandshake(ushort port, SeqNum synAckSeq) =>
        _target.Inject(new TcpHeader { SourcePort = port, DestinationPort = 8080, Seq = new SeqNum(1001), Ack = synAckSeq + 1, Flags = TcpFlags.Ack, Window = 65535 }, default, _now);

    private int Listen(int backlog)
    {
        int fd = (int)Call(SocketCallKind.Socket, 0).Value;
        Assert.Equal(0, Call(SocketCallKind.Bind, fd).Value);
        Assert.Equal(0, Call(SocketCallKind.Listen, fd, backlog).Value);
        return fd;
    }

    [Fact]
    public void Descriptors_are_the_lowest_free_numbers_from_three()
    {
        Assert.Equal(3, Call(SocketCallKind.Socket, 0).Value);
        Assert.Equal(4, Call(SocketCallKind.Socket, 0).Value);
        Assert.Equal(0, Call(SocketCallKind.Close, 3).Value);
        Assert.Equal(3, Call(SocketCallKind.Socket, 0).Value);
        Assert.Equal("EBADF", Call(SocketCallKind.Close, 9).Errno);
    }

    [Fact]
    public void A_full_accept_queue_drops_new_syns_until_accept_makes_room()
    {
        int listener = Listen(backlog: 0);

        Syn(1000);
        var synAck = Assert.Single(Outbound());
        Assert.Equal(TcpFlags.Syn | TcpFlags.Ack, synAck.Header.Flags);
        CompleteHandshake(1000, synAck.Header.Seq);
        Assert.Empty(Outbound());

        // Linux (sk_acceptq_is_full): one queued connection is more than a backlog of 0 allows.
        Syn(1001);
        Assert.Empty(Outbound());

        var accepted = Call(SocketCallKind.Accept, listener);
        Assert.Equal(4, accepted.Value);
        Assert.True(Call(SocketCallKind.Accept, listener).Blocked);

        Syn(1002);
        var second = Assert.Single(Outbound());
        Assert.Equal(1002, second.Header.DestinationPort);
        Assert.Equal(TcpFlags.Syn | TcpFlags.Ack, second.Header.Flags);
    }

    [Fact]
    public void Connections_on_different_ports_are_demultiplexed()
    {
        int listener = Listen(backlog: 5);
        Syn(2000);
        Syn(2001);
        var synAcks = Outbound();
        Assert.Equal([(ushort)2000, (ushort)2001], synAcks.Select(s => s.Header.DestinationPort));
        CompleteHandshake(2001, synAcks[1].Header.Seq);
        CompleteHandshake(2000, synAcks[0].Header.Seq);

        Assert.Equal(4, Call(SocketCallKind.Accept, listener).Value);
        Assert.Equal(5, Call(SocketCallKind.Accept, listener).Value);
        Assert.Equal(ScriptSymbols.PollOut, Call(SocketCallKind.Poll, 4, ScriptSymbols.PollOut).Value);
    }

    [Fact]
    public void Changing_a_tcp_option_of_an_open_connection_is_unsupported_but_a_listener_passes_options_on()
    {
        int listener = Listen(backlog: 1);
        Assert.Equal(0, _target.Invoke(new SocketCall(SocketCallKind.SetSockOpt, listener) { Level = ScriptSymbols.IpProtoTcp, Option = ScriptSymbols.TcpNoDelay, Arg = 1 }, _now).Value);
        Syn(3000);
        CompleteHandshake(3000, Outbound()[0].Header.Seq);
        int fd = (int)Call(SocketCallKind.Accept, listener).Value;

        Assert.Equal(1, _target.Invoke(new SocketCall(SocketCallKind.GetSockOpt, fd) { Level = ScriptSymbols.IpProtoTcp, Option = ScriptSymbols.TcpNoDelay }, _now).Value);
        Assert.Equal(0, _target.Invoke(new SocketCall(SocketCallKind.SetSockOpt, fd) { Level = ScriptSymbols.IpProtoTcp, Option = ScriptSymbols.TcpNoDelay, Arg = 1 }, _now).Value);
        Assert.Throws<TargetUnsupportedException>(() => _target.Invoke(new SocketCall(SocketCallKind.SetSockOpt, fd) { Level = ScriptSymbols.IpProtoTcp, Option = ScriptSymbols.TcpNoDelay, Arg = 0 }, _now));
    }

    [Fact]
    public void Negative_lengths_are_rejected()
    {
        int fd = (int)Call(SocketCallKind.Socket, 0).Value;

        Assert.Equal("EINVAL", Call(SocketCallKind.Write, fd, -1).Errno);
        Assert.Equal("EINVAL", Call(SocketCallKind.Read, fd, -1).Errno);
    }
}
