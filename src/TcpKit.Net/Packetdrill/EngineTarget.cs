using TcpKit.Tcp;
using TcpKit.Wire;
using TcpKit.Wire.Tcp;

namespace TcpKit.Net.Packetdrill;

/// <summary>
/// Runs a script against TcpKit's sans-IO engine: a small emulation of the BSD socket layer that packetdrill
/// scripts drive (listening sockets with an accept queue, connect, read/write, close variants, options),
/// with one <see cref="TcpConnection"/> per connection, all in the runner's virtual time.
/// </summary>
public sealed class EngineTarget : IScriptTarget
{
    private const int FirstFd = 3;
    private const ushort FirstEphemeralPort = 40000;
    private const ushort LocalEphemeralPort = 45000;

    private static readonly byte[] Zeros = new byte[65536];
    private readonly List<Endpoint> _endpoints = [];
    private readonly Dictionary<int, Socket> _fds = [];
    private readonly Queue<CapturedSegment> _outbound = new();
    private readonly byte[] _payload = new byte[65536];
    private readonly ushort _connectPort;
    private readonly ushort _defaultBindPort;
    private TcpConfig _defaults;
    private ushort _nextRemotePort = FirstEphemeralPort;
    private ushort _nextLocalPort = LocalEphemeralPort;
    private uint _issSeed;

    // packetdrill's "socket under test": a listening socket (the next inbound packet opens a new child) or a connection.
    private Socket? _listenerUnderTest;
    private Endpoint? _underTest;

    /// <param name="config">The profile (TcpConfig.Linux or TcpConfig.Rfc) new sockets start from.</param>
    /// <param name="bindPort">packetdrill's --bind_port: the port of <c>bind(fd, ..., ...)</c>.</param>
    /// <param name="connectPort">packetdrill's --connect_port: the remote port of <c>connect(fd, ..., ...)</c>.</param>
    /// <param name="issSeed">Makes the stack's initial sequence numbers; scripts never see them (outbound numbers are relative).</param>
    public EngineTarget(TcpConfig config, ushort bindPort = 8080, ushort connectPort = 8080, uint issSeed = 0x9E3779B9)
    {
        ArgumentNullException.ThrowIfNull(config);
        _defaults = config;
        _defaultBindPort = bindPort;
        _connectPort = connectPort;
        _issSeed = issSeed;
    }

    public void Configure(ShellSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _defaults = settings.Change(_defaults);
        _defaults.Validate();
    }

    public Instant NextDeadline
    {
        get
        {
            var next = Instant.Never;
            foreach (var e in _endpoints)
            {
                if (!e.Discarded && e.Conn.NextDeadline < next)
                {
                    next = e.Conn.NextDeadline;
                }
            }

            return next;
        }
    }

    public void Advance(Instant now)
    {
        foreach (var e in _endpoints)
        {
            if (!e.Discarded && e.Conn.NextDeadline <= now)
            {
                e.Conn.OnTimer(now);
            }
        }

        Collect(now);
    }

    public void Inject(TcpHeader header, ReadOnlySpan<byte> payload, Instant now)
    {
        if (header.SourcePort != 0 && header.DestinationPort != 0)
        {
            // Explicit ports: delivered as addressed (several connections at once).
            _listenerUnderTest = null;
        }
        else if (_listenerUnderTest is { } listener)
        {
            // packetdrill: a packet for a listening socket under test opens a child with the next ephemeral port.
            _listenerUnderTest = null;
            header.SourcePort = _nextRemotePort++;
            header.DestinationPort = listener.LocalPort;
        }
        else if (_underTest is { } current)
        {
            header.SourcePort = current.RemotePort;
            header.DestinationPort = current.LocalPort;
        }
        else
        {
            header.SourcePort = _nextRemotePort;
            header.DestinationPort = _defaultBindPort;
        }

        Deliver(header, payload, now);
        Collect(now);
    }

