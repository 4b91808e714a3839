using System.Globalization;
using System.Text;
using TcpKit.Tcp;
using TcpKit.Wire;
using TcpKit.Wire.Tcp;

namespace TcpKit.Net.Packetdrill;

public enum ScriptVerdict
{
    Pass,
    Fail,
    Unsupported,

    /// <summary>
    /// Against the Linux kernel: the script fails exactly where its <c>// tcpkit-kernel: differs</c> mark says
    /// Linux departs from the RFC behaviour the script tests. Neither a pass nor a failure.
    /// </summary>
    Differs,
}

/// <summary>The outcome of one script. Unsupported is never a pass.</summary>
public sealed record ScriptResult(ScriptVerdict Verdict, string Message = "", int? Line = null)
{
    public static ScriptResult Passed { get; } = new(ScriptVerdict.Pass);

    /// <summary>The process exit code of <c>tcpkit script</c>: 0 pass, 1 fail, 2 unsupported, 3 differs from Linux.</summary>
    public int ExitCode => (int)Verdict;

    public override string ToString() => Verdict switch
    {
        ScriptVerdict.Pass => "pass",
        ScriptVerdict.Fail => "fail: " + Message,
        ScriptVerdict.Differs => "differs from Linux: " + Message,
        _ => "unsupported: " + Message,
    };
}

/// <summary>How to run scripts: the profile new sockets start from and an optional tolerance override.</summary>
public sealed record ScriptRunOptions
{
    /// <summary>TcpConfig.Linux (the default: scripts are written against Linux) or TcpConfig.Rfc.</summary>
    public TcpConfig Profile { get; init; } = TcpConfig.Linux;

    /// <summary>Overrides the script's <c>--tolerance_usecs</c> (packetdrill's default is 4000).</summary>
    public long? ToleranceMicros { get; init; }

    /// <summary>Makes the target for a run; the default is the TcpKit engine.</summary>
    public Func<TargetSettings, IScriptTarget>? TargetFactory { get; init; }

    /// <summary>
    /// Leaves the PSH bit of outbound segments unchecked. RFC 9293 3.9.1 lets the sender decide where to push,
    /// so a script about something else may accept another stack's placement (a <c>// tcpkit-kernel: any-psh</c> mark).
    /// </summary>
    public bool IgnorePush { get; init; }

    /// <summary>
    /// How much later than its time plus the tolerance an outbound packet (or a blocked call's return) may come,
    /// given the delay in microseconds the script expects since the event before: a real kernel's timer wheel
    /// fires long timers late by its granularity. Null: never late.
    /// </summary>
    public Func<long, long>? TimerSlackMicros { get; init; }

    /// <summary>
    /// Lets <c>%{ }%</c> comparisons of tcpi_rtt, tcpi_rttvar and tcpi_rto hold within the tolerance, for a stack
    /// in real time whose measured round trips carry the runner's jitter. Off: exact, as in virtual time.
    /// </summary>
    public bool TimeFieldsWithinTolerance { get; init; }
}

/// <summary>The script's <c>--ip_version</c>.</summary>
public enum ScriptIpVersion
{
    Ipv4,
    Ipv6,

    /// <summary>An AF_INET6 socket talking IPv4 through IPv4-mapped addresses.</summary>
    Ipv4MappedIpv6,
}

/// <summary>What a target needs from the script's header options.</summary>
public sealed record TargetSettings(TcpConfig Profile, ushort BindPort, ushort ConnectPort)
{
    public ScriptIpVersion IpVersion { get; init; }
}

/// <summary>
/// Runs a packetdrill script on its own clock: inbound packets and system calls happen at their script times,
/// outbound packets must appear within the tolerance of theirs, and the first difference fails the script with
/// its line number, the expected packet and the actual one. Against the engine, time is virtual.
/// </summary>
public sealed class ScriptRunner
{
    private const long DefaultToleranceMicros = 4000;

    // Inbound payloads are zero bytes, as packetdrill sends them; the parser bounds their length to 65535.
    private static readonly byte[] InboundPayload = new byte[ushort.MaxValue];
    private static readonly long AnyTimeWaitMicros = (long)TimeSpan.FromMinutes(10).TotalMicroseconds;

    private readonly PacketdrillScript _script;
    private readonly ScriptRunOptions _options;
    private readonly Queue<CapturedSegment> _outbound = new();
    private readonly Dictionary<uint, uint> _tsValMap = [];
    private IScriptTarget _target = null!;
    private long _tolerance = DefaultToleranceMicros;
    private Instant _now = Instant.Zero;
    private ScriptEvent? _lastEvent;
    private long _lastEventTime;
    private int _localOffset; // live = script + offset for the stack's sequence numbers (learned from its SYN).
    private readonly Dictionary<ushort, int> _offsetByRemotePort = []; // the same, per connection, for explicit ports
    private PendingCall? _pending;
    private int _currentLine;
    private int _stepsWithoutProgress;
    private long _lateBy; // how far past its window (within the timer slack) the last packet or return came
    private long _lateAllowance; // the same, for the event being run
    private long _lastOutboundMicros; // when the stack last sent something the script expected
    private readonly Dictionary<long, int> _fdMap = [];

    private ScriptRunner(PacketdrillScript script, ScriptRunOptions options)
    {
        _script = script;
        _options = options;
    }

    public static ScriptResult RunFile(string path, ScriptRunOptions? options = null) =>
        TryReadFile(path, out string text, out var failure) ? Run(text, options) : failure;

    /// <summary>Parses and runs one script.</summary>
    public static ScriptResult Run(string text, ScriptRunOptions? options = null) =>
        TryParse(text, out var script, out var failure) ? Run(script, options) : failure;

    /// <summary>Reads a script file; an unreadable file is a failing verdict, not an exception.</summary>
    internal static bool TryReadFile(string path, out string text, out ScriptResult failure)
    {
        try
        {
            text = File.ReadAllText(path);
            failure = ScriptResult.Passed;
            return true;
        }
        catch (IOException e)
        {
            text = "";
            failure = new ScriptResult(ScriptVerdict.Fail, e.Message);
            return false;
        }
    }

