using TcpKit.Net.Packetdrill;
using TcpKit.Tcp;
using TcpKit.Wire;

namespace TcpKit.Net.Tests.Packetdrill;

public class ScriptRunnerTests
{
    // A passive open whose handshake ACK arrives at 0.100 s, then 100 bytes from the peer at 0.200 s.
    private const string Prelude = """
        `sysctl -q net.ipv4.tcp_timestamps=0`
        0     socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
        +0    bind(3, ..., ...) = 0
        +0    listen(3, 1) = 0
        +0    < S 0:0(0) win 65535 <mss 1000>
        +0    > S. 0:0(0) ack 1 <mss 1460>
        +.1   < . 1:1(0) ack 1 win 65535
        +0    accept(3, ..., ...) = 4
        +0    write(4, ..., 1000) = 1000
        +0    > P. 1:1001(1000) ack 1
        +.1   < P. 1:101(100) ack 1001 win 65535

        """;

    private static ScriptResult Run(string events, ScriptRunOptions? options = null) => ScriptRunner.Run(Prelude + events, options);

    [Fact]
    public void A_correct_script_passes()
    {
        var result = Run("0.240 > . 1001:1001(0) ack 101\n");

        Assert.Equal(ScriptVerdict.Pass, result.Verdict);
        Assert.Equal("pass", result.ToString());
        Assert.Equal(0, result.ExitCode);
    }

    [Fact]
    public void A_wrong_flag_fails_with_the_line_the_expected_and_the_actual_packet()
    {
        var result = Run("0.240 > F. 1001:1001(0) ack 101\n");

        Assert.Equal(ScriptVerdict.Fail, result.Verdict);
        Assert.Equal(12, result.Line);
        Assert.Equal("fail: line 12: expected > F. 1001:1001(0) ack 101 at 0.240 but got > . 1001:1001(0) ack 101 at 0.240 (flags differ)", result.ToString());
        Assert.Equal(1, result.ExitCode);
    }

    [Fact]
    public void A_wrong_ack_number_fails()
    {
        var result = Run("0.240 > . 1001:1001(0) ack 100\n");

        Assert.Equal("line 12: expected > . 1001:1001(0) ack 100 at 0.240 but got > . 1001:1001(0) ack 101 at 0.240 (ack differs)", result.Message);
    }

    [Fact]
    public void Outbound_sequence_numbers_are_relative_to_the_stacks_isn()
    {
        var result = Run("0.240 > . 1:1(0) ack 101\n");

        Assert.Equal("line 12: expected > . 1:1(0) ack 101 at 0.240 but got > . 1001:1001(0) ack 101 at 0.240 (sequence number differs)", result.Message);
    }

    [Fact]
    public void The_window_is_only_checked_when_the_script_gives_it()
    {
        Assert.Equal(ScriptVerdict.Pass, Run("0.240 > . 1001:1001(0) ack 101 win 65435\n").Verdict);
        var result = Run("0.240 > . 1001:1001(0) ack 101 win 1000\n");
        Assert.Equal("line 12: expected > . 1001:1001(0) ack 101 win 1000 at 0.240 but got > . 1001:1001(0) ack 101 win 65435 at 0.240 (window differs)", result.Message);
    }

    [Fact]
    public void Options_are_compared_exactly_unless_written_as_ellipsis()
    {
        string Handshake(string synAck) => """
            0     socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
            +0    bind(3, ..., ...) = 0
            +0    listen(3, 1) = 0
            +0    < S 0:0(0) win 65535 <mss 1000>

            """ + synAck + "\n";

        Assert.Equal(ScriptVerdict.Pass, ScriptRunner.Run(Handshake("+0 > S. 0:0(0) ack 1 <...>")).Verdict);
        Assert.Equal(ScriptVerdict.Pass, ScriptRunner.Run(Handshake("+0 > S. 0:0(0) ack 1 <mss 1460>")).Verdict);
        var missing = ScriptRunner.Run(Handshake("+0 > S. 0:0(0) ack 1"));
        Assert.Equal("line 5: expected > S. 0:0(0) ack 1 at 0.000 but got > S. 0:0(0) ack 1 <mss 1460> at 0.000 (TCP options differ)", missing.Message);
        var other = ScriptRunner.Run(Handshake("+0 > S. 0:0(0) ack 1 <mss 1000>"));
        Assert.Equal(ScriptVerdict.Fail, other.Verdict);
    }

