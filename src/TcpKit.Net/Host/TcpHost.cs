using System.Buffers.Binary;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using TcpKit.Net.Links;
using TcpKit.Tcp;
using TcpKit.Wire;
using TcpKit.Wire.Checksums;
using TcpKit.Wire.Ip;
using TcpKit.Wire.Tcp;

namespace TcpKit.Net.Host;

/// <summary>
/// A host's TCP/IP stack on one link: the IP layer (IPv4 and IPv6, no fragments), demultiplexing by
/// 4-tuple, listeners with SYN and accept queues, ephemeral ports, RST for segments to no connection
/// (RFC 9293 section 3.10.7.1), and the pump that moves each engine's output onto the link and arms its
/// timer. Everything runs on <see cref="Loop"/>.
/// </summary>
public sealed class TcpHost : ILinkBatchReceiver
{
    /// <summary>Linux's default ephemeral range (net.ipv4.ip_local_port_range).</summary>
    public const int EphemeralFirst = 32768;

    public const int EphemeralLast = 60999;

    private readonly ILink _link;
    private readonly IsnGenerator _isn;
    private readonly List<IpAddress> _addresses = [];
    private readonly ConnectionTable _connections;
    private readonly ConnectionTimers _timers = new();
    private readonly TimeWaitTable _timeWaits = new();
    private readonly TcpConnectionPool _engines = new();
    private readonly ILoopTimer _timer;
    private Instant _timerArmedFor = Instant.Never;
    private bool _firingTimers;
    private readonly Dictionary<ushort, HostListener> _listeners = [];
    private readonly byte[] _payload = new byte[65536];
    private readonly byte[] _packet = new byte[65536 + 120];
    private int _nextEphemeral;

    // Link batches (ILinkBatchReceiver): connections whose pump waits for the batch's end.
    private bool _batching;
    private readonly HostConnection?[] _deferred = new HostConnection?[16];
    private int _deferredCount;

    public TcpHost(string name, ILink link, IEventLoop loop, TcpConfig? config = null, ulong seed = 0)
    {
        Name = name;
        _link = link;
        Loop = loop;
        Config = config ?? TcpConfig.Linux;
        Config.Validate();

        // A per-host key for RFC 6528 ISNs and a starting ephemeral port, both from the seed so a
        // simulation replays exactly.
        // string.GetHashCode is randomised per process, so the name is hashed here (FNV-1a) to stay reproducible.
        ulong nameHash = 0xCBF29CE484222325UL;
        foreach (char c in name)
        {
            nameHash = (nameHash ^ c) * 0x100000001B3UL;
        }

        Span<byte> key = stackalloc byte[16];
        BinaryPrimitives.WriteUInt64LittleEndian(key, seed ^ 0x9E3779B97F4A7C15UL);
        BinaryPrimitives.WriteUInt64LittleEndian(key[8..], (nameHash * 0xBF58476D1CE4E5B9UL) ^ seed);
        _isn = new IsnGenerator(key);
        _nextEphemeral = EphemeralFirst + (int)((seed ^ nameHash) % (EphemeralLast - EphemeralFirst + 1));
        // The demultiplexing table's hash key comes from the same seed, so a run replays exactly (the same
        // caveat as the ISN key: a host that must resist a peer knowing its name and seed needs a random seed).
        _connections = new ConnectionTable((seed * 0x9E3779B97F4A7C15UL) ^ (nameHash * 0xD6E8FEB86659FD93UL) ^ 0x243F6A8885A308D3UL);
        // One loop timer for the whole host, armed for the earliest deadline of any connection.
        _timer = loop.CreateTimer(OnTimers);
        SignalWaiters = new LoopWaiterPool<bool>(loop);
        ReadWaiters = new LoopWaiterPool<int>(loop);
        link.SetReceiver(this);
    }

    public string Name { get; }

    public IEventLoop Loop { get; }

    /// <summary>The engine settings new connections start from.</summary>
    public TcpConfig Config { get; }

    public IReadOnlyList<IpAddress> Addresses => _addresses;

    public HostCounters Counters { get; } = new();

    /// <summary>Released connections waiting out TIME-WAIT as values in a table, not as objects (see <see cref="TimeWaitTable"/>).</summary>
    internal TimeWaitTable TimeWaits => _timeWaits;

