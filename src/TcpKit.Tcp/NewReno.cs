using TcpKit.Wire.Tcp;

namespace TcpKit.Tcp;

/// <summary>
/// Slow start, congestion avoidance, fast retransmit and fast recovery (RFC 5681) with the NewReno
/// partial-ACK rules of RFC 6582. Initial window per RFC 6928.
/// </summary>
public sealed class NewReno : ICongestionControl
{
    private int _mss;
    private int _initialWindow;
    private int _dupAcks;
    private SeqNum _recover;
    private bool _recoverValid;
    private int _bytesAckedInCa;
    private bool _firstPartialAck;

    public NewReno(int mss, int initialWindowSegments = 10) => Reset(mss, initialWindowSegments);

    /// <summary>Makes this controller exactly as new (every field), for a recycled engine's next connection.</summary>
    internal void Reset(int mss, int initialWindowSegments)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(mss, 1);
        _mss = mss;

        // RFC 6928: IW = min(10*MSS, max(2*MSS, 14600)); generalised to n segments of at most 1460 bytes.
        long iw = Math.Min((long)initialWindowSegments * mss, Math.Max(2L * mss, initialWindowSegments * 1460L));
        _initialWindow = (int)Math.Min(iw, int.MaxValue / 2);
        Cwnd = _initialWindow;
        Ssthresh = int.MaxValue;
        InRecovery = false;
        _dupAcks = 0;
        _recover = default;
        _recoverValid = false;
        _bytesAckedInCa = 0;
        _firstPartialAck = false;
    }

    public int Cwnd { get; private set; }

    public int Ssthresh { get; private set; }

    public bool InRecovery { get; private set; }

    public int DuplicateAcks => _dupAcks;

    public CongestionAction OnAck(in AckEvent ack)
    {
        if (ack.IsDuplicate)
        {
            _dupAcks++;
            if (InRecovery)
            {
                // RFC 6582 section 3.2 step 3: inflate for each segment that left the network.
                Cwnd = SatAdd(Cwnd, _mss);
                return CongestionAction.None;
            }

            if (_dupAcks == 3)
            {
                // RFC 6582 section 3.2 step 2: only start recovery when the ACK covers more than "recover",
                // so one loss window triggers one reduction.
                if (_recoverValid && (ack.Ack - 1) <= _recover)
                {
                    return CongestionAction.None;
                }

                Ssthresh = Math.Max(ack.FlightSizeBeforeAck / 2, 2 * _mss);
                _recover = ack.HighestSent;
                _recoverValid = true;
                Cwnd = Ssthresh + (3 * _mss);
                InRecovery = true;
                _firstPartialAck = true;
                return CongestionAction.FastRetransmit;
            }

            return CongestionAction.None;
        }

        _dupAcks = 0;
        if (ack.BytesAcked <= 0)
        {
            return CongestionAction.None;
        }

        if (InRecovery)
        {
            if (ack.Ack > _recover || ack.Ack == _recover)
            {
                // Full acknowledgement (RFC 6582 section 3.2 step 3, option 1).
                int flight = Math.Max(ack.FlightSizeBeforeAck - ack.BytesAcked, 0);
                Cwnd = Math.Min(Ssthresh, Math.Max(flight, _mss) + _mss);
                InRecovery = false;
                _bytesAckedInCa = 0;
                return CongestionAction.None;
            }

            // Partial acknowledgement: deflate by the amount acked, add back one MSS if at least one MSS was acked.
            Cwnd = Math.Max(Cwnd - ack.BytesAcked, _mss);
            if (ack.BytesAcked >= _mss)
            {
                Cwnd = SatAdd(Cwnd, _mss);
            }

            _firstPartialAck = false;
            return CongestionAction.RetransmitFirstUnacked;
        }

        if (Cwnd < Ssthresh)
        {
            // Slow start, RFC 5681 equation 2 (at most one MSS per ACK).
            Cwnd = SatAdd(Cwnd, Math.Min(ack.BytesAcked, _mss));
        }
        else
        {
            // Congestion avoidance with appropriate byte counting (RFC 5681 section 3.1, RFC 3465).
            _bytesAckedInCa += ack.BytesAcked;
            if (_bytesAckedInCa >= Cwnd)
            {
                _bytesAckedInCa -= Cwnd;
                Cwnd = SatAdd(Cwnd, _mss);
            }
        }

        return CongestionAction.None;
    }

    public void OnRetransmissionTimeout(int flightSize, SeqNum highestSent)
    {
        // RFC 5681 equation 4 and loss window of one segment; RFC 6582 section 4 sets recover.
        Ssthresh = Math.Max(flightSize / 2, 2 * _mss);
        Cwnd = _mss;
        InRecovery = false;
        _dupAcks = 0;
        _bytesAckedInCa = 0;
        _recover = highestSent;
        _recoverValid = true;
    }

    public void OnIdleRestart() => Cwnd = Math.Min(Cwnd, _initialWindow);

    /// <summary>True until the first partial ACK of the current recovery (RFC 6582 resets the timer only then).</summary>
    public bool AwaitingFirstPartialAck => InRecovery && _firstPartialAck;

    private static int SatAdd(int a, int b) => (int)Math.Min((long)a + b, int.MaxValue / 2);
}
