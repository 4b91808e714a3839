using System.Runtime.CompilerServices;
using System.Text;
using TcpKit.Analysis.Conversations;
using TcpKit.Analysis.Output.Ladder;
using TcpKit.Wire;
using TcpKit.Wire.Tcp;

namespace TcpKit.Analysis.States;

/// <summary>
/// Infers each endpoint's RFC 9293 state (section 3.3.2) from the segments of one conversation, as seen
/// at the capture point: the sender changes state when it sends, the receiver when the segment arrives
/// (captured segments are assumed delivered). Also keeps Zeek's per-connection summary (conn_state, history).
/// Allocation-free per segment except the first occurrence of a history letter.
/// </summary>
public sealed class ConnectionStates
{
    private readonly Endpoint[] _ends = [new(), new()];
    private readonly StringBuilder _history = new(16);
    private bool _started;

    /// <summary>Direction (0 initiator, 1 responder of the conversation) of the client: the side that sent the SYN.</summary>
    public int ClientDirection { get; private set; }

    public EndpointState Client => _ends[0].Current;

    public EndpointState Server => _ends[1].Current;

    /// <summary>Zeek's history string: uppercase letters for the originator (client), lowercase for the responder.</summary>
    public string History => _history.ToString();

    /// <summary>Zeek's conn_state (S0, S1, SF, REJ, S2, S3, RSTO, RSTR, RSTOS0, RSTRH, SH, SHR, OTH) as of the segments seen so far.</summary>
    public string ConnState
    {
        get
        {
            var os = _ends[0].Zeek;
            var rs = _ends[1].Zeek;
            bool oInactive = os is ZeekState.Inactive or ZeekState.Partial;
            bool rInactive = rs is ZeekState.Inactive or ZeekState.Partial;
            if (rs == ZeekState.Reset)
            {
                if (os is ZeekState.SynSent or ZeekState.SynAckSent || (os == ZeekState.Reset && _ends[0].PayloadBytes == 0 && _ends[1].PayloadBytes == 0))
                {
                    return "REJ";
                }

                return oInactive ? "RSTRH" : "RSTR";
            }

            if (os == ZeekState.Reset)
            {
                if (rInactive)
                {
                    return OriginatorSynThenReset() ? "RSTOS0" : "OTH";
                }

                return "RSTO";
            }

            if (rs == ZeekState.Closed && os == ZeekState.Closed)
            {
                return "SF";
            }

            if (os == ZeekState.Closed)
            {
                return rInactive ? "SH" : "S2";
            }

            if (rs == ZeekState.Closed)
            {
                return oInactive ? "SHR" : "S3";
            }

            if (os == ZeekState.SynSent && rs == ZeekState.Inactive)
            {
                return "S0";
            }

            return os == ZeekState.Established && rs == ZeekState.Established ? "S1" : "OTH";
        }
    }

    /// <summary>Zeek's RSTOS0 test on the history: "^?S[^HAFGIQ]*R.*" (a SYN, then a reset before anything of a handshake).</summary>
    private bool OriginatorSynThenReset()
    {
        int i = 0;
        if (i < _history.Length && _history[i] == '^')
        {
            i++;
        }

        if (i >= _history.Length || _history[i] != 'S')
        {
            return false;
        }

        for (i++; i < _history.Length; i++)
        {
            char c = _history[i];
            if (c == 'R')
            {
                return true;
            }

            if (c is 'H' or 'A' or 'F' or 'G' or 'I' or 'Q')
            {
                return false;
            }
        }

        return false;
    }

