using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using TcpKit.Tcp;
using TcpKit.Wire;
using TcpKit.Wire.Ip;
using TcpKit.Wire.Tcp;

namespace TcpKit.Net.Packetdrill;

/// <summary>Settings of a run against the Linux kernel.</summary>
public sealed record KernelTargetOptions
{
    /// <summary>
    /// The smallest timing tolerance used (the script's own is kept when larger): the kernel runs in real time
    /// on a shared machine, so its timers and the runner's sleeps jitter by milliseconds.
    /// </summary>
    public long MinimumToleranceMicros { get; init; } = 25_000;

    /// <summary>
    /// Scripts whose timeline is longer (keepalive after two hours, a 127 s SYN timeout) would take that long
    /// in real time; they are reported as unsupported instead of run.
    /// </summary>
    public TimeSpan MaximumScriptDuration { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Lets a timer-driven packet come as late as the kernel's timer wheel may fire its timer (<see cref="TimerWheel"/>);
    /// never earlier than the tolerance allows.
    /// </summary>
    public bool TimerSlack { get; init; } = true;
}

/// <summary>
/// Linux's timer wheel (kernel/time/timer.c) files a timer in one of its levels by how far away it is and fires
/// it at the level's next tick: level n ticks every 8^n jiffies and holds delays up to 63 * 8^n jiffies, so a
/// 1 s retransmission timer with HZ=250 fires up to 32 ms late and a 10 s keepalive up to 256 ms late.
/// </summary>
public static class TimerWheel
{
    private static readonly Lazy<int> Hz = new(ReadHz);

    /// <summary>The jiffy rate of the running kernel (CONFIG_HZ), or 100 (the coarsest) when the build config is not readable.</summary>
    public static int KernelHz => Hz.Value;

    /// <summary>How late a timer set <paramref name="delayMicros"/> ahead may fire, plus one jiffy for the tick it was set in.</summary>
    public static long SlackMicros(long delayMicros) => SlackMicros(delayMicros, KernelHz);

    public static long SlackMicros(long delayMicros, int hz)
    {
        long jiffy = 1_000_000 / hz;
        long delay = Math.Max(0, delayMicros) / jiffy;
        long granularity = 1;
        for (long levelEnd = 63; delay >= levelEnd && granularity < (1L << 24); levelEnd *= 8)
        {
            granularity *= 8;
        }

        return (granularity + 1) * jiffy;
    }