    [Theory]
    [InlineData("0.243", ScriptVerdict.Pass)] // 3 ms late: within packetdrill's default 4 ms
    [InlineData("0.237", ScriptVerdict.Pass)]
    [InlineData("0.245", ScriptVerdict.Fail)] // 5 ms: outside
    [InlineData("0.230", ScriptVerdict.Fail)]
    public void Outbound_packets_must_appear_within_the_tolerance_of_their_time(string time, ScriptVerdict expected)
    {
        Assert.Equal(expected, Run($"{time} > . 1001:1001(0) ack 101\n").Verdict);
    }

    [Fact]
    public void The_tolerance_comes_from_the_script_header_or_the_run_options()
    {
        Assert.Equal(ScriptVerdict.Pass, ScriptRunner.Run("--tolerance_usecs=10000\n" + Prelude + "0.249 > . 1001:1001(0) ack 101\n").Verdict);
        Assert.Equal(ScriptVerdict.Pass, Run("0.249 > . 1001:1001(0) ack 101\n", new ScriptRunOptions { ToleranceMicros = 10_000 }).Verdict);
        var late = Run("0.250 > . 1001:1001(0) ack 101\n");
        Assert.Equal("line 12: expected > . 1001:1001(0) ack 101 at 0.250 but got > . 1001:1001(0) ack 101 at 0.240", late.Message);
    }

    [Fact]
    public void Time_ranges_and_any_time_accept_the_packet_when_it_comes()
    {
        Assert.Equal(ScriptVerdict.Pass, Run("0.200~0.300 > . 1001:1001(0) ack 101\n").Verdict);
        Assert.Equal(ScriptVerdict.Pass, Run("* > . 1001:1001(0) ack 101\n").Verdict);
        Assert.Equal(ScriptVerdict.Fail, Run("0.100~0.200 > . 1001:1001(0) ack 101\n").Verdict);
    }

    [Fact]
    public void A_missing_packet_fails_after_the_tolerance()
    {
        var result = Run("0.240 > . 1001:1001(0) ack 101\n+.1 > . 1001:1001(0) ack 101\n");

        Assert.Equal("line 13: expected > . 1001:1001(0) ack 101 at 0.340 but got nothing by 0.344", result.Message);
    }

    [Fact]
    public void A_packet_nobody_expected_fails_the_script()
    {
        // The out-of-order segment is answered at once with a duplicate ACK that the script does not expect.
        var atEnd = Run("0.240 > . 1001:1001(0) ack 101\n0.3 < P. 201:301(100) ack 1001 win 65535\n");
        Assert.StartsWith("line 13: unexpected outbound packet > . 1001:1001(0) ack 101 win ", atEnd.Message, StringComparison.Ordinal);
        Assert.EndsWith(" at 0.300 after the last line", atEnd.Message, StringComparison.Ordinal);

        var beforeNextEvent = Run("0.5 read(4, ..., 1000) = 100\n");
        Assert.Equal("line 12: unexpected outbound packet > . 1001:1001(0) ack 101 win 65435 at 0.240 (before this line)", beforeNextEvent.Message);
    }

    [Fact]
    public void A_wrong_system_call_result_fails_with_the_actual_return()
    {
        var result = Run("0.240 > . 1001:1001(0) ack 101\n+0 read(4, ..., 1000) = 1000\n");

        Assert.Equal("line 13: expected read(...) = 1000 but it returned 100 at 0.240", result.Message);
    }