    /// <summary>Engines of connections reduced to records (TIME-WAIT or CLOSED), waiting to serve new connections.</summary>
    internal int SpareEngines => _engines.Count;

    /// <summary>Connect and write waits of ended connections, reused by new ones.</summary>
    internal LoopWaiterPool<bool> SignalWaiters { get; }

    /// <summary>Read waits of ended connections, reused by new ones.</summary>
    internal LoopWaiterPool<int> ReadWaiters { get; }

    /// <summary>Every engine event of every connection (state changes with their cause, readable, closed...).</summary>
    public event Action<HostConnection, TcpEvent>? ConnectionEvent;

    /// <summary>The host's connections, those that wait out TIME-WAIT after their user released them included.</summary>
    public int ConnectionCount => _connections.Count + _timeWaits.Count;

    /// <summary>
    /// A snapshot of the host's connections. A released connection waiting out TIME-WAIT is listed as the object it
    /// was, if the application still holds it, or else as a new one for the same 4-tuple, which it keeps from then on.
    /// </summary>
    public IEnumerable<HostConnection> Connections
    {
        get
        {
            var list = new List<HostConnection>(_connections);
            foreach (int slot in _timeWaits.Slots())
            {
                list.Add(OwnerOf(slot));
            }

            return list;
        }
    }

    public void AddAddress(IpAddress address) => _addresses.Add(address);

    // ---- callback API: connections without tasks ------------------------------------------------------

    /// <summary>
    /// Passive open on <paramref name="port"/> (any local address) whose completed handshakes are handed to
    /// <paramref name="accepted"/> on the loop, in place of an accept queue and AcceptAsync. The callback runs
    /// while the connection's events are delivered, so it may Close or Abort the connection at once; other
    /// work (opening a new connection, say) belongs in <see cref="IEventLoop.Post"/>. Stop with
    /// <see cref="StopListening(ushort)"/>.
    /// </summary>
    public void Listen(ushort port, int backlog, Action<HostConnection> accepted, TcpConfig? config = null)
    {
        ArgumentNullException.ThrowIfNull(accepted);
        if (_listeners.ContainsKey(port))
        {
            throw new SocketException((int)SocketError.AddressAlreadyInUse);
        }

        _listeners.Add(port, new HostListener(null, port, backlog, config ?? Config) { OnAccepted = accepted });
    }

    /// <summary>Ends the passive open on <paramref name="port"/>; handshakes in progress are reset as a kernel does.</summary>
    public void StopListening(ushort port)
    {
        if (_listeners.TryGetValue(port, out var listener))
        {
            StopListening(listener);
        }
    }

    /// <summary>
    /// Active open to <paramref name="remote"/>:<paramref name="remotePort"/> from an ephemeral port; the SYN
    /// is sent before this returns. Follow it through <see cref="ConnectionEvent"/> (established, closed...).
    /// </summary>
    public HostConnection Open(IpAddress remote, ushort remotePort, TcpConfig? config = null) =>
        Connect(remote, remotePort, config ?? Config);

    // ---- API used by TcpKitListener / TcpKitClient --------------------------------------------------

    internal HostListener Listen(IpAddress? localAddress, ushort port, int backlog, TcpConfig config)
    {
        if (_listeners.ContainsKey(port))
        {
            throw new SocketException((int)SocketError.AddressAlreadyInUse);
        }

        var listener = new HostListener(localAddress, port, backlog, config);
        _listeners.Add(port, listener);
        return listener;
    }

    internal void StopListening(HostListener listener)
    {
        listener.Stopped = true;
        _listeners.Remove(listener.Port);
        while (listener.AcceptWaiters.TryDequeue(out var waiter))
        {
            waiter.TrySetException(new SocketException((int)SocketError.OperationAborted));
        }

        // Connections nobody accepted are reset, as a kernel does when the listening socket closes.
        while (listener.AcceptQueue.TryDequeue(out var pending))
        {
            Abort(pending);
        }
    }