    private static int ReadHz()
    {
        // The running kernel's build config: /proc/config.gz (CONFIG_IKCONFIG_PROC) or the distribution's /boot copy.
        try
        {
            if (File.Exists("/proc/config.gz"))
            {
                using var file = File.OpenRead("/proc/config.gz");
                using var gzip = new System.IO.Compression.GZipStream(file, System.IO.Compression.CompressionMode.Decompress);
                using var reader = new StreamReader(gzip);
                if (FindHz(reader) is int hz)
                {
                    return hz;
                }
            }

            string boot = "/boot/config-" + File.ReadAllText("/proc/sys/kernel/osrelease").Trim();
            if (File.Exists(boot))
            {
                using var reader = new StreamReader(boot);
                if (FindHz(reader) is int hz)
                {
                    return hz;
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        catch (InvalidDataException)
        {
        }

        return 100;
    }

    private static int? FindHz(StreamReader reader)
    {
        while (reader.ReadLine() is { } line)
        {
            if (line.StartsWith("CONFIG_HZ=", StringComparison.Ordinal) && int.TryParse(line.AsSpan(10), NumberStyles.Integer, CultureInfo.InvariantCulture, out int hz) && hz > 0)
            {
                return hz;
            }
        }

        return null;
    }
}

/// <summary>
/// Runs a packetdrill script against the real Linux kernel: a fresh network namespace holds a TUN device whose
/// kernel side is the script's local address (192.168.0.1) with the remote (192.0.2.1) routed into it. Socket
/// calls are real syscalls on sockets made in the namespace (all non-blocking underneath; the runner decides
/// EAGAIN or blocking), inbound packets are built and written into the TUN, and what the kernel writes to the
/// TUN is read on a thread and stamped with its real time. Script time 0 is the first socket call or packet;
/// the runner's virtual instants are turned into real sleeps from then. Shell lines are applied as sysctls
/// inside the namespace only (<c>ip netns exec NS sysctl -w</c>). Needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN).
/// </summary>
public sealed unsafe class KernelTarget : IScriptTarget, IDisposable
{
    private const string Device = "pdk0";
    private const ushort FirstRemotePort = 40000;
    private static readonly byte[] LocalAddress = [192, 168, 0, 1];
    private static readonly byte[] RemoteAddress = [192, 0, 2, 1];

    // packetdrill's IPv6 addresses: a unique-local one for the stack, the documentation prefix for the remote.
    private static readonly byte[] LocalAddress6 = [0xfd, 0x3d, 0xfa, 0x7b, 0xd1, 0x7d, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    private static readonly byte[] RemoteAddress6 = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    private static readonly byte[] LocalMapped = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 168, 0, 1];
    private static readonly byte[] RemoteMapped = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1];
    private static readonly long PollQuantumMicros = 1000;

    private readonly string _namespace;
    private readonly int _tunFd;
    private readonly Thread _reader;
    private readonly ConcurrentQueue<CapturedSegment> _outbound = new();
    private readonly ManualResetEventSlim _readerRunning = new();
    private readonly ScriptIpVersion _ipVersion;
    private readonly IpAddress _local;
    private readonly IpAddress _remote;
    private readonly Dictionary<int, bool> _nonBlocking = [];
    private readonly HashSet<int> _fds = [];
    private readonly ushort _bindPort;
    private readonly ushort _connectPort;
    private readonly byte[] _packet = new byte[65536];
    private byte[] _data = new byte[65536];
    private volatile bool _stopping;
    private long _startTimestamp;
    private bool _started;
    private long _virtualNow;
    private ushort _nextRemotePort = FirstRemotePort;
    private ushort _ipId;

    // packetdrill's "socket under test", as in EngineTarget: a listener whose next packet opens a new connection,
    // or the current connection's ports.
    private ushort? _listenerUnderTest;
    private (ushort Local, ushort Remote)? _current;
    private int? _connectionFd;

    private KernelTarget(string ns, int tunFd, TargetSettings settings)
    {
        _namespace = ns;
        _tunFd = tunFd;
        _bindPort = settings.BindPort;
        _connectPort = settings.ConnectPort;
        _ipVersion = settings.IpVersion;
        bool v6 = _ipVersion == ScriptIpVersion.Ipv6;
        _local = v6 ? IpAddress.FromIPv6(LocalAddress6) : IpAddress.FromIPv4(LocalAddress);
        _remote = v6 ? IpAddress.FromIPv6(RemoteAddress6) : IpAddress.FromIPv4(RemoteAddress);
        // The first packet each way would otherwise pay for JIT compilation inside the script's timeline.
        var warmUp = new TcpHeader { SourcePort = 1, DestinationPort = 2, Flags = TcpFlags.Syn, Options = new TcpOptions { Mss = 1460, SackPermitted = true } };
        _ = Parse(_packet.AsSpan(0, BuildPacket(warmUp, default)), 0);
        _ipId = 0;
        _startTimestamp = Stopwatch.GetTimestamp();
        _reader = new Thread(ReadTun) { IsBackground = true, Name = "packetdrill-kernel-tun" };
        _reader.Start();

        // On a busy machine a new thread may wait tens of ms for its first turn: the script's first packet must not.
        _readerRunning.Wait(TimeSpan.FromSeconds(5));
    }

    /// <summary>The network namespace the run uses (deleted on <see cref="Dispose"/>).</summary>
    public string Namespace => _namespace;

    /// <summary>Why kernel runs cannot happen here (not Linux, not root, no TUN, no ip tool), or null.</summary>
    public static string? UnavailableReason()
    {
        if (!OperatingSystem.IsLinux())
        {
            return "needs Linux";
        }

        if (Environment.UserName != "root" && !string.Equals(Environment.GetEnvironmentVariable("USER"), "root", StringComparison.Ordinal))
        {
            return "needs root (network namespaces and TUN)";
        }

        if (!File.Exists("/dev/net/tun"))
        {
            return "needs /dev/net/tun";
        }

        return RunTool("ip", ["netns", "list"]).Code == 0 ? null : "needs the ip tool (iproute2) with netns support";
    }

    /// <summary>Makes a namespace and TUN device for one script.</summary>
    public static KernelTarget Create(TargetSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        string ns = $"pdk{Environment.ProcessId % 100000}x{Random.Shared.Next(100000, 999999)}";
        Ip("netns", "add", ns);
        try
        {
            Ip("-n", ns, "link", "set", "lo", "up");
            int tun = InNamespace(ns, OpenTun);
            try
            {
                bool v6 = settings.IpVersion == ScriptIpVersion.Ipv6;

                // The MTU makes the kernel announce the profile's MSS; IPv6 needs at least 1280 (RFC 8200 5).
                int mtu = v6 ? Math.Max(1280, settings.Profile.Mss + 60) : settings.Profile.Mss + 40;
                Ip("-n", ns, "link", "set", Device, "mtu", mtu.ToString(CultureInfo.InvariantCulture), "up");
                if (v6)
                {
                    // nodad: the address is usable at once instead of after duplicate address detection.
                    Ip("-n", ns, "-6", "addr", "add", "fd3d:fa7b:d17d::1/48", "dev", Device, "nodad");
                    Ip("-n", ns, "-6", "route", "add", "2001:db8::/32", "dev", Device);
                }
                else
                {
                    Ip("-n", ns, "addr", "add", "192.168.0.1/24", "dev", Device);
                    Ip("-n", ns, "route", "add", "192.0.2.0/24", "dev", Device);
                }

                return new KernelTarget(ns, tun, settings);
            }
            catch
            {
                KernelNative.Close(tun);
                throw;
            }
        }
        catch
        {
            RunTool("ip", ["netns", "del", ns]);
            throw;
        }
    }

    /// <summary>
    /// Runs one script file against the kernel, with the tolerance raised to at least
    /// <see cref="KernelTargetOptions.MinimumToleranceMicros"/>.
    /// </summary>
    public static ScriptResult RunFile(string path, KernelTargetOptions? options = null) =>
        ScriptRunner.TryReadFile(path, out string text, out var failure) ? Run(text, options) : failure;

    /// <summary>
    /// Parses and runs one script against the kernel; its <c>// tcpkit-kernel:</c> marks (<see cref="KernelDirectives"/>)
    /// decide whether a failure is a documented difference from Linux.
    /// </summary>
    public static ScriptResult Run(string text, KernelTargetOptions? options = null)
    {
        options ??= new KernelTargetOptions();
        if (!ScriptRunner.TryParse(text, out var script, out var failure))
        {
            return failure;
        }

        KernelDirectives directives;
        try
        {
            directives = KernelDirectives.Parse(text);
        }
        catch (PacketdrillSyntaxException e)
        {
            return new ScriptResult(ScriptVerdict.Fail, "syntax error: " + e.Message, e.Line);
        }

        long length = TimelineMicros(script);
        if (length > options.MaximumScriptDuration.TotalMicroseconds)
        {
            return new ScriptResult(ScriptVerdict.Unsupported, string.Create(CultureInfo.InvariantCulture, $"the script lasts about {length / 1e6:0.#} s of real time against the kernel (limit {options.MaximumScriptDuration.TotalSeconds:0.#} s)"));
        }

        long tolerance = 4000;
        foreach (var o in script.Options)
        {
            if (o.Name == "tolerance_usecs" && long.TryParse(o.Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out long t))
            {
                tolerance = t;
            }
        }

        WarmUpOnce();
        var runOptions = new ScriptRunOptions
        {
            ToleranceMicros = Math.Max(tolerance, options.MinimumToleranceMicros),
            IgnorePush = directives.AnyPush,
            TimerSlackMicros = options.TimerSlack ? KernelTimerSlackMicros : null,
            TimeFieldsWithinTolerance = true,
        };
        ScriptResult? result = null;
        System.Runtime.ExceptionServices.ExceptionDispatchInfo? error = null;

        // The script's clock is real time: on its own real-time thread the runner keeps it even while builds load the machine.
        var thread = new Thread(() =>
        {
            KernelNative.TryRaiseThreadToRealTime();
            KernelTarget? target = null;
            try
            {
                result = ScriptRunner.Run(script, runOptions with { TargetFactory = settings => target = Create(settings) });
            }
#pragma warning disable CA1031 // Whatever went wrong is rethrown on the caller's thread below.
            catch (Exception e)
#pragma warning restore CA1031
            {
                error = System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e);
            }
            finally
            {
                target?.Dispose();
            }
        }) { Name = "packetdrill-kernel-runner" };
        thread.Start();
        thread.Join();
        error?.Throw();
        return directives.Judge(result!);
    }

    private static int _warmedUp;

    /// <summary>
    /// The first script of a process would pay for compiling the runner's and the target's code inside its
    /// timeline (tens of ms on a busy machine, before its first packet): a short handshake in a namespace of its
    /// own compiles them first. Its result does not matter.
    /// </summary>
    private static void WarmUpOnce()
    {
        if (Interlocked.Exchange(ref _warmedUp, 1) != 0 || !ScriptRunner.TryParse(WarmUpScript, out var script, out _))
        {
            return;
        }

        var thread = new Thread(() =>
        {
            KernelTarget? target = null;
            try
            {
                _ = ScriptRunner.Run(script, new ScriptRunOptions { TargetFactory = settings => target = Create(settings), ToleranceMicros = 1_000_000 });
            }
            catch (IOException)
            {
                // No namespace or TUN here: the script itself will report it.
            }
            finally
            {
                target?.Dispose();
            }
        }) { Name = "packetdrill-kernel-warm-up" };
        thread.Start();
        thread.Join();
    }

    private const string WarmUpScript = """
        0     socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
        +0    bind(3, ..., ...) = 0
        +0    listen(3, 1) = 0
        +0    < S 0:0(0) win 65535 <mss 1000>
        +0    > S. 0:0(0) ack 1 <...>
        +0    < . 1:1(0) ack 1 win 65535
        +0    accept(3, ..., ...) = 4
        +0    write(4, ..., 10) = 10
        +0    > P. 1:11(10) ack 1
        +0    %{ assert tcpi_state == TCP_ESTABLISHED }%
        +0    close(4) = 0
        +0    > F. 11:11(0) ack 1
        """;

    /// <summary>
    /// How late a kernel timer set <paramref name="delayMicros"/> ahead may fire: the timer wheel's granularity, plus
    /// 1/16 of the delay because Linux derives its timers from the RTT it measured, whose error from the runner's
    /// real-time injection (a few ms) RTTVAR multiplies by 4 and every backoff doubles.
    /// </summary>
    public static long KernelTimerSlackMicros(long delayMicros) => TimerWheel.SlackMicros(delayMicros) + (delayMicros / 16);

    /// <summary>The script's length: its latest event time, relative times counted from the event before.</summary>
    internal static long TimelineMicros(PacketdrillScript script)
    {
        long t = 0, latest = 0;
        foreach (var ev in script.Events)
        {
            t = ev.Time.Kind switch
            {
                TimeKind.Absolute or TimeKind.AbsoluteRange => ev.Time.StartMicros,
                TimeKind.Relative or TimeKind.RelativeRange => t + ev.Time.StartMicros,
                _ => t,
            };
            long end = ev.Time.Kind switch
            {
                TimeKind.AbsoluteRange => ev.Time.EndMicros,
                TimeKind.RelativeRange => t - ev.Time.StartMicros + ev.Time.EndMicros,
                _ => t,
            };
            if (ev.Action is SyscallAction { EndMicros: long e })
            {
                end = Math.Max(end, ev.Time.Kind == TimeKind.Relative ? t - ev.Time.StartMicros + e : e);
            }

            latest = Math.Max(latest, end);
        }

        return latest;
    }

    public void Configure(ShellSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        foreach (var (name, value) in settings.Sysctls)
        {
            var (code, output) = RunTool("ip", ["netns", "exec", _namespace, "sysctl", "-q", "-w", $"{name}={value}"]);
            if (code != 0)
            {
                throw new TargetUnsupportedException($"sysctl {name}={value} in a network namespace ({output.Trim()})");
            }
        }

        if (!_started)
        {
            // Setting up is not part of the script's timeline.
            _startTimestamp = Stopwatch.GetTimestamp();
        }
    }

    /// <summary>The kernel's timers are its own: the runner is asked back every millisecond to look at the TUN.</summary>
    public Instant NextDeadline => Instant.FromMicroseconds(Math.Max(ElapsedMicros(), _virtualNow) + PollQuantumMicros);

    public void Advance(Instant now) => SleepUntil(now);

    public void Inject(TcpHeader header, ReadOnlySpan<byte> payload, Instant now)
    {
        SleepUntil(now);
        if (header.SourcePort == 0 || header.DestinationPort == 0)
        {
            if (_listenerUnderTest is ushort listener)
            {
                _listenerUnderTest = null;
                _current = (listener, _nextRemotePort++);
            }
            else
            {
                _current ??= (_bindPort, _nextRemotePort);
            }

            header.SourcePort = _current.Value.Remote;
            header.DestinationPort = _current.Value.Local;
        }
        else
        {
            _listenerUnderTest = null;
            _current = (header.DestinationPort, header.SourcePort);
        }

        int length = BuildPacket(header, payload);
        fixed (byte* p = _packet)
        {
            if (KernelNative.Write(_tunFd, p, (nuint)length) < 0)
            {
                throw new IOException($"writing to the TUN device failed: errno {KernelNative.LastErrno}");
            }
        }
    }

    private int BuildPacket(in TcpHeader header, ReadOnlySpan<byte> payload)
    {
        int tcpLength = header.HeaderLength + payload.Length;
        int ipLength = _remote.IsIPv6
            ? new Ipv6Header { NextHeader = 6, HopLimit = 64, Source = _remote, Destination = _local }.Emit(_packet, tcpLength)
            : new Ipv4Header
            {
                Identification = _ipId++,
                DontFragment = true,
                TimeToLive = 64,
                Protocol = 6,
                Source = _remote,
                Destination = _local,
            }.Emit(_packet, tcpLength);
        return ipLength + header.Emit(_packet.AsSpan(ipLength), payload, _remote, _local);
    }

    public bool TryTakeOutbound(out CapturedSegment segment) => _outbound.TryDequeue(out segment);

    /// <summary>Every option Linux implements and the runner can write and check.</summary>
    public bool SupportsOption(ScriptOptionKind kind) => kind is not (ScriptOptionKind.FastOpen or ScriptOptionKind.FastOpenExperimental or ScriptOptionKind.Md5);

    public bool IsNonBlocking(int fd) => _nonBlocking.GetValueOrDefault(fd);

    public TcpInfo? GetTcpInfo()
    {
        if (_connectionFd is not int fd)
        {
            return _current is { } ports ? TcpInfoFromSs(ports.Local, ports.Remote) : null;
        }

        // struct tcp_info (linux/tcp.h): byte 0 state; u32 rto at 8, snd_mss 16, unacked 24, rtt 68, rttvar 72,
        // snd_ssthresh 76, snd_cwnd 80, total_retrans 100.
        byte* info = stackalloc byte[256];
        int length = 256;
        if (KernelNative.GetSockOpt(fd, KernelNative.IpProtoTcp, KernelNative.TcpInfo, info, &length) < 0 || length < 104)
        {
            return null;
        }

        var bytes = new ReadOnlySpan<byte>(info, length).ToArray();
        uint U32(int offset) => BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(offset));
        uint rtt = U32(68);
        return new TcpInfo(
            StateOf(bytes[0]),
            U32(8),
            rtt == 0 ? null : rtt,
            rtt == 0 ? null : U32(72),
            U32(80),
            U32(76) >= int.MaxValue ? int.MaxValue : U32(76),
            U32(100),
            U32(16),
            U32(24));
    }