    /// <summary>Parses a script; a syntax error fails and an unsupported feature is "unsupported", both as verdicts.</summary>
    internal static bool TryParse(string text, out PacketdrillScript script, out ScriptResult failure)
    {
        script = null!;
        try
        {
            script = ScriptParser.Parse(text);
            failure = ScriptResult.Passed;
            return true;
        }
        catch (PacketdrillSyntaxException e)
        {
            failure = new ScriptResult(ScriptVerdict.Fail, "syntax error: " + e.Message, e.Line);
        }
        catch (PacketdrillUnsupportedException e)
        {
            failure = new ScriptResult(ScriptVerdict.Unsupported, $"line {e.Line}: {e.Feature}", e.Line);
        }
        catch (OverflowException e)
        {
            failure = new ScriptResult(ScriptVerdict.Fail, "syntax error: " + e.Message);
        }

        return false;
    }

    public static ScriptResult Run(PacketdrillScript script, ScriptRunOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(script);
        var runner = new ScriptRunner(script, options ?? new ScriptRunOptions());
        try
        {
            runner.Execute();
            return ScriptResult.Passed;
        }
        catch (ScriptFailure f)
        {
            return new ScriptResult(ScriptVerdict.Fail, $"line {f.Line}: {f.Message}", f.Line);
        }
        catch (PacketdrillUnsupportedException u)
        {
            return new ScriptResult(ScriptVerdict.Unsupported, $"line {u.Line}: {u.Feature}", u.Line);
        }
        catch (PacketdrillSyntaxException e)
        {
            return new ScriptResult(ScriptVerdict.Fail, "syntax error: " + e.Message, e.Line);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or OverflowException)
        {
            // A value the engine rejects (an impossible setting, a call it refuses): the script cannot run as written.
            int line = runner._currentLine;
            return new ScriptResult(ScriptVerdict.Fail, $"line {line}: {e.Message}", line);
        }
    }

    private void Execute()
    {
        ushort bindPort = 8080, connectPort = 8080;
        long? mtu = null;
        bool ipv6 = false;
        var ipVersion = ScriptIpVersion.Ipv4;
        foreach (var o in _script.Options)
        {
            switch (o.Name)
            {
                case "tolerance_usecs":
                    _tolerance = ParseLong(o);
                    break;
                case "bind_port":
                    bindPort = (ushort)ParseLong(o);
                    break;
                case "connect_port":
                    connectPort = (ushort)ParseLong(o);
                    break;
                case "mtu":
                    // The test device's MTU bounds the MSS the stack announces: MTU minus the IP and TCP headers.
                    mtu = ParseLong(o);
                    break;
                case "ip_version" when o.Value is "ipv6":
                    ipv6 = true;
                    ipVersion = ScriptIpVersion.Ipv6;
                    break;
                case "ip_version" when o.Value is "ipv4-mapped-ipv6":
                    ipVersion = ScriptIpVersion.Ipv4MappedIpv6;
                    break;
                case "ip_version" when o.Value is "ipv4":
                case "local_ip" or "remote_ip" or "gateway_ip" or "netmask_ip":
                case "mss":
                    // Addressing and the TUN device's segmentation do not change what the engine sends.
                    break;
                default:
                    throw new PacketdrillUnsupportedException(0, $"option --{o.Name}{(o.Value is null ? "" : "=" + o.Value)}");
            }
        }

        if (_options.ToleranceMicros is long t)
        {
            _tolerance = t;
        }

        var profile = _options.Profile;
        if (mtu is long m)
        {
            long mss = m - (ipv6 ? 60 : 40);
            if (mss is < 64 or > 65535)
            {
                throw new PacketdrillUnsupportedException(0, $"--mtu={m} (an MSS of {mss})");
            }

            profile = profile with { Mss = (int)mss };
        }

        var settings = new TargetSettings(profile, bindPort, connectPort) { IpVersion = ipVersion };
        _target = _options.TargetFactory?.Invoke(settings) ?? new EngineTarget(settings.Profile, bindPort, connectPort);
        if (_script.InitCommand is { } init)
        {
            _target.Configure(ShellCommandMapper.Parse(init, 1));
        }

        for (int i = 0; i < _script.Events.Count; i++)
        {
            var ev = _script.Events[i];
            _currentLine = ev.Line;
            try
            {
                RunEvent(ev, i);
            }
            catch (TargetUnsupportedException e)
            {
                throw new PacketdrillUnsupportedException(ev.Line, e.Feature);
            }

            _lastEvent = ev;
        }

        Finish();
    }

    private static long ParseLong(ScriptOption o) =>
        long.TryParse(o.Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out long v) && v >= 0
            ? v
            : throw new PacketdrillSyntaxException(0, $"--{o.Name} needs a non-negative integer");

    private void RunEvent(ScriptEvent ev, int index)
    {
        // A packet that came late within the timer slack pushes the clock past an absolute time that follows.
        _lateAllowance = _lateBy;
        _lateBy = 0;
        var (start, end) = ResolveTime(ev);
        _lastEventTime = start;
        switch (ev.Action)
        {
            case PacketAction p when p.Options?.FirstOrDefault(o => !_target.SupportsOption(o.Kind)) is { } option:
                throw new PacketdrillUnsupportedException(ev.Line, $"TCP option {OptionName(option.Kind)} (not implemented by the stack under test)");
            case PacketAction p when (p.Flags & (TcpFlags.Ece | TcpFlags.Cwr | TcpFlags.Ae)) != 0:
                throw new PacketdrillUnsupportedException(ev.Line, "ECN flags (E, W, A) in packet lines");
            case PacketAction { Direction: PacketDirection.Inbound } p:
                AwaitEventTime(ev, start, index);
                Inject(ev, p);
                break;
            case PacketAction p:
                ExpectOutbound(ev, p, start, end);
                break;
            case SyscallAction s:
                FinishPending(ev.Line);
                _lateAllowance = Math.Max(_lateAllowance, _lateBy);
                AwaitEventTime(ev, start, index);
                StartSyscall(ev, s, start);
                break;
            case ShellAction sh:
                AwaitEventTime(ev, start, index);
                _target.Configure(ShellCommandMapper.Parse(sh.Command, ev.Line));
                break;
            case CodeAction code:
                // The statistics describe the connection after a blocked call returned, as the script reads.
                FinishPending(ev.Line);
                _lateAllowance = Math.Max(_lateAllowance, _lateBy);
                AwaitEventTime(ev, start, index);
                if (TcpInfoAssertions.Check(code.Code, _target.GetTcpInfo(), ev.Line, _options.TimeFieldsWithinTolerance ? _tolerance : 0) is { } failure)
                {
                    throw new ScriptFailure(ev.Line, $"{failure} at {Seconds(_now.Microseconds)}");
                }

                break;
        }
    }

