using TcpKit.Wire;
using TcpKit.Wire.Tcp;

namespace TcpKit.Tcp;

/// <summary>
/// One TCP connection (one TCB) as a sans-IO state machine following RFC 9293. Feed it segments
/// (<see cref="OnSegment"/>), timer expiries (<see cref="OnTimer"/>) and user calls; poll it for
/// segments to transmit (<see cref="TryPollSegment"/>), its next deadline and its events.
/// The receive path (section 3.10.7) lives in TcpConnection.Receive.cs.
/// </summary>
public sealed partial class TcpConnection
{
    private const int MaxPendingControl = 4;
    private static readonly TimeSpan ChallengeAckWindow = TimeSpan.FromSeconds(1);

    // Not readonly: a recycled engine (TcpConnectionPool) takes a new config and keeps these objects.
    private TcpConfig _config;
    private readonly SendBuffer _sendBuffer;
    private readonly ReceiveBuffer _recvBuffer;
    private readonly RtoEstimator _rto;
    // Out-of-order bookkeeping, created by the first out-of-order segment.
    private Reassembler? _reassembler;
    // Events not yet polled, oldest first: the oldest in the engine itself (most bursts are one event, polled at
    // once; renting a ring for each cost two reference stores with their GC write barriers), the later ones in a
    // ring borrowed from the pool's EventRingPool while there are any, so an idle connection holds no ring (an
    // engine made outside a TcpConnectionPool makes its own on first use and keeps it).
    private TcpEvent _firstEvent;
    private bool _hasFirstEvent;
    private EventRing? _events;
    private EventRingPool? _eventPool;
    // Pending RSTs/challenge ACKs: allocated on first use, most connections never need it.
    private TcpHeader[]? _control;
    private int _controlCount;
    private ICongestionControl? _cc;

    // The NewReno of the connection a recycled engine served last: reset for the next connection instead of a
    // new one allocated (only when that uses the default controller). Not connection state, so Initialize leaves it.
    private NewReno? _spareNewReno;
    private TcpStats? _stats;
    private TimerSet _timers;
    private TransitionCause _cause;
    private Instant _now;
    private bool _passiveOpen;
    private NegotiatedOptions _negotiated;

    // Send sequence space (RFC 9293 section 3.3.1). _sndMax is SND.NXT of the RFC, the highest sequence
    // number ever sent; _sendNext is the transmit pointer that goes back to SND.UNA after a timeout.
    private SeqNum _sndMax;
    private SeqNum _sendNext;
    private int _maxSndWnd;
    private SeqNum _sendBufferSeq;
    private bool _finQueued;
    private bool _synPending;
    private bool _synIsRetransmission;
    private bool _synRetransmitted;

    // Receive sequence space: the right edge RCV.NXT + RCV.WND only ever moves right (3.8.6.2.2).
    private SeqNum _rcvEdge;
    private bool _finReceived;
    private SeqNum? _outOfOrderFin;
    private int _rcvMssEstimate;
    private int _unackedBytes;
    private bool _ackNow;

    // Retransmission (RFC 6298) and Karn's algorithm.
    private bool _rttTiming;
    private SeqNum _rttSeq;
    private Instant _rttStart;
    private int _retries;
    private bool _retransmitHead;
    private Instant _lastSendTime;

    // Persist (3.8.6.1) and sender SWS override (3.8.6.2.1).
    private int _persistBackoff;
    private bool _sendWindowProbe;
    private bool _persistForce;

    // Keep-alive (RFC 1122 4.2.3.6).
    private int _keepaliveProbes;
    private bool _sendKeepalive;

    // RFC 5961 section 7 rate limit.
    private Instant _challengeWindowStart;
    private int _challengeAcksInWindow;

    private bool _readableSignalled;
    private bool _writeBlocked;

    // Options the user may change on a live connection (socket options); they start from the config.
    private KeepaliveConfig _keepalive;
    private bool _noDelay;

    // CLOSE (not a half-close) was called: data arriving now can never be read (RFC 1122 4.2.2.13).
    private bool _closeCalled;

    // Reduced to a TimeWaitRecord that took nothing of it by reference: a pool may recycle it.
    private bool _reduced;

