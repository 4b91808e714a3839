using TcpKit.Net.Packetdrill;
using TcpKit.Wire.Tcp;

namespace TcpKit.Net.Tests.Packetdrill;

public class ScriptParserTests
{
    private const string PassiveOpen = """
        --tolerance_usecs=10000
        `../common/defaults.sh`

        // Establish a connection.
        0   socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
        +0  setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
        +0  bind(3, ..., ...) = 0
        +0  listen(3, 1) = 0

        +0  < S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop,nop,wscale 7>
        +0  > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 8>
        +.1 < . 1:1(0) ack 1 win 257
        +0  accept(3, ..., ...) = 4
        /* write, then expect the data */
        +0  write(4, ..., 1000) = 1000
        +0  > P. 1:1001(1000) ack 1
        0.200~0.300 > P. 1:1001(1000) ack 1 <...>
        * > F. 1001:1001(0) ack 1
        +0 read(4, ..., 1000) = -1 EAGAIN (Resource temporarily unavailable)
        +0 %{ assert tcpi_rto == 200000, tcpi_rto }%
        +0 < . 1:1(0) ack 1001 win 257 <sack 1:1001 2001:3001,TS val 100 ecr 0>
        +0 poll([{fd=4, events=POLLOUT, revents=POLLOUT}], 1, 0) = 1
        +0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
        +0 setsockopt(4, SOL_SOCKET, SO_LINGER, {onoff=1, linger=0}, 8) = 0
        """;

    [Fact]
    public void A_classic_passive_open_script_parses_into_timed_events()
    {
        var script = ScriptParser.Parse(PassiveOpen);

        Assert.Equal(new ScriptOption("tolerance_usecs", "10000"), Assert.Single(script.Options));
        Assert.Equal("../common/defaults.sh", script.InitCommand);
        Assert.Equal(18, script.Events.Count);

        var syn = Assert.IsType<PacketAction>(script.Events[4].Action);
        Assert.Equal(PacketDirection.Inbound, syn.Direction);
        Assert.Equal(TcpFlags.Syn, syn.Flags);
        Assert.Equal(32792, syn.Window);
        Assert.Null(syn.Ack);
        Assert.Equal(
            [ScriptOptionKind.Mss, ScriptOptionKind.SackPermitted, ScriptOptionKind.Nop, ScriptOptionKind.Nop, ScriptOptionKind.Nop, ScriptOptionKind.WindowScale],
            syn.Options!.Select(o => o.Kind));
        Assert.Equal(1000, syn.Options![0].Value);
        Assert.Equal(10, script.Events[4].Line);

        var synAck = Assert.IsType<PacketAction>(script.Events[5].Action);
        Assert.Equal(TcpFlags.Syn | TcpFlags.Ack, synAck.Flags);
        Assert.Equal(1u, synAck.Ack);

        Assert.Equal(new EventTime(TimeKind.Relative, 100_000), script.Events[6].Time);
        var data = Assert.IsType<PacketAction>(script.Events[9].Action);
        Assert.Equal(TcpFlags.Psh | TcpFlags.Ack, data.Flags);
        Assert.Equal((1u, 1000), (data.StartSeq, data.PayloadLength));

        Assert.Equal(new EventTime(TimeKind.AbsoluteRange, 200_000, 300_000), script.Events[10].Time);
        Assert.Null(Assert.IsType<PacketAction>(script.Events[10].Action).Options);
        Assert.Equal(TimeKind.Any, script.Events[11].Time.Kind);
    }

    [Fact]
    public void System_calls_keep_arguments_results_and_errno()
    {
        var script = ScriptParser.Parse(PassiveOpen);

        var read = Assert.IsType<SyscallAction>(script.Events[12].Action);
        Assert.Equal("read", read.Name);
        Assert.Equal(new IntExpr(-1), read.Result);
        Assert.Equal("EAGAIN", read.Errno);
        Assert.Equal("Resource temporarily unavailable", read.ErrnoText);

        var setsockopt = Assert.IsType<SyscallAction>(script.Events[1].Action);
        Assert.Equal(new ListExpr([new IntExpr(1)]), setsockopt.Arguments[3]);

        var poll = Assert.IsType<SyscallAction>(script.Events[15].Action);
        var pollfd = Assert.IsType<StructExpr>(Assert.IsType<ListExpr>(poll.Arguments[0]).Items[0]);
        Assert.Equal(new BinaryExpr("=", new WordExpr("events"), new WordExpr("POLLOUT")), pollfd.Items[1]);

        var fcntl = Assert.IsType<SyscallAction>(script.Events[16].Action);
        Assert.Equal(new BinaryExpr("|", new WordExpr("O_RDWR"), new WordExpr("O_NONBLOCK")), fcntl.Arguments[2]);

        var code = Assert.IsType<CodeAction>(script.Events[13].Action);
        Assert.Equal("assert tcpi_rto == 200000, tcpi_rto", code.Code);
    }