    /// <summary>
    /// packetdrill's timing: a relative time counts from now (when the previous event finished), except that
    /// consecutive inbound packets are anchored to each other's script times.
    /// </summary>
    private (long Start, long End) ResolveTime(ScriptEvent ev)
    {
        bool inbound = ev.Action is PacketAction { Direction: PacketDirection.Inbound };
        bool lastInbound = _lastEvent?.Action is PacketAction { Direction: PacketDirection.Inbound };
        long anchor = inbound && lastInbound ? _lastEventTime : _now.Microseconds;
        return ev.Time.Kind switch
        {
            TimeKind.Absolute => (ev.Time.StartMicros, ev.Time.StartMicros),
            TimeKind.Relative => (anchor + ev.Time.StartMicros, anchor + ev.Time.StartMicros),
            TimeKind.AbsoluteRange => (ev.Time.StartMicros, ev.Time.EndMicros),
            TimeKind.RelativeRange => (anchor + ev.Time.StartMicros, anchor + ev.Time.EndMicros),
            _ => (_now.Microseconds, long.MaxValue),
        };
    }

    // ---- time ------------------------------------------------------------------------------------

    private Instant NextDeadline()
    {
        var d = _target.NextDeadline;
        if (_pending?.Deadline is Instant p && p < d)
        {
            d = p;
        }

        return d;
    }

    /// <summary>Runs the target's timers (and a blocked call) in order until <paramref name="until"/>.</summary>
    private void AdvanceTo(Instant until)
    {
        while (true)
        {
            var d = NextDeadline();
            if (d > until)
            {
                break;
            }

            Step(d);
        }

        if (until > _now)
        {
            _now = until;
        }
    }

    private void Step(Instant d)
    {
        if (d > _now)
        {
            _now = d;
            _stepsWithoutProgress = 0;
        }
        else if (++_stepsWithoutProgress > 100_000)
        {
            // A timer that stays due after it ran would spin forever: stop with a clear message instead.
            throw new ScriptFailure(_currentLine, $"the stack's timer due at {Seconds(d.Microseconds)} never clears");
        }

        _target.Advance(_now);
        Drain();
        RetryPending();
    }

    /// <summary>
    /// A call returns on a timer set when it started or, like a read ended by retransmission timeouts, when the
    /// stack last sent something: the slack is that of the longer delay.
    /// </summary>
    private long ReturnSlack(long expectedEnd, long start) => TimerSlack(expectedEnd - Math.Min(start, _lastOutboundMicros));

    private long TimerSlack(long delayMicros) => delayMicros > 0 && _options.TimerSlackMicros is { } slack ? slack(delayMicros) : 0;

    private void Drain()
    {
        while (_target.TryTakeOutbound(out var seg))
        {
            _outbound.Enqueue(seg);
        }
    }

    private void AwaitEventTime(ScriptEvent ev, long start, int index)
    {
        if (start + _tolerance + _lateAllowance < _now.Microseconds)
        {
            throw new ScriptFailure(ev.Line, $"timing error: expected {Describe(ev)} at {Seconds(start)} but it could only happen at {Seconds(_now.Microseconds)}");
        }

        AdvanceTo(Instant.FromMicroseconds(start));

        // An outbound packet older than this event by more than the tolerance can only be unexpected,
        // unless a later "*" line may still take it.
        if (_outbound.TryPeek(out var stale) && stale.Time.Microseconds + _tolerance < start && !NextOutboundIsAnyTime(index))
        {
            throw new ScriptFailure(ev.Line, $"unexpected outbound packet {Format(stale, null)} at {Seconds(stale.Time.Microseconds)} (before this line)");
        }
    }

    private bool NextOutboundIsAnyTime(int index)
    {
        for (int i = index + 1; i < _script.Events.Count; i++)
        {
            if (_script.Events[i].Action is PacketAction { Direction: PacketDirection.Outbound })
            {
                return _script.Events[i].Time.Kind == TimeKind.Any;
            }
        }

        return false;
    }

    private static string Describe(ScriptEvent ev) => ev.Action switch
    {
        PacketAction { Direction: PacketDirection.Inbound } => "inbound packet",
        PacketAction => "outbound packet",
        SyscallAction s => s.Name + "()",
        ShellAction => "command",
        _ => "code",
    };

    // ---- packets ---------------------------------------------------------------------------------

    private void Inject(ScriptEvent ev, PacketAction p)
    {
        if (p.Window is not int window)
        {
            throw new ScriptFailure(ev.Line, "an inbound packet needs a window (win N)");
        }

        if (p.IpInfo is not null)
        {
            throw new PacketdrillUnsupportedException(ev.Line, "IP-level fields (ECN, TOS, TTL, flow label) in packet lines");
        }

        var header = new TcpHeader
        {
            Flags = p.Flags,
            Seq = new SeqNum(p.StartSeq), // The remote's numbers are absolute: its ISN is the script's.
            Window = (ushort)window,
            UrgentPointer = (ushort)p.UrgentPointer,
        };
        int offset = _localOffset;
        if (p.SourcePort is ushort src && p.DestinationPort is ushort dst)
        {
            header.SourcePort = src;
            header.DestinationPort = dst;
            offset = _offsetByRemotePort.GetValueOrDefault(src);
        }

        if ((p.Flags & TcpFlags.Ack) != 0)
        {
            header.Ack = new SeqNum(p.Ack ?? 0) + offset;
        }

        var options = default(TcpOptions);
        foreach (var o in p.Options ?? [])
        {
            switch (o.Kind)
            {
                case ScriptOptionKind.Nop or ScriptOptionKind.Eol:
                    break;
                case ScriptOptionKind.Mss:
                    options.Mss = (ushort)o.Value;
                    break;
                case ScriptOptionKind.WindowScale:
                    options.WindowScale = (byte)o.Value;
                    break;
                case ScriptOptionKind.SackPermitted:
                    options.SackPermitted = true;
                    break;
                case ScriptOptionKind.Timestamp:
                    uint ecr = (uint)o.Value2;
                    options.Timestamp = new TcpTimestamp((uint)o.Value, _tsValMap.TryGetValue(ecr, out uint live) ? live : ecr);
                    break;
                case ScriptOptionKind.Sack:
                    foreach (var (l, r) in o.SackBlocks!)
                    {
                        if (!options.TryAddSack(new SackBlock(new SeqNum(l) + offset, new SeqNum(r) + offset)))
                        {
                            throw new ScriptFailure(ev.Line, "more than four SACK blocks");
                        }
                    }

                    break;
                default:
                    throw new PacketdrillUnsupportedException(ev.Line, $"TCP option {o.Kind} in an inbound packet");
            }
        }

        header.Options = options;
        _target.Inject(header, InboundPayload.AsSpan(0, p.PayloadLength), _now);
        Drain();
        RetryPending();
    }

