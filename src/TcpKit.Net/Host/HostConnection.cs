using System.Net.Sockets;
using TcpKit.Tcp;
using TcpKit.Wire;
using TcpKit.Wire.Tcp;

namespace TcpKit.Net.Host;

/// <summary>
/// One connection inside a <see cref="TcpHost"/>: the engine's TCB plus its 4-tuple, its place in the
/// host's timer heap and the tasks waiting on it. All members run on the host's event loop.
/// </summary>
public sealed class HostConnection
{
    // Reusable waits, created by the first wait of each kind.
    private LoopWaiter<bool>? _connectWaiter;
    private LoopWaiter<int>? _readWaiter;
    private Memory<byte> _readBuffer; // where a waiting read puts its bytes
    private LoopWaiter<bool>? _writeWaiter;
    private TaskCompletionSource? _closed; // created only when someone waits for the close

    // The engine; null once the connection is a record: a CLOSED one (see Hibernate), or one that waits out
    // TIME-WAIT in the host's TimeWaitTable (see Detach), in slot _twSlot while its generation is _twGeneration.
    private TcpConnection? _tcb;
    private TimeWaitRecord? _timeWait;
    private int _twSlot = -1;
    private int _twGeneration;
    private bool _engineExposed;

    internal HostConnection(TcpHost host, FlowKey key, int hash, TcpConnection tcb, HostListener? listener)
    {
        Host = host;
        Key = key;
        Hash = hash;
        _tcb = tcb;
        Listener = listener;
    }

    /// <summary>A released connection waiting in the host's TIME-WAIT table, for an owner the application no longer held.</summary>
    internal HostConnection(TcpHost host, FlowKey key, int hash, TimeWaitRecord record, int slot, int generation)
    {
        Host = host;
        Key = key;
        Hash = hash;
        _timeWait = record;
        _twSlot = slot;
        _twGeneration = generation;
        Released = true;
    }

    public TcpHost Host { get; }

    public FlowKey Key { get; }

    /// <summary>
    /// The engine's transmission control block. A connection its user released waits out TIME-WAIT as values in
    /// the host's TIME-WAIT table, and this object keeps only a <see cref="TimeWaitRecord"/>; asking for the engine
    /// then takes the connection back from the table with an engine rebuilt from its values (same state, sequence
    /// numbers, deadline and statistics). Once the wait is over, the engine is rebuilt from the record, CLOSED.
    /// </summary>
    /// <remarks>
    /// Taking the engine from here marks it as held by the application: it is then never recycled for
    /// another connection (the host uses <see cref="Engine"/>, which leaves it free to).
    /// </remarks>
    public TcpConnection Tcb
    {
        get
        {
            _engineExposed = true;
            return Engine;
        }
    }

    /// <summary>
    /// The user released the connection and never took its engine through <see cref="Tcb"/>, so the host may
    /// replace the engine by a record and recycle it (an engine the application holds must stay this connection's).
    /// </summary>
    internal bool MayDropEngine => Released && !_engineExposed;

    /// <summary>The engine, for the host and the socket API, which never keep it beyond the connection's life.</summary>
    internal TcpConnection Engine => _tcb ?? Resume();

    public TcpState State => _tcb?.State ?? (IsInTimeWaitTable ? TcpState.TimeWait : _timeWait!.State);

    /// <summary>True while the connection has no engine: it waits in the host's TIME-WAIT table, or it is the record of a CLOSED connection.</summary>
    public bool IsHibernating => _tcb is null;

    /// <summary>The record kept while hibernating, null otherwise.</summary>
    internal TimeWaitRecord? TimeWaitRecord
    {
        get
        {
            _ = IsInTimeWaitTable; // a wait that ended meanwhile shows in the record
            return _timeWait;
        }
    }

    /// <summary>
    /// True while the connection waits in the host's TIME-WAIT table. Once the wait is over there (2 MSL, or a
    /// new SYN took the 4-tuple), the record this object kept says CLOSED from then on.
    /// </summary>
    internal bool IsInTimeWaitTable
    {
        get
        {
            if (_twSlot < 0)
            {
                return false;
            }

            if (Host.TimeWaits.IsLive(_twSlot, _twGeneration))
            {
                return true;
            }

            _timeWait!.Expire();
            _twSlot = -1;
            return false;
        }
    }