    private void Deliver(in TcpHeader header, ReadOnlySpan<byte> payload, Instant now)
    {
        foreach (var e in _endpoints)
        {
            if (!e.Discarded && e.Conn.State != TcpState.Closed && e.LocalPort == header.DestinationPort && e.RemotePort == header.SourcePort)
            {
                _underTest = e;
                e.Conn.OnSegment(header, payload, now);
                return;
            }
        }

        Socket? listener = null;
        foreach (var s in _fds.Values)
        {
            if (s.Listening && s.LocalPort == header.DestinationPort)
            {
                listener = s;
            }
        }

        if (listener is null)
        {
            // RFC 9293 3.10.7.1: no connection and no listener: answer with a RST.
            if (TcpConnection.MakeResetFor(header, payload.Length, out var rst))
            {
                _outbound.Enqueue(new CapturedSegment(rst, 0, now));
            }

            return;
        }

        bool pureSyn = (header.Flags & (TcpFlags.Syn | TcpFlags.Ack | TcpFlags.Rst)) == TcpFlags.Syn;
        if (pureSyn && listener.AcceptQueue.Count > listener.Backlog)
        {
            // Linux (tcp_conn_request): a SYN to a listener whose accept queue is full is dropped.
            return;
        }

        var conn = TcpConnection.Listen(listener.Config, listener.LocalPort, NextIss());
        var child = new Endpoint(conn, listener.LocalPort, header.SourcePort) { Listener = listener };
        _endpoints.Add(child);
        _underTest = child;
        conn.OnSegment(header, payload, now);
        if (conn.State == TcpState.Listen)
        {
            // Not a SYN: LISTEN answered (RST for an ACK) or dropped it, and no connection was made.
            child.Listener = null;
            child.Temporary = true;
        }
    }

    public bool TryTakeOutbound(out CapturedSegment segment) => _outbound.TryDequeue(out segment);

    /// <summary>The engine announces and honours MSS only so far (window scaling, SACK and timestamps have their own issue).</summary>
    public bool SupportsOption(ScriptOptionKind kind) => kind is ScriptOptionKind.Mss or ScriptOptionKind.Nop or ScriptOptionKind.Eol;

    public bool IsNonBlocking(int fd) => _fds.TryGetValue(fd, out var s) && s.NonBlocking;

    public TcpInfo? GetTcpInfo()
    {
        var conn = _underTest?.Conn;
        if (conn is null)
        {
            return null;
        }

        var stats = conn.Stats;
        int mss = Math.Max(1, conn.EffectiveSendMss);
        return new TcpInfo(
            conn.State,
            (long)stats.Rto.TotalMicroseconds,
            stats.Srtt is { } srtt ? (long)srtt.TotalMicroseconds : null,
            stats.RttVar is { } rv ? (long)rv.TotalMicroseconds : null,
            stats.Cwnd / mss,
            stats.Ssthresh >= int.MaxValue / 2 ? int.MaxValue : stats.Ssthresh / mss,
            stats.Retransmissions,
            mss,
            (conn.SndNxt - conn.SndUna + mss - 1) / mss);
    }

