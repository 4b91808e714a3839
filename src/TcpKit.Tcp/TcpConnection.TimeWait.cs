using System.Runtime.InteropServices;
using TcpKit.Wire;
using TcpKit.Wire.Tcp;

namespace TcpKit.Tcp;

/// <summary>
/// A connection in TIME-WAIT reduced to what 2 MSL still needs (RFC 9293 section 3.10.7.4: re-acknowledge a
/// retransmitted FIN, answer stray segments, honour an exact-match RST, let a new SYN reopen the 4-tuple):
/// the sequence variables, windows, the deadline and the counters. A host keeps this instead of the whole
/// engine for a connection its user has closed, as Linux keeps an inet_timewait_sock instead of the socket:
/// a busy server has tens of thousands of connections in TIME-WAIT, and each then costs one small object
/// with no buffers, event queue or RTO estimator. <see cref="TcpConnection.Resume(TimeWaitRecord)"/> rebuilds an engine that
/// behaves exactly as the original would have (tests feed both the same segments and compare every output).
/// A record is its <see cref="Values"/> (no references) and its <see cref="Context"/> (the three objects it refers to);
/// a host that keeps many can store the two apart (see <see cref="TcpConnection.ReduceToTimeWait"/>).
/// </summary>
public sealed class TimeWaitRecord
{
    private TimeWaitValues _values;

    public TimeWaitRecord(TimeWaitContext context, in TimeWaitValues values)
    {
        ArgumentNullException.ThrowIfNull(context.Config);
        ArgumentNullException.ThrowIfNull(context.Keepalive);
        Context = context;
        _values = values;
    }

    public TcpConfig Config => Context.Config;

    /// <summary>The objects the record refers to: configuration, keep-alive settings and statistics.</summary>
    public TimeWaitContext Context { get; }

    /// <summary>Everything else, as one value without references.</summary>
    public TimeWaitValues Values => _values;

    /// <summary>TIME-WAIT, or CLOSED (a record of a closed connection, or one <see cref="Expire"/> ended).</summary>
    public TcpState State => _values.State;

    /// <summary>Why the connection closed (None for an orderly close, and always in TIME-WAIT).</summary>
    public TcpError Error => _values.Error;

    /// <summary>When 2 MSL is over (the TIME-WAIT timer's deadline).</summary>
    public Instant Deadline => _values.Deadline;

    public SeqNum RcvNxt => _values.RcvNxt;

    /// <summary>The peer's FIN was received (<see cref="TcpConnection.RemoteClosed"/>).</summary>
    public bool RemoteClosed => _values.FinReceived;

    /// <summary>MAY-2 (RFC 1122 4.2.2.13): see <see cref="TimeWaitValues.AcceptsNewSyn"/>.</summary>
    public bool AcceptsNewSyn(in TcpHeader seg) => _values.AcceptsNewSyn(seg);

    /// <summary>
    /// Ends the wait without an engine: the deadline passed, or a new SYN reopened the 4-tuple (MAY-2). A host
    /// calls this only when nobody listens for the connection's events; otherwise it resumes the engine, which
    /// reports the change to CLOSED itself.
    /// </summary>
    public void Expire() => _values.State = TcpState.Closed;
}

/// <summary>The objects a <see cref="TimeWaitRecord"/> refers to (shared with other connections, except the statistics' copy).</summary>
public readonly record struct TimeWaitContext(TcpConfig Config, KeepaliveConfig Keepalive, TcpStats? Stats);