    public SyscallOutcome Invoke(SocketCall call, Instant now)
    {
        ArgumentNullException.ThrowIfNull(call);
        SleepUntil(now);
        if (call.Kind is SocketCallKind.Write or SocketCallKind.Read && call.Arg < 0)
        {
            return SyscallOutcome.Error("EINVAL");
        }

        return call.Kind switch
        {
            SocketCallKind.Socket => NewSocket(call),
            SocketCallKind.Bind => WithAddress(call.Fd, local: true, call.Arg > 0 ? (ushort)call.Arg : _bindPort, bind: true),
            SocketCallKind.Listen => Listen(call),
            SocketCallKind.Accept => Accept(call.Fd),
            SocketCallKind.Connect => Connect(call),
            SocketCallKind.Write => Write(call),
            SocketCallKind.Read => Read(call),
            SocketCallKind.Close => Close(call.Fd),
            SocketCallKind.Shutdown => Result(KernelNative.Shutdown(call.Fd, (int)call.Arg)),
            SocketCallKind.SetSockOpt => SetSockOpt(call),
            SocketCallKind.GetSockOpt => GetSockOpt(call),
            SocketCallKind.GetFlags => _fds.Contains(call.Fd)
                ? SyscallOutcome.Ok(ScriptSymbols.ORdWr | (IsNonBlocking(call.Fd) ? ScriptSymbols.ONonBlock : 0))
                : SyscallOutcome.Error("EBADF"),
            SocketCallKind.SetFlags => SetFlags(call),
            SocketCallKind.Poll => SyscallOutcome.Ok(PollOnce(call.Fd, (int)call.Arg)),
            _ => throw new TargetUnsupportedException($"system call {call.Kind}"),
        };
    }