    /// <summary>
    /// An accept: true with a connection from the accept queue, or false with the started wait (the waiter and
    /// its token) that a completed handshake will end, for a caller that builds its own ValueTask over it.
    /// </summary>
    internal bool TryAccept(HostListener listener, CancellationToken ct, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out HostConnection? ready, out LoopWaiter<HostConnection> waiter, out short token)
    {
        if (listener.AcceptQueue.TryDequeue(out ready))
        {
            ready.Listener = null;
            waiter = null!;
            token = 0;
            return true;
        }

        waiter = listener.AcceptWaiter ??= new LoopWaiter<HostConnection>(Loop);
        if (!waiter.IsFree)
        {
            waiter = new LoopWaiter<HostConnection>(Loop); // another accept is pending
        }

        // Cancelled accepts leave their entries behind. Drop all of them (not only those in front) before this
        // wait starts: a reused waiter may still have a stale entry ahead of accepts issued before this one,
        // which would then be served first (accepts are served in the order they were issued, as a socket's).
        // The queue holds only the accepts pending at once, usually none.
        for (int i = listener.AcceptWaiters.Count; i > 0; i--)
        {
            var pending = listener.AcceptWaiters.Dequeue();
            if (pending.IsWaiting)
            {
                listener.AcceptWaiters.Enqueue(pending);
            }
        }

        token = waiter.Start(ct);
        listener.AcceptWaiters.Enqueue(waiter);
        return false;
    }

    internal HostConnection Connect(IpAddress remote, ushort remotePort, TcpConfig config, IpAddress? local = null)
    {
        var localAddress = local ?? FirstAddressOfVersion(remote.Version);
        if (localAddress.Version != remote.Version)
        {
            throw new SocketException((int)SocketError.AddressFamilyNotSupported);
        }

        ushort localPort = AllocatePort(localAddress, remote, remotePort);
        var key = new FlowKey(localAddress, localPort, remote, remotePort);
        var iss = Isn(key);
        var tcb = _engines.Connect(ConfigFor(config, remote), localPort, remotePort, iss, Loop.Now);
        var conn = new HostConnection(this, key, _connections.Hash(key), tcb, null);
        _connections.Add(conn);
        Pump(conn);
        return conn;
    }

    internal void Abort(HostConnection conn)
    {
        if (conn.State != TcpState.Closed)
        {
            conn.Engine.Abort();
            Pump(conn);
        }
    }

    // ---- receive path ---------------------------------------------------------------------------

    /// <summary>One IP packet from the link.</summary>
    public void OnPacket(ReadOnlySpan<byte> packet, Instant now)
    {
        // The IP layers and the TCP layer are separate methods, so each frame zeroes only its own span-holding
        // locals: one frame holding both versions' packet views, the segment, the header and the reset path
        // zeroed over 400 bytes of stack for every packet.
        Counters.PacketsReceived++;
        int version = packet.Length > 0 ? packet[0] >> 4 : 0;
        if (version == 4)
        {
            OnIpv4(packet, now);
        }
        else if (version == 6)
        {
            OnIpv6(packet, now);
        }
        else
        {
            Counters.Drop(HostDropReason.MalformedIp);
        }
    }