/// <summary>
/// The value part of a <see cref="TimeWaitRecord"/>: a connection in TIME-WAIT (or CLOSED) without a single
/// reference, so a host can keep tens of thousands of them in one array that the garbage collector never has
/// to trace or copy, as Linux keeps inet_timewait_sock in a slab.
/// </summary>
/// <remarks>Auto layout packs the flags and the 2- and 4-byte fields together instead of padding each to the next long.</remarks>
[StructLayout(LayoutKind.Auto)]
public struct TimeWaitValues
{
    internal TcpState State;
    internal TcpError Error;
    internal Instant Deadline;
    internal SeqNum RcvNxt;
    internal ushort LocalPort;
    internal ushort RemotePort;
    internal SeqNum Iss;
    internal SeqNum Irs;
    internal SeqNum SndNxt;
    internal SeqNum SendBufferSeq;
    internal int SndWnd;
    internal SeqNum SndWl1;
    internal SeqNum SndWl2;
    internal int MaxSndWnd;
    internal SeqNum RcvEdge;
    internal SeqNum RcvUp;
    internal NegotiatedOptions Negotiated;
    internal int SendBufferLimit;
    internal int ReceiveBufferLimit;
    internal int RcvMssEstimate;
    internal bool PassiveOpen;
    internal bool FinQueued;
    internal bool FinReceived;
    internal bool CloseCalled;
    internal bool ReadableSignalled;
    internal bool NoDelay;
    internal Instant ChallengeWindowStart;
    internal int ChallengeAcksInWindow;
    internal Instant LastSendTime;
    internal long SegmentsIn;
    internal long SegmentsOut;
    internal long BytesIn;
    internal long BytesOut;
    internal RtoEstimator.Snapshot Rto;
    // What the congestion controller last said (Stats.Cwnd/Ssthresh report it; the controller itself is not
    // kept, so it dies with the recycled engine instead of living through 2 MSL).
    internal bool HasCongestionState;
    internal bool InRecovery;
    internal int Cwnd;
    internal int Ssthresh;

    /// <summary>When 2 MSL is over.</summary>
    public readonly Instant TimeWaitDeadline => Deadline;

    /// <summary>RCV.NXT: a new SYN must lie beyond it to reopen the 4-tuple (<see cref="TcpConnection.IsNewSynForTimeWait"/>).</summary>
    public readonly SeqNum ReceiveNext => RcvNxt;

    /// <summary>
    /// MAY-2 (RFC 1122 4.2.2.13): true when <paramref name="seg"/> is a new connection's SYN that may reopen
    /// this 4-tuple (its sequence number lies beyond RCV.NXT), as <see cref="TcpConnection.AcceptsNewSynInTimeWait"/>.
    /// </summary>
    public readonly bool AcceptsNewSyn(in TcpHeader seg) => State == TcpState.TimeWait && TcpConnection.IsNewSynForTimeWait(RcvNxt, seg);
}

public sealed partial class TcpConnection
{
    /// <summary>
    /// True when this connection is in TIME-WAIT with nothing left but what <see cref="TimeWaitRecord"/> keeps:
    /// no unread bytes, nothing to send or report, only the 2 MSL timer armed.
    /// </summary>
    public bool CanHibernate =>
        State == TcpState.TimeWait
        && _recvBuffer.Count == 0 && _recvBuffer.Capacity == _recvBuffer.Limit
        && _sendBuffer.Count == 0 && _sendBuffer.Capacity == _sendBuffer.Limit
        && ReassemblyEmpty
        && NoEventsPending && _controlCount == 0 && !_ackNow && !_sendKeepalive && !_sendWindowProbe && !_retransmitHead && !_synPending
        && SndUna == _sndMax && _sendNext == _sndMax
        && _finQueued && _finReceived
        && _timers.Next == _timers.Get(TimerKind.TimeWait);

    /// <summary>
    /// True when this connection is CLOSED with nothing left to read, send or report: a
    /// <see cref="TimeWaitRecord"/> keeps all that can still be asked of it (state, error, sequence numbers, statistics).
    /// </summary>
    public bool CanBeReducedWhenClosed =>
        State == TcpState.Closed && _recvBuffer.Count == 0 && _sendBuffer.Count == 0 && ReassemblyEmpty && NoEventsPending && _controlCount == 0;

    /// <summary>
    /// The TIME-WAIT record of this connection (see <see cref="CanHibernate"/>); <see cref="Resume"/> turns it
    /// back into an engine. This engine's behaviour is unchanged (its empty rings go back to the pool); a host drops it and keeps the record.
    /// </summary>
    public TimeWaitRecord ToTimeWaitRecord()
    {
        if (!CanHibernate)
        {
            throw new InvalidOperationException($"Only a TIME-WAIT connection with nothing pending can be reduced to its record ({State.ToRfcName()}).");
        }

        return ToRecord();
    }