    private void ExpectOutbound(ScriptEvent ev, PacketAction p, long start, long end)
    {
        bool any = ev.Time.Kind == TimeKind.Any;
        long slack = any ? 0 : TimerSlack(end - _now.Microseconds);
        long deadline = any ? _now.Microseconds + AnyTimeWaitMicros : end + _tolerance + slack;
        while (_outbound.Count == 0)
        {
            var d = NextDeadline();
            if (d.Microseconds > deadline || d == Instant.Never)
            {
                string when = any ? "" : $" at {Seconds(start)}";
                throw new ScriptFailure(ev.Line, $"expected {Format(p)}{when} but got nothing by {Seconds(deadline)}");
            }

            Step(d);
        }

        var actual = _outbound.Dequeue();
        long t = actual.Time.Microseconds;
        string at = ev.Time.Kind switch
        {
            TimeKind.Any => "",
            TimeKind.AbsoluteRange or TimeKind.RelativeRange => $" at {Seconds(start)}~{Seconds(end)}",
            _ => $" at {Seconds(start)}",
        };

        // The stack's ISN is learned from its SYN (or SYN-ACK): its numbers in the script are relative to it.
        if ((actual.Header.Flags & TcpFlags.Syn) != 0 && (p.Flags & TcpFlags.Syn) != 0)
        {
            _localOffset = actual.Header.Seq - new SeqNum(p.StartSeq);
            _offsetByRemotePort[actual.Header.DestinationPort] = _localOffset;
        }

        string? mismatch = Compare(p, actual);
        bool late = !any && (t < start - _tolerance || t > end + _tolerance + slack);
        if (mismatch is not null || late)
        {
            string why = mismatch is null ? "" : $" ({mismatch})";
            throw new ScriptFailure(ev.Line, $"expected {Format(p)}{at} but got {Format(actual, p)} at {Seconds(t)}{why}");
        }

        if (!any)
        {
            _lateBy = Math.Max(0, t - (end + _tolerance));
        }

        _lastOutboundMicros = Math.Max(_lastOutboundMicros, t);

        if (t > _now.Microseconds)
        {
            _now = actual.Time;
        }
    }

    private string? Compare(PacketAction p, CapturedSegment actual)
    {
        var h = actual.Header;
        var flags = h.Flags & ~TcpFlags.Reserved;
        var mask = _options.IgnorePush ? ~TcpFlags.Psh : ~TcpFlags.None;
        if ((flags & mask) != (p.Flags & mask))
        {
            return "flags differ";
        }

        if ((p.SourcePort is ushort sp && h.SourcePort != sp) || (p.DestinationPort is ushort dp && h.DestinationPort != dp))
        {
            return "ports differ";
        }

        if (ScriptSeq(h.Seq, h.DestinationPort) != p.StartSeq)
        {
            return "sequence number differs";
        }

        if (actual.PayloadLength != p.PayloadLength)
        {
            return "payload length differs";
        }

        if ((p.Flags & TcpFlags.Ack) != 0 && p.Ack is uint ack && h.Ack.Value != ack)
        {
            return "ack differs";
        }

        if (p.Window is int w && h.Window != w)
        {
            return "window differs";
        }

        if ((p.Flags & TcpFlags.Urg) != 0 && h.UrgentPointer != p.UrgentPointer)
        {
            return "urgent pointer differs";
        }

        if (p.Options is { } expected)
        {
            var got = ActualOptions(h);
            if (expected.Count != got.Count)
            {
                return "TCP options differ";
            }

            for (int i = 0; i < expected.Count; i++)
            {
                var (e, a) = (expected[i], got[i]);
                if (e.Kind != a.Kind)
                {
                    return "TCP options differ";
                }

                switch (e.Kind)
                {
                    case ScriptOptionKind.Mss or ScriptOptionKind.WindowScale when e.Value != a.Value:
                        return "TCP options differ";
                    case ScriptOptionKind.Sack when !e.SackBlocks!.SequenceEqual(a.SackBlocks!):
                        return "SACK blocks differ";
                    case ScriptOptionKind.Timestamp:
                        // The stack's TS val is its own clock: remember the mapping; its ecr must echo the remote's val.
                        _tsValMap[(uint)e.Value] = (uint)a.Value;
                        if (e.Value2 != a.Value2)
                        {
                            return "TS ecr differs";
                        }

                        break;
                }
            }
        }

        return null;
    }

    /// <summary>A sequence number of the stack as the script writes it: relative to the ISN of that packet's connection.</summary>
    private uint ScriptSeq(SeqNum live, ushort remotePort) =>
        (live - (_offsetByRemotePort.TryGetValue(remotePort, out int offset) ? offset : _localOffset)).Value;

