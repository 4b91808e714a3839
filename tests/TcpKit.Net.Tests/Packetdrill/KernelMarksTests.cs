using TcpKit.Net.Packetdrill;
using TcpKit.Tcp;
using TcpKit.Wire.Tcp;

namespace TcpKit.Net.Tests.Packetdrill;

/// <summary>The runner's allowances for another stack (PSH placement, late timers) and the tcpkit-kernel marks.</summary>
public class KernelMarksTests
{
    // The engine pushes the last segment of a write: 1:1001 carries PSH. The peer's data comes at 0.200 and is
    // acknowledged by the 40 ms delayed-ACK timer at 0.240.
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

        """;

    private const string PeerData = "+0 > P. 1:1001(1000) ack 1\n+.1 < P. 1:101(100) ack 1001 win 65535\n";

    [Fact]
    public void A_missing_PSH_fails_unless_the_run_ignores_the_push_flag()
    {
        const string script = Prelude + "+0 > . 1:1001(1000) ack 1\n";

        var strict = ScriptRunner.Run(script);
        var lenient = ScriptRunner.Run(script, new ScriptRunOptions { IgnorePush = true });

        Assert.Contains("flags differ", strict.Message, StringComparison.Ordinal);
        Assert.Equal(ScriptVerdict.Pass, lenient.Verdict);
    }

    [Fact]
    public void Ignoring_the_push_flag_still_checks_every_other_flag()
    {
        var result = ScriptRunner.Run(Prelude + "+0 > F. 1:1001(1000) ack 1\n", new ScriptRunOptions { IgnorePush = true });

        Assert.Contains("flags differ", result.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_packet_later_than_the_tolerance_passes_within_the_timer_slack()
    {
        // The delayed ACK comes at 0.240; the line expects it 10 ms earlier, the tolerance is 4 ms.
        const string script = Prelude + PeerData + "0.230 > . 1001:1001(0) ack 101\n";

        Assert.Equal(ScriptVerdict.Fail, ScriptRunner.Run(script).Verdict);
        Assert.Equal(ScriptVerdict.Pass, ScriptRunner.Run(script, new ScriptRunOptions { TimerSlackMicros = _ => 8000 }).Verdict);
        Assert.Equal(ScriptVerdict.Fail, ScriptRunner.Run(script, new ScriptRunOptions { TimerSlackMicros = _ => 5000 }).Verdict);
    }

    [Fact]
    public void The_timer_slack_never_lets_a_packet_come_early()
    {
        const string script = Prelude + PeerData + "0.250 > . 1001:1001(0) ack 101\n";

        var result = ScriptRunner.Run(script, new ScriptRunOptions { TimerSlackMicros = _ => 100_000 });

        Assert.Equal(ScriptVerdict.Fail, result.Verdict);
        Assert.Contains("at 0.240", result.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_timer_slack_is_asked_for_the_delay_since_the_event_before()
    {
        var delays = new List<long>();
        var result = ScriptRunner.Run(Prelude + PeerData + "+.04 > . 1001:1001(0) ack 101\n", new ScriptRunOptions
        {
            TimerSlackMicros = d =>
            {
                delays.Add(d);
                return 0;
            },
        });

        Assert.Equal(ScriptVerdict.Pass, result.Verdict);
        Assert.Contains(40_000, delays);
    }

    [Theory]
    [InlineData(40_000, 250, 8_000)] // level 0: one jiffy, plus the jiffy the timer was set in
    [InlineData(1_000_000, 250, 36_000)] // level 1 at HZ=250: 8 jiffies of 4 ms
    [InlineData(3_000_000, 250, 260_000)] // level 2: 64 jiffies
    [InlineData(1_000_000, 1000, 65_000)] // HZ=1000: 1000 jiffies fall in level 2
    [InlineData(200_000, 1000, 9_000)]
    public void Linux_timer_wheel_slack_grows_with_the_timeout(long delay, int hz, long slack)
    {
        Assert.Equal(slack, TimerWheel.SlackMicros(delay, hz));
    }

    [Fact]
    public void A_differs_mark_gives_its_line_and_reason()
    {
        var marks = KernelDirectives.Parse("// what it tests\n// tcpkit-kernel: differs at line 14: Linux acknowledges at once in quick-ACK mode\n`sysctl -q x=0`\n");

        Assert.Equal(14, marks.DiffersAtLine);
        Assert.Equal("Linux acknowledges at once in quick-ACK mode", marks.DiffersReason);
        Assert.False(marks.AnyPush);
        Assert.True(KernelDirectives.Parse("// tcpkit-kernel: any-psh: Linux pushes every write's last segment and more\n").AnyPush);
        Assert.Equal(KernelDirectives.None, KernelDirectives.Parse("// Linux differs: a comment, not a mark\n"));
    }

    [Theory]
    [InlineData("// tcpkit-kernel: differs at line 14")] // no reason
    [InlineData("// tcpkit-kernel: differs: no line")]
    [InlineData("// tcpkit-kernel: any-psh")]
    [InlineData("// tcpkit-kernel: diffseq at line 3: typo")]
    public void A_malformed_mark_is_a_syntax_error(string line)
    {
        var e = Assert.Throws<PacketdrillSyntaxException>(() => KernelDirectives.Parse("// about\n" + line + "\n"));

        Assert.Equal(2, e.Line);
    }

    [Fact]
    public void A_failure_at_the_marked_line_is_a_difference_from_Linux()
    {
        var marks = new KernelDirectives(14, "quick-ACK mode", false);

        var result = marks.Judge(new ScriptResult(ScriptVerdict.Fail, "line 14: expected > . 1:1(0) ack 101 at 0.240 but got ...", 14));

        Assert.Equal(ScriptVerdict.Differs, result.Verdict);
        Assert.Equal(3, result.ExitCode);
        Assert.StartsWith("differs from Linux: quick-ACK mode [line 14: expected", result.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_failure_elsewhere_or_a_pass_of_a_marked_script_is_a_failure()
    {
        var marks = new KernelDirectives(14, "quick-ACK mode", false);

        var elsewhere = marks.Judge(new ScriptResult(ScriptVerdict.Fail, "line 12: flags differ", 12));
        var passes = marks.Judge(ScriptResult.Passed);

        Assert.Equal(ScriptVerdict.Fail, elsewhere.Verdict);
        Assert.Contains("only at line 14", elsewhere.Message, StringComparison.Ordinal);
        Assert.Equal(ScriptVerdict.Fail, passes.Verdict);
        Assert.Contains("remove the tcpkit-kernel mark", passes.Message, StringComparison.Ordinal);
        Assert.Equal(ScriptVerdict.Unsupported, marks.Judge(new ScriptResult(ScriptVerdict.Unsupported, "x")).Verdict);
    }

    [Fact]
    public void A_differs_from_mark_accepts_a_failure_at_or_after_its_line_only()
    {
        var marks = KernelDirectives.Parse("// tcpkit-kernel: differs from line 15: Linux doubles SO_SNDBUF\n");

        Assert.True(marks.DiffersFromLineOn);
        Assert.Equal(ScriptVerdict.Differs, marks.Judge(new ScriptResult(ScriptVerdict.Fail, "line 15: x", 15)).Verdict);
        Assert.Equal(ScriptVerdict.Differs, marks.Judge(new ScriptResult(ScriptVerdict.Fail, "line 16: x", 16)).Verdict);
        Assert.Equal(ScriptVerdict.Fail, marks.Judge(new ScriptResult(ScriptVerdict.Fail, "line 14: x", 14)).Verdict);
        Assert.Equal(ScriptVerdict.Fail, new KernelDirectives(15, "r", false).Judge(new ScriptResult(ScriptVerdict.Fail, "line 16: x", 16)).Verdict);
    }

    [Fact]
    public void Measured_times_compare_within_the_tolerance_only_where_asked_and_only_as_read()
    {
        var info = new TcpInfo(TcpState.Established, RtoMicros: 1_232_000, RttMicros: 103_000, RttVarMicros: 51_000, SndCwnd: 10, SndSsthresh: int.MaxValue, TotalRetrans: 0, SndMss: 1000, Unacked: 0);

        Assert.NotNull(TcpInfoAssertions.Check("assert tcpi_rtt == 100000", info, 1));
        Assert.Null(TcpInfoAssertions.Check("assert tcpi_rtt == 100000", info, 1, 25_000));
        Assert.NotNull(TcpInfoAssertions.Check("assert tcpi_rtt == 70000", info, 1, 25_000));

        // An RTO within 1/16 of the expected value (75 ms of 1.2 s) holds; computed values stay exact.
        Assert.Null(TcpInfoAssertions.Check("assert tcpi_rto == 1200000", info, 1, 25_000));
        Assert.NotNull(TcpInfoAssertions.Check("assert tcpi_rtt * 2 == 200000", info, 1, 25_000));
        Assert.NotNull(TcpInfoAssertions.Check("assert tcpi_snd_cwnd == 11", info, 1, 25_000));
    }

    [Fact]
    public void Shell_settings_keep_the_sysctls_as_written_for_a_kernel()
    {
        var settings = ShellCommandMapper.Parse("sysctl -q net.ipv4.tcp_syn_retries=2 net.ipv4.tcp_syn_linear_timeouts=0; ../common/set_sysctls.py /proc/sys/net/ipv4/tcp_wmem=\"4096 50000 4194304\"", 1);

        Assert.Equal([("net.ipv4.tcp_syn_retries", "2"), ("net.ipv4.tcp_syn_linear_timeouts", "0"), ("net.ipv4.tcp_wmem", "4096 50000 4194304")], settings.Sysctls);
        Assert.Equal(2, settings.Change(TcpConfig.Linux).SynRetries);
    }

    [Theory]
    [InlineData("net.ipv4.tcp_syn_linear_timeouts=4")]
    [InlineData("net.ipv4.tcp_early_retrans=3")]
    [InlineData("net.ipv4.tcp_recovery=1")]
    public void Linux_only_loss_recovery_features_can_only_be_turned_off(string sysctl)
    {
        Assert.Throws<PacketdrillUnsupportedException>(() => ShellCommandMapper.Parse("sysctl -q " + sysctl, 1));
        Assert.Same(TcpConfig.Linux, ShellCommandMapper.Parse("sysctl -q " + sysctl[..(sysctl.IndexOf('=', StringComparison.Ordinal) + 1)] + "0", 1).Change(TcpConfig.Linux));
    }

    [Theory]
    [InlineData("--ip_version=ipv6\n", ScriptIpVersion.Ipv6)]
    [InlineData("--ip_version=ipv4-mapped-ipv6\n", ScriptIpVersion.Ipv4MappedIpv6)]
    [InlineData("", ScriptIpVersion.Ipv4)]
    public void The_ip_version_reaches_the_target(string header, ScriptIpVersion expected)
    {
        TargetSettings? seen = null;
        var result = ScriptRunner.Run(header + Prelude + "+0 > P. 1:1001(1000) ack 1\n", new ScriptRunOptions
        {
            TargetFactory = s =>
            {
                seen = s;
                return new EngineTarget(s.Profile, s.BindPort, s.ConnectPort);
            },
        });

        Assert.Equal(ScriptVerdict.Pass, result.Verdict);
        Assert.Equal(expected, seen!.IpVersion);
    }
}