    public SyscallOutcome Invoke(SocketCall call, Instant now)
    {
        ArgumentNullException.ThrowIfNull(call);
        SyscallOutcome result;
        if (call.Kind is SocketCallKind.Write or SocketCallKind.Read && call.Arg < 0)
        {
            return SyscallOutcome.Error("EINVAL");
        }

        if (call.Kind is not SocketCallKind.Socket and not SocketCallKind.Poll && !_fds.ContainsKey(call.Fd))
        {
            return SyscallOutcome.Error("EBADF");
        }

        result = call.Kind switch
        {
            SocketCallKind.Socket => NewSocket(call),
            SocketCallKind.Bind => Bind(_fds[call.Fd], call),
            SocketCallKind.Listen => Listen(_fds[call.Fd], call),
            SocketCallKind.Accept => Accept(_fds[call.Fd]),
            SocketCallKind.Connect => Connect(_fds[call.Fd], call, now),
            SocketCallKind.Write => Write(_fds[call.Fd], call),
            SocketCallKind.Read => Read(_fds[call.Fd], call),
            SocketCallKind.Close => Close(call.Fd),
            SocketCallKind.Shutdown => Shutdown(_fds[call.Fd], call),
            SocketCallKind.SetSockOpt => SetSockOpt(_fds[call.Fd], call),
            SocketCallKind.GetSockOpt => GetSockOpt(_fds[call.Fd], call),
            SocketCallKind.GetFlags => SyscallOutcome.Ok(ScriptSymbols.ORdWr | (_fds[call.Fd].NonBlocking ? ScriptSymbols.ONonBlock : 0)),
            SocketCallKind.SetFlags => SetFlags(_fds[call.Fd], call),
            SocketCallKind.Poll => _fds.TryGetValue(call.Fd, out var ps) ? SyscallOutcome.Ok(PollEvents(ps, (int)call.Arg)) : SyscallOutcome.Ok(ScriptSymbols.PollNval),
            _ => throw new TargetUnsupportedException($"system call {call.Kind}"),
        };

        Collect(now);
        return result;
    }

    private SyscallOutcome NewSocket(SocketCall call)
    {
        int fd = FirstFd;
        while (_fds.ContainsKey(fd))
        {
            fd++;
        }

        _fds[fd] = new Socket(fd, _defaults) { NonBlocking = (call.Arg & ScriptSymbols.ONonBlock) != 0 };
        return SyscallOutcome.Ok(fd);
    }

    private SyscallOutcome Bind(Socket s, SocketCall call)
    {
        if (s.Endpoint is not null || s.Listening)
        {
            return SyscallOutcome.Error("EINVAL");
        }

        s.LocalPort = call.Arg > 0 ? (ushort)call.Arg : _defaultBindPort;
        return SyscallOutcome.Ok(0);
    }

    private SyscallOutcome Listen(Socket s, SocketCall call)
    {
        if (s.Endpoint is not null)
        {
            return SyscallOutcome.Error("EINVAL");
        }

        if (s.LocalPort == 0)
        {
            s.LocalPort = _nextLocalPort++;
        }

        s.Listening = true;
        s.Backlog = (int)Math.Max(0, call.Arg);
        _listenerUnderTest = s;
        _underTest = null;
        return SyscallOutcome.Ok(0);
    }

    private SyscallOutcome Accept(Socket s)
    {
        if (!s.Listening)
        {
            return SyscallOutcome.Error("EINVAL");
        }

        if (s.AcceptQueue.Count == 0)
        {
            return SyscallOutcome.WouldBlock;
        }

        var child = s.AcceptQueue.Dequeue();
        var accepted = NewSocket(new SocketCall(SocketCallKind.Socket, 0));
        var socket = _fds[(int)accepted.Value];
        socket.Config = child.Conn.Config;
        socket.LocalPort = child.LocalPort;
        socket.Endpoint = child;
        socket.Linger0 = s.Linger0;
        child.Listener = null;
        child.Fd = socket.Fd;
        return accepted;
    }

    private SyscallOutcome Connect(Socket s, SocketCall call, Instant now)
    {
        if (s.Listening)
        {
            return SyscallOutcome.Error("EISCONN");
        }

        if (s.Endpoint is { } e)
        {
            var conn = e.Conn;
            if (conn.State is TcpState.SynSent or TcpState.SynReceived)
            {
                return call.Retry ? SyscallOutcome.WouldBlock : SyscallOutcome.Error("EALREADY");
            }

            if (conn.State == TcpState.Closed && conn.Error != TcpError.None)
            {
                s.ErrorReported = true;
                return SyscallOutcome.Error(ErrnoOf(conn.Error));
            }

            return call.Retry ? SyscallOutcome.Ok(0) : SyscallOutcome.Error("EISCONN");
        }

        if (s.LocalPort == 0)
        {
            s.LocalPort = _nextLocalPort++;
        }

        var c = TcpConnection.Connect(s.Config, s.LocalPort, call.Arg > 0 ? (ushort)call.Arg : _connectPort, NextIss(), now);
        var endpoint = new Endpoint(c, s.LocalPort, c.RemotePort) { Fd = s.Fd };
        _endpoints.Add(endpoint);
        s.Endpoint = endpoint;
        _underTest = endpoint;
        _listenerUnderTest = null;
        return SyscallOutcome.WouldBlock;
    }