    private SyscallOutcome NewSocket(SocketCall call)
    {
        // A socket belongs to the namespace of the thread that makes it; underneath it is always non-blocking.
        int family = _ipVersion == ScriptIpVersion.Ipv4 ? KernelNative.AfInet : KernelNative.AfInet6;
        int fd = InNamespace(_namespace, () =>
        {
            int s = KernelNative.Socket(family, KernelNative.SockStream | KernelNative.SockNonBlock | KernelNative.SockCloExec, 0);
            return s < 0 ? -KernelNative.LastErrno : s;
        });
        if (fd < 0)
        {
            return SyscallOutcome.Error(ScriptSymbols.ErrnoName(-fd));
        }

        Track(fd, (call.Arg & ScriptSymbols.ONonBlock) != 0);
        return SyscallOutcome.Ok(fd);
    }

    private void Track(int fd, bool nonBlocking)
    {
        _started = true;
        _fds.Add(fd);
        _nonBlocking[fd] = nonBlocking;
    }

    /// <summary>bind or connect to the script's local or remote address in the socket's family.</summary>
    private SyscallOutcome WithAddress(int fd, bool local, ushort port, bool bind)
    {
        byte* sa = stackalloc byte[28];
        int length;
        switch (_ipVersion)
        {
            case ScriptIpVersion.Ipv6:
                KernelNative.WriteSockaddrIn6(new Span<byte>(sa, 28), local ? LocalAddress6 : RemoteAddress6, port);
                length = 28;
                break;
            case ScriptIpVersion.Ipv4MappedIpv6:
                // An AF_INET6 socket speaking IPv4 through IPv4-mapped addresses (RFC 4291 2.5.5.2).
                KernelNative.WriteSockaddrIn6(new Span<byte>(sa, 28), local ? LocalMapped : RemoteMapped, port);
                length = 28;
                break;
            default:
                KernelNative.WriteSockaddrIn(new Span<byte>(sa, 16), local ? LocalAddress : RemoteAddress, port);
                length = 16;
                break;
        }

        return Result(bind ? KernelNative.Bind(fd, sa, length) : KernelNative.Connect(fd, sa, length));
    }