    /// <summary>The record of this CLOSED connection (see <see cref="CanBeReducedWhenClosed"/>), as <see cref="ToTimeWaitRecord"/>.</summary>
    public TimeWaitRecord ToClosedRecord()
    {
        if (!CanBeReducedWhenClosed)
        {
            throw new InvalidOperationException($"Only a CLOSED connection with nothing pending can be reduced to its record ({State.ToRfcName()}).");
        }

        return ToRecord();
    }

    private TimeWaitRecord ToRecord()
    {
        var context = Reduce(out var values);
        return new TimeWaitRecord(context, values);
    }

    /// <summary>
    /// <see cref="ToTimeWaitRecord"/> without the record object: its values and context, for a host that keeps
    /// them in arrays of its own (<see cref="Resume(TimeWaitContext, in TimeWaitValues)"/> rebuilds the engine).
    /// </summary>
    public TimeWaitContext ReduceToTimeWait(out TimeWaitValues values)
    {
        if (!CanHibernate)
        {
            throw new InvalidOperationException($"Only a TIME-WAIT connection with nothing pending can be reduced to its record ({State.ToRfcName()}).");
        }

        return Reduce(out values);
    }

    private TimeWaitContext Reduce(out TimeWaitValues values)
    {
        // Both rings are empty: give their arrays back to the pool now, since the engine will be dropped.
        _sendBuffer.Release();
        _recvBuffer.Release();
        // The record takes nothing this engine still uses (its statistics are copied), so the engine may be recycled.
        _reduced = true;
        values = new TimeWaitValues
        {
            State = State,
            Error = Error,
            Deadline = _timers.Get(TimerKind.TimeWait),
            RcvNxt = RcvNxt,
            LocalPort = LocalPort,
            RemotePort = RemotePort,
            Iss = Iss,
            Irs = Irs,
            SndNxt = _sndMax,
            SendBufferSeq = _sendBufferSeq,
            SndWnd = SndWnd,
            SndWl1 = SndWl1,
            SndWl2 = SndWl2,
            MaxSndWnd = _maxSndWnd,
            RcvEdge = _rcvEdge,
            RcvUp = RcvUp,
            Negotiated = _negotiated,
            SendBufferLimit = _sendBuffer.Limit,
            ReceiveBufferLimit = _recvBuffer.Limit,
            RcvMssEstimate = _rcvMssEstimate,
            PassiveOpen = _passiveOpen,
            FinQueued = _finQueued,
            FinReceived = _finReceived,
            CloseCalled = _closeCalled,
            ReadableSignalled = _readableSignalled,
            NoDelay = _noDelay,
            ChallengeWindowStart = _challengeWindowStart,
            ChallengeAcksInWindow = _challengeAcksInWindow,
            LastSendTime = _lastSendTime,
            SegmentsIn = SegmentsInCount,
            SegmentsOut = SegmentsOutCount,
            BytesIn = BytesInCount,
            BytesOut = BytesOutCount,
            Rto = _rto.Save(),
            HasCongestionState = _cc is not null,
            Cwnd = _cc?.Cwnd ?? 0,
            Ssthresh = _cc?.Ssthresh ?? 0,
            InRecovery = _cc?.InRecovery ?? false,
        };
        // The statistics (a copy; each resumed engine gets its own) exist only when something was counted or asked for.
        return new TimeWaitContext(_config, _keepalive, _stats?.CopyFor(null));
    }

    /// <summary>
    /// An engine rebuilt from a record: in TIME-WAIT with the record's deadline, or CLOSED (with the record's
    /// error) for a record of a closed connection or one that expired. It answers every segment and timer as the engine the record came from.
    /// </summary>
    public static TcpConnection Resume(TimeWaitRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        return Resume(record.Context, record.Values);
    }