    /// <summary>The options of an emitted header in the order TcpHeader.Emit lays them out (as Linux does).</summary>
    private List<ScriptTcpOption> ActualOptions(in TcpHeader h)
    {
        var list = new List<ScriptTcpOption>();
        var o = h.Options;
        if (o.Mss is { } mss)
        {
            list.Add(new ScriptTcpOption(ScriptOptionKind.Mss, mss));
        }

        if (o.Timestamp is { } ts)
        {
            if (o.SackPermitted)
            {
                list.Add(new ScriptTcpOption(ScriptOptionKind.SackPermitted));
            }
            else
            {
                list.Add(new ScriptTcpOption(ScriptOptionKind.Nop));
                list.Add(new ScriptTcpOption(ScriptOptionKind.Nop));
            }

            list.Add(new ScriptTcpOption(ScriptOptionKind.Timestamp, ts.Value, ts.EchoReply));
        }
        else if (o.SackPermitted)
        {
            list.Add(new ScriptTcpOption(ScriptOptionKind.Nop));
            list.Add(new ScriptTcpOption(ScriptOptionKind.Nop));
            list.Add(new ScriptTcpOption(ScriptOptionKind.SackPermitted));
        }

        if (o.WindowScale is { } ws)
        {
            list.Add(new ScriptTcpOption(ScriptOptionKind.Nop));
            list.Add(new ScriptTcpOption(ScriptOptionKind.WindowScale, ws));
        }

        if (h.EmittedSackCount > 0)
        {
            list.Add(new ScriptTcpOption(ScriptOptionKind.Nop));
            list.Add(new ScriptTcpOption(ScriptOptionKind.Nop));
            var blocks = new List<(uint, uint)>();
            for (int i = 0; i < h.EmittedSackCount; i++)
            {
                var b = o.GetSack(i);
                blocks.Add((ScriptSeq(b.Left, h.DestinationPort), ScriptSeq(b.Right, h.DestinationPort)));
            }

            list.Add(new ScriptTcpOption(ScriptOptionKind.Sack, SackBlocks: blocks));
        }

        return list;
    }

    // ---- system calls ----------------------------------------------------------------------------

    private sealed class PendingCall(ScriptEvent ev, SyscallAction action, SocketCall call, long expectedEnd)
    {
        public ScriptEvent Event { get; } = ev;

        public SyscallAction Action { get; } = action;

        public SocketCall Call { get; set; } = call;

        public long ExpectedEnd { get; } = expectedEnd;

        /// <summary>Bytes a blocking write has handed over so far.</summary>
        public long Written { get; set; }

        /// <summary>How much later than ExpectedEnd plus the tolerance it may return (see ScriptRunOptions.TimerSlackMicros).</summary>
        public long Slack { get; init; }

        /// <summary>poll's timeout.</summary>
        public Instant? Deadline { get; init; }

        public List<(int Fd, int Events, ScriptExpr? Revents)>? PollFds { get; init; }
    }

    private void StartSyscall(ScriptEvent ev, SyscallAction s, long start)
    {
        long expectedEnd = s.EndMicros is long e ? (ev.Time.Kind == TimeKind.Relative ? start - ev.Time.StartMicros + e : e) : start;
        if (s.Name == "poll")
        {
            StartPoll(ev, s, expectedEnd);
            return;
        }

        var (call, nonBlocking) = BuildCall(ev, s);
        var outcome = _target.Invoke(call, _now);
        Drain();
        if (outcome.Blocked && nonBlocking)
        {
            outcome = SyscallOutcome.Error(call.Kind == SocketCallKind.Connect ? "EINPROGRESS" : "EAGAIN");
        }

        var pending = new PendingCall(ev, s, call with { Retry = true }, expectedEnd) { Slack = ReturnSlack(expectedEnd, start) };
        if (call.Kind == SocketCallKind.Write && !outcome.Blocked && outcome.Errno is null && !nonBlocking && outcome.Value < call.Arg)
        {
            // A blocking write returns once the send buffer took everything.
            pending.Written = outcome.Value;
            pending.Call = pending.Call with { Arg = call.Arg - outcome.Value };
            _pending = pending;
            return;
        }

        if (outcome.Blocked)
        {
            _pending = pending;
            return;
        }

        Complete(pending, outcome);
    }

    private void StartPoll(ScriptEvent ev, SyscallAction s, long expectedEnd)
    {
        if (s.Arguments.Count != 3 || s.Arguments[0] is not ListExpr list)
        {
            throw new ScriptFailure(ev.Line, "poll needs ([{fd=..., events=...}], nfds, timeout)");
        }

        var fds = new List<(int, int, ScriptExpr?)>();
        foreach (var item in list.Items)
        {
            if (item is not StructExpr st)
            {
                throw new ScriptFailure(ev.Line, "poll's array holds {fd=..., events=...} structures");
            }

            int fd = LiveFd(Eval(Field(st, "fd", ev.Line) ?? throw new ScriptFailure(ev.Line, "pollfd without fd"), ev.Line));
            int events = (int)Eval(Field(st, "events", ev.Line) ?? new IntExpr(0), ev.Line);
            fds.Add((fd, events, Field(st, "revents", ev.Line)));
        }

        long timeoutMs = Eval(s.Arguments[2], ev.Line);
        var pending = new PendingCall(ev, s, new SocketCall(SocketCallKind.Poll, 0), expectedEnd)
        {
            Slack = ReturnSlack(expectedEnd, _now.Microseconds),
            PollFds = fds,
            Deadline = timeoutMs < 0 ? null : _now + TimeSpan.FromMilliseconds(timeoutMs),
        };
        _pending = pending;
        RetryPending();
    }

    private static ScriptExpr? Field(StructExpr st, string name, int line)
    {
        foreach (var item in st.Items)
        {
            if (item is BinaryExpr { Op: "=", Left: WordExpr w } b && w.Word == name)
            {
                return b.Right;
            }
        }

        _ = line;
        return null;
    }

    private void RetryPending()
    {
        if (_pending is not { } p)
        {
            return;
        }

        if (p.PollFds is { } fds)
        {
            int ready = 0;
            foreach (var (fd, events, _) in fds)
            {
                if (_target.Invoke(new SocketCall(SocketCallKind.Poll, fd) { Arg = events }, _now).Value != 0)
                {
                    ready++;
                }
            }

            Drain();
            if (ready > 0 || (p.Deadline is Instant d && _now >= d))
            {
                _pending = null;
                CompletePoll(p);
            }

            return;
        }

        var outcome = _target.Invoke(p.Call, _now);
        Drain();
        if (outcome.Blocked)
        {
            return;
        }

        if (p.Call.Kind == SocketCallKind.Write && outcome.Errno is null)
        {
            p.Written += outcome.Value;
            p.Call = p.Call with { Arg = p.Call.Arg - outcome.Value };
            if (p.Call.Arg > 0)
            {
                return;
            }

            outcome = SyscallOutcome.Ok(p.Written);
        }

        _pending = null;
        Complete(p, outcome);
    }