    /// <summary>Applies one segment sent from conversation direction <paramref name="direction"/> and fills the state fields of <paramref name="a"/>.</summary>
    // Runs once per frame in a process that usually lives for one capture: compile it optimized at once
    // rather than through tier-0 and PGO-instrumented code first.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal void Observe(int direction, in DecodedPacket p, AnalysisFlags analysis, ref SegmentAnalysis a)
    {
        var flags = p.Flags;
        bool syn = (flags & TcpFlags.Syn) != 0;
        bool ackFlag = (flags & TcpFlags.Ack) != 0;
        if (!_started)
        {
            Start(direction, p);
        }

        int senderIndex = direction == ClientDirection ? 0 : 1;
        var s = _ends[senderIndex];
        var r = _ends[1 - senderIndex];
        a.FromClient = senderIndex == 0;
        a.ClientBefore = _ends[0].Current;
        a.ServerBefore = _ends[1].Current;

        // The sender's side: what sending this segment means for its own state.
        if ((flags & TcpFlags.Rst) != 0)
        {
            s.Set(TcpState.Closed);
        }
        else
        {
            if (syn && !ackFlag && s.Current.State is TcpState.Closed or TcpState.Listen)
            {
                s.Set(TcpState.SynSent);
            }
            else if (syn && !ackFlag && s.Current.State == TcpState.SynReceived && s.Passive && !s.SentSyn)
            {
                // Simultaneous open: a side we took for a listener sends its own SYN, so the peer's SYN had
                // not arrived yet. It was CLOSED and becomes SYN-SENT; the peer's SYN arrives later.
                s.Passive = false;
                s.PeerSynPending = true;
                s.Set(TcpState.Closed);
                if (senderIndex == 0)
                {
                    a.ClientBefore = s.Current;
                }
                else
                {
                    a.ServerBefore = s.Current;
                }

                s.Set(TcpState.SynSent);
            }
            else if (syn && ackFlag && s.Current.State is TcpState.Listen or TcpState.Closed)
            {
                s.Set(TcpState.SynReceived);
                s.Passive = true;
            }
            else if (!syn && ackFlag && s.Current.State == TcpState.SynSent)
            {
                // The SYN-ACK was not captured, but the client acknowledges something: it is established.
                s.Set(TcpState.Established, inferred: true);
            }

            if (syn)
            {
                s.Iss = p.Seq;
                s.SentSyn = true;
            }

            if ((flags & TcpFlags.Fin) != 0 && !s.FinSent && ackFlag && s.FinReceived && r.FinSent && p.Ack < r.FinSeq + 1)
            {
                // Simultaneous close: this FIN does not acknowledge the peer's FIN, so the peer's FIN had not
                // arrived yet when it was sent. The sender was still ESTABLISHED; the peer's FIN arrives later.
                s.FinReceived = false;
                s.PeerFinPending = true;
                s.Set(TcpState.Established);
                if (senderIndex == 0)
                {
                    a.ClientBefore = s.Current;
                }
                else
                {
                    a.ServerBefore = s.Current;
                }
            }
            else if (s.PeerFinPending && ackFlag && p.Ack >= r.FinSeq + 1)
            {
                // The sender acknowledges the peer's FIN: it has arrived.
                DeliverPendingFin(s);
            }

            if ((flags & TcpFlags.Fin) != 0 && !s.FinSent)
            {
                s.FinSent = true;
                s.FinSeq = p.Seq + (p.TcpPayloadLength + (syn ? 1 : 0));
                switch (s.Current.State)
                {
                    case TcpState.Established or TcpState.SynReceived:
                        s.Set(TcpState.FinWait1);
                        break;
                    case TcpState.CloseWait:
                        s.Set(TcpState.LastAck);
                        break;
                }
            }
        }

        // The receiver's side, in the order of RFC 9293 section 3.10.7.4: RST, SYN, ACK, then FIN.
        if ((flags & TcpFlags.Rst) != 0)
        {
            if (r.Current.State == TcpState.SynReceived && r.Passive)
            {
                r.Set(TcpState.Listen);
            }
            else if (r.Current.State != TcpState.Listen)
            {
                r.Set(TcpState.Closed);
            }
        }
        else
        {
            if (syn && !ackFlag)
            {
                if (r.Current.State is TcpState.Listen or TcpState.Closed)
                {
                    r.Set(TcpState.SynReceived);
                    r.Passive = true;
                }
                else if (r.Current.State == TcpState.SynSent)
                {
                    // Simultaneous open (RFC 9293 figure 7).
                    r.Set(TcpState.SynReceived);
                }
            }
            else if (syn && r.Current.State is TcpState.SynSent or TcpState.SynReceived)
            {
                r.Set(TcpState.Established);
            }
            else if (!syn && ackFlag && r.Current.State == TcpState.SynReceived)
            {
                r.Set(TcpState.Established);
            }

            if (r.PeerSynPending)
            {
                r.PeerSynPending = false;
                if (r.Current.State == TcpState.SynSent)
                {
                    r.Set(TcpState.SynReceived);
                }
            }

            if (r.PeerFinPending)
            {
                // A segment sent after the crossing FIN has reached the receiver: so has that FIN.
                DeliverPendingFin(r);
            }

            if (ackFlag && r.FinSent && p.Ack >= r.FinSeq + 1)
            {
                switch (r.Current.State)
                {
                    case TcpState.FinWait1:
                        r.Set(TcpState.FinWait2);
                        break;
                    case TcpState.Closing:
                        r.Set(TcpState.TimeWait);
                        break;
                    case TcpState.LastAck:
                        r.Set(TcpState.Closed);
                        break;
                }
            }

            if ((flags & TcpFlags.Fin) != 0 && !r.FinReceived)
            {
                r.FinReceived = true;
                switch (r.Current.State)
                {
                    case TcpState.Established or TcpState.SynReceived:
                        r.Set(TcpState.CloseWait);
                        break;
                    case TcpState.FinWait1:
                        r.Set(TcpState.Closing);
                        break;
                    case TcpState.FinWait2:
                        r.Set(TcpState.TimeWait);
                        break;
                }
            }
        }

        a.ClientAfter = _ends[0].Current;
        a.ServerAfter = _ends[1].Current;
        Zeek(senderIndex, s, p, analysis);
    }