    /// <summary>An engine rebuilt from the parts of a record (see <see cref="ReduceToTimeWait"/>), as <see cref="Resume(TimeWaitRecord)"/>.</summary>
    public static TcpConnection Resume(TimeWaitContext context, in TimeWaitValues record)
    {
        ArgumentNullException.ThrowIfNull(context.Config);
        ArgumentNullException.ThrowIfNull(context.Keepalive);
        var c = new TcpConnection(context.Config, record.LocalPort, record.RemotePort, record.Iss)
        {
            Irs = record.Irs,
            SndUna = record.SndNxt,
            SndWnd = record.SndWnd,
            SndWl1 = record.SndWl1,
            SndWl2 = record.SndWl2,
            RcvNxt = record.RcvNxt,
            RcvUp = record.RcvUp,
            SegmentsInCount = record.SegmentsIn,
            SegmentsOutCount = record.SegmentsOut,
            BytesInCount = record.BytesIn,
            BytesOutCount = record.BytesOut,
        };
        c._sndMax = record.SndNxt;
        c._sendNext = record.SndNxt;
        c._sendBufferSeq = record.SendBufferSeq;
        c._maxSndWnd = record.MaxSndWnd;
        c._finQueued = record.FinQueued;
        c._rcvEdge = record.RcvEdge;
        c._finReceived = record.FinReceived;
        c._negotiated = record.Negotiated;
        c._sendBuffer.Resize(record.SendBufferLimit);
        c._recvBuffer.Resize(record.ReceiveBufferLimit, 0);
        c._rcvMssEstimate = record.RcvMssEstimate;
        c._passiveOpen = record.PassiveOpen;
        c._closeCalled = record.CloseCalled;
        c._readableSignalled = record.ReadableSignalled;
        c._noDelay = record.NoDelay;
        c._keepalive = context.Keepalive;
        c._challengeWindowStart = record.ChallengeWindowStart;
        c._challengeAcksInWindow = record.ChallengeAcksInWindow;
        c._lastSendTime = record.LastSendTime;
        c._rto.Restore(record.Rto);
        c._cc = record.HasCongestionState ? new SettledCongestionControl(record.Cwnd, record.Ssthresh, record.InRecovery) : null;
        c._stats = context.Stats?.CopyFor(c);

        c._cause = TransitionCause.FromTimer(TimerKind.TimeWait);
        if (record.State == TcpState.TimeWait)
        {
            c.State = TcpState.TimeWait;
            c._timers.Set(TimerKind.TimeWait, record.Deadline);
        }
        else
        {
            c.State = TcpState.Closed;
            c.Error = record.Error;
        }

        return c;
    }

    /// <summary>True once this engine was reduced to a record that does not depend on it (see <see cref="TcpConnectionPool.Return"/>).</summary>
    internal bool CanBeRecycled => _reduced;

    /// <summary>The pool took it: a second return of the same engine is refused.</summary>
    internal void TakenByPool() => _reduced = false;

    /// <summary>
    /// MAY-2 (RFC 1122 4.2.2.13) for a connection in TIME-WAIT whose RCV.NXT is <paramref name="rcvNxt"/>: true when
    /// <paramref name="seg"/> is a new connection's SYN (no ACK, no RST) whose sequence number lies beyond it.
    /// </summary>
    public static bool IsNewSynForTimeWait(SeqNum rcvNxt, in TcpHeader seg) =>
        seg.Has(TcpFlags.Syn) && !seg.Has(TcpFlags.Ack) && !seg.Has(TcpFlags.Rst) && seg.Seq > rcvNxt;
}

/// <summary>
/// The congestion state of a connection in TIME-WAIT or CLOSED, frozen: nothing is outstanding there, so no
/// acknowledgment, timeout or idle restart can reach the controller again (a duplicate ACK needs data in
/// flight, a new ACK data beyond SND.UNA, a restart data to send). A record keeps the three values instead
/// of the connection's controller, and an engine resumed from the record gets this copy of them.
/// </summary>
internal sealed class SettledCongestionControl(int cwnd, int ssthresh, bool inRecovery) : ICongestionControl
{
    public int Cwnd { get; } = cwnd;

    public int Ssthresh { get; } = ssthresh;

    public bool InRecovery { get; } = inRecovery;

    public CongestionAction OnAck(in AckEvent ack) => CongestionAction.None;

    public void OnRetransmissionTimeout(int flightSize, SeqNum highestSent)
    {
    }

    public void OnIdleRestart()
    {
    }
}