    [Fact]
    public void Sack_blocks_and_timestamps_are_read_from_inbound_options()
    {
        var ack = Assert.IsType<PacketAction>(ScriptParser.Parse(PassiveOpen).Events[14].Action);
        var sack = ack.Options![0];
        Assert.Equal(ScriptOptionKind.Sack, sack.Kind);
        Assert.Equal([(1u, 1001u), (2001u, 3001u)], sack.SackBlocks!);
        Assert.Equal(new ScriptTcpOption(ScriptOptionKind.Timestamp, 100, 0), ack.Options[1]);
    }

    [Theory]
    [InlineData("0 < S 0:10(5) win 100", "line 1: inconsistent TCP sequence numbers and payload size")]
    [InlineData("0 < S 0:0(0) win 70000", "line 1: TCP window value out of range")]
    [InlineData("* write(3, ..., 1) = 1", "line 1: event time * can only be used with outbound packets")]
    [InlineData("0.2~0.1 > S 0:0(0)", "line 1: time range is backwards")]
    [InlineData("\n\n0 < Q 0:0(0)", "line 3: unknown TCP flag 'Q' in 'Q'")]
    [InlineData("0 < S 0:0(0) <...>", "line 1: <...> for TCP options can only be used with outbound packets")]
    public void Malformed_lines_are_reported_with_their_line_number(string text, string message)
    {
        var e = Assert.Throws<PacketdrillSyntaxException>(() => ScriptParser.Parse(text));
        Assert.Equal(message, e.Message);
    }

    [Theory]
    [InlineData("0 < udp (1000)", "udp packets")]
    [InlineData("0 < ipv4 192.0.2.1 > 192.0.2.2: S 0:0(0)", "encapsulation prefix 'ipv4'")]
    [InlineData("0 < S 0:0(0) <exp 1>", "TCP option 'exp'")]
    [InlineData("#ifdef STANDARD\n0 < S 0:0(0) win 1", "C preprocessor directive (#...)")]
    [InlineData("0 < S 0:0(0)! win 1", "'!' after the sequence numbers (FreeBSD packetdrill)")]
    [InlineData("0 < S 0:0(0) win 1 <mss 1460>/udp(1 > 9811)", "UDP encapsulation of TCP")]
    [InlineData("0 < [hlim 64] S 0:0(0) win 1", "IPv6 hlim in IP information")]
    public void Features_TcpKit_lacks_are_reported_as_unsupported(string text, string feature)
    {
        var e = Assert.Throws<PacketdrillUnsupportedException>(() => ScriptParser.Parse(text));
        Assert.Equal(feature, e.Feature);
    }

    [Fact]
    public void Explicit_ports_are_parsed_into_the_packet()
    {
        var p = Assert.IsType<PacketAction>(ScriptParser.Parse("0 < 40001>8080 S 0:0(0) win 100").Events[0].Action);

        Assert.Equal((ushort)40001, p.SourcePort);
        Assert.Equal((ushort)8080, p.DestinationPort);
        Assert.Equal(TcpFlags.Syn, p.Flags);
    }

    [Fact]
    public void A_command_without_a_time_runs_right_after_the_previous_event()
    {
        var script = ScriptParser.Parse("0 close(3) = 0\n`/tmp/sysctl_restore.sh`\n");

        var e = script.Events[1];
        Assert.Equal(new EventTime(TimeKind.Relative, 0), e.Time);
        Assert.Equal(new ShellAction("/tmp/sysctl_restore.sh"), e.Action);
    }

    [Fact]
    public void Option_values_run_to_the_end_of_their_line()
    {
        var script = ScriptParser.Parse("--local_ip=fd::1\n--define=X=1\n--tolerance_usecs=5000\n0 close(3) = 0\n");

        Assert.Equal(
            [new ScriptOption("local_ip", "fd::1"), new ScriptOption("define", "X=1"), new ScriptOption("tolerance_usecs", "5000")],
            script.Options);
    }

    [Fact]
    public void Hex_keys_made_of_several_tokens_are_joined()
    {
        var p = Assert.IsType<PacketAction>(ScriptParser.Parse("0 < . 1:1(0) ack 1 win 514 <md5 000102030405060708090a0b0c0d0e0f,nop,nop>").Events[0].Action);

        Assert.Equal("000102030405060708090a0b0c0d0e0f", p.Options![0].Blob);
        Assert.Equal(ScriptOptionKind.Nop, p.Options[1].Kind);
    }

    [Fact]
    public void A_sized_field_of_a_structure_parses()
    {
        var call = Assert.IsType<SyscallAction>(ScriptParser.Parse("0 sendmsg(4, {msg_name(...)=..., msg_iov(1)=[{..., 1000}]}, 0) = 1000").Events[0].Action);

        var msg = Assert.IsType<StructExpr>(call.Arguments[1]);
        Assert.Equal(new BinaryExpr("=", new CallExpr("msg_name", [EllipsisExpr.Instance]), EllipsisExpr.Instance), msg.Items[0]);
    }
}