    private void OnIpv4(ReadOnlySpan<byte> packet, Instant now)
    {
        if (!Ipv4Packet.TryParse(packet, out var ip) || ip.IsTruncated)
        {
            Counters.Drop(HostDropReason.MalformedIp);
            return;
        }

        if (!ip.IsHeaderChecksumValid)
        {
            // RFC 1122 3.2.1.2 MUST: verify the header checksum of every datagram, silently discard a bad one.
            Counters.Drop(HostDropReason.BadIpChecksum);
            return;
        }

        if (ip.IsFragment)
        {
            Counters.Drop(HostDropReason.Fragment);
            return;
        }

        if (ip.Protocol != IpProtocol.Tcp)
        {
            Counters.Drop(HostDropReason.NotTcp);
            return;
        }

        OnTcp(ip.Payload, ip.Source, ip.Destination, now);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void OnIpv6(ReadOnlySpan<byte> packet, Instant now)
    {
        if (!Ipv6Packet.TryParse(packet, out var ip) || ip.IsTruncated)
        {
            Counters.Drop(HostDropReason.MalformedIp);
            return;
        }

        if (ip.HasFragmentHeader)
        {
            Counters.Drop(HostDropReason.Fragment);
            return;
        }

        if (ip.UpperLayerProtocol != IpProtocol.Tcp)
        {
            Counters.Drop(HostDropReason.NotTcp);
            return;
        }

        OnTcp(ip.UpperLayerPayload, ip.Source, ip.Destination, now);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void OnTcp(ReadOnlySpan<byte> tcpBytes, IpAddress src, IpAddress dst, Instant now)
    {
        if (!IsLocal(dst))
        {
            Counters.Drop(HostDropReason.NotForUs);
            return;
        }

        if (!TcpSegment.TryParse(tcpBytes, out var seg))
        {
            Counters.Drop(HostDropReason.MalformedTcp);
            return;
        }

        if (seg.VerifyChecksum(src, dst) != ChecksumVerdict.Good)
        {
            Counters.Drop(HostDropReason.BadChecksum);
            return;
        }

        var header = seg.ToHeader();
        var key = new FlowKey(dst, header.DestinationPort, src, header.SourcePort);
        int hash = _connections.Hash(key);
        bool isSyn = (header.Flags & (TcpFlags.Syn | TcpFlags.Ack | TcpFlags.Rst)) == TcpFlags.Syn;
        HostListener? listener = null;
        bool listening = isSyn
            && _listeners.TryGetValue(header.DestinationPort, out listener)
            && (listener.LocalAddress is null || listener.LocalAddress == dst);
        if (!_connections.TryGetValue(key, hash, out var conn) && _timeWaits.Count > 0 && _timeWaits.TryFind(key, hash, out int slot))
        {
            if (listening && ConnectionEvent is null && _timeWaits.AcceptsNewSyn(slot, header))
            {
                if (listener!.IsFull)
                {
                    // The old connection keeps its TIME-WAIT; the peer retransmits the SYN.
                    Counters.Drop(HostDropReason.ListenQueueFull);
                    return;
                }

                // MAY-2 (RFC 1122 4.2.2.13) for a connection nobody watches: its values just leave the table.
                _timeWaits.Remove(slot);
                ArmHostTimer();
            }
            else
            {
                conn = Revive(slot); // the connection's own engine answers, as it would have without the table
            }
        }

        if (conn is not null)
        {
            if (!(listening && conn.AcceptsNewSynInTimeWait(header)))
            {
                // In-order data inside a link batch: the answer (one cumulative ACK) waits for the batch's end.
                bool defer = _batching && seg.PayloadLength > 0 && conn.State == TcpState.Established && header.Seq == conn.Engine.RcvNxt;
                conn.Engine.OnSegment(header, seg.Payload, now);
                if (defer && DeferPump(conn))
                {
                    return;
                }

                Pump(conn);
                return;
            }

            if (listener!.IsFull)
            {
                // The old connection keeps its TIME-WAIT; the peer retransmits the SYN.
                Counters.Drop(HostDropReason.ListenQueueFull);
                return;
            }

            // MAY-2 (RFC 1122 4.2.2.13), as Linux does: a new SYN whose sequence number lies above RCV.NXT
            // may reopen a 4-tuple that waits in TIME-WAIT; the old TCB goes and the listener takes the SYN.
            conn.Engine.EndTimeWaitForNewSyn(header);
            Pump(conn);
        }

        if (listening && listener is not null)
        {
            if (listener.IsFull)
            {
                // Like Linux with a full queue: drop the SYN, the peer retransmits it.
                Counters.Drop(HostDropReason.ListenQueueFull);
                return;
            }

            var tcb = _engines.Listen(ConfigFor(listener.Config, src), header.DestinationPort, Isn(key));
            conn = new HostConnection(this, key, hash, tcb, listener);
            _connections.Add(conn);
            listener.SynQueueCount++;
            tcb.OnSegment(header, seg.Payload, now);
            Pump(conn);
            return;
        }

        // 3.10.7.1: no connection. An RST is ignored; anything else is answered with RST.
        Counters.Drop(HostDropReason.NoConnection);
        ResetUnknown(header, seg.PayloadLength, src, dst);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ResetUnknown(in TcpHeader header, int payloadLength, IpAddress src, IpAddress dst)
    {
        if (TcpConnection.MakeResetFor(header, payloadLength, out var rst))
        {
            Transmit(dst, src, rst, ReadOnlySpan<byte>.Empty);
            Counters.ResetsSent++;
        }
    }

    /// <summary>The link starts handing over packets that arrived together (see <see cref="OnBatchEnd"/>).</summary>
    public void OnBatchStart() => _batching = true;

    /// <summary>
    /// The link's batch is over: connections that only received in-order data during it are pumped now, so
    /// each sends one cumulative ACK for the batch rather than one per second segment. That stretches the
    /// RFC 5681 section 4.2 / RFC 9293 section 3.8.6.3 SHOULD (ACK at least every second full-sized segment)
    /// exactly as Linux does for a GRO-merged run of segments; out-of-order segments, which must be
    /// answered with an immediate duplicate ACK for fast retransmit, are never deferred.
    /// </summary>
    public void OnBatchEnd(Instant now)
    {
        _batching = false;
        try
        {
            for (int i = 0; i < _deferredCount; i++)
            {
                var conn = _deferred[i]!;
                _deferred[i] = null;
                Pump(conn);
            }
        }
        finally
        {
            Array.Clear(_deferred, 0, _deferredCount);
            _deferredCount = 0;
        }
    }

    /// <summary>Remembers <paramref name="conn"/> for the batch's end; false when the (small) list is full and it must be pumped now.</summary>
    private bool DeferPump(HostConnection conn)
    {
        for (int i = 0; i < _deferredCount; i++)
        {
            if (ReferenceEquals(_deferred[i], conn))
            {
                return true;
            }
        }

        if (_deferredCount == _deferred.Length)
        {
            return false;
        }

        _deferred[_deferredCount++] = conn;
        return true;
    }

    // ---- pump: engine output -> link, events -> waiters, timer ----------------------------------------

    /// <summary>The host's timer: runs every connection whose deadline has come, earliest first.</summary>
    private void OnTimers()
    {
        _timerArmedFor = Instant.Never; // it fired: disarmed
        _firingTimers = true;
        try
        {
            var now = Loop.Now;
            while (true)
            {
                // The earlier of the two: connections with engines, and those waiting in the TIME-WAIT table.
                HostConnection conn;
                if (_timeWaits.Earliest < _timers.Earliest)
                {
                    if (!_timeWaits.TryTakeDue(now, out int slot))
                    {
                        break;
                    }

                    if (ConnectionEvent is null)
                    {
                        _timeWaits.Remove(slot); // 2 MSL is over for a connection nobody watches
                        continue;
                    }

                    conn = Revive(slot); // a handler subscribed since: the engine reports the end
                }
                else if (!_timers.TryTakeDue(now, out conn))
                {
                    break;
                }

                conn.Engine.OnTimer(now);
                Pump(conn);
            }
        }
        finally
        {
            _firingTimers = false;
            ArmHostTimer();
        }
    }

    /// <summary>Keeps the loop timer on the earliest connection deadline; moving it costs a heap operation, so only when it changed.</summary>
    private void ArmHostTimer()
    {
        if (_firingTimers)
        {
            return;
        }

        var earliest = _timers.Earliest;
        var timeWaits = _timeWaits.Earliest;
        if (timeWaits < earliest)
        {
            earliest = timeWaits;
        }

        if (earliest != _timerArmedFor)
        {
            _timerArmedFor = earliest;
            _timer.Set(earliest);
        }
    }

    /// <summary>Sends what the engine has to send, delivers its events and re-arms its timer.</summary>
    internal void Pump(HostConnection conn)
    {
        if (conn.IsHibernating)
        {
            return; // a record (CLOSED, or waiting in the TIME-WAIT table) has nothing to send or report
        }

        if (conn.Pumping)
        {
            conn.PumpAgain = true;
            return;
        }

        conn.Pumping = true;
        try
        {
            // The engine stays the connection's while it pumps: only the end of this method replaces it by a record.
            var tcb = conn.Engine;
            do
            {
                conn.PumpAgain = false;
                var now = Loop.Now;
                while (tcb.TryPollSegment(now, _payload, out var header, out int length))
                {
                    Transmit(conn.Key.LocalAddress, conn.Key.RemoteAddress, header, _payload.AsSpan(0, length));
                }

                while (tcb.TryPollEvent(out var e))
                {
                    Dispatch(conn, e);
                }
            }
            while (conn.PumpAgain);

            if (tcb.State == TcpState.Closed)
            {
                if (conn.MayDropEngine && tcb.CanBeReducedWhenClosed)
                {
                    conn.Hibernate(_engines); // its events are out: a record keeps what can still be asked of it
                }

                Forget(conn);
            }
            else
            {
                // An engine the application took through HostConnection.Tcb stays the connection's engine: replaced
                // by a record, it would stay in TIME-WAIT for ever in the application's hands (no timer or segment
                // reaches it again, RFC 9293 3.10.8's 2 MSL timeout would never delete it).
                if (tcb.State == TcpState.TimeWait && conn.MayDropEngine && !IsObserved(conn) && tcb.CanHibernate)
                {
                    Detach(conn, tcb);
                    return;
                }

                var deadline = conn.NextDeadline;
                if (conn.TimerDeadline != deadline)
                {
                    // Re-arming costs a heap operation; most segments leave the deadline where it was.
                    _timers.Set(conn, deadline);
                    ArmHostTimer();
                }
            }
        }
        finally
        {
            conn.Pumping = false;
        }
    }

    /// <summary>
    /// True when the connection's change to CLOSED must be reported (a <see cref="ConnectionEvent"/> handler,
    /// or a task waiting for <see cref="HostConnection.Closed"/>): the connection then keeps its engine through
    /// TIME-WAIT, and one that waits in the TIME-WAIT table is revived for its end, so the engine reports it.
    /// </summary>
    private bool IsObserved(HostConnection conn) => ConnectionEvent is not null || conn.HasClosedWaiter;

    /// <summary>
    /// Moves a released connection in TIME-WAIT that nobody watches from the connection table to the TIME-WAIT
    /// table, as Linux replaces a closed socket by an inet_timewait_sock: its values wait out 2 MSL there (the
    /// deadline goes with them), its object keeps a record for the application, and its engine serves the next connection.
    /// </summary>
    private void Detach(HostConnection conn, TcpConnection tcb)
    {
        var context = tcb.ReduceToTimeWait(out var values);
        _timers.Cancel(conn);
        _connections.Remove(conn);
        int slot = _timeWaits.Add(conn, context, values);
        conn.Detach(_engines, new TimeWaitRecord(context, values), slot, _timeWaits.Generation(slot));
        ArmHostTimer();
    }

    /// <summary>
    /// Takes the connection in <paramref name="slot"/> of the TIME-WAIT table back into <paramref name="conn"/> (the
    /// object it was detached from) with an engine rebuilt from its values, in the connection table and the timers again.
    /// </summary>
    internal TcpConnection Reattach(HostConnection conn, int slot)
    {
        var tcb = TcpConnection.Resume(_timeWaits.Context(slot), _timeWaits.Values(slot));
        _timeWaits.Remove(slot);
        conn.Reattach(tcb);
        _connections.Add(conn);
        _timers.Set(conn, tcb.NextDeadline);
        ArmHostTimer();
        return tcb;
    }

    /// <summary>
    /// The connection in <paramref name="slot"/> of the TIME-WAIT table with its engine again, to answer a segment or
    /// report its end: in the object the application still holds, or in a new one when it let that go.
    /// </summary>
    private HostConnection Revive(int slot)
    {
        var conn = OwnerOf(slot);
        _ = Reattach(conn, slot);
        return conn;
    }

    /// <summary>The object of the connection in <paramref name="slot"/> of the TIME-WAIT table (a new one if nobody holds the old).</summary>
    private HostConnection OwnerOf(int slot)
    {
        var owner = _timeWaits.Owner(slot);
        if (owner is null || !owner.WaitsIn(slot))
        {
            var context = _timeWaits.Context(slot);
            owner = new HostConnection(this, _timeWaits.Key(slot), _timeWaits.Hash(slot), new TimeWaitRecord(context, _timeWaits.Values(slot)), slot, _timeWaits.Generation(slot));
            _timeWaits.SetOwner(slot, owner);
        }

        return owner;
    }

    /// <summary>Removes a connection that reached CLOSED from the table and the timers.</summary>
    private void Forget(HostConnection conn)
    {
        conn.ReturnWaiters();
        _timers.Cancel(conn);
        _connections.Remove(conn);
        ArmHostTimer();
    }

    private void Dispatch(HostConnection conn, in TcpEvent e)
    {
        var listener = conn.Listener;
        if (listener is not null && e.Kind == TcpEventKind.StateChanged && e.OldState == TcpState.SynReceived)
        {
            listener.SynQueueCount--;
            if (e.NewState is TcpState.Established or TcpState.CloseWait && !listener.Stopped)
            {
                // Handshake complete: hand it to the listener's callback (after the event is delivered, below),
                // a waiting AcceptAsync or park it in the accept queue.
                bool handed = false;
                if (listener.OnAccepted is { } accepted)
                {
                    conn.Listener = null;
                    conn.OnEvent(e);
                    ConnectionEvent?.Invoke(conn, e);
                    accepted(conn);
                    return;
                }

                while (listener.AcceptWaiters.TryDequeue(out var waiter))
                {
                    if (waiter.TrySetResult(conn))
                    {
                        conn.Listener = null;
                        handed = true;
                        break;
                    }
                }

                if (!handed)
                {
                    listener.AcceptQueue.Enqueue(conn);
                }
            }
        }

        conn.OnEvent(e);
        ConnectionEvent?.Invoke(conn, e);
    }

    private void Transmit(IpAddress source, IpAddress destination, in TcpHeader header, ReadOnlySpan<byte> payload)
    {
        int ipLength = source.IsIPv4 ? Ipv4Packet.MinHeaderLength : Ipv6Packet.HeaderLength;
        int segmentLength = header.Emit(_packet.AsSpan(ipLength), payload, source, destination);
        if (source.IsIPv4)
        {
            new Ipv4Header
            {
                DontFragment = true,
                TimeToLive = 64,
                Protocol = IpProtocol.Tcp,
                Source = source,
                Destination = destination,
            }.Emit(_packet, segmentLength);
        }
        else
        {
            new Ipv6Header
            {
                NextHeader = IpProtocol.Tcp,
                HopLimit = 64,
                Source = source,
                Destination = destination,
            }.Emit(_packet, segmentLength);
        }

        Counters.PacketsSent++;
        _link.Send(_packet.AsSpan(0, ipLength + segmentLength));
    }

    // ---- helpers --------------------------------------------------------------------------------

    private SeqNum Isn(in FlowKey key)
    {
        Span<byte> local = stackalloc byte[16];
        Span<byte> remote = stackalloc byte[16];
        int ln = key.LocalAddress.WriteTo(local);
        int rn = key.RemoteAddress.WriteTo(remote);
        return _isn.Generate(local[..ln], key.LocalPort, remote[..rn], key.RemotePort, Loop.Now);
    }

    /// <summary>The MSS must fit the link: MTU minus the IP and TCP headers (RFC 9293 section 3.7.1).</summary>
    private TcpConfig ConfigFor(TcpConfig config, IpAddress remote)
    {
        int mss = _link.Mtu - (remote.IsIPv4 ? 40 : 60);
        return config.Mss > mss ? config with { Mss = mss } : config;
    }

    /// <summary>True when <paramref name="address"/> is one of this host's (a loop: List.Contains goes through the default comparer for every address).</summary>
    private bool IsLocal(IpAddress address)
    {
        foreach (var a in _addresses)
        {
            if (a == address)
            {
                return true;
            }
        }

        return false;
    }

    private IpAddress FirstAddressOfVersion(int version)
    {
        foreach (var a in _addresses)
        {
            if (a.Version == version)
            {
                return a;
            }
        }

        return default;
    }

    private bool InUse(in FlowKey key)
    {
        int hash = _connections.Hash(key);
        return _connections.TryGetValue(key, hash, out _) || (_timeWaits.Count > 0 && _timeWaits.TryFind(key, hash, out _));
    }

    private ushort AllocatePort(IpAddress local, IpAddress remote, ushort remotePort)
    {
        const int range = EphemeralLast - EphemeralFirst + 1;
        for (int i = 0; i < range; i++)
        {
            int port = _nextEphemeral;
            _nextEphemeral = port == EphemeralLast ? EphemeralFirst : port + 1;
            if (!_listeners.ContainsKey((ushort)port) && !InUse(new FlowKey(local, (ushort)port, remote, remotePort)))
            {
                return (ushort)port;
            }
        }

        throw new SocketException((int)SocketError.AddressAlreadyInUse);
    }
}