    [Fact]
    public void Errno_results_are_compared_by_name()
    {
        var events = "0.240 > . 1001:1001(0) ack 101\n+0 fcntl(4, F_SETFL, O_RDWR|O_NONBLOCK) = 0\n+0 read(4, ..., 1000) = 100\n";
        Assert.Equal(ScriptVerdict.Pass, Run(events + "+0 read(4, ..., 1000) = -1 EAGAIN (Resource temporarily unavailable)\n").Verdict);
        Assert.Equal(ScriptVerdict.Pass, Run(events + "+0 read(4, ..., 1000) = -1 EWOULDBLOCK (Resource temporarily unavailable)\n").Verdict);
        var wrong = Run(events + "+0 read(4, ..., 1000) = -1 ECONNRESET (Connection reset by peer)\n");
        Assert.Equal("line 15: expected read(...) = -1 ECONNRESET but it returned -1 EAGAIN at 0.240", wrong.Message);
    }

    [Fact]
    public void A_blocking_call_must_return_at_its_end_time()
    {
        string events = "0.240 > . 1001:1001(0) ack 101\n+0 read(4, ..., 1000) = 100\n";
        Assert.Equal(ScriptVerdict.Pass, Run(events + "0.3...0.4 read(4, ..., 1000) = 50\n0.4 < P. 101:151(50) ack 1001 win 65535\n0.44 > . 1001:1001(0) ack 151\n").Verdict);
        var early = Run(events + "0.3...0.5 read(4, ..., 1000) = 50\n0.4 < P. 101:151(50) ack 1001 win 65535\n0.44 > . 1001:1001(0) ack 151\n");
        Assert.Equal("line 14: timing error: expected read() to return at 0.500 but it returned at 0.400", early.Message);
    }

    [Fact]
    public void Tcp_info_assertions_are_checked_against_the_connection()
    {
        Assert.Equal(ScriptVerdict.Pass, Run("0.240 > . 1001:1001(0) ack 101\n+0 %{ assert tcpi_rtt == 100000 and 200000 <= tcpi_rto <= 300000 }%\n").Verdict);
        var result = Run("0.240 > . 1001:1001(0) ack 101\n+0 %{ assert tcpi_snd_cwnd == 3, tcpi_snd_cwnd }%\n");
        Assert.Equal("line 13: assertion failed: tcpi_snd_cwnd == 3, tcpi_snd_cwnd (tcpi_snd_cwnd=11) at 0.240", result.Message);
    }

    [Theory]
    [InlineData("+0 `ls /tmp`\n", "line 13: shell command `ls /tmp`")]
    [InlineData("+0 `sysctl -q net.ipv4.tcp_no_such_thing=1`\n", "line 13: sysctl net.ipv4.tcp_no_such_thing")]
    [InlineData("+0 `sysctl -q net.ipv4.tcp_fastopen=1`\n", "line 13: sysctl net.ipv4.tcp_fastopen=1 (TCP Fast Open is not implemented)")]
    [InlineData("+0 %{ assert tcpi_sacked == 0 }%\n", "line 13: tcpi_sacked (TcpKit has no such statistic)")]
    [InlineData("+0 %{ print(tcpi_rto) }%\n", "line 13: code statement 'print(tcpi_rto)' (only assert on tcpi_* fields)")]
    [InlineData("+0 ioctl(4, SIOCINQ, [0]) = 0\n", "line 13: system call ioctl")]
    [InlineData("+0 getsockopt(4, IPPROTO_TCP, TCP_INFO, ..., ...) = 0\n", "line 13: getsockopt level 6 option 11")]
    [InlineData("+0 < [ect0] . 101:101(0) ack 1001 win 65535\n", "line 13: IP-level fields (ECN, TOS, TTL, flow label) in packet lines")]
    public void Anything_TcpKit_cannot_honour_makes_the_script_unsupported(string events, string message)
    {
        var result = Run("0.240 > . 1001:1001(0) ack 101\n" + events);

        Assert.Equal(ScriptVerdict.Unsupported, result.Verdict);
        Assert.Equal(message, result.Message);
        Assert.Equal(2, result.ExitCode);
    }