    /// <summary>Before the next system call starts, a blocked one must return (packetdrill runs one call at a time).</summary>
    private void FinishPending(int line)
    {
        if (_pending is not { } p)
        {
            return;
        }

        var until = Instant.FromMicroseconds(Math.Max(p.ExpectedEnd + _tolerance + p.Slack, _now.Microseconds));
        while (_pending is not null)
        {
            var d = NextDeadline();
            if (d > until)
            {
                throw new ScriptFailure(p.Event.Line, $"{p.Action.Name}() expected to return at {Seconds(p.ExpectedEnd)} but it was still blocked at {Seconds(until.Microseconds)} (line {line} waits for it)");
            }

            Step(d);
        }
    }

    private void CheckReturnTime(PendingCall p)
    {
        long t = _now.Microseconds;
        if (t < p.ExpectedEnd - _tolerance || t > p.ExpectedEnd + _tolerance + p.Slack)
        {
            throw new ScriptFailure(p.Event.Line, $"timing error: expected {p.Action.Name}() to return at {Seconds(p.ExpectedEnd)} but it returned at {Seconds(t)}");
        }

        _lateBy = Math.Max(_lateBy, t - (p.ExpectedEnd + _tolerance));
    }

    private void CompletePoll(PendingCall p)
    {
        CheckReturnTime(p);
        int line = p.Event.Line;
        int ready = 0;
        foreach (var (fd, events, reventsExpr) in p.PollFds!)
        {
            int revents = (int)_target.Invoke(new SocketCall(SocketCallKind.Poll, fd) { Arg = events }, _now).Value;
            ready += revents != 0 ? 1 : 0;
            if (reventsExpr is not null && reventsExpr is not EllipsisExpr && Eval(reventsExpr, line) != revents)
            {
                throw new ScriptFailure(line, $"poll: expected revents {FormatExpr(reventsExpr)} for fd {fd} but got {PollNames(revents)}");
            }
        }

        CheckResult(p, SyscallOutcome.Ok(ready));
    }

    private void Complete(PendingCall p, SyscallOutcome outcome)
    {
        CheckReturnTime(p);
        var s = p.Action;
        if (p.Call.Kind != SocketCallKind.GetSockOpt || outcome.Errno is not null)
        {
            CheckResult(p, outcome);
            return;
        }

        // getsockopt returns 0 and the option's value through its fourth argument.
        CheckResult(p, SyscallOutcome.Ok(0));
        if (s.Arguments.Count >= 4)
        {
            var expected = s.Arguments[3];
            if (expected is ListExpr { Items.Count: 1 } l)
            {
                expected = l.Items[0];
            }

            if (expected is not EllipsisExpr && Eval(expected, p.Event.Line) != outcome.Value)
            {
                throw new ScriptFailure(p.Event.Line, $"getsockopt: expected value {FormatExpr(s.Arguments[3])} but got {outcome.Value.ToString(CultureInfo.InvariantCulture)}");
            }
        }
    }

    private void CheckResult(PendingCall p, SyscallOutcome outcome)
    {
        var s = p.Action;
        int line = p.Event.Line;
        string actual = outcome.Errno is { } errno ? $"-1 {errno}" : outcome.Value.ToString(CultureInfo.InvariantCulture);
        if (s.Result is EllipsisExpr)
        {
            return;
        }

        long expectedValue = Eval(s.Result, line);
        if (p.Call.Kind is SocketCallKind.Socket or SocketCallKind.Accept && outcome.Errno is null && expectedValue >= 0)
        {
            // packetdrill maps the script's descriptor numbers onto the live ones: a script may call its socket 4.
            _fdMap[expectedValue] = (int)outcome.Value;
            return;
        }

        string expected = FormatExpr(s.Result) + (s.Errno is null ? "" : " " + s.Errno);
        bool ok;
        if (outcome.Errno is { } got)
        {
            ok = expectedValue == -1 && s.Errno is { } want
                && ScriptSymbols.TryGetErrno(want, out int w) && ScriptSymbols.TryGetErrno(got, out int g) && w == g;
        }
        else
        {
            // A call that returns the value compares it; the returned value is reported as-is.
            ok = s.Errno is null && expectedValue == outcome.Value;
        }

        if (!ok)
        {
            throw new ScriptFailure(line, $"expected {s.Name}(...) = {expected} but it returned {actual} at {Seconds(_now.Microseconds)}");
        }
    }