    private SyscallOutcome Listen(SocketCall call)
    {
        var result = Result(KernelNative.Listen(call.Fd, (int)call.Arg));
        if (result.Errno is null)
        {
            _listenerUnderTest = LocalPort(call.Fd);
            _current = null;
        }

        return result;
    }

    private SyscallOutcome Accept(int fd)
    {
        int child = KernelNative.Accept4(fd, null, null, KernelNative.SockNonBlock | KernelNative.SockCloExec);
        if (child < 0)
        {
            return Failure();
        }

        Track(child, false);
        _connectionFd = child;
        return SyscallOutcome.Ok(child);
    }

    private SyscallOutcome Connect(SocketCall call)
    {
        if (call.Retry)
        {
            // A connect in progress: done when writable; SO_ERROR tells how it ended.
            int revents = PollOnce(call.Fd, ScriptSymbols.PollOut);
            if ((revents & (ScriptSymbols.PollOut | ScriptSymbols.PollErr | ScriptSymbols.PollHup)) == 0)
            {
                return SyscallOutcome.WouldBlock;
            }

            int error = SocketError(call.Fd);
            return error == 0 ? SyscallOutcome.Ok(0) : SyscallOutcome.Error(ScriptSymbols.ErrnoName(error));
        }

        var result = WithAddress(call.Fd, local: false, call.Arg > 0 ? (ushort)call.Arg : _connectPort, bind: false);
        if (result.Errno is "EINPROGRESS" or null)
        {
            _listenerUnderTest = null;
            _current = (LocalPort(call.Fd), call.Arg > 0 ? (ushort)call.Arg : _connectPort);
            _connectionFd = call.Fd;
        }

        return result.Errno == "EINPROGRESS" ? SyscallOutcome.WouldBlock : result;
    }