    private static SyscallOutcome Write(Socket s, SocketCall call)
    {
        if (s.Endpoint is not { } e)
        {
            return SyscallOutcome.Error(s.Listening ? "ENOTCONN" : "EPIPE");
        }

        var conn = e.Conn;
        if (conn.Error is TcpError.Reset or TcpError.TimedOut && !s.ErrorReported)
        {
            s.ErrorReported = true;
            return SyscallOutcome.Error(ErrnoOf(conn.Error));
        }

        if (conn.State is TcpState.SynSent or TcpState.SynReceived)
        {
            return SyscallOutcome.WouldBlock; // Linux waits for the connection (sk_stream_wait_connect).
        }

        if (!conn.CanSend || s.WriteShut)
        {
            return SyscallOutcome.Error("EPIPE");
        }

        int n = (int)Math.Min(call.Arg, conn.SendBufferFree);
        if (n == 0 && call.Arg > 0)
        {
            return SyscallOutcome.WouldBlock;
        }

        // packetdrill writes zero bytes; the content is never checked.
        int sent = 0;
        while (sent < n)
        {
            int chunk = conn.Send(Zeros.AsSpan(0, Math.Min(n - sent, Zeros.Length)));
            if (chunk == 0)
            {
                break;
            }

            sent += chunk;
        }

        return SyscallOutcome.Ok(sent);
    }

    private SyscallOutcome Read(Socket s, SocketCall call)
    {
        if (s.Endpoint is not { } e)
        {
            return SyscallOutcome.Error("ENOTCONN");
        }

        var conn = e.Conn;
        if (s.ReadShut)
        {
            return SyscallOutcome.Ok(0);
        }

        int want = (int)Math.Min(call.Arg, _payload.Length);
        if (conn.BytesAvailable > 0 && want > 0)
        {
            return SyscallOutcome.Ok(conn.Receive(_payload.AsSpan(0, want)));
        }

        if (conn.Error is TcpError.Reset or TcpError.TimedOut or TcpError.Refused && !s.ErrorReported)
        {
            s.ErrorReported = true;
            return SyscallOutcome.Error(ErrnoOf(conn.Error));
        }

        if (conn.RemoteClosed || conn.State == TcpState.Closed)
        {
            return SyscallOutcome.Ok(0);
        }

        return SyscallOutcome.WouldBlock;
    }

    private SyscallOutcome Close(int fd)
    {
        var s = _fds[fd];
        _fds.Remove(fd);
        if (s.Listening)
        {
            // Linux inet_csk_listen_stop: established children nobody accepted are reset; half-open ones vanish.
            foreach (var e in _endpoints)
            {
                if (e.Listener == s)
                {
                    e.Listener = null;
                    if (e.Conn.State == TcpState.SynReceived)
                    {
                        e.Discarded = true;
                    }
                    else
                    {
                        e.Conn.Abort();
                    }
                }
            }

            if (_listenerUnderTest == s)
            {
                _listenerUnderTest = null;
            }

            return SyscallOutcome.Ok(0);
        }

        if (s.Endpoint is { } endpoint)
        {
            endpoint.Fd = null;
            var conn = endpoint.Conn;
            if (s.Linger0)
            {
                conn.Abort(); // SO_LINGER {1, 0}: abortive close.
            }
            else if (conn.BytesAvailable > 0)
            {
                // RFC 9293 3.10.4 leaves it open; RFC 2525 2.17 and Linux: closing with unread data resets.
                conn.Abort();
            }
            else
            {
                conn.Close();
            }
        }

        return SyscallOutcome.Ok(0);
    }