    private static void DeliverPendingFin(Endpoint e)
    {
        e.PeerFinPending = false;
        e.FinReceived = true;
        switch (e.Current.State)
        {
            case TcpState.FinWait1:
                e.Set(TcpState.Closing);
                break;
            case TcpState.FinWait2:
                e.Set(TcpState.TimeWait);
                break;
            case TcpState.Established:
                e.Set(TcpState.CloseWait);
                break;
        }
    }

    private void Start(int direction, in DecodedPacket p)
    {
        _started = true;
        var flags = p.Flags;
        int client;
        if ((flags & (TcpFlags.Syn | TcpFlags.Ack)) == TcpFlags.Syn)
        {
            client = direction;
            _ends[0].Current = new(TcpState.Closed);
            _ends[1].Current = new(TcpState.Listen);
        }
        else if ((flags & (TcpFlags.Syn | TcpFlags.Ack)) == (TcpFlags.Syn | TcpFlags.Ack))
        {
            client = 1 - direction;
            _ends[0].Current = new(TcpState.SynSent, Inferred: true);
            _ends[1].Current = new(TcpState.SynReceived, Inferred: true);
            _ends[1].Passive = true;
            _history.Append('^');
        }
        else
        {
            // Mid-connection: the side on the lower port is taken to be the server.
            client = p.SourcePort > p.DestinationPort || (p.SourcePort == p.DestinationPort && direction == 0) ? direction : 1 - direction;
            _ends[0].Current = new(TcpState.Established, Inferred: true);
            _ends[1].Current = new(TcpState.Established, Inferred: true);
        }

        ClientDirection = client;
    }