    private SyscallOutcome Write(SocketCall call)
    {
        if (call.Arg > _data.Length)
        {
            _data = new byte[call.Arg];
        }

        fixed (byte* p = _data)
        {
            // packetdrill writes zero bytes; MSG_NOSIGNAL turns SIGPIPE into EPIPE.
            nint n = KernelNative.Send(call.Fd, p, (nuint)call.Arg, KernelNative.MsgNoSignal);
            return n >= 0 ? SyscallOutcome.Ok(n) : Failure();
        }
    }

    private SyscallOutcome Read(SocketCall call)
    {
        if (call.Arg > _data.Length)
        {
            _data = new byte[call.Arg];
        }

        fixed (byte* p = _data)
        {
            nint n = KernelNative.Recv(call.Fd, p, (nuint)call.Arg, 0);
            return n >= 0 ? SyscallOutcome.Ok(n) : Failure();
        }
    }

    private SyscallOutcome Close(int fd)
    {
        var result = Result(KernelNative.Close(fd));
        if (result.Errno is null)
        {
            _fds.Remove(fd);
            _nonBlocking.Remove(fd);
            if (_connectionFd == fd)
            {
                _connectionFd = null;
            }
        }

        return result;
    }

    private SyscallOutcome SetSockOpt(SocketCall call)
    {
        // The script's symbols are Linux's, so level and option pass through unchanged.
        if (call.Linger is var (onoff, linger))
        {
            int* l = stackalloc int[2];
            l[0] = onoff;
            l[1] = linger;
            return Result(KernelNative.SetSockOpt(call.Fd, call.Level, call.Option, (byte*)l, 8));
        }

        int value = (int)call.Arg;
        return Result(KernelNative.SetSockOpt(call.Fd, call.Level, call.Option, (byte*)&value, 4));
    }

    private static SyscallOutcome GetSockOpt(SocketCall call)
    {
        if (call.Level == KernelNative.IpProtoTcp && call.Option == KernelNative.TcpInfo)
        {
            throw new TargetUnsupportedException("getsockopt TCP_INFO (use %{ }% checks)");
        }

        int value = 0;
        int length = 4;
        return KernelNative.GetSockOpt(call.Fd, call.Level, call.Option, (byte*)&value, &length) < 0 ? Failure() : SyscallOutcome.Ok(value);
    }

    private SyscallOutcome SetFlags(SocketCall call)
    {
        if (!_fds.Contains(call.Fd))
        {
            return SyscallOutcome.Error("EBADF");
        }

        _nonBlocking[call.Fd] = (call.Arg & ScriptSymbols.ONonBlock) != 0;
        return SyscallOutcome.Ok(0);
    }

    private static int PollOnce(int fd, int events)
    {
        var pfd = new KernelNative.PollFd { Fd = fd, Events = (short)events };
        return KernelNative.Poll(&pfd, 1, 0) < 0 ? 0 : (ushort)pfd.Revents;
    }

    private static int SocketError(int fd)
    {
        int value = 0;
        int length = 4;
        return KernelNative.GetSockOpt(fd, KernelNative.SolSocket, KernelNative.SoError, (byte*)&value, &length) < 0 ? KernelNative.LastErrno : value;
    }

    private static ushort LocalPort(int fd)
    {
        // sockaddr_in and sockaddr_in6 both keep the port at offset 2.
        byte* sa = stackalloc byte[28];
        int length = 28;
        return KernelNative.GetSockName(fd, sa, &length) < 0 ? (ushort)0 : BinaryPrimitives.ReadUInt16BigEndian(new ReadOnlySpan<byte>(sa + 2, 2));
    }