    /// <summary>True when this object is the one the connection in <paramref name="slot"/> of the TIME-WAIT table was taken from.</summary>
    internal bool WaitsIn(int slot) => _twSlot == slot && IsInTimeWaitTable;

    /// <summary>The user closed or aborted the connection: nothing will read from it again.</summary>
    internal bool Released { get; private set; }

    /// <summary>Someone waits for <see cref="Closed"/>, so the change to CLOSED must come from the engine.</summary>
    internal bool HasClosedWaiter => _closed is not null;

    /// <summary>The deadline the connection needs its timer for (the record's 2 MSL while hibernating).</summary>
    internal Instant NextDeadline => Engine.NextDeadline;

    internal bool AcceptsNewSynInTimeWait(in TcpHeader syn) => Engine.AcceptsNewSynInTimeWait(syn);

    /// <summary>
    /// Drops the engine of a released connection that reached CLOSED and keeps its record (state, error, sequence
    /// numbers, statistics): the engine serves the next connection unless the application took it.
    /// </summary>
    internal void Hibernate(TcpConnectionPool engines)
    {
        var tcb = _tcb!;
        _timeWait = tcb.ToClosedRecord();
        _tcb = null;
        ReturnWaiters();
        engines.Return(tcb); // nobody else holds it (MayDropEngine): the next connection can reuse it
    }

    /// <summary>Hands the waiters back to the host once the connection can never wait again (CLOSED or hibernating).</summary>
    internal void ReturnWaiters()
    {
        Host.SignalWaiters.Return(_connectWaiter);
        Host.SignalWaiters.Return(_writeWaiter);
        Host.ReadWaiters.Return(_readWaiter);
        _connectWaiter = null;
        _writeWaiter = null;
        _readWaiter = null;
        _readBuffer = default;
    }

    /// <summary>
    /// Hands the engine of a released, unobserved connection in TIME-WAIT over to the host's TIME-WAIT table (the
    /// host stored its values in <paramref name="slot"/>): this object keeps only <paramref name="record"/>, to answer
    /// what the application may still ask, and the engine serves the next connection.
    /// </summary>
    internal void Detach(TcpConnectionPool engines, TimeWaitRecord record, int slot, int generation)
    {
        var tcb = _tcb!;
        _timeWait = record;
        _twSlot = slot;
        _twGeneration = generation;
        _tcb = null;
        ReturnWaiters();
        engines.Return(tcb);
    }

    /// <summary>The host took the connection out of its TIME-WAIT table into this object again, with <paramref name="tcb"/> as its engine.</summary>
    internal void Reattach(TcpConnection tcb)
    {
        _tcb = tcb;
        _timeWait = null;
        _twSlot = -1;
    }

    private TcpConnection Resume()
    {
        if (IsInTimeWaitTable)
        {
            return Host.Reattach(this, _twSlot); // the connection comes back here with its engine, as it is in the table
        }

        var tcb = TcpConnection.Resume(_timeWait!);
        _tcb = tcb;
        _timeWait = null;
        return tcb;
    }

    /// <summary>Completes when the connection reaches CLOSED (after TIME-WAIT for an active closer).</summary>
    public Task Closed
    {
        get
        {
            if (_closed is null)
            {
                if (IsInTimeWaitTable)
                {
                    _ = Engine; // back from the host's TIME-WAIT table: the engine reports the close to this waiter
                }

                _closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                if (State == TcpState.Closed)
                {
                    _closed.SetResult();
                }
            }

            return _closed.Task;
        }
    }

    internal HostListener? Listener { get; set; }

    /// <summary>The hash of <see cref="Key"/> in the host's connection table.</summary>
    internal int Hash { get; }

    /// <summary>The deadline this connection holds in the host's timer heap (Instant.Never when none).</summary>
    internal Instant TimerDeadline { get; set; } = Instant.Never;

    /// <summary>Slot in the host's timer heap, -1 when not in it, -2 when the deadline waits in the timers' FIFO lane.</summary>
    internal int TimerIndex { get; set; } = -1;

    /// <summary>The position of this connection's entry in the timers' FIFO lane while <see cref="TimerIndex"/> is -2 (a <see cref="DeadlineLane{T}"/> position, not an array index).</summary>
    internal long TimerLanePosition { get; set; }

    internal bool Pumping { get; set; }

    internal bool PumpAgain { get; set; }