    private static SyscallOutcome Shutdown(Socket s, SocketCall call)
    {
        if (s.Endpoint is not { } e || e.Conn.State is TcpState.Closed)
        {
            return SyscallOutcome.Error("ENOTCONN");
        }

        int how = (int)call.Arg;
        if (how is ScriptSymbols.ShutRd or ScriptSymbols.ShutRdWr)
        {
            s.ReadShut = true;
        }

        if (how is ScriptSymbols.ShutWr or ScriptSymbols.ShutRdWr)
        {
            s.WriteShut = true;
            e.Conn.Shutdown();
        }

        if (how is not (ScriptSymbols.ShutRd or ScriptSymbols.ShutWr or ScriptSymbols.ShutRdWr))
        {
            return SyscallOutcome.Error("EINVAL");
        }

        return SyscallOutcome.Ok(0);
    }

    private static SyscallOutcome SetFlags(Socket s, SocketCall call)
    {
        s.NonBlocking = (call.Arg & ScriptSymbols.ONonBlock) != 0;
        return SyscallOutcome.Ok(0);
    }

    private static SyscallOutcome SetSockOpt(Socket s, SocketCall call)
    {
        long v = call.Arg;
        var cfg = s.Config;
        switch (call.Level, call.Option)
        {
            case (ScriptSymbols.SolSocket, ScriptSymbols.SoReuseAddr or ScriptSymbols.SoReusePort):
                return SyscallOutcome.Ok(0); // Nothing in the engine target ever holds a port beyond its sockets.
            case (ScriptSymbols.SolSocket, ScriptSymbols.SoLinger):
                var (onoff, linger) = call.Linger ?? throw new TargetUnsupportedException("SO_LINGER without {onoff, linger}");
                if (onoff != 0 && linger != 0)
                {
                    throw new TargetUnsupportedException("SO_LINGER with a non-zero linger time (a blocking close)");
                }

                s.Linger0 = onoff != 0;
                return SyscallOutcome.Ok(0);
            case (ScriptSymbols.SolSocket, ScriptSymbols.SoOobInline):
                // TcpKit always delivers urgent data inline (RFC 6093 recommends it); out of band it cannot.
                return v != 0 ? SyscallOutcome.Ok(0) : throw new TargetUnsupportedException("SO_OOBINLINE off (urgent data out of band)");
            case (ScriptSymbols.SolSocket, ScriptSymbols.SoKeepAlive):
                cfg = cfg with { Keepalive = cfg.Keepalive with { Enabled = v != 0 } };
                break;
            case (ScriptSymbols.SolSocket, ScriptSymbols.SoSndBuf):
                cfg = cfg with { SendBufferSize = (int)v };
                break;
            case (ScriptSymbols.SolSocket, ScriptSymbols.SoRcvBuf):
                cfg = cfg with { ReceiveBufferSize = (int)v };
                break;
            case (ScriptSymbols.IpProtoTcp, ScriptSymbols.TcpNoDelay):
                cfg = cfg with { NoDelay = v != 0 };
                break;
            case (ScriptSymbols.IpProtoTcp, ScriptSymbols.TcpMaxSeg):
                cfg = cfg with { Mss = (int)v };
                break;
            case (ScriptSymbols.IpProtoTcp, ScriptSymbols.TcpKeepIdle):
                cfg = cfg with { Keepalive = cfg.Keepalive with { Idle = TimeSpan.FromSeconds(v) } };
                break;
            case (ScriptSymbols.IpProtoTcp, ScriptSymbols.TcpKeepIntvl):
                cfg = cfg with { Keepalive = cfg.Keepalive with { Interval = TimeSpan.FromSeconds(v) } };
                break;
            case (ScriptSymbols.IpProtoTcp, ScriptSymbols.TcpKeepCnt):
                cfg = cfg with { Keepalive = cfg.Keepalive with { Count = (int)v } };
                break;
            case (ScriptSymbols.IpProtoTcp, ScriptSymbols.TcpUserTimeout):
                // Milliseconds; 0 restores the default (only the retry limit applies).
                cfg = cfg with { UserTimeout = v == 0 ? null : TimeSpan.FromMilliseconds(v) };
                break;
            default:
                throw new TargetUnsupportedException($"setsockopt level {call.Level} option {call.Option}");
        }

        try
        {
            cfg.Validate();
        }
        catch (ArgumentOutOfRangeException)
        {
            return SyscallOutcome.Error("EINVAL");
        }

        if (s.Endpoint is { } e && e.Conn.Config != cfg)
        {
            throw new TargetUnsupportedException("changing a TCP option of an open connection (the engine fixes its TcpConfig when the connection is created)");
        }

        s.Config = cfg;
        return SyscallOutcome.Ok(0);
    }

