namespace TcpKit.Tcp;

/// <summary>Why a received segment (or part of it) was discarded.</summary>
public enum DropReason : byte
{
    /// <summary>Failed the acceptability test of RFC 9293 section 3.10.7.4 (answered with an ACK unless RST).</summary>
    NotAcceptable,
    /// <summary>A RST that was out of window or did not match (RFC 5961 section 3).</summary>
    RstIgnored,
    /// <summary>ACK outside [SND.UNA - MAX.SND.WND, SND.NXT] (RFC 5961 section 5, RFC 9293 3.10.7.4 fifth step).</summary>
    AckOutOfRange,
    /// <summary>Segment without ACK in a synchronized state.</summary>
    NoAck,
    /// <summary>A SYN in a synchronized state (answered with a challenge ACK).</summary>
    SynInSynchronizedState,
    /// <summary>An unacceptable ACK in SYN-SENT, LISTEN or SYN-RECEIVED (answered with a RST).</summary>
    BadAckInHandshake,
    /// <summary>Segment in LISTEN or SYN-SENT with neither SYN nor RST (nor, in LISTEN, ACK).</summary>
    NoSyn,
    /// <summary>Payload bytes that were already received (duplicates), counted per segment.</summary>
    DuplicateData,
    /// <summary>Payload carried on a SYN: not queued, the peer retransmits it after the handshake.</summary>
    DataOnSyn,
    /// <summary>Payload arriving after the peer's FIN or in a state that takes no text.</summary>
    DataAfterFin,
    /// <summary>Out-of-order data that would need more reassembly ranges than configured.</summary>
    ReassemblyFull,
    /// <summary>Segment for a CLOSED connection (answered with a RST, 3.10.7.1).</summary>
    Closed,
    /// <summary>Segment addressed to other ports.</summary>
    WrongPort,
}

/// <summary>
/// Counters of one connection. Cheap to read at any time. The four per-segment counters live in the
/// connection itself; the rarer ones (retransmissions, probes, drops...) are kept here, and this object is
/// only created when one of them first moves or someone reads the statistics, so an idle connection
/// pays nothing for them. RTT, RTO and congestion values are read live from the estimator and controller.
/// </summary>
public sealed class TcpStats
{
    private static readonly int DropReasons = Enum.GetValues<DropReason>().Length;

    // The connection whose counters these are (null in the copy a TIME-WAIT record keeps).
    private TcpConnection? _owner;

    // Allocated at the first drop.
    private long[]? _drops;

    internal TcpStats(TcpConnection? owner) => _owner = owner;

    /// <summary>
    /// A copy of the counters kept here, reading the per-connection ones through <paramref name="owner"/>: a
    /// TIME-WAIT record keeps one (owner null) and every engine resumed from it gets its own, so no two
    /// engines ever count into the same object.
    /// </summary>
    internal TcpStats CopyFor(TcpConnection? owner) => new(owner)
    {
        Retransmissions = Retransmissions,
        RetransmittedBytes = RetransmittedBytes,
        RetransmissionTimeouts = RetransmissionTimeouts,
        FastRetransmits = FastRetransmits,
        DuplicateAcksReceived = DuplicateAcksReceived,
        ChallengeAcks = ChallengeAcks,
        ChallengeAcksSuppressed = ChallengeAcksSuppressed,
        ZeroWindowProbes = ZeroWindowProbes,
        KeepaliveProbes = KeepaliveProbes,
        UrgentSegments = UrgentSegments,
        RstsSent = RstsSent,
        OutOfOrderSegments = OutOfOrderSegments,
        _drops = (long[]?)_drops?.Clone(),
    };

    public long SegmentsIn => _owner!.SegmentsInCount;

    public long SegmentsOut => _owner!.SegmentsOutCount;

    public long BytesIn => _owner!.BytesInCount;

    public long BytesOut => _owner!.BytesOutCount;

    /// <summary>Segments sent again (RTO, fast retransmit, SYN/FIN retransmission).</summary>
    public long Retransmissions { get; internal set; }

    public long RetransmittedBytes { get; internal set; }

    public long RetransmissionTimeouts { get; internal set; }

    public long FastRetransmits { get; internal set; }

    public long DuplicateAcksReceived { get; internal set; }

    public long ChallengeAcks { get; internal set; }

    /// <summary>Challenge ACKs not sent because of the RFC 5961 section 7 rate limit.</summary>
    public long ChallengeAcksSuppressed { get; internal set; }

    public long ZeroWindowProbes { get; internal set; }

    public long KeepaliveProbes { get; internal set; }

    public long UrgentSegments { get; internal set; }

    public long RstsSent { get; internal set; }

    public long OutOfOrderSegments { get; internal set; }

    public TimeSpan? Srtt => _owner!.RtoEstimator.Srtt;

    public TimeSpan? RttVar => _owner!.RtoEstimator.RttVar;

    /// <summary>The retransmission timeout the next timer would be armed with (backoff included).</summary>
    public TimeSpan Rto => _owner!.RtoEstimator.Rto;

    public int Cwnd => _owner!.CongestionControl.Cwnd;

    public int Ssthresh => _owner!.CongestionControl.Ssthresh;

    public long Drops(DropReason reason) => _drops is null ? 0 : _drops[(int)reason];

    public long TotalDrops
    {
        get
        {
            long sum = 0;
            foreach (long d in _drops ?? [])
            {
                sum += d;
            }

            return sum;
        }
    }

    internal void Drop(DropReason reason) => (_drops ??= new long[DropReasons])[(int)reason]++;
}