    /// <summary>Completes when the connection is established; fails with the reason it could not be.</summary>
    internal ValueTask WaitConnectedAsync(CancellationToken ct)
    {
        var state = State;
        if (state is TcpState.Established or TcpState.CloseWait)
        {
            return ValueTask.CompletedTask;
        }

        if (state == TcpState.Closed)
        {
            return ValueTask.FromException(ErrorFor(Engine.Error, connecting: true));
        }

        return (_connectWaiter ??= Host.SignalWaiters.Rent()).WaitWithoutResultAsync(ct.CanBeCanceled ? () => Host.Abort(this) : null, ct);
    }

    /// <summary>
    /// Reads in-order bytes; 0 at end of stream; throws when the connection was reset. A read that has to
    /// wait is completed by the connection's next readable or closed event, which copies the bytes into
    /// <paramref name="buffer"/> then (as an overlapped socket receive does), so it costs no state machine.
    /// </summary>
    public ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default)
    {
        if (ct.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<int>(ct);
        }

        if (TryRead(buffer, out int n, out var error))
        {
            return error is null ? new ValueTask<int>(n) : ValueTask.FromException<int>(error);
        }

        var waiter = _readWaiter ??= Host.ReadWaiters.Rent();
        var wait = waiter.WaitAsync(ct);
        _readBuffer = buffer;
        return wait;
    }

    /// <summary>Completes a waiting read when the event that woke it leaves something to return.</summary>
    private void CompleteRead()
    {
        if (_readWaiter is { IsWaiting: true } waiter && TryRead(_readBuffer, out int n, out var error))
        {
            _readBuffer = default;
            if (error is null)
            {
                waiter.TrySetResult(n);
            }
            else
            {
                waiter.TrySetException(error);
            }
        }
    }

    /// <summary>One read attempt: false when the caller has to wait for data, the peer's FIN or the end.</summary>
    private bool TryRead(Memory<byte> buffer, out int n, out Exception? error)
    {
        n = 0;
        error = null;
        if (buffer.Length == 0)
        {
            return true;
        }

        if (IsHibernating)
        {
            // A record has nothing unread: end of stream, or the reason a connection closed without one.
            var record = TimeWaitRecord!;
            error = EndOfStreamError(record.RemoteClosed, record.State, record.Error);
            return true;
        }

        var tcb = Engine;
        n = tcb.Receive(buffer.Span);
        if (n > 0)
        {
            Host.Pump(this); // the read may open the window: a window update can be due.
            return true;
        }

        if (tcb.RemoteClosed || tcb.State == TcpState.Closed)
        {
            error = EndOfStreamError(tcb.RemoteClosed, tcb.State, tcb.Error);
            return true;
        }

        return false;
    }

    /// <summary>
    /// Nothing more to read: after the peer's FIN, or an orderly or local close, that is end of stream (0); a
    /// connection that closed otherwise (reset, timeout) reports why.
    /// </summary>
    private static SocketException? EndOfStreamError(bool remoteClosed, TcpState state, TcpError error) =>
        !remoteClosed && state == TcpState.Closed && error is not (TcpError.None or TcpError.Aborted)
            ? ErrorFor(error, connecting: false)
            : null;

    /// <summary>Queues all of <paramref name="data"/>, waiting for send-buffer space as needed.</summary>
    public async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken ct = default)
    {
        while (!data.IsEmpty)
        {
            ct.ThrowIfCancellationRequested();
            if (!Engine.CanSend)
            {
                throw Engine.State == TcpState.Closed && Engine.Error != TcpError.None
                    ? ErrorFor(Engine.Error, connecting: false)
                    : new SocketException((int)SocketError.Shutdown);
            }

            int n = Engine.Send(data.Span);
            data = data[n..];
            Host.Pump(this);
            if (!data.IsEmpty)
            {
                await (_writeWaiter ??= Host.SignalWaiters.Rent()).WaitAsync(ct).ConfigureAwait(true);
            }
        }
    }

    /// <summary>Half-close: a FIN after the queued data; reading continues.</summary>
    public void Shutdown()
    {
        if (Engine.State != TcpState.Closed && Engine.CanSend)
        {
            Engine.Shutdown();
            Host.Pump(this);
        }
    }

    /// <summary>Orderly close: FIN after the queued data.</summary>
    public void Close()
    {
        Released = true;
        if (State != TcpState.Closed && !IsHibernating)
        {
            Engine.Close();
            Host.Pump(this);
        }
    }

    /// <summary>Turns Nagle's algorithm off or on; data it held back goes out at once.</summary>
    public void SetNoDelay(bool noDelay)
    {
        Engine.NoDelay = noDelay;
        Host.Pump(this);
    }

    /// <summary>Resizes the send buffer; a blocked writer resumes when the new size leaves room.</summary>
    public void SetSendBufferSize(int bytes)
    {
        Engine.SetSendBufferSize(bytes);
        Host.Pump(this);
    }

    /// <summary>Resizes the receive buffer; a larger one sends a window update when worth it.</summary>
    public void SetReceiveBufferSize(int bytes)
    {
        Engine.SetReceiveBufferSize(bytes);
        Host.Pump(this);
    }

    /// <summary>Changes the keep-alive settings of the live connection.</summary>
    public void SetKeepalive(KeepaliveConfig keepalive)
    {
        Engine.SetKeepalive(keepalive, Host.Loop.Now);
        Host.Pump(this);
    }

    /// <summary>Abortive close: RST, queued data discarded.</summary>
    public void Abort()
    {
        Released = true;
        Host.Abort(this);
    }

    internal void OnEvent(in TcpEvent e)
    {
        switch (e.Kind)
        {
            case TcpEventKind.DataReadable:
                CompleteRead();
                break;
            case TcpEventKind.Writable:
                _writeWaiter?.TrySetResult(true);
                if (Engine.State is TcpState.Established or TcpState.CloseWait)
                {
                    CompleteConnect();
                }

                break;
            case TcpEventKind.StateChanged when e.NewState is TcpState.Established or TcpState.CloseWait:
                CompleteConnect();
                break;
            case TcpEventKind.Closed:
                if (_connectWaiter is { IsWaiting: true })
                {
                    // Only built when someone waits: an exception (and its message) per close would be wasted.
                    var error = e.Error;
                    _connectWaiter.TrySetException(ErrorFor(error == TcpError.None ? TcpError.Reset : error, connecting: true));
                }

                CompleteRead();
                _writeWaiter?.TrySetResult(true);
                _closed?.TrySetResult();
                break;
        }
    }

    /// <summary>Established: the connect wait ends, and its waiter goes back to the host's pool (a connection connects once).</summary>
    private void CompleteConnect()
    {
        if (_connectWaiter is { } waiter)
        {
            waiter.TrySetResult(true);
            _connectWaiter = null;
            waiter.ReleaseTo(Host.SignalWaiters);
        }
    }

    internal static SocketException ErrorFor(TcpError error, bool connecting) => error switch
    {
        TcpError.Refused => new SocketException((int)SocketError.ConnectionRefused),
        TcpError.TimedOut => new SocketException((int)SocketError.TimedOut),
        TcpError.Aborted => new SocketException((int)SocketError.OperationAborted),
        TcpError.Reset when connecting => new SocketException((int)SocketError.ConnectionRefused),
        _ => new SocketException((int)SocketError.ConnectionReset),
    };

    public override string ToString() => $"{Key} {State.ToRfcName()}";
}

/// <summary>A passive open on one port: the SYN queue (handshakes in progress) and the accept queue.</summary>
internal sealed class HostListener(IpAddress? localAddress, ushort port, int backlog, TcpConfig config)
{
    public IpAddress? LocalAddress { get; } = localAddress;

    public ushort Port { get; } = port;

    public int Backlog { get; } = Math.Max(1, backlog);

    public TcpConfig Config { get; } = config;

    public int SynQueueCount { get; set; }

    public Queue<HostConnection> AcceptQueue { get; } = new();

    public Queue<LoopWaiter<HostConnection>> AcceptWaiters { get; } = new();

    /// <summary>The accept wait reused from one AcceptAsync to the next (concurrent accepts get their own).</summary>
    public LoopWaiter<HostConnection>? AcceptWaiter { get; set; }

    /// <summary>Set for a listener opened with a callback: each established connection goes to it instead of the accept queue.</summary>
    public Action<HostConnection>? OnAccepted { get; init; }

    public bool Stopped { get; set; }

    public bool IsFull => SynQueueCount + AcceptQueue.Count >= Backlog;
}