    [Theory]
    [InlineData("+0 < . 101:101(0) ack 1001 win 65535 <nop,nop,TS val 5 ecr 0>\n", "line 13: TCP option TS (not implemented by the stack under test)")]
    [InlineData("+0 < . 101:101(0) ack 1001 win 65535 <sack 1:2>\n", "line 13: TCP option sack (not implemented by the stack under test)")]
    [InlineData("+0 > . 1001:1001(0) ack 101 <nop,wscale 7>\n", "line 13: TCP option wscale (not implemented by the stack under test)")]
    public void Options_the_stack_does_not_implement_make_the_script_unsupported(string events, string message)
    {
        var result = Run("0.240 > . 1001:1001(0) ack 101\n" + events);

        Assert.Equal(ScriptVerdict.Unsupported, result.Verdict);
        Assert.Equal(message, result.Message);
    }

    [Fact]
    public void Script_descriptor_numbers_map_onto_the_live_ones()
    {
        var result = ScriptRunner.Run(Prelude.Replace("= 3", "= 5", StringComparison.Ordinal).Replace("(3,", "(5,", StringComparison.Ordinal).Replace("= 4", "= 8", StringComparison.Ordinal).Replace("(4,", "(8,", StringComparison.Ordinal)
            + "0.240 > . 1001:1001(0) ack 101\n+0 read(8, ..., 1000) = 100\n+0 read(3, ..., 1000) = -1 EBADF (Bad file descriptor)\n");

        Assert.Equal(ScriptVerdict.Pass, result.Verdict);
    }

    [Fact]
    public void Explicit_ports_address_several_connections_each_with_its_own_sequence_numbers()
    {
        const string Script = """
            0     socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
            +0    bind(3, ..., ...) = 0
            +0    listen(3, 5) = 0
            0     < 40001>8080 S 0:0(0) win 65535 <mss 1460>
            0     > 8080>40001 S. 0:0(0) ack 1 <mss 1460>
            0     < 40002>8080 S 0:0(0) win 65535 <mss 1460>
            0     > 8080>40002 S. 0:0(0) ack 1 <mss 1460>
            0.1   < 40002>8080 . 1:1(0) ack 1 win 65535
            0.1   < 40001>8080 . 1:1(0) ack 1 win 65535
            +0    accept(3, ..., ...) = 4
            +0    write(4, ..., 10) = 10

            """;

        Assert.Equal(ScriptVerdict.Pass, ScriptRunner.Run(Script + "+0 > 8080>40002 P. 1:11(10) ack 1\n").Verdict);
        var wrongPort = ScriptRunner.Run(Script + "+0 > 8080>40001 P. 1:11(10) ack 1\n");
        Assert.Equal("line 12: expected > 8080>40001 P. 1:11(10) ack 1 at 0.100 but got > 8080>40002 P. 1:11(10) ack 1 at 0.100 (ports differ)", wrongPort.Message);
    }

    [Fact]
    public void Set_sysctls_helper_lines_map_like_sysctl()
    {
        var change = ShellCommandMapper.Map("../common/set_sysctls.py /proc/sys/net/ipv4/tcp_syn_retries=3 \n  /proc/sys/net/ipv4/tcp_wmem=\"4096 50000 4194304\"", 1);
        var config = change(TcpConfig.Linux);

        Assert.Equal(3, config.SynRetries);
        Assert.Equal(50000, config.SendBufferSize);
    }