    private static SyscallOutcome GetSockOpt(Socket s, SocketCall call)
    {
        var cfg = s.Endpoint?.Conn.Config ?? s.Config;
        long value = (call.Level, call.Option) switch
        {
            (ScriptSymbols.SolSocket, ScriptSymbols.SoError) => TakeError(s),
            (ScriptSymbols.SolSocket, ScriptSymbols.SoKeepAlive) => cfg.Keepalive.Enabled ? 1 : 0,
            (ScriptSymbols.SolSocket, ScriptSymbols.SoSndBuf) => cfg.SendBufferSize,
            (ScriptSymbols.SolSocket, ScriptSymbols.SoRcvBuf) => cfg.ReceiveBufferSize,
            (ScriptSymbols.IpProtoTcp, ScriptSymbols.TcpNoDelay) => cfg.NoDelay ? 1 : 0,
            (ScriptSymbols.IpProtoTcp, ScriptSymbols.TcpMaxSeg) => s.Endpoint is { } e && e.Conn.State >= TcpState.Established ? e.Conn.EffectiveSendMss : cfg.Mss,
            (ScriptSymbols.IpProtoTcp, ScriptSymbols.TcpKeepIdle) => (long)cfg.Keepalive.Idle.TotalSeconds,
            (ScriptSymbols.IpProtoTcp, ScriptSymbols.TcpKeepIntvl) => (long)cfg.Keepalive.Interval.TotalSeconds,
            (ScriptSymbols.IpProtoTcp, ScriptSymbols.TcpKeepCnt) => cfg.Keepalive.Count,
            (ScriptSymbols.IpProtoTcp, ScriptSymbols.TcpUserTimeout) => cfg.UserTimeout is { } ut ? (long)ut.TotalMilliseconds : 0,
            _ => throw new TargetUnsupportedException($"getsockopt level {call.Level} option {call.Option}"),
        };

        return SyscallOutcome.Ok(value);
    }

    private static long TakeError(Socket s)
    {
        if (s.Endpoint is { } e && e.Conn.Error is not TcpError.None and not TcpError.Aborted && !s.ErrorReported)
        {
            s.ErrorReported = true;
            ScriptSymbols.TryGetErrno(ErrnoOf(e.Conn.Error), out int errno);
            return errno;
        }

        return 0;
    }