    private (SocketCall Call, bool NonBlocking) BuildCall(ScriptEvent ev, SyscallAction s)
    {
        int line = ev.Line;
        var a = s.Arguments;
        void Need(int n)
        {
            if (a.Count != n)
            {
                throw new ScriptFailure(line, $"{s.Name} takes {n} arguments");
            }
        }

        int Fd() => LiveFd(Eval(a[0], line));
        SocketCall call;
        bool dontWait = false;
        switch (s.Name)
        {
            case "socket":
                Need(3);
                long domain = a[0] is EllipsisExpr ? 2 : Eval(a[0], line);
                if (domain is not (2 or 10))
                {
                    throw new PacketdrillUnsupportedException(line, $"socket domain {FormatExpr(a[0])}");
                }

                long type = Eval(a[1], line);
                if ((type & ~ScriptSymbols.ONonBlock) != 1 || Eval(a[2], line) is not (0 or ScriptSymbols.IpProtoTcp))
                {
                    throw new PacketdrillUnsupportedException(line, "a socket other than SOCK_STREAM/IPPROTO_TCP");
                }

                call = new SocketCall(SocketCallKind.Socket, 0) { Arg = type };
                break;
            case "bind":
                Need(3);
                call = new SocketCall(SocketCallKind.Bind, Fd()) { Arg = PortOf(a[1], line) };
                break;
            case "listen":
                Need(2);
                call = new SocketCall(SocketCallKind.Listen, Fd()) { Arg = Eval(a[1], line) };
                break;
            case "accept":
                Need(3);
                call = new SocketCall(SocketCallKind.Accept, Fd());
                break;
            case "connect":
                Need(3);
                call = new SocketCall(SocketCallKind.Connect, Fd()) { Arg = PortOf(a[1], line) };
                break;
            case "write":
                Need(3);
                call = new SocketCall(SocketCallKind.Write, Fd()) { Arg = Eval(a[2], line) };
                break;
            case "send":
                Need(4);
                dontWait = MsgFlags(a[3], line);
                call = new SocketCall(SocketCallKind.Write, Fd()) { Arg = Eval(a[2], line) };
                break;
            case "writev":
                Need(3);
                call = new SocketCall(SocketCallKind.Write, Fd()) { Arg = IovecLength(a[1], line) };
                break;
            case "read":
                Need(3);
                call = new SocketCall(SocketCallKind.Read, Fd()) { Arg = Eval(a[2], line) };
                break;
            case "recv":
                Need(4);
                dontWait = MsgFlags(a[3], line);
                call = new SocketCall(SocketCallKind.Read, Fd()) { Arg = Eval(a[2], line) };
                break;
            case "close":
                Need(1);
                call = new SocketCall(SocketCallKind.Close, Fd());
                break;
            case "shutdown":
                Need(2);
                call = new SocketCall(SocketCallKind.Shutdown, Fd()) { Arg = Eval(a[1], line) };
                break;
            case "setsockopt":
                Need(5);
                call = new SocketCall(SocketCallKind.SetSockOpt, Fd()) { Level = (int)Eval(a[1], line), Option = (int)Eval(a[2], line) };
                if (a[3] is StructExpr st)
                {
                    var onoff = Field(st, "onoff", line) ?? (st.Items.Count == 2 ? st.Items[0] : null);
                    var linger = Field(st, "linger", line) ?? (st.Items.Count == 2 ? st.Items[1] : null);
                    if (onoff is null || linger is null)
                    {
                        throw new PacketdrillUnsupportedException(line, $"setsockopt value {FormatExpr(a[3])}");
                    }

                    call = call with { Linger = ((int)Eval(onoff, line), (int)Eval(linger, line)) };
                }
                else
                {
                    call = call with { Arg = Eval(a[3] is ListExpr { Items.Count: 1 } l ? l.Items[0] : a[3], line) };
                }

                break;
            case "getsockopt":
                Need(5);
                call = new SocketCall(SocketCallKind.GetSockOpt, Fd()) { Level = (int)Eval(a[1], line), Option = (int)Eval(a[2], line) };
                break;
            case "fcntl":
                if (a.Count == 2 && Eval(a[1], line) == 3)
                {
                    call = new SocketCall(SocketCallKind.GetFlags, Fd());
                }
                else if (a.Count == 3 && Eval(a[1], line) == 4)
                {
                    call = new SocketCall(SocketCallKind.SetFlags, Fd()) { Arg = Eval(a[2], line) };
                }
                else
                {
                    throw new PacketdrillUnsupportedException(line, "fcntl other than F_GETFL/F_SETFL");
                }

                break;
            default:
                throw new PacketdrillUnsupportedException(line, $"system call {s.Name}");
        }

        bool nonBlocking = dontWait || (call.Kind != SocketCallKind.Socket && _target.IsNonBlocking(call.Fd));
        return (call, nonBlocking);
    }

    /// <summary>A descriptor the script never got from socket() or accept() is invalid (EBADF), as in packetdrill.</summary>
    private int LiveFd(long scriptFd) => _fdMap.TryGetValue(scriptFd, out int live) ? live : -1;

    private static bool MsgFlags(ScriptExpr e, int line)
    {
        long flags = Eval(e, line);
        if ((flags & ~(long)ScriptSymbols.MsgDontWait) != 0)
        {
            throw new PacketdrillUnsupportedException(line, $"send/recv flags {FormatExpr(e)}");
        }

        return flags != 0;
    }

    private static long PortOf(ScriptExpr addr, int line)
    {
        if (addr is EllipsisExpr)
        {
            return 0;
        }

        if (addr is StructExpr st)
        {
            foreach (var item in st.Items)
            {
                if (item is BinaryExpr { Op: "=", Left: WordExpr { Word: "sin_port" or "sin6_port" } } b)
                {
                    return b.Right is CallExpr { Name: "htons", Arguments: [var p] } ? Eval(p, line) : Eval(b.Right, line);
                }
            }

            return 0;
        }

        throw new PacketdrillUnsupportedException(line, $"socket address {FormatExpr(addr)}");
    }

    private static long IovecLength(ScriptExpr iov, int line)
    {
        if (iov is not ListExpr list)
        {
            throw new PacketdrillUnsupportedException(line, $"writev vector {FormatExpr(iov)}");
        }

        long total = 0;
        foreach (var item in list.Items)
        {
            var len = item is StructExpr st ? Field(st, "iov_len", line) ?? (st.Items.Count == 2 ? st.Items[1] : null) : null;
            total += Eval(len ?? throw new PacketdrillUnsupportedException(line, $"iovec {FormatExpr(item)}"), line);
        }

        return total;
    }

    /// <summary>Evaluates an integer expression: literals, symbols, <c>a|b</c>, <c>htons(n)</c>.</summary>
    private static long Eval(ScriptExpr e, int line) => e switch
    {
        IntExpr i => i.Value,
        WordExpr w when ScriptSymbols.TryGetValue(w.Word, out long v) => v,
        WordExpr w => throw new PacketdrillUnsupportedException(line, $"symbol {w.Word}"),
        BinaryExpr { Op: "|" } b => Eval(b.Left, line) | Eval(b.Right, line),
        CallExpr { Name: "htons" or "htonl", Arguments: [var x] } => Eval(x, line),
        ListExpr { Items: [var x] } => Eval(x, line),
        _ => throw new PacketdrillUnsupportedException(line, $"expression {FormatExpr(e)}"),
    };

    // ---- end of script ---------------------------------------------------------------------------

    private void Finish()
    {
        int line = _lastEvent?.Line ?? 0;
        FinishPending(line);
        Drain();
        if (!_outbound.TryPeek(out _))
        {
            // Like packetdrill's final check, give the stack the tolerance to send anything still due.
            AdvanceTo(_now + TimeSpan.FromTicks(_tolerance * 10));
        }

        if (_outbound.TryDequeue(out var extra))
        {
            throw new ScriptFailure(line, $"unexpected outbound packet {Format(extra, null)} at {Seconds(extra.Time.Microseconds)} after the last line");
        }
    }

    // ---- formatting ------------------------------------------------------------------------------

    internal static string Seconds(long micros) =>
        micros % 1000 == 0
            ? (micros / 1e6).ToString("0.000", CultureInfo.InvariantCulture)
            : (micros / 1e6).ToString("0.000000", CultureInfo.InvariantCulture);