    [Fact]
    public void Unknown_header_options_are_unsupported()
    {
        var result = ScriptRunner.Run("--send_omit_free\n" + Prelude);

        Assert.Equal(ScriptVerdict.Unsupported, result.Verdict);
        Assert.Contains("--send_omit_free", result.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Known_sysctls_and_defaults_map_to_the_configuration()
    {
        var change = ShellCommandMapper.Map("../common/defaults.sh; sysctl -q net.ipv4.tcp_syn_retries=2 net.ipv4.tcp_keepalive_time=30", 1);
        var config = change(TcpConfig.Linux);

        Assert.Equal(2, config.SynRetries);
        Assert.Equal(TimeSpan.FromSeconds(30), config.Keepalive.Idle);
        Assert.Equal(TimeSpan.FromMilliseconds(250), ShellCommandMapper.Map("sysctl net.inet.tcp.rexmit_min=250", 1)(TcpConfig.Rfc).MinRto);
    }

    [Fact]
    public void The_profile_selects_the_engine_defaults()
    {
        // Two 100 ms samples: SRTT 100 ms, RTTVAR 37.5 ms, RTO 250 ms; the RFC profile's minimum RTO is 1 s (RFC 6298 2.4).
        const string events = "0.240 > . 1001:1001(0) ack 101\n+0 %{ assert tcpi_rto == 250000 }%\n";
        Assert.Equal(ScriptVerdict.Pass, Run(events).Verdict);
        var rfc = Run(events, new ScriptRunOptions { Profile = TcpConfig.Rfc });
        Assert.Equal("line 13: assertion failed: tcpi_rto == 250000 (tcpi_rto=1000000) at 0.240", rfc.Message);
    }

    [Fact]
    public void A_syntax_error_fails_with_its_line()
    {
        var result = ScriptRunner.Run("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 < S 0:5(0) win 100\n");

        Assert.Equal(ScriptVerdict.Fail, result.Verdict);
        Assert.Equal(2, result.Line);
    }

    [Theory]
    [InlineData("tcpi_rto == 300000", true)]
    [InlineData("tcpi_rto != 300000", false)]
    [InlineData("100 < tcpi_rto < 400000 and not tcpi_state == 7", true)]
    [InlineData("tcpi_rto // 1000 == 300 or tcpi_rto == 0", true)]
    [InlineData("(tcpi_snd_cwnd - 1) * 2 == 18", true)]
    [InlineData("tcpi_state == TCP_ESTABLISHED and tcpi_total_retrans > 0", false)]
    public void The_code_evaluator_handles_comparisons_arithmetic_and_logic(string expression, bool holds)
    {
        var info = new TcpInfo(Wire.Tcp.TcpState.Established, 300_000, 100_000, 50_000, 10, int.MaxValue, 0, 1000, 0);

        var failure = TcpInfoAssertions.Check("assert " + expression, info, 1);

        Assert.Equal(holds, failure is null);
    }
}

/// <summary>The runner works against any <see cref="IScriptTarget"/>; a broken one ends in a verdict, not a hang.</summary>
public class ScriptTargetAbstractionTests
{
    [Fact]
    public void A_target_whose_timer_never_clears_fails_the_script_instead_of_hanging()
    {
        var options = new ScriptRunOptions { TargetFactory = _ => new StuckTimerTarget() };

        var result = ScriptRunner.Run("0.1 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n", options);

        Assert.Equal("line 1: the stack's timer due at 0.000 never clears", result.Message);
    }

    [Fact]
    public void The_runner_passes_the_header_ports_and_profile_to_the_target_factory()
    {
        TargetSettings? seen = null;
        var options = new ScriptRunOptions
        {
            Profile = TcpConfig.Rfc,
            TargetFactory = s =>
            {
                seen = s;
                return new EngineTarget(s.Profile, s.BindPort, s.ConnectPort);
            },
        };

        var result = ScriptRunner.Run("--bind_port=9999\n--connect_port=7777\n--mtu=1300\n0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n", options);

        Assert.Equal(ScriptVerdict.Pass, result.Verdict);
        Assert.Equal((ushort)9999, seen!.BindPort);
        Assert.Equal((ushort)7777, seen.ConnectPort);
        Assert.Equal(1260, seen.Profile.Mss);
        Assert.Equal(TcpConfig.Rfc.MinRto, seen.Profile.MinRto);
    }

    private sealed class StuckTimerTarget : IScriptTarget
    {
        public Instant NextDeadline => Instant.Zero;

        public void Configure(ShellSettings settings)
        {
        }

        public void Advance(Instant now)
        {
        }

        public void Inject(Wire.Tcp.TcpHeader header, ReadOnlySpan<byte> payload, Instant now)
        {
        }

        public bool TryTakeOutbound(out CapturedSegment segment)
        {
            segment = default;
            return false;
        }

        public SyscallOutcome Invoke(SocketCall call, Instant now) => SyscallOutcome.Ok(3);

        public bool IsNonBlocking(int fd) => false;

        public bool SupportsOption(ScriptOptionKind kind) => true;

        public TcpInfo? GetTcpInfo() => null;
    }
}