    /// <summary>poll(2) readiness as Linux's tcp_poll computes it, for the events TcpKit can answer.</summary>
    private static int PollEvents(Socket s, int requested)
    {
        int mask = 0;
        if (s.Listening)
        {
            mask |= s.AcceptQueue.Count > 0 ? ScriptSymbols.PollIn | ScriptSymbols.PollRdNorm : 0;
        }
        else if (s.Endpoint is { } e)
        {
            var conn = e.Conn;
            bool failed = conn.State == TcpState.Closed && conn.Error is not TcpError.None;
            if (failed && !s.ErrorReported)
            {
                mask |= ScriptSymbols.PollErr;
            }

            bool closed = conn.State == TcpState.Closed;
            if (closed || (s.WriteShut && (conn.RemoteClosed || s.ReadShut)))
            {
                mask |= ScriptSymbols.PollHup;
            }

            if (conn.RemoteClosed || s.ReadShut || closed)
            {
                mask |= ScriptSymbols.PollIn | ScriptSymbols.PollRdNorm | ScriptSymbols.PollRdHup;
            }

            if (conn.BytesAvailable > 0)
            {
                mask |= ScriptSymbols.PollIn | ScriptSymbols.PollRdNorm;
            }

            bool connected = conn.State is not (TcpState.SynSent or TcpState.SynReceived or TcpState.Listen);
            if (connected && (closed || !conn.CanSend || s.WriteShut || conn.SendBufferFree > 0))
            {
                mask |= ScriptSymbols.PollOut | ScriptSymbols.PollWrNorm;
            }
        }
        else
        {
            // An unconnected socket: Linux reports POLLOUT and POLLHUP.
            mask |= ScriptSymbols.PollOut | ScriptSymbols.PollWrNorm | ScriptSymbols.PollHup;
        }

        return mask & (requested | ScriptSymbols.PollErr | ScriptSymbols.PollHup | ScriptSymbols.PollNval);
    }

    private static string ErrnoOf(TcpError error) => error switch
    {
        TcpError.Refused => "ECONNREFUSED",
        TcpError.Reset => "ECONNRESET",
        TcpError.TimedOut => "ETIMEDOUT",
        TcpError.Aborted => "ECONNABORTED",
        _ => "EIO",
    };

    /// <summary>Polls every connection for segments and moves newly established children to their listener's accept queue.</summary>
    private void Collect(Instant now)
    {
        bool more = true;
        while (more)
        {
            more = false;
            foreach (var e in _endpoints)
            {
                if (e.Discarded)
                {
                    continue;
                }

                while (e.Conn.TryPollSegment(now, _payload, out var header, out int len))
                {
                    _outbound.Enqueue(new CapturedSegment(header, len, now));
                    more = true;
                }

                while (e.Conn.TryPollEvent(out _))
                {
                }

                if (e.Listener is { } l && !e.Queued && e.Conn.State is not (TcpState.Listen or TcpState.SynReceived or TcpState.Closed))
                {
                    e.Queued = true;
                    l.AcceptQueue.Enqueue(e);
                }

                if (e.Temporary)
                {
                    e.Discarded = true;
                }
            }
        }
    }

    private SeqNum NextIss()
    {
        // A fixed sequence keeps runs reproducible; scripts only ever see numbers relative to it.
        _issSeed = (_issSeed * 1664525) + 1013904223;
        return new SeqNum(_issSeed);
    }

    private sealed class Socket(int fd, TcpConfig config)
    {
        public int Fd { get; } = fd;

        public TcpConfig Config { get; set; } = config;

        public bool NonBlocking { get; set; }

        public ushort LocalPort { get; set; }

        public bool Listening { get; set; }

        public int Backlog { get; set; }

        public Queue<Endpoint> AcceptQueue { get; } = new();

        public Endpoint? Endpoint { get; set; }

        public bool Linger0 { get; set; }

        public bool ReadShut { get; set; }

        public bool WriteShut { get; set; }

        /// <summary>The connection's error went to the application once (SO_ERROR, a read or a write).</summary>
        public bool ErrorReported { get; set; }
    }

    private sealed class Endpoint(TcpConnection conn, ushort localPort, ushort remotePort)
    {
        public TcpConnection Conn { get; } = conn;

        public ushort LocalPort { get; } = localPort;

        public ushort RemotePort { get; } = remotePort;

        /// <summary>The listening socket while the connection waits to be accepted.</summary>
        public Socket? Listener { get; set; }

        public bool Queued { get; set; }

        public int? Fd { get; set; }

        /// <summary>Forgotten without a word (a half-open child of a closed listener).</summary>
        public bool Discarded { get; set; }

        /// <summary>A LISTEN-state TCB used only to answer one non-SYN segment.</summary>
        public bool Temporary { get; set; }
    }
}