    private TcpConnection(TcpConfig config, ushort localPort, ushort remotePort, SeqNum iss)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        _config = config;
        _sendBuffer = new SendBuffer(config.SendBufferSize);
        _recvBuffer = new ReceiveBuffer(config.ReceiveBufferSize);
        _rto = new RtoEstimator(config.InitialRto, config.MinRto, config.MaxRto);
        Initialize(localPort, remotePort, iss);
    }

    /// <summary>
    /// Every field as a new connection has it: the constructor ends here, and so does an engine recycled by a
    /// <see cref="TcpConnectionPool"/> (a test compares every field of both, so a field added without a line
    /// here fails it).
    /// </summary>
    [System.Diagnostics.CodeAnalysis.MemberNotNull(nameof(_keepalive))]
    private void Initialize(ushort localPort, ushort remotePort, SeqNum iss)
    {
        var config = _config;
        _reassembler = null;
        _firstEvent = default;
        _hasFirstEvent = false;
        _events = null;
        _control = null;
        _controlCount = 0;
        _cc = null;
        _stats = null;
        _timers = TimerSet.Create();
        _cause = default;
        _now = default;
        _passiveOpen = false;
        _negotiated = NegotiatedOptions.Initial with { PeerMss = config.DefaultPeerMss };
        _sndMax = iss;
        _sendNext = iss;
        _maxSndWnd = 0;
        _sendBufferSeq = iss + 1;
        _finQueued = false;
        _synPending = false;
        _synIsRetransmission = false;
        _synRetransmitted = false;
        _rcvEdge = default;
        _finReceived = false;
        _outOfOrderFin = null;
        _rcvMssEstimate = Math.Min(config.Mss, config.DefaultPeerMss);
        _unackedBytes = 0;
        _ackNow = false;
        _rttTiming = false;
        _rttSeq = default;
        _rttStart = default;
        _retries = 0;
        _retransmitHead = false;
        _lastSendTime = default;
        _persistBackoff = 0;
        _sendWindowProbe = false;
        _persistForce = false;
        _keepaliveProbes = 0;
        _sendKeepalive = false;
        _challengeWindowStart = default;
        _challengeAcksInWindow = 0;
        _readableSignalled = false;
        _writeBlocked = false;
        _keepalive = config.Keepalive;
        _noDelay = config.NoDelay;
        _closeCalled = false;
        _reduced = false;
        State = default;
        LocalPort = localPort;
        RemotePort = remotePort;
        Iss = iss;
        Irs = default;
        SndUna = iss;
        SndWnd = 0;
        SndWl1 = default;
        SndWl2 = default;
        RcvNxt = default;
        RcvUp = default;
        Error = default;
        SegmentsInCount = 0;
        SegmentsOutCount = 0;
        BytesInCount = 0;
        BytesOutCount = 0;
    }

    /// <summary>Takes a recycled engine through the constructor's steps again with new settings.</summary>
    private void Reinitialize(TcpConfig config, ushort localPort, ushort remotePort, SeqNum iss)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (!ReferenceEquals(config, _config))
        {
            config.Validate(); // the settings it had were checked when it was made
        }

        _config = config;
        _sendBuffer.Reinitialize(config.SendBufferSize);
        _recvBuffer.Reinitialize(config.ReceiveBufferSize);
        _rto.Reinitialize(config.InitialRto, config.MinRto, config.MaxRto);
        Initialize(localPort, remotePort, iss);
    }

    /// <summary>Active OPEN (RFC 9293 section 3.10.1): enters SYN-SENT; the SYN comes out of the next poll.</summary>
    public static TcpConnection Connect(TcpConfig config, ushort localPort, ushort remotePort, SeqNum iss, Instant now) =>
        new TcpConnection(config, localPort, remotePort, iss).StartConnect(now);

    /// <summary>Passive OPEN: LISTEN until a SYN arrives (3.10.7.2). The host stack creates one per incoming SYN.</summary>
    public static TcpConnection Listen(TcpConfig config, ushort localPort, SeqNum iss) =>
        new TcpConnection(config, localPort, 0, iss).StartListen();

    internal static TcpConnection Recycle(TcpConnection engine, TcpConfig config, ushort localPort, ushort remotePort, SeqNum iss)
    {
        // The record kept the controller's values, not the controller: nothing else holds it (see CanBeRecycled).
        // Only one the default factory made: a configured factory may hand the same object to several connections.
        if (engine._cc is NewReno last && ReferenceEquals(engine._config.CongestionControl, TcpConfig.DefaultCongestionControl))
        {
            engine._spareNewReno = last;
        }

        engine.Reinitialize(config, localPort, remotePort, iss);
        return engine;
    }

    /// <summary>A new engine for a <see cref="TcpConnectionPool"/>, borrowing its event rings from <paramref name="events"/>.</summary>
    internal static TcpConnection ForPool(TcpConfig config, ushort localPort, ushort remotePort, SeqNum iss, EventRingPool events) =>
        new(config, localPort, remotePort, iss) { _eventPool = events };

    /// <summary>Borrows event rings from <paramref name="events"/> from now on (an engine a pool did not make, such as a resumed one).</summary>
    internal void UseEventPool(EventRingPool events) => _eventPool = events;

    internal TcpConnection StartConnect(Instant now)
    {
        _now = now;
        _cause = TransitionCause.FromUser(UserCall.Open);
        _synPending = true;
        SetState(TcpState.SynSent);
        return this;
    }

    internal TcpConnection StartListen()
    {
        _passiveOpen = true;
        _cause = TransitionCause.FromUser(UserCall.Open);
        SetState(TcpState.Listen);
        return this;
    }

    public TcpConfig Config => _config;

    public TcpState State { get; private set; }

    public ushort LocalPort { get; private set; }

    /// <summary>The peer's port (0 while LISTENing).</summary>
    public ushort RemotePort { get; private set; }

    public SeqNum Iss { get; private set; }

    public SeqNum Irs { get; private set; }

    public SeqNum SndUna { get; private set; }

    /// <summary>
    /// SND.NXT as RFC 9293 defines it: the next new sequence number to send, i.e. one past the highest ever
    /// sent. Pure ACKs, challenge ACKs and RSTs carry it.
    /// </summary>
    public SeqNum SndNxt => _sndMax;

    /// <summary>
    /// Where transmission continues: equal to SND.NXT, except after a retransmission timeout when it goes
    /// back to SND.UNA and walks forward again (go-back-N) while SND.NXT stays put.
    /// </summary>
    public SeqNum SendNext => _sendNext;

    /// <summary>The peer's advertised window in bytes (after window scaling).</summary>
    public int SndWnd { get; private set; }

    public SeqNum SndWl1 { get; private set; }

    public SeqNum SndWl2 { get; private set; }

    public SeqNum RcvNxt { get; private set; }

    /// <summary>RCV.WND as last advertised, measured from RCV.NXT.</summary>
    public int RcvWnd => Math.Max(0, _rcvEdge - RcvNxt);

    /// <summary>RCV.UP: highest urgent pointer seen (urgent data is counted, not delivered separately).</summary>
    public SeqNum RcvUp { get; private set; }

    /// <summary>Urgent bytes (up to RCV.UP) the application has not read yet (MUST-33); 0 when none.</summary>
    public int UrgentBytesPending
    {
        get
        {
            SeqNum firstUnread = RcvNxt - _recvBuffer.Count - (_finReceived ? 1 : 0);
            return Math.Max(0, RcvUp - firstUnread);
        }
    }

    public NegotiatedOptions Negotiated => _negotiated;

    /// <summary>Eff.snd.MSS (3.7.1): the largest payload this end puts in one segment.</summary>
    public int EffectiveSendMss => Math.Min(_negotiated.PeerMss, _config.Mss);

    public int BytesAvailable => _recvBuffer.Count;

    public int SendBufferFree => _sendBuffer.Space;

    /// <summary>Bytes queued for sending or awaiting acknowledgement.</summary>
    public int SendBufferCount => _sendBuffer.Count;

    /// <summary>True when the peer's FIN has been received: once BytesAvailable is 0, that is end of stream.</summary>
    public bool RemoteClosed => _finReceived;

    /// <summary>True when Send is allowed: the connection is open or opening and the user has not closed its sending side.</summary>
    public bool CanSend => !_finQueued && State is TcpState.SynSent or TcpState.SynReceived or TcpState.Established or TcpState.CloseWait;

    /// <summary>Why the connection closed (None while open or after an orderly close).</summary>
    public TcpError Error { get; private set; }

    public TcpStats Stats => _stats ??= new TcpStats(this);

    /// <summary>
    /// The congestion controller. It is created when the connection is established (the send MSS is known
    /// then); asked for earlier, one is made from the defaults and replaced at establishment. An engine
    /// <see cref="Resume"/>d from a <see cref="TimeWaitRecord"/> has a frozen copy of the controller's cwnd,
    /// ssthresh and recovery flag instead (nothing can reach a controller in TIME-WAIT or CLOSED).
    /// </summary>
    public ICongestionControl CongestionControl => _cc ??= NewCongestionControl(_config);

    private ICongestionControl NewCongestionControl(TcpConfig config)
    {
        if (_spareNewReno is { } spare && ReferenceEquals(config.CongestionControl, TcpConfig.DefaultCongestionControl))
        {
            _spareNewReno = null;
            spare.Reset(EffectiveSendMss, config.InitialWindowSegments);
            return spare;
        }

        return config.CongestionControl(config, EffectiveSendMss);
    }

    internal long SegmentsInCount { get; private set; }

    internal long SegmentsOutCount { get; private set; }

    internal long BytesInCount { get; private set; }

    internal long BytesOutCount { get; private set; }

    public RtoEstimator RtoEstimator => _rto;

    /// <summary>The earliest timer deadline; call <see cref="OnTimer"/> then. Instant.Never when no timer is armed.</summary>
    public Instant NextDeadline => _timers.Next;

    /// <summary>The deadline of one timer (Instant.Never when not armed), for tests and tracing.</summary>
    public Instant TimerDeadline(TimerKind kind) => _timers.Get(kind);

    private bool IsSynchronized => State >= TcpState.Established || State == TcpState.SynReceived;

    private SeqNum FinSeq => _sendBufferSeq + _sendBuffer.Count;

    private bool FinAcked => _finQueued && SndUna > FinSeq;

    public bool TryPollEvent(out TcpEvent e)
    {
        if (_hasFirstEvent)
        {
            e = _firstEvent;
            _hasFirstEvent = false;
            return true;
        }

        var events = _events;
        if (events is null || events.Count == 0)
        {
            e = default;
            return false;
        }

        e = events.Dequeue();
        if (events.Count == 0 && _eventPool is not null)
        {
            // Back to the pool; an engine made outside one keeps its ring, so it allocates only once.
            _events = null;
            _eventPool.Return(events);
        }

        return true;
    }

    private void Emit(in TcpEvent e)
    {
        // The engine's own slot holds the oldest pending event: free, and nothing older waits in the ring.
        if (!_hasFirstEvent && (_events is null || _events.Count == 0))
        {
            _firstEvent = e;
            _hasFirstEvent = true;
            return;
        }

        (_events ??= _eventPool?.Rent() ?? new EventRing()).Enqueue(e);
    }

    private bool NoEventsPending => !_hasFirstEvent && (_events is null || _events.Count == 0);

    private bool ReassemblyEmpty => _reassembler is null || _reassembler.IsEmpty;

    /// <summary>
    /// MAY-2 (RFC 1122 4.2.2.13): true when <paramref name="seg"/> is a new connection's SYN that the host may
    /// accept although this connection is in TIME-WAIT (its sequence number lies beyond RCV.NXT). The host then
    /// drops this TCB and hands the SYN to a fresh <see cref="Listen"/> connection; otherwise pass it to
    /// <see cref="OnSegment"/>, which answers with a challenge ACK.
    /// </summary>
    public bool AcceptsNewSynInTimeWait(in TcpHeader seg) => State == TcpState.TimeWait && IsNewSynForTimeWait(RcvNxt, seg);

    /// <summary>
    /// Deletes this TCB in TIME-WAIT because the host hands <paramref name="syn"/> (for which
    /// <see cref="AcceptsNewSynInTimeWait"/> holds) to a new connection (MAY-2, RFC 1122 4.2.2.13): CLOSED
    /// with no error, since both FINs were already exchanged. Nothing is sent.
    /// </summary>
    public void EndTimeWaitForNewSyn(in TcpHeader syn)
    {
        if (!AcceptsNewSynInTimeWait(syn))
        {
            throw new InvalidOperationException("Only a new SYN above RCV.NXT may end TIME-WAIT early.");
        }

        _cause = TransitionCause.FromSegment(new SegmentSummary(syn.Flags, syn.Seq, syn.Ack, 0, syn.Window));
        Terminate(TcpError.None);
    }

    /// <summary>For logs and debuggers: state, ports and the sequence variables relative to ISS/IRS.</summary>
    public override string ToString() =>
        $"{State.ToRfcName()} {LocalPort}->{RemotePort} SND.UNA={SndUna.RelativeTo(Iss)} SND.NXT={SndNxt.RelativeTo(Iss)} " +
        $"SND.WND={SndWnd} RCV.NXT={RcvNxt.RelativeTo(Irs)} RCV.WND={RcvWnd} cwnd={CongestionControl.Cwnd} rto={_rto.Rto.TotalMilliseconds}ms";

    // ---- options on a live connection (socket options) ------------------------------------------------

    /// <summary>
    /// Nagle's algorithm off (RFC 9293 section 3.7.4, MUST-17 lets the application disable it). Turning it
    /// off releases data Nagle was holding back: the next poll sends it.
    /// </summary>
    public bool NoDelay
    {
        get => _noDelay;
        set => _noDelay = value;
    }

    /// <summary>The send buffer size (SO_SNDBUF).</summary>
    public int SendBufferSize => _sendBuffer.Limit;

    /// <summary>The receive buffer size (SO_RCVBUF); the advertised window comes from its free space.</summary>
    public int ReceiveBufferSize => _recvBuffer.Limit;

    /// <summary>Keep-alive settings in effect (RFC 1122 4.2.3.6).</summary>
    public KeepaliveConfig Keepalive => _keepalive;

    /// <summary>
    /// Resizes the send buffer. Queued data is never dropped: a buffer smaller than what is queued takes
    /// no new data until acknowledgements bring the queue below the new size. A blocked writer is told
    /// when the new size leaves room.
    /// </summary>
    public void SetSendBufferSize(int bytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bytes, 1);
        _sendBuffer.Resize(bytes);
        if (_writeBlocked && _sendBuffer.Space > 0 && CanSend)
        {
            _writeBlocked = false;
            Emit(new TcpEvent(TcpEventKind.Writable, State, State, _cause, TcpError.None));
        }
    }

    /// <summary>
    /// Resizes the receive buffer. A larger buffer opens the window: a window update goes out when the
    /// window grows enough to be worth one (3.8.6.2.2). A smaller one never moves the right edge of the
    /// window already offered to the left (RFC 9293 3.8.6: a receiver SHOULD NOT shrink the window, SHLD-14):
    /// the window closes only as data arrives, and the buffer shrinks once the bytes it still has to hold are read.
    /// </summary>
    public void SetReceiveBufferSize(int bytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bytes, 1);
        _recvBuffer.Resize(bytes, ReceiveBytesInUse);
        if (IsSynchronized && State is not TcpState.TimeWait && !_finReceived && WindowUpdateWorthSending())
        {
            _ackNow = true;
        }
    }

    /// <summary>
    /// Changes the keep-alive settings. Enabling (or changing) them on an established connection starts the
    /// idle period from <paramref name="now"/>; disabling them stops the probes.
    /// </summary>
    public void SetKeepalive(KeepaliveConfig keepalive, Instant now)
    {
        ArgumentNullException.ThrowIfNull(keepalive);
        if (keepalive.Enabled && (keepalive.Idle <= TimeSpan.Zero || keepalive.Interval <= TimeSpan.Zero || keepalive.Count < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(keepalive), "Keepalive needs positive Idle, Interval and Count.");
        }

        _keepalive = keepalive;
        _now = now;
        _sendKeepalive = false;
        _timers.Cancel(TimerKind.Keepalive);
        RestartKeepalive(now);
    }

    /// <summary>Bytes of the receive ring that must stay where they are: readable ones and the window offered beyond them.</summary>
    private int ReceiveBytesInUse => _recvBuffer.Count + (IsSynchronized ? RcvWnd : 0);

    // ---- user calls (RFC 9293 section 3.10) -------------------------------------------------------

    /// <summary>SEND (3.10.2): queues as much as fits; returns the number of bytes accepted.</summary>
    public int Send(ReadOnlySpan<byte> data)
    {
        if (!CanSend)
        {
            throw new InvalidOperationException(_finQueued ? "error: connection closing" : $"error: cannot send in state {State.ToRfcName()}");
        }

        int n = _sendBuffer.Write(data);
        if (n < data.Length)
        {
            _writeBlocked = true;
        }

        return n;
    }

    /// <summary>RECEIVE (3.10.3): copies in-order bytes; 0 when none (check <see cref="RemoteClosed"/> for end of stream).</summary>
    public int Receive(Span<byte> destination)
    {
        int n = _recvBuffer.Read(destination);
        _readableSignalled = false;
        if (_recvBuffer.Capacity > _recvBuffer.Limit)
        {
            _recvBuffer.Resize(_recvBuffer.Limit, ReceiveBytesInUse); // a smaller size waited for these bytes to be read
        }

        if (_recvBuffer.Count == 0 && ReassemblyEmpty)
        {
            // An idle connection holds no receive ring; the next segment rents one again.
            _recvBuffer.Release();
        }

        if (n > 0 && IsSynchronized && !_finReceived && WindowUpdateWorthSending())
        {
            // RFC 9293 3.8.6.2.2 / RFC 1122 4.2.3.3: tell the peer once the window opened enough.
            _ackNow = true;
        }

        return n;
    }

    /// <summary>CLOSE (3.10.4): a FIN follows the queued data; receiving continues until the peer closes too.</summary>
    public void Close()
    {
        _cause = TransitionCause.FromUser(UserCall.Close);
        switch (State)
        {
            case TcpState.Listen:
            case TcpState.SynSent:
                // "Delete the TCB"; queued SENDs get "error: closing".
                _sendBuffer.Clear();
                Terminate(TcpError.None);
                break;
            case TcpState.SynReceived or TcpState.Established or TcpState.CloseWait when _recvBuffer.Count > 0:
                // RFC 1122 4.2.2.13: closing with received data still unread loses it; say so with a RST.
                Abort();
                break;
            default:
                _closeCalled = true;
                QueueFin();
                break;
        }
    }

    /// <summary>
    /// Half-close of the sending side (socket shutdown(SHUT_WR)): like CLOSE, except that in SYN-SENT the
    /// FIN is queued until the connection is established instead of deleting the TCB.
    /// </summary>
    public void Shutdown()
    {
        _cause = TransitionCause.FromUser(UserCall.Shutdown);
        if (State == TcpState.Listen)
        {
            Terminate(TcpError.None);
            return;
        }

        QueueFin();
    }

    /// <summary>ABORT (3.10.5): RST in synchronized states, then CLOSED with TcpError.Aborted.</summary>
    public void Abort()
    {
        _cause = TransitionCause.FromUser(UserCall.Abort);
        switch (State)
        {
            case TcpState.Closed:
                return;
            case TcpState.SynReceived:
            case TcpState.Established:
            case TcpState.FinWait1:
            case TcpState.FinWait2:
            case TcpState.CloseWait:
                EnqueueControl(new TcpHeader { SourcePort = LocalPort, DestinationPort = RemotePort, Seq = RstSeq, Flags = TcpFlags.Rst });
                break;
        }

        _sendBuffer.Clear();
        Terminate(TcpError.Aborted);
    }

    /// <summary>
    /// The sequence number of a RST sent in a synchronized state: SND.NXT (RFC 9293 section 3.10.5), but never
    /// beyond the peer's window, since the peer accepts a RST only at its RCV.NXT (RFC 5961 section 3.2) and a
    /// zero-window probe leaves SND.NXT one past it. Then SND.UNA + SND.WND, as Linux's tcp_acceptable_seq.
    /// </summary>
    private SeqNum RstSeq => _sndMax <= SndUna + SndWnd ? _sndMax : SndUna + SndWnd;

    private void QueueFin()
    {
        switch (State)
        {
            case TcpState.SynSent:
            case TcpState.SynReceived:
                // Queued for processing after entering ESTABLISHED (3.10.4).
                _finQueued = true;
                break;
            case TcpState.Established:
                _finQueued = true;
                SetState(TcpState.FinWait1);
                break;
            case TcpState.CloseWait:
                _finQueued = true;
                SetState(TcpState.LastAck);
                break;
            default:
                // FIN-WAIT-*, CLOSING, LAST-ACK, TIME-WAIT, CLOSED: "error: connection closing"; nothing to do.
                break;
        }
    }

    // ---- timers ---------------------------------------------------------------------------------

    /// <summary>Runs every timer due at <paramref name="now"/>.</summary>
    public void OnTimer(Instant now)
    {
        _now = now;
        if (_timers.IsDue(TimerKind.TimeWait, now))
        {
            _timers.Cancel(TimerKind.TimeWait);
            _cause = TransitionCause.FromTimer(TimerKind.TimeWait);
            Terminate(TcpError.None);
            return;
        }

        if (_timers.IsDue(TimerKind.UserTimeout, now))
        {
            _cause = TransitionCause.FromTimer(TimerKind.UserTimeout);
            Terminate(TcpError.TimedOut);
            return;
        }

        if (_timers.IsDue(TimerKind.Retransmission, now))
        {
            _cause = TransitionCause.FromTimer(TimerKind.Retransmission);
            OnRetransmissionTimeout();
            if (State == TcpState.Closed)
            {
                return;
            }
        }

        if (_timers.IsDue(TimerKind.Persist, now))
        {
            _timers.Cancel(TimerKind.Persist);
            if (SndWnd == 0)
            {
                _sendWindowProbe = true;
                _persistBackoff++;
            }
            else
            {
                _persistForce = true;
            }
        }

        if (_timers.IsDue(TimerKind.DelayedAck, now))
        {
            _timers.Cancel(TimerKind.DelayedAck);
            _ackNow = true;
        }

        if (_timers.IsDue(TimerKind.Keepalive, now))
        {
            _cause = TransitionCause.FromTimer(TimerKind.Keepalive);
            OnKeepaliveTimer(now);
        }

    }

    private void OnRetransmissionTimeout()
    {
        _timers.Cancel(TimerKind.Retransmission);
        Stats.RetransmissionTimeouts++;
        _rttTiming = false; // Karn: nothing sent from now until new data is timed gives a valid sample.
        if (State is TcpState.SynSent or TcpState.SynReceived && SndUna == Iss)
        {
            if (_retries >= _config.SynRetries)
            {
                Terminate(TcpError.TimedOut);
                return;
            }

            _retries++;
            SignalR1();
            _rto.Backoff();
            _synPending = true;
            _synIsRetransmission = true;
            _synRetransmitted = true;
            return;
        }

        if (SndUna == _sndMax)
        {
            return;
        }

        if (SndWnd == 0)
        {
            // The peer shrank its window to zero with data in flight (RFC 1122 4.2.2.16): nothing may be
            // retransmitted, so probe the window now and continue with the persist timer; data beyond
            // the window does not count towards R2 (RFC 9293 SHLD-17).
            _sendNext = SndUna;
            _retransmitHead = false;
            _sendWindowProbe = true;
            _persistBackoff = 1;
            return;
        }

        // R2 of RFC 9293 section 3.8.3: give up after DataRetries retransmissions of the same data.
        if (_retries >= _config.DataRetries)
        {
            Terminate(TcpError.TimedOut);
            return;
        }

        _retries++;
        SignalR1();
        CongestionControl.OnRetransmissionTimeout(_sndMax - SndUna, _sndMax);
        _rto.Backoff(); // RFC 6298 (5.5)
        _sendNext = SndUna; // go back: resend from the first unacknowledged byte (RFC 6298 (5.4)).
        _retransmitHead = false;
    }

    private void SignalR1()
    {
        if (_retries == _config.R1Retries)
        {
            Emit(new TcpEvent(TcpEventKind.ExcessiveRetransmissions, State, State, _cause, TcpError.None));
        }
    }

    private void OnKeepaliveTimer(Instant now)
    {
        _timers.Cancel(TimerKind.Keepalive);
        if (State is not (TcpState.Established or TcpState.CloseWait) || !_keepalive.Enabled)
        {
            return;
        }

        // Only probe an idle connection: with data outstanding the retransmission timer decides.
        if (_sndMax != SndUna || _sendBuffer.Count > _sendNext - _sendBufferSeq)
        {
            _timers.Set(TimerKind.Keepalive, now + _keepalive.Idle);
            return;
        }

        if (_keepaliveProbes >= _keepalive.Count)
        {
            Terminate(TcpError.TimedOut);
            return;
        }

        _keepaliveProbes++;
        _sendKeepalive = true;
        _timers.Set(TimerKind.Keepalive, now + _keepalive.Interval);
    }

    private void RestartKeepalive(Instant now)
    {
        _keepaliveProbes = 0;
        if (_keepalive.Enabled && State is TcpState.Established or TcpState.CloseWait)
        {
            _timers.Set(TimerKind.Keepalive, now + _keepalive.Idle);
        }
    }

    // ---- output -----------------------------------------------------------------------------------

    /// <summary>
    /// Produces the next segment to transmit now, if any: payload bytes are copied into
    /// <paramref name="payloadBuffer"/> (which bounds the segment size). Call until it returns false.
    /// </summary>
    public bool TryPollSegment(Instant now, Span<byte> payloadBuffer, out TcpHeader header, out int payloadLength)
    {
        _now = now;
        payloadLength = 0;
        if (_controlCount > 0)
        {
            header = _control![0];
            _controlCount--;
            Array.Copy(_control, 1, _control, 0, _controlCount);
            Stats.RstsSent += (header.Flags & TcpFlags.Rst) != 0 ? 1 : 0;
            CountOut(0);
            return true;
        }

        bool sent = State switch
        {
            TcpState.Closed or TcpState.Listen => NoSegment(out header),
            TcpState.SynSent => TryPollSyn(now, withAck: false, out header),
            TcpState.SynReceived => _synPending ? TryPollSyn(now, withAck: true, out header) : TryPollAck(out header),
            TcpState.TimeWait or TcpState.FinWait2 => TryPollAck(out header),
            _ => TryPollData(now, payloadBuffer, out header, out payloadLength) || TryPollAck(out header),
        };

        if (sent)
        {
            CountOut(payloadLength);
        }
        else if (State is TcpState.Established or TcpState.CloseWait or TcpState.FinWait1 or TcpState.Closing or TcpState.LastAck)
        {
            UpdatePersistTimer(now);
        }

        return sent;
    }

    private static bool NoSegment(out TcpHeader header)
    {
        header = default;
        return false;
    }

    private void CountOut(int payloadLength)
    {
        SegmentsOutCount++;
        BytesOutCount += payloadLength;
    }

    private bool TryPollSyn(Instant now, bool withAck, out TcpHeader header)
    {
        if (!_synPending)
        {
            return NoSegment(out header);
        }

        _synPending = false;
        header = MakeHeader(Iss, withAck ? TcpFlags.Syn | TcpFlags.Ack : TcpFlags.Syn);

        // RFC 9293 MUST-14 (3.7.1): announce our MSS on the SYN. Further options (wscale, SACK, TS) go here.
        var options = default(TcpOptions);
        options.Mss = (ushort)_config.Mss;
        header.Options = options;
        if (_synIsRetransmission)
        {
            // Whether the timer or a duplicate SYN caused it, a fresh SYN is out: time it from now.
            _timers.Cancel(TimerKind.Retransmission);
        }

        OnSequenceSpaceSent(Iss, 1, now, _synIsRetransmission);
        _synIsRetransmission = false;
        return true;
    }

    private bool TryPollAck(out TcpHeader header)
    {
        if (_sendKeepalive)
        {
            // RFC 1122 4.2.3.6: SEG.SEQ = SND.NXT-1 and no data, so the peer must answer with an ACK.
            _sendKeepalive = false;
            Stats.KeepaliveProbes++;
            header = MakeHeader(_sndMax - 1, TcpFlags.Ack);
            return true;
        }

        if (!_ackNow)
        {
            return NoSegment(out header);
        }

        header = MakeHeader(_sndMax, TcpFlags.Ack); // <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>
        return true;
    }

    private bool TryPollData(Instant now, Span<byte> buffer, out TcpHeader header, out int payloadLength)
    {
        payloadLength = 0;
        int mss = Math.Min(EffectiveSendMss, buffer.Length);
        if (mss <= 0 && _sendBuffer.Count > 0)
        {
            return NoSegment(out header);
        }

        // Fast retransmit / NewReno partial ACK: resend the first unacknowledged segment regardless of cwnd.
        if (_retransmitHead)
        {
            _retransmitHead = false;
            int headOffset = SndUna - _sendBufferSeq;
            int headLen = Math.Clamp(_sendBuffer.Count - headOffset, 0, mss);
            bool headFin = _finQueued && SndUna + headLen == FinSeq && _sndMax > FinSeq;
            if (headLen > 0 || headFin)
            {
                EmitData(now, SndUna, headOffset, headLen, headFin, buffer, out header);
                payloadLength = headLen;
                return true;
            }
        }

        int offset = _sendNext - _sendBufferSeq;
        int available = _sendBuffer.Count - offset;
        bool finPending = _finQueued && _sendNext <= FinSeq;

        // RFC 9293 3.8.6.1: with a zero window, the persist timer sends one byte beyond the window.
        if (_sendWindowProbe)
        {
            _sendWindowProbe = false;
            if (available > 0 && SndWnd == 0)
            {
                Stats.ZeroWindowProbes++;
                _sendBuffer.Peek(offset, buffer[..1]);
                header = MakeHeader(_sendNext, TcpFlags.Ack);
                if (_sendNext + 1 > _sndMax)
                {
                    _sndMax = _sendNext + 1;
                }

                payloadLength = 1;
                return true;
            }

            if (available <= 0 && finPending && SndWnd == 0)
            {
                // Nothing but the FIN waits: it is the probe. It stays "unsent" (SendNext does not move)
                // so the persist timer, not the retransmission timer, keeps driving it.
                Stats.ZeroWindowProbes++;
                header = MakeHeader(_sendNext, TcpFlags.Ack | TcpFlags.Fin);
                if (FinSeq + 1 > _sndMax)
                {
                    _sndMax = FinSeq + 1;
                }

                return true;
            }
        }

        if (available <= 0 && !finPending)
        {
            return NoSegment(out header);
        }

        bool retransmitting = _sendNext < _sndMax;
        int window = Math.Min(SndWnd, CongestionControl.Cwnd);
        int usable = Math.Max(0, (SndUna + window) - _sendNext);
        int len = Math.Max(0, Math.Min(Math.Min(available, usable), mss));
        // The FIN occupies a sequence number, so it needs room in the peer's window (not in cwnd), as in Linux.
        bool fin = finPending && _sendNext + len == FinSeq && FinSeq - SndUna < SndWnd;
        if (len == 0 && !fin)
        {
            return NoSegment(out header);
        }

        if (!retransmitting && !ShouldSendNow(len, available, fin))
        {
            return NoSegment(out header);
        }

        if (!retransmitting && SndUna == _sndMax && _lastSendTime != default && now - _lastSendTime > _rto.Rto)
        {
            // RFC 5681 section 4.1: restart from the initial window after an idle period.
            CongestionControl.OnIdleRestart();
        }

        _persistForce = false;
        EmitData(now, _sendNext, offset, len, fin, buffer, out header);
        payloadLength = len;
        return true;
    }

    /// <summary>Nagle (RFC 9293 3.7.4) and sender-side silly window avoidance (3.8.6.2.1).</summary>
    private bool ShouldSendNow(int len, int available, bool fin)
    {
        int mss = EffectiveSendMss;
        if (len >= mss)
        {
            return true;
        }

        // The user closed: push everything (the FIN completes the stream).
        if (fin && len == available)
        {
            return true;
        }

        bool idle = _sendNext == SndUna && _sndMax == SndUna;
        bool nagleAllows = _noDelay || idle;
        if (len == available && nagleAllows)
        {
            return true; // All queued data is pushed and can go now.
        }

        if (nagleAllows && _maxSndWnd > 0 && len >= _maxSndWnd / 2)
        {
            return true; // At least Fs = 1/2 of the largest window the peer offered.
        }

        return _persistForce; // Override timeout.
    }

    private void EmitData(Instant now, SeqNum seq, int offset, int len, bool fin, Span<byte> buffer, out TcpHeader header)
    {
        if (len > 0)
        {
            _sendBuffer.Peek(offset, buffer[..len]);
        }

        TcpFlags flags = TcpFlags.Ack;
        if (len > 0 && offset + len == _sendBuffer.Count)
        {
            flags |= TcpFlags.Psh; // This segment empties the queue: the end of the user's last SEND.
        }

        if (fin)
        {
            flags |= TcpFlags.Fin;
        }

        header = MakeHeader(seq, flags);
        int seqLen = len + (fin ? 1 : 0);
        bool retransmission = seq < _sndMax;
        if (retransmission)
        {
            Stats.RetransmittedBytes += len;
        }

        OnSequenceSpaceSent(seq, seqLen, now, retransmission);
        _lastSendTime = now;
    }

    private void OnSequenceSpaceSent(SeqNum seq, int seqLen, Instant now, bool retransmission)
    {
        SeqNum end = seq + seqLen;
        if (retransmission)
        {
            Stats.Retransmissions++;
            _rttTiming = false; // Karn's algorithm (RFC 6298 section 3).
        }
        else if (!_rttTiming)
        {
            _rttTiming = true;
            _rttSeq = seq;
            _rttStart = now;
        }

        if (end > _sendNext)
        {
            _sendNext = end;
        }

        if (end > _sndMax)
        {
            _sndMax = end;
        }

        if (!_timers.IsArmed(TimerKind.Retransmission))
        {
            _timers.Set(TimerKind.Retransmission, now + _rto.Rto); // RFC 6298 (5.1)
        }

        if (_config.UserTimeout is TimeSpan ut && !_timers.IsArmed(TimerKind.UserTimeout))
        {
            _timers.Set(TimerKind.UserTimeout, now + ut);
        }
    }

    private TcpHeader MakeHeader(SeqNum seq, TcpFlags flags)
    {
        var h = new TcpHeader
        {
            SourcePort = LocalPort,
            DestinationPort = RemotePort,
            Seq = seq,
            Flags = flags,
        };

        if ((flags & TcpFlags.Ack) != 0)
        {
            h.Ack = RcvNxt;
            _ackNow = false;
            _unackedBytes = 0;
            _timers.Cancel(TimerKind.DelayedAck);
        }

        h.Window = AdvertiseWindow((flags & TcpFlags.Syn) != 0);
        return h;
    }

    /// <summary>Receiver silly window avoidance (3.8.6.2.2): move the right edge only by a worthwhile amount.</summary>
    private ushort AdvertiseWindow(bool syn)
    {
        int shift = syn ? 0 : _negotiated.ReceiveWindowShift;
        int maxWindow = 65535 << shift;
        if (State == TcpState.SynSent)
        {
            return (ushort)Math.Min(_recvBuffer.Space, 65535);
        }

        int current = RcvWnd;
        int candidate = Math.Min(_recvBuffer.Space, maxWindow);
        if (candidate > current && candidate - current >= ReceiveSwsThreshold)
        {
            _rcvEdge = RcvNxt + candidate;
            current = candidate;
        }

        return (ushort)Math.Min(current >> shift, 65535);
    }

    private int ReceiveSwsThreshold => Math.Max(1, Math.Min(_recvBuffer.Limit / 2, _config.Mss));

    /// <summary>
    /// A pure window update after a read is worth a segment when the window may move by the SWS threshold
    /// and at least doubles (as Linux does), so a steadily reading application causes no ACK storm;
    /// the regular ACKs carry the larger window anyway.
    /// </summary>
    private bool WindowUpdateWorthSending()
    {
        int candidate = Math.Min(_recvBuffer.Space, 65535 << _negotiated.ReceiveWindowShift);
        int current = RcvWnd;
        return candidate - current >= ReceiveSwsThreshold && candidate >= 2 * current;
    }

    private void UpdatePersistTimer(Instant now)
    {
        int offset = _sendNext - _sendBufferSeq;
        bool unsent = _sendBuffer.Count - offset > 0 || (_finQueued && _sendNext <= FinSeq);
        bool nothingInFlight = _sendNext == SndUna && !_timers.IsArmed(TimerKind.Retransmission);
        if (unsent && nothingInFlight)
        {
            if (!_timers.IsArmed(TimerKind.Persist))
            {
                TimeSpan interval = _rto.Rto;
                for (int i = 0; i < _persistBackoff && interval < _config.MaxRto; i++)
                {
                    interval += interval;
                }

                _timers.Set(TimerKind.Persist, now + (interval > _config.MaxRto ? _config.MaxRto : interval));
            }
        }
        else
        {
            _timers.Cancel(TimerKind.Persist);
        }
    }

    private void EnqueueControl(in TcpHeader header)
    {
        if (_controlCount < MaxPendingControl)
        {
            _control ??= new TcpHeader[MaxPendingControl];
            _control[_controlCount++] = header;
        }
    }

    // ---- state changes ---------------------------------------------------------------------------------

    private void SetState(TcpState next)
    {
        TcpState old = State;
        if (old == next)
        {
            return;
        }

        State = next;
        Emit(new TcpEvent(TcpEventKind.StateChanged, old, next, _cause, TcpError.None));
        if (next == TcpState.TimeWait)
        {
            // 3.10.7.4 eighth step: turn off the other timers, start the 2 MSL timer.
            _timers.CancelAll();
            _timers.Set(TimerKind.TimeWait, _now + _config.TimeWaitDuration);
        }
        else if (next == TcpState.Closed)
        {
            _timers.CancelAll();
            Emit(new TcpEvent(TcpEventKind.Closed, old, next, _cause, Error));
        }
    }

    private void Terminate(TcpError error)
    {
        Error = error;
        // Nothing more will be sent; return the rings to the pool (the receive ring only once read empty).
        _sendBuffer.Clear();
        _sendBuffer.Release();
        _reassembler?.Clear();
        _recvBuffer.Release();
        _ackNow = false;
        _sendKeepalive = false;
        _sendWindowProbe = false;
        _retransmitHead = false;
        _synPending = false;
        SetState(TcpState.Closed);
    }

    private void OnEstablished(Instant now)
    {
        if (_synRetransmitted)
        {
            _rto.FallBackAfterSynTimeout();
        }

        _retries = 0;
        // RFC 6928 / RFC 5681 section 3.1: after a lost SYN or SYN-ACK the initial window MUST be one segment.
        _cc = NewCongestionControl(_synRetransmitted ? _config with { InitialWindowSegments = 1 } : _config);
        SetState(TcpState.Established);
        RestartKeepalive(now);
        if (_sendBuffer.Space > 0)
        {
            Emit(new TcpEvent(TcpEventKind.Writable, State, State, _cause, TcpError.None));
        }

        if (_finQueued)
        {
            SetState(TcpState.FinWait1);
        }
    }

    private void SignalReadable()
    {
        if (!_readableSignalled)
        {
            _readableSignalled = true;
            Emit(new TcpEvent(TcpEventKind.DataReadable, State, State, _cause, TcpError.None));
        }
    }

    /// <summary>
    /// RFC 9293 section 3.10.7.1: the reset to send for a segment that reached no connection (CLOSED).
    /// Returns false for a RST, which is never answered.
    /// </summary>
    public static bool MakeResetFor(in TcpHeader seg, int payloadLength, out TcpHeader rst)
    {
        rst = default;
        if (seg.Has(TcpFlags.Rst))
        {
            return false;
        }

        rst.SourcePort = seg.DestinationPort;
        rst.DestinationPort = seg.SourcePort;
        if (seg.Has(TcpFlags.Ack))
        {
            rst.Seq = seg.Ack;
            rst.Flags = TcpFlags.Rst;
        }
        else
        {
            int segLen = payloadLength + (seg.Has(TcpFlags.Syn) ? 1 : 0) + (seg.Has(TcpFlags.Fin) ? 1 : 0);
            rst.Seq = new SeqNum(0);
            rst.Ack = seg.Seq + segLen;
            rst.Flags = TcpFlags.Rst | TcpFlags.Ack;
        }

        return true;
    }
}
