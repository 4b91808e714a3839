using TcpKit.Wire;
using TcpKit.Wire.Tcp;

namespace TcpKit.Tcp;

/// <summary>What the engine must do after the congestion controller saw an ACK.</summary>
public enum CongestionAction : byte
{
    None,
    /// <summary>Third duplicate ACK: retransmit the first unacknowledged segment now (RFC 5681 section 3.2 step 4).</summary>
    FastRetransmit,
    /// <summary>Partial ACK in fast recovery: retransmit the first unacknowledged segment (RFC 6582 section 3.2 step 5).</summary>
    RetransmitFirstUnacked,
}

/// <summary>
/// One acknowledgement as seen by congestion control. BytesSacked and the RTT sample let SACK-based
/// recovery and CUBIC/HyStart slot in without changing the engine.
/// </summary>
public readonly record struct AckEvent(
    Instant Now,
    SeqNum Ack,
    int BytesAcked,
    int BytesSacked,
    bool IsDuplicate,
    int FlightSizeBeforeAck,
    SeqNum HighestSent,
    TimeSpan? RttSample);

/// <summary>A congestion controller (RFC 5681 family). Windows are in bytes.</summary>
public interface ICongestionControl
{
    int Cwnd { get; }

    int Ssthresh { get; }

    bool InRecovery { get; }

    /// <summary>Called for every ACK that is new or a duplicate in the RFC 5681 sense.</summary>
    CongestionAction OnAck(in AckEvent ack);

    /// <summary>The retransmission timer expired (RFC 5681 section 3.1, equation 4).</summary>
    void OnRetransmissionTimeout(int flightSize, SeqNum highestSent);

    /// <summary>Connection was idle longer than an RTO (RFC 5681 section 4.1).</summary>
    void OnIdleRestart();
}