    private void Zeek(int senderIndex, Endpoint s, in DecodedPacket p, AnalysisFlags analysis)
    {
        var flags = p.Flags;
        bool syn = (flags & TcpFlags.Syn) != 0;
        bool ack = (flags & TcpFlags.Ack) != 0;
        bool fin = (flags & TcpFlags.Fin) != 0;
        bool rst = (flags & TcpFlags.Rst) != 0;
        bool orig = senderIndex == 0;
        var other = _ends[1 - senderIndex];
        s.SentAnything = true;
        if (syn)
        {
            Letter(orig, ack ? 'H' : 'S', s);
            if (ack)
            {
                s.SentSynAck = true;
                if (s.Zeek == ZeekState.Inactive)
                {
                    s.Zeek = ZeekState.SynAckSent;
                }
            }
            else
            {
                s.SentSyn = true;
                if (s.Zeek == ZeekState.Inactive)
                {
                    s.Zeek = ZeekState.SynSent;
                }
            }
        }
        else
        {
            if (fin)
            {
                Letter(orig, 'F', s);
            }

            if (rst)
            {
                Letter(orig, 'R', s);
            }

            if (ack && p.TcpPayloadLength == 0 && !fin && !rst)
            {
                Letter(orig, 'A', s);
            }

            if (p.TcpPayloadLength > 0)
            {
                Letter(orig, 'D', s);
            }

            // A non-SYN segment from a side whose SYN and the peer's SYN were both seen completes the handshake for both.
            if (ack && (s.SentSyn || s.SentSynAck) && (other.SentSyn || other.SentSynAck))
            {
                if (s.Zeek is ZeekState.SynSent or ZeekState.SynAckSent)
                {
                    s.Zeek = ZeekState.Established;
                }

                if (other.Zeek is ZeekState.SynSent or ZeekState.SynAckSent)
                {
                    other.Zeek = ZeekState.Established;
                }
            }
            else if (s.Zeek == ZeekState.Inactive)
            {
                s.Zeek = ZeekState.Partial;
            }
        }

        if ((analysis & (AnalysisFlags.Retransmission | AnalysisFlags.FastRetransmission | AnalysisFlags.SpuriousRetransmission)) != 0 && p.TcpPayloadLength > 0)
        {
            Counted(orig, 'T', ref s.Retransmissions);
        }

        if ((analysis & AnalysisFlags.ZeroWindow) != 0)
        {
            Counted(orig, 'W', ref s.ZeroWindows);
        }

        // Zeek's content gap is data the receiver acknowledged that was never seen (its reassembler
        // reports it when an ACK trims past a hole): Wireshark's "ACKed segment that wasn't captured"
        // on the peer's ACK, recorded for the direction whose data is missing. A hole that a later
        // retransmission or reordered segment fills ("previous segment not captured") is no gap.
        if ((analysis & AnalysisFlags.AckLostSegment) != 0)
        {
            Counted(!orig, 'G', ref other.Gaps);
        }

        if ((analysis & (AnalysisFlags.Retransmission | AnalysisFlags.FastRetransmission | AnalysisFlags.SpuriousRetransmission | AnalysisFlags.OutOfOrder)) == 0)
        {
            s.PayloadBytes += p.TcpPayloadLength;
        }

        if (rst)
        {
            // After a complete FIN exchange a reset changes nothing (Zeek's UpdateClosedState): the
            // connection still ends "SF".
            if (!(s.Zeek == ZeekState.Closed && other.Zeek == ZeekState.Closed))
            {
                s.Zeek = ZeekState.Reset;
            }
        }
        else if (fin && s.Zeek != ZeekState.Reset)
        {
            s.Zeek = ZeekState.Closed;
        }
    }

    /// <summary>Zeek records most letters once per direction.</summary>
    private void Letter(bool orig, char upper, Endpoint s)
    {
        int bit = upper switch { 'S' => 1, 'H' => 2, 'A' => 4, 'D' => 8, 'F' => 16, _ => 32 };
        if ((s.Letters & bit) == 0)
        {
            s.Letters |= bit;
            _history.Append(orig ? upper : char.ToLowerInvariant(upper));
        }
    }

    /// <summary>Retransmissions, zero windows and gaps are recorded at the 1st, 10th, 100th ... occurrence.</summary>
    private void Counted(bool orig, char upper, ref long count)
    {
        count++;
        long c = count;
        while (c % 10 == 0)
        {
            c /= 10;
        }

        if (c == 1)
        {
            _history.Append(orig ? upper : char.ToLowerInvariant(upper));
        }
    }

    private enum ZeekState : byte
    {
        Inactive,
        SynSent,
        SynAckSent,
        Partial,
        Established,
        Closed,
        Reset,
    }

    private sealed class Endpoint
    {
        public EndpointState Current;
        public bool Passive;
        public SeqNum Iss;
        public bool FinSent;
        public SeqNum FinSeq;
        public bool FinReceived;
        public bool PeerFinPending;
        public bool PeerSynPending;

        public ZeekState Zeek;
        public bool SentAnything;
        public bool SentSyn;
        public bool SentSynAck;
        public int Letters;
        public long Retransmissions;
        public long ZeroWindows;
        public long Gaps;
        public long PayloadBytes;

        public void Set(TcpState state, bool inferred = false) => Current = new EndpointState(state, inferred);
    }
}