    private static SyscallOutcome Result(int rc) => rc >= 0 ? SyscallOutcome.Ok(rc) : Failure();

    private static SyscallOutcome Failure()
    {
        int errno = KernelNative.LastErrno;
        return errno == KernelNative.EAgain ? SyscallOutcome.WouldBlock : SyscallOutcome.Error(ScriptSymbols.ErrnoName(errno));
    }

    /// <summary>
    /// After close() the connection has no descriptor left to ask, so ss(8) (sock_diag) reports it; a connection
    /// ss no longer lists is CLOSED.
    /// </summary>
    private TcpInfo TcpInfoFromSs(ushort localPort, ushort remotePort)
    {
        var (code, output) = RunTool("ip", ["netns", "exec", _namespace, "ss", "-tinaH", "state", "all", "( sport = :" + localPort.ToString(CultureInfo.InvariantCulture) + " and dport = :" + remotePort.ToString(CultureInfo.InvariantCulture) + " )"]);
        var words = code == 0 ? output.Split([' ', '\t', '\n'], StringSplitOptions.RemoveEmptyEntries) : [];
        if (words.Length == 0)
        {
            return new TcpInfo(TcpState.Closed, 0, null, null, 0, 0, 0, 0, 0);
        }

        long Field(string name, int part = 0)
        {
            var w = words.FirstOrDefault(x => x.StartsWith(name + ":", StringComparison.Ordinal));
            if (w is null)
            {
                return 0;
            }

            var parts = w[(name.Length + 1)..].Split('/');
            return part < parts.Length && double.TryParse(parts[part], NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? (long)v : 0;
        }

        double Millis(string name, int part)
        {
            var w = words.FirstOrDefault(x => x.StartsWith(name + ":", StringComparison.Ordinal));
            var parts = w?[(name.Length + 1)..].Split('/');
            return parts is not null && part < parts.Length && double.TryParse(parts[part], NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? v * 1000 : 0;
        }

        var state = words[0] switch
        {
            "ESTAB" => TcpState.Established,
            "SYN-SENT" => TcpState.SynSent,
            "SYN-RECV" => TcpState.SynReceived,
            "FIN-WAIT-1" => TcpState.FinWait1,
            "FIN-WAIT-2" => TcpState.FinWait2,
            "TIME-WAIT" => TcpState.TimeWait,
            "CLOSE-WAIT" => TcpState.CloseWait,
            "LAST-ACK" => TcpState.LastAck,
            "LISTEN" => TcpState.Listen,
            "CLOSING" => TcpState.Closing,
            _ => TcpState.Closed,
        };
        double rtt = Millis("rtt", 0);
        long ssthresh = Field("ssthresh");
        return new TcpInfo(
            state,
            (long)Millis("rto", 0),
            rtt == 0 ? null : (long)rtt,
            rtt == 0 ? null : (long)Millis("rtt", 1),
            Field("cwnd"),
            ssthresh == 0 ? int.MaxValue : ssthresh,
            Field("retrans", 1),
            Field("mss"),
            Field("unacked"));
    }

    private static TcpState StateOf(byte linuxState) => linuxState switch
    {
        1 => TcpState.Established,
        2 => TcpState.SynSent,
        3 => TcpState.SynReceived,
        4 => TcpState.FinWait1,
        5 => TcpState.FinWait2,
        6 => TcpState.TimeWait,
        8 => TcpState.CloseWait,
        9 => TcpState.LastAck,
        10 => TcpState.Listen,
        11 => TcpState.Closing,
        _ => TcpState.Closed,
    };

    // ---- time ------------------------------------------------------------------------------------

    private long ElapsedMicros() => (long)Stopwatch.GetElapsedTime(_startTimestamp).TotalMicroseconds;

    /// <summary>Turns the runner's virtual instant into real time: waits until that long after the start.</summary>
    private void SleepUntil(Instant now)
    {
        if (!_started)
        {
            _started = true;
            _startTimestamp = Stopwatch.GetTimestamp() - (long)(now.Microseconds * (Stopwatch.Frequency / 1e6));
        }

        _virtualNow = Math.Max(_virtualNow, now.Microseconds);
        while (true)
        {
            long remaining = now.Microseconds - ElapsedMicros();
            if (remaining <= 0)
            {
                return;
            }

            // A precise sleep, never a spin: the runner's thread is real-time, and spinning would starve the
            // kernel's own softirq work (ksoftirqd) on that core, which is what the script measures.
            KernelNative.USleep((uint)Math.Min(remaining, 1_000_000));
        }
    }

    // ---- TUN -------------------------------------------------------------------------------------

    private static int OpenTun()
    {
        int fd = KernelNative.Open("/dev/net/tun", 0x2 | 0x80000); // O_RDWR | O_CLOEXEC
        if (fd < 0)
        {
            throw new IOException($"cannot open /dev/net/tun: errno {KernelNative.LastErrno}");
        }

        byte* ifreq = stackalloc byte[40];
        new Span<byte>(ifreq, 40).Clear();
        System.Text.Encoding.ASCII.GetBytes(Device, new Span<byte>(ifreq, 15));
        *(short*)(ifreq + 16) = 0x0001 | 0x1000; // IFF_TUN | IFF_NO_PI
        if (KernelNative.Ioctl(fd, 0x400454ca, ifreq) < 0) // TUNSETIFF
        {
            int errno = KernelNative.LastErrno;
            KernelNative.Close(fd);
            throw new IOException($"TUNSETIFF failed: errno {errno}");
        }

        return fd;
    }

    /// <summary>Reads what the kernel sends into the TUN and keeps the IPv4 TCP segments with their real times.</summary>
    private void ReadTun()
    {
        // Stamps are taken here: a reader delayed by other work would make the kernel look late.
        KernelNative.TryRaiseThreadToRealTime();
        _readerRunning.Set();
        var buffer = new byte[65536];
        while (!_stopping)
        {
            var pfd = new KernelNative.PollFd { Fd = _tunFd, Events = 1 };
            if (KernelNative.Poll(&pfd, 1, 20) <= 0 || (pfd.Revents & 1) == 0)
            {
                if ((pfd.Revents & (ScriptSymbols.PollErr | ScriptSymbols.PollNval)) != 0)
                {
                    return;
                }

                continue;
            }

            nint n;
            fixed (byte* p = buffer)
            {
                n = KernelNative.Read(_tunFd, p, (nuint)buffer.Length);
            }

            if (n <= 0)
            {
                continue;
            }

            if (Parse(buffer.AsSpan(0, (int)n), ElapsedMicros()) is { } segment)
            {
                _outbound.Enqueue(segment);
            }
        }
    }

    /// <summary>A TCP segment from the TUN; anything else (router solicitations, neighbour discovery) is not the script's business.</summary>
    private static CapturedSegment? Parse(ReadOnlySpan<byte> data, long time)
    {
        ReadOnlySpan<byte> payload;
        if (data.Length > 0 && data[0] >> 4 == 6)
        {
            if (!Ipv6Packet.TryParse(data, out var ip6) || ip6.UpperLayerProtocol != 6 || ip6.IsFragment)
            {
                return null;
            }

            payload = ip6.UpperLayerPayload;
        }
        else if (Ipv4Packet.TryParse(data, out var ip) && ip.Protocol == 6 && !ip.IsFragment)
        {
            payload = ip.Payload;
        }
        else
        {
            return null;
        }

        if (!TcpSegment.TryParse(payload, out var tcp))
        {
            return null;
        }

        var header = new TcpHeader
        {
            SourcePort = tcp.SourcePort,
            DestinationPort = tcp.DestinationPort,
            Seq = tcp.Seq,
            Ack = tcp.Ack,
            Flags = tcp.Flags,
            Window = tcp.Window,
            UrgentPointer = tcp.UrgentPointer,
            Options = TcpOptionReader.Parse(tcp.OptionBytes, out _),
        };
        return new CapturedSegment(header, tcp.PayloadLength, Instant.FromMicroseconds(time));
    }

    // ---- namespace and tools -----------------------------------------------------------------------

    /// <summary>Runs <paramref name="action"/> on a thread that joined the namespace (setns is per thread).</summary>
    private static T InNamespace<T>(string ns, Func<T> action)
    {
        T result = default!;
        Exception? error = null;
        var thread = new Thread(() =>
        {
            try
            {
                int nsFd = KernelNative.Open($"/var/run/netns/{ns}", 0x80000);
                if (nsFd < 0 || KernelNative.SetNs(nsFd, KernelNative.CloneNewNet) < 0)
                {
                    throw new IOException($"setns({ns}) failed: errno {KernelNative.LastErrno}");
                }

                KernelNative.Close(nsFd);
                result = action();
            }
            catch (Exception e) when (e is IOException or InvalidOperationException)
            {
                error = e;
            }
        });
        thread.Start();
        thread.Join();
        return error is null ? result : throw new IOException(error.Message, error);
    }

    private static void Ip(params string[] args)
    {
        var (code, output) = RunTool("ip", args);
        if (code != 0)
        {
            throw new IOException($"ip {string.Join(' ', args)} failed: {output.Trim()}");
        }
    }

    private static (int Code, string Output) RunTool(string file, string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        try
        {
            using var p = Process.Start(psi)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            string stderr = p.StandardError.ReadToEnd();
            p.WaitForExit();
            return (p.ExitCode, stdout.Result + stderr);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (-1, e.Message);
        }
    }

    public void Dispose()
    {
        _stopping = true;
        _reader.Join();
        foreach (var fd in _fds)
        {
            KernelNative.Close(fd);
        }

        _fds.Clear();
        KernelNative.Close(_tunFd);
        _readerRunning.Dispose();
        RunTool("ip", ["netns", "del", _namespace]);
    }
}