    internal static string FlagString(TcpFlags f)
    {
        var sb = new StringBuilder();
        if ((f & TcpFlags.Fin) != 0) { sb.Append('F'); }
        if ((f & TcpFlags.Syn) != 0) { sb.Append('S'); }
        if ((f & TcpFlags.Rst) != 0) { sb.Append('R'); }
        if ((f & TcpFlags.Psh) != 0) { sb.Append('P'); }
        if ((f & TcpFlags.Ack) != 0) { sb.Append('.'); }
        if ((f & TcpFlags.Urg) != 0) { sb.Append('U'); }
        if ((f & TcpFlags.Ece) != 0) { sb.Append('E'); }
        if ((f & TcpFlags.Cwr) != 0) { sb.Append('W'); }
        return sb.Length == 0 ? "-" : sb.ToString();
    }

    /// <summary>The expected packet as the script line writes it.</summary>
    internal static string Format(PacketAction p)
    {
        var sb = new StringBuilder("> ");
        if (p.SourcePort is ushort sp && p.DestinationPort is ushort dp)
        {
            sb.Append(CultureInfo.InvariantCulture, $"{sp}>{dp} ");
        }

        sb.Append(CultureInfo.InvariantCulture, $"{FlagString(p.Flags)} {p.StartSeq}:{p.StartSeq + (uint)p.PayloadLength}({p.PayloadLength})");
        if ((p.Flags & TcpFlags.Ack) != 0 && p.Ack is uint ack)
        {
            sb.Append(CultureInfo.InvariantCulture, $" ack {ack}");
        }

        if (p.Window is int w)
        {
            sb.Append(CultureInfo.InvariantCulture, $" win {w}");
        }

        if (p.Options is null)
        {
            sb.Append(" <...>");
        }
        else if (p.Options.Count > 0)
        {
            sb.Append(' ').Append(FormatOptions(p.Options));
        }

        return sb.ToString();
    }

    /// <summary>An actual packet in script notation (relative to the stack's ISN), showing what the expectation shows.</summary>
    private string Format(CapturedSegment s, PacketAction? like)
    {
        var h = s.Header;
        uint seq = ScriptSeq(h.Seq, h.DestinationPort);
        var sb = new StringBuilder("> ");
        if (like?.SourcePort is not null)
        {
            sb.Append(CultureInfo.InvariantCulture, $"{h.SourcePort}>{h.DestinationPort} ");
        }

        sb.Append(CultureInfo.InvariantCulture, $"{FlagString(h.Flags & ~TcpFlags.Reserved)} {seq}:{seq + (uint)s.PayloadLength}({s.PayloadLength})");
        if ((h.Flags & TcpFlags.Ack) != 0)
        {
            sb.Append(CultureInfo.InvariantCulture, $" ack {h.Ack.Value}");
        }

        if (like is null || like.Window is not null)
        {
            sb.Append(CultureInfo.InvariantCulture, $" win {h.Window}");
        }

        var options = ActualOptions(h);
        if (options.Count > 0 && (like is null || like.Options is not null))
        {
            sb.Append(' ').Append(FormatOptions(options));
        }

        return sb.ToString();
    }

    private static string FormatOptions(IReadOnlyList<ScriptTcpOption> options)
    {
        var parts = new List<string>();
        foreach (var o in options)
        {
            parts.Add(o.Kind switch
            {
                ScriptOptionKind.Nop => "nop",
                ScriptOptionKind.Eol => "eol",
                ScriptOptionKind.Mss => $"mss {o.Value}",
                ScriptOptionKind.WindowScale => $"wscale {o.Value}",
                ScriptOptionKind.SackPermitted => "sackOK",
                ScriptOptionKind.Timestamp => $"TS val {o.Value} ecr {o.Value2}",
                ScriptOptionKind.Sack => "sack " + string.Join(' ', o.SackBlocks!.Select(b => $"{b.Left}:{b.Right}")),
                _ => o.Kind.ToString(),
            });
        }

        return "<" + string.Join(',', parts) + ">";
    }

    private static string OptionName(ScriptOptionKind kind) => kind switch
    {
        ScriptOptionKind.WindowScale => "wscale",
        ScriptOptionKind.SackPermitted => "sackOK",
        ScriptOptionKind.Sack => "sack",
        ScriptOptionKind.Timestamp => "TS",
        ScriptOptionKind.FastOpen => "FO",
        ScriptOptionKind.FastOpenExperimental => "FOEXP",
        ScriptOptionKind.Md5 => "md5",
        _ => kind.ToString(),
    };

    private static string PollNames(int revents)
    {
        if (revents == 0)
        {
            return "0";
        }

        var names = new List<string>();
        foreach (var (name, bit) in new[] { ("POLLIN", ScriptSymbols.PollIn), ("POLLPRI", ScriptSymbols.PollPri), ("POLLOUT", ScriptSymbols.PollOut), ("POLLERR", ScriptSymbols.PollErr), ("POLLHUP", ScriptSymbols.PollHup), ("POLLNVAL", ScriptSymbols.PollNval), ("POLLRDNORM", ScriptSymbols.PollRdNorm), ("POLLWRNORM", ScriptSymbols.PollWrNorm), ("POLLRDHUP", ScriptSymbols.PollRdHup) })
        {
            if ((revents & bit) != 0)
            {
                names.Add(name);
            }
        }

        return string.Join('|', names);
    }

    internal static string FormatExpr(ScriptExpr e) => e switch
    {
        EllipsisExpr => "...",
        IntExpr i => i.Value.ToString(CultureInfo.InvariantCulture),
        WordExpr w => w.Word,
        StringExpr s => $"\"{s.Value}\"",
        BinaryExpr b when b.Op == "=" => $"{FormatExpr(b.Left)}={FormatExpr(b.Right)}",
        BinaryExpr b => $"{FormatExpr(b.Left)}{b.Op}{FormatExpr(b.Right)}",
        ListExpr l => "[" + string.Join(", ", l.Items.Select(FormatExpr)) + "]",
        StructExpr st => "{" + string.Join(", ", st.Items.Select(FormatExpr)) + "}",
        CallExpr c => $"{c.Name}({string.Join(", ", c.Arguments.Select(FormatExpr))})",
        _ => e.ToString() ?? "",
    };

    private sealed class ScriptFailure(int line, string message) : Exception(message)
    {
        public int Line { get; } = line;
    }
}
