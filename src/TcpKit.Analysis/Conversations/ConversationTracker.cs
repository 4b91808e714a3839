using System.Runtime.CompilerServices;
using TcpKit.Analysis.Output.Ladder;
using TcpKit.Wire;
using TcpKit.Wire.Tcp;

namespace TcpKit.Analysis.Conversations;

/// <summary>Per-segment values computed the way Wireshark 4.0 computes them (docs/wireshark-tcp-behaviour.md).</summary>
public struct SegmentAnalysis
{
    public TcpConversation Conversation;

    /// <summary>0 from the initiator, 1 from the responder.</summary>
    public int Direction;

    /// <summary>tcp.seq: sequence number relative to this direction's base.</summary>
    public uint RelativeSeq;

    /// <summary>tcp.ack: acknowledgment number relative to the other direction's base (the raw field when ACK is clear).</summary>
    public uint RelativeAck;

    /// <summary>tcp.len: payload bytes the IP header says the segment carries.</summary>
    public int Length;

    /// <summary>tcp.nxtseq: relative sequence number after this segment (SYN and FIN count one).</summary>
    public uint NextSeq;

    /// <summary>tcp.window_size: the window after scaling, when the scale is known.</summary>
    public long Window;

    /// <summary>tcp.window_size_scalefactor: the multiplier, -1 unknown, -2 no scaling.</summary>
    public int ScaleFactor;

    /// <summary>tcp.time_relative: since the conversation's first segment.</summary>
    public long TimeRelativeNs;

    /// <summary>tcp.time_delta: since the conversation's previous segment.</summary>
    public long TimeDeltaNs;

    /// <summary>tcp.analysis.reused_ports: a SYN with a new ISN started a new stream on a used 4-tuple.</summary>
    public readonly bool ReusedPorts => (Flags & AnalysisFlags.ReusedPorts) != 0;

    /// <summary>The tcp.analysis.* flags of this frame.</summary>
    public AnalysisFlags Flags;

    /// <summary>Wireshark would show a tcp.analysis subtree for this frame (a flag, an ACK match, bytes in flight...).</summary>
    public bool HasAnalysis;

    /// <summary>tcp.analysis.acks_frame (0: none) and tcp.analysis.ack_rtt.</summary>
    public long AcksFrame;

    public long AckRttNs;

    /// <summary>tcp.analysis.duplicate_ack_num and duplicate_ack_frame (0: not a duplicate ACK).</summary>
    public uint DupAckNum;

    public long DupAckFrame;

    /// <summary>tcp.analysis.bytes_in_flight (0: not shown) and tcp.analysis.push_bytes_sent.</summary>
    public long BytesInFlight;

    public long PushBytesSent;

    /// <summary>tcp.analysis.rto (0: not shown) and tcp.analysis.rto_frame, for plain retransmissions.</summary>
    public long RtoNs;

    public long RtoFrame;

    /// <summary>tcp.analysis.initial_rtt as known after this frame (shown only on frames with an analysis subtree).</summary>
    public long InitialRttNs;

    /// <summary>tcp.completeness as tshark shows it in one pass: the bits of the frames before this one.</summary>
    public int Completeness;

    /// <summary>Each endpoint's RFC 9293 state before and after this segment.</summary>
    public EndpointState ClientBefore;

    public EndpointState ClientAfter;

    public EndpointState ServerBefore;

    public EndpointState ServerAfter;

    /// <summary>A FIN from the side that closes first ("This frame initiates the connection closing"); false for the other side's FIN.</summary>
    public bool FinInitiatesClose;

    /// <summary>True when the sender is the client (the side that sent the first SYN, or the first packet).</summary>
    public bool FromClient;
}

/// <summary>
/// Assigns TCP segments to conversations (tcp.stream numbers in first-seen order), computes relative
/// sequence numbers, scaled windows and Wireshark's sequence analysis, and infers endpoint states.
/// Memory grows with the number of conversations (and at most 10,000 unacked segments per open direction), not
/// with packets: once a conversation closes (FIN or RST) its unacked-segment slots are released.
/// </summary>
public sealed partial class ConversationTracker
{
    /// <summary>A retransmission within 20 ms of the peer's duplicate ACKs is "fast" (Wireshark's rule).</summary>
    private const long FastRetransmitWindowNs = 20_000_000;

    /// <summary>Without a measured handshake RTT, a resend within 3 ms of the highest segment counts as out-of-order.</summary>
    private const long DefaultOutOfOrderThresholdNs = 3_000_000;

    private readonly Dictionary<ConversationKey, TcpConversation> _conversations = [];
    private readonly List<TcpConversation> _all = [];
    private readonly FtpDataConnections _ftpData = new();

    // The conversation of the previous segment and its key (the dictionary's current entry for that key).
    private ConversationKey _lastKey;
    private TcpConversation? _lastConversation;
    private long _captureStartNs = long.MinValue;

    public IReadOnlyList<TcpConversation> Conversations => _all;

    /// <summary>
    /// Follow each endpoint's RFC 9293 state and Zeek's conn_state and history (the tcpkit.state.*,
    /// tcpkit.conn_state and tcpkit.history fields, the ladder, the conversation export). On by default; a
    /// command that shows none of them turns it off before the first frame, and then SegmentAnalysis's state
    /// members and TcpConversation.States stay at their initial values. The tcp.* analysis never reads them.
    /// </summary>
    public bool TrackConnectionStates { get; set; } = true;

    /// <summary>Timestamp of the capture's first frame (TCP or not): conversation start times are relative to it.</summary>
    public long CaptureStartNs
    {
        get => _captureStartNs;
        set => _captureStartNs = value;
    }

    /// <summary>Analyses one decoded TCP segment; <paramref name="frameNumber"/> is 1-based like Wireshark's.</summary>
    public SegmentAnalysis Observe(in DecodedPacket p, ReadOnlySpan<byte> frame, long frameNumber, long timestampNs = 0, long frameLength = 0)
    {
        var a = default(SegmentAnalysis);
        Observe(p, frame, frameNumber, timestampNs, frameLength, ref a);
        return a;
    }

    /// <summary>
    /// Analyses one decoded TCP segment into <paramref name="a"/>, which must be zeroed (<c>default</c>): the same
    /// as the overload that returns the analysis, without copying the struct back (it is large, and this runs per frame).
    /// </summary>
    // Runs once per frame in a process that usually lives for one capture: compile it optimized at once
    // rather than through tier-0 and PGO-instrumented code first.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Observe(in DecodedPacket p, ReadOnlySpan<byte> frame, long frameNumber, long timestampNs, long frameLength, ref SegmentAnalysis a)
    {
        if (_captureStartNs == long.MinValue)
        {
            _captureStartNs = timestampNs;
        }

        var flags = p.Flags;
        bool syn = (flags & TcpFlags.Syn) != 0;
        bool ack = (flags & TcpFlags.Ack) != 0;
        bool pureSyn = (flags & (TcpFlags.Syn | TcpFlags.Ack)) == TcpFlags.Syn;

        // Section 1.2/1.3 of the spec: the latest conversation of the 4-tuple, or a new one; a pure SYN
        // whose ISN differs from the base its direction already has starts a new stream (port reuse).
        var key = ConversationKey.Create(p.Source, p.SourcePort, p.Destination, p.DestinationPort, out _);
        bool isNew = false;
        // An FTP data connection announced on its control connection joins a conversation Wireshark's FTP
        // dissector already made: for completeness it is not one this frame created (FtpDataConnections).
        bool announced = false;
        TcpConversation? conv;
        if (_lastConversation is not null && key == _lastKey)
        {
            // Consecutive segments of one connection are the common case: skip the hash lookup.
            conv = _lastConversation;
        }
        else if (!_conversations.TryGetValue(key, out conv))
        {
            conv = Add(key, p, frameNumber);
            isNew = true;
            announced = _ftpData.TryClaim(p.Source, p.SourcePort, p.Destination, p.DestinationPort);
        }

        int dir = conv.DirectionOf(p.Source, p.SourcePort);
        var fwd = conv.Directions[dir];
        if (!isNew && pureSyn && fwd.BaseSeqSet)
        {
            if (p.Seq != fwd.BaseSeq)
            {
                conv = Add(key, p, frameNumber);
                dir = 0;
                fwd = conv.Directions[0];
                a.Flags |= AnalysisFlags.ReusedPorts;
                a.HasAnalysis = true;
                conv.Completeness = 1;
            }
            else
            {
                // The same ISN again is a SYN retransmission; repair nextseq after a RST that carried seq=ack.
                fwd.NextSeq = fwd.MaxSeqToBeAcked;
                a.HasAnalysis = true;
            }
        }

        _lastKey = key;
        _lastConversation = conv;

        var rev = conv.Directions[1 - dir];
        if ((flags & (TcpFlags.Syn | TcpFlags.Ack)) == (TcpFlags.Syn | TcpFlags.Ack) && fwd.BaseSeqSet && p.Seq != fwd.BaseSeq)
        {
            // A SYN-ACK with a new ISN rebases its direction but never starts a stream (Wireshark 4.0).
            fwd.BaseSeq = p.Seq;
            a.Flags |= AnalysisFlags.ReusedPorts;
            a.HasAnalysis = true;
        }

        // Bytes-in-flight uses the SACK blocks this side sent most recently: they are replaced by this frame's.
        fwd.SackCount = 0;

        // tcp.time_relative / tcp.time_delta (per conversation).
        if (conv.FirstTimeNs == long.MinValue)
        {
            conv.FirstTimeNs = timestampNs;
            conv.LastTimeNs = timestampNs;
            conv.StartRelativeNs = timestampNs - _captureStartNs;
            conv.StopRelativeNs = conv.StartRelativeNs;
        }

        a.TimeRelativeNs = timestampNs - conv.FirstTimeNs;
        a.TimeDeltaNs = timestampNs - conv.LastTimeNs;
        conv.LastTimeNs = timestampNs;

        // Section 2.2: base sequence numbers.
        if (!fwd.BaseSeqSet)
        {
            fwd.BaseSeq = syn ? p.Seq : p.Seq - 1;
            fwd.BaseSeqSet = true;
        }

        if (ack && !rev.BaseSeqSet)
        {
            rev.BaseSeq = p.Ack - 1;
            rev.BaseSeqSet = true;
        }

        a.Conversation = conv;
        a.Direction = dir;
        a.Length = p.TcpPayloadLength;
        a.RelativeSeq = p.Seq.RelativeTo(fwd.BaseSeq);
        a.RelativeAck = ack ? p.Ack.RelativeTo(rev.BaseSeq) : p.Ack.Value;
        a.NextSeq = unchecked(a.RelativeSeq + (uint)a.Length + ((flags & (TcpFlags.Syn | TcpFlags.Fin)) != 0 ? 1u : 0u));

        AnalyzeSequence(conv, fwd, rev, p, frameNumber, timestampNs, ref a);

        // Section 3.2: the window shown is scaled with what is known before this segment's own options.
        a.Window = p.Window;
        if (!syn)
        {
            a.ScaleFactor = fwd.WindowScale >= 0 ? 1 << fwd.WindowScale : fwd.WindowScale;
            if (fwd.WindowScale >= 0)
            {
                a.Window = (long)p.Window << fwd.WindowScale;
            }
        }

        // Section 6.6: completeness is displayed before this frame's contribution.
        a.Completeness = conv.Completeness;
        conv.Completeness = CompletenessAfter(conv.Completeness, isNew && !announced, flags, a.Length);

        // Section 6.2: the initial RTT, from the most recent SYN to the first non-SYN ACK.
        if (pureSyn)
        {
            conv.MostRecentSynNs = timestampNs;
            // Wireshark keeps this time as an nstime_t where zero means "no SYN seen": a SYN stamped
            // exactly at the epoch gives no initial RTT there, so none here either.
            conv.MostRecentSynSet = timestampNs != 0;
        }
        else if ((flags & (TcpFlags.Syn | TcpFlags.Ack)) == TcpFlags.Ack && conv.MostRecentSynSet && conv.InitialRttNs == 0)
        {
            conv.InitialRttNs = timestampNs - conv.MostRecentSynNs;
        }

        a.InitialRttNs = conv.InitialRttNs;

        // is_first_ack: no window shift for window-full until this side's first ACK after its SYN.
        if (syn)
        {
            fwd.IsFirstAck = true;
        }
        else if (ack)
        {
            fwd.IsFirstAck = false;
        }

        if ((flags & TcpFlags.Fin) != 0 && !rev.ClosingInitiator)
        {
            fwd.ClosingInitiator = true;
            a.FinInitiatesClose = true;
        }

        ReadOptions(fwd, rev, p, frame);

        fwd.SynSeen |= syn;
        fwd.FinSeen |= (flags & TcpFlags.Fin) != 0;
        fwd.RstSeen |= (flags & TcpFlags.Rst) != 0;
        if (fwd.FinSeen | fwd.RstSeen | rev.FinSeen | rev.RstSeen)
        {
            // A closing conversation gives back the unacked-segment slots it no longer uses, so a capture
            // of many finished conversations keeps only their counters (constant memory per conversation).
            fwd.Unacked.ReleaseUnused();
            rev.Unacked.ReleaseUnused();
        }

        fwd.Frames++;
        fwd.Bytes += frameLength;
        long rel = timestampNs - _captureStartNs;
        if (rel > conv.StopRelativeNs)
        {
            conv.StopRelativeNs = rel;
        }
        else if (rel < conv.StartRelativeNs)
        {
            conv.StartRelativeNs = rel;
        }

        if (TrackConnectionStates)
        {
            conv.States.Observe(dir, p, a.Flags, ref a);
        }

        if (p.TcpHeaderCut)
        {
            // The capture ends inside the options: Wireshark's dissection stops there, before it prints the
            // analysis (its state is still updated), so the frame shows no tcp.analysis fields or prefixes.
            a.Flags = AnalysisFlags.None;
            a.HasAnalysis = false;
            a.AcksFrame = 0;
            a.AckRttNs = 0;
            a.DupAckNum = 0;
            a.DupAckFrame = 0;
            a.BytesInFlight = 0;
            a.PushBytesSent = 0;
            a.RtoNs = 0;
            a.RtoFrame = 0;
            a.InitialRttNs = 0;
        }

        // After the TCP analysis, as Wireshark runs the FTP dissector on the payload; with its default
        // tcp.no_subdissector_on_error, never on a retransmission or an out-of-order segment.
        if ((p.SourcePort == FtpDataConnections.ControlPort || p.DestinationPort == FtpDataConnections.ControlPort)
            && (a.Flags & (AnalysisFlags.Retransmission | AnalysisFlags.OutOfOrder)) == 0)
        {
            _ftpData.Inspect(p, p.GetTcpPayload(frame));
        }
    }

    /// <summary>
    /// Wireshark's tcp_analyze_sequence_number, step by step (spec section 5.2). Absolute sequence numbers;
    /// the window is the raw header value.
    /// </summary>
    // Runs once per frame in a process that usually lives for one capture: compile it optimized at once
    // rather than through tier-0 and PGO-instrumented code first.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AnalyzeSequence(TcpConversation conv, FlowDirection fwd, FlowDirection rev, in DecodedPacket p, long frameNumber, long now, ref SegmentAnalysis a)
    {
        var seq = p.Seq;
        var ackNo = p.Ack;
        int seglen = p.TcpPayloadLength;
        var flags = p.Flags;
        uint window = p.Window;
        bool synFinRst = (flags & (TcpFlags.Syn | TcpFlags.Fin | TcpFlags.Rst)) != 0;
        var f = AnalysisFlags.None;

        if ((flags & TcpFlags.Ack) != 0)
        {
            rev.ValidBif = true;
        }

        // (1) Zero window probe: one byte at the next sequence number while the peer's window is zero.
        if (seglen == 1 && seq == fwd.NextSeq && rev.LastWindow == 0)
        {
            f |= AnalysisFlags.ZeroWindowProbe;
            goto FinishedForward;
        }

        // (2) Zero window.
        if (window == 0 && !synFinRst)
        {
            f |= AnalysisFlags.ZeroWindow;
        }

        // (3) Previous segment not captured: the sequence number jumps past what was seen.
        if (fwd.NextSeq.Value != 0 && seq > fwd.NextSeq && (flags & TcpFlags.Rst) == 0)
        {
            f |= AnalysisFlags.LostSegment;
            fwd.ValidBif = false;
        }

        // (4) Keep-alive: zero or one byte at nextseq - 1.
        if (seglen <= 1 && seq == fwd.NextSeq - 1 && !synFinRst)
        {
            f |= AnalysisFlags.KeepAlive;
        }

        // (5) Window update: same seq and ack, only the window changed.
        if (seglen == 0 && window != 0 && window != fwd.LastWindow && seq == fwd.NextSeq && ackNo == fwd.LastAck && !synFinRst)
        {
            f |= AnalysisFlags.WindowUpdate;
        }

        // (6) Window full: this segment fills the peer's advertised window exactly.
        if (seglen > 0 && rev.WindowScale != FlowDirection.ScaleUnknown && !synFinRst)
        {
            int shift = rev.IsFirstAck || rev.WindowScale == FlowDirection.ScaleNone ? 0 : rev.WindowScale;
            if (seq + seglen == rev.LastAck + (int)unchecked(rev.LastWindow << shift))
            {
                f |= AnalysisFlags.WindowFull;
            }
        }

        bool sameAsBefore = seglen == 0 && window == fwd.LastWindow && seq == fwd.NextSeq && ackNo == fwd.LastAck && !synFinRst;

        // (7) Keep-alive ACK.
        if (sameAsBefore && window != 0 && (rev.LastSegmentFlags & AnalysisFlags.KeepAlive) != 0)
        {
            f |= AnalysisFlags.KeepAliveAck;
            goto FinishedForward;
        }

        // (8) Zero window probe ACK.
        if (sameAsBefore && window == 0 && (rev.LastSegmentFlags & AnalysisFlags.ZeroWindowProbe) != 0)
        {
            f |= AnalysisFlags.ZeroWindowProbeAck;
            goto FinishedForward;
        }

        // (9) Duplicate ACK.
        if (sameAsBefore && window != 0)
        {
            fwd.DupAckNum = fwd.DupAckNum == uint.MaxValue ? 1 : fwd.DupAckNum + 1;
            f |= AnalysisFlags.DuplicateAck;
            a.DupAckNum = fwd.DupAckNum;
            a.DupAckFrame = fwd.LastNonDupAck;
        }

    FinishedForward:
        if (ackNo != fwd.LastAck)
        {
            fwd.LastNonDupAck = frameNumber;
            fwd.DupAckNum = 0;
        }

        // (10) ACKed unseen segment: the ACK covers data of the peer that was never captured.
        if (rev.MaxSeqToBeAcked.Value != 0 && ackNo > rev.MaxSeqToBeAcked && (flags & TcpFlags.Ack) != 0)
        {
            a.HasAnalysis = true;
            if (rev.MaxSeqToBeAcked < rev.NextSeq)
            {
                rev.MaxSeqToBeAcked = rev.NextSeq;
                f |= AnalysisFlags.AckLostSegment;
            }
            else
            {
                if (rev.DupAckNum == 0)
                {
                    f |= AnalysisFlags.AckLostSegment;
                }

                rev.DupAckNum = uint.MaxValue;
            }
        }

        // (11) Retransmission family.
        if (seglen > 0 || (flags & (TcpFlags.Syn | TcpFlags.Fin)) != 0)
        {
            bool seqNotAdvanced = fwd.NextSeq.Value != 0 && seq < fwd.NextSeq;
            if ((f & AnalysisFlags.KeepAlive) != 0)
            {
                goto FinishedRetransmission;
            }

            // One byte below nextseq with real data follows a discarded zero-window probe: new data.
            if (seglen > 1 && fwd.NextSeq - 1 == seq)
            {
                seqNotAdvanced = false;
            }

            if (seglen > 0 && rev.LastAck.Value != 0 && seq + seglen <= rev.LastAck)
            {
                f |= AnalysisFlags.SpuriousRetransmission;
                goto FinishedRetransmission;
            }

            if (seqNotAdvanced && rev.DupAckNum >= 2 && rev.LastAck == seq && Elapsed(now, rev.LastAckTimeNs) < FastRetransmitWindowNs)
            {
                f |= AnalysisFlags.FastRetransmission;
                goto FinishedRetransmission;
            }

            long threshold = conv.InitialRttNs == 0 ? DefaultOutOfOrderThresholdNs : conv.InitialRttNs;
            if (seqNotAdvanced && Elapsed(now, fwd.NextSeqTimeNs) < threshold
                && fwd.NextSeq != seq + seglen + ((flags & (TcpFlags.Syn | TcpFlags.Fin)) != 0 ? 1 : 0))
            {
                f |= AnalysisFlags.OutOfOrder;
                goto FinishedRetransmission;
            }

            if (seqNotAdvanced)
            {
                f |= AnalysisFlags.Retransmission;

                // The RTO is measured from the oldest segment still unacked (or the one that set nextseq).
                a.RtoNs = now - fwd.NextSeqTimeNs;
                a.RtoFrame = fwd.NextSeqFrame;
                if (fwd.Unacked.Count > 0)
                {
                    ref readonly var oldest = ref fwd.Unacked[0];
                    a.RtoNs = now - oldest.TimeNs;
                    a.RtoFrame = oldest.Frame;
                }
            }
        }

    FinishedRetransmission:
        // (12) Remember this segment until the peer acknowledges it.
        var nextseq = seq + seglen;
        if ((seglen > 0 || (flags & (TcpFlags.Syn | TcpFlags.Fin)) != 0) && fwd.Unacked.Count < FlowDirection.MaxUnacked)
        {
            if ((flags & (TcpFlags.Syn | TcpFlags.Fin)) != 0)
            {
                nextseq += 1;
            }

            fwd.Unacked.Add(new UnackedSegment { Frame = frameNumber, Seq = seq, NextSeq = nextseq, TimeNs = now });
        }

        bool probe = (f & AnalysisFlags.ZeroWindowProbe) != 0;

        // (13) Highest sequence number seen.
        if ((nextseq > fwd.NextSeq || fwd.NextSeq.Value == 0) && !probe)
        {
            fwd.NextSeq = nextseq;
            fwd.NextSeqFrame = frameNumber;
            fwd.NextSeqTimeNs = now;
        }

        // (14) End of the contiguous data seen.
        if ((seq == fwd.MaxSeqToBeAcked || fwd.MaxSeqToBeAcked.Value == 0) && !probe)
        {
            fwd.MaxSeqToBeAcked = fwd.NextSeq;
        }

        // (15)
        fwd.LastWindow = window;
        fwd.LastAck = ackNo;
        fwd.LastAckTimeNs = now;
        if (f != AnalysisFlags.None)
        {
            a.HasAnalysis = true;
        }

        fwd.LastSegmentFlags = f;

        // (16) Match the ACK against the peer's unacked segments, newest first; the oldest exact match wins.
        var list = rev.Unacked;
        int kept = list.Count;
        for (int i = list.Count - 1; i >= 0; i--)
        {
            ref readonly var u = ref list[i];
            bool remove;
            if (ackNo == u.NextSeq)
            {
                a.HasAnalysis = true;
                a.AcksFrame = u.Frame;
                a.AckRttNs = now - u.TimeNs;
                remove = true;
            }
            else if (ackNo > u.Seq && ackNo <= u.NextSeq)
            {
                // Partial acknowledgment: the rest stays outstanding.
                list.SetSeq(i, ackNo);
                remove = false;
            }
            else
            {
                remove = !(u.NextSeq > ackNo);
            }

            if (remove)
            {
                list.Mark(i);
                kept--;
            }
        }

        if (kept != list.Count)
        {
            list.RemoveMarked();
        }

        // (17) Bytes in flight and push bytes, for segments with data.
        if (seglen != 0 && fwd.Unacked.Count > 0 && fwd.ValidBif)
        {
            fwd.Unacked.GetExtent(fwd.BaseSeq, out uint first, out uint last);
            uint inFlight = unchecked(last - first);
            uint delivered = 0;
            for (int i = 0; i < rev.SackCount; i++)
            {
                delivered = unchecked(delivered + (rev.Sacks[(2 * i) + 1] - rev.Sacks[2 * i]));
            }

            inFlight = unchecked(inFlight - delivered);
            if (inFlight > 0 && inFlight < 2_000_000_000)
            {
                a.BytesInFlight = inFlight - ((flags & (TcpFlags.Syn | TcpFlags.Fin)) != 0 ? 1 : 0);
            }

            bool psh = (flags & TcpFlags.Psh) != 0;
            if (psh && !fwd.PushSetLast)
            {
                fwd.PushBytesSent += seglen;
                fwd.PushSetLast = true;
            }
            else if (psh)
            {
                fwd.PushBytesSent = seglen;
            }
            else if (fwd.PushSetLast)
            {
                fwd.PushBytesSent = seglen;
                fwd.PushSetLast = false;
            }
            else
            {
                fwd.PushBytesSent += seglen;
            }

            a.PushBytesSent = fwd.PushBytesSent;
            a.HasAnalysis = true;
        }

        a.Flags |= f;
    }

    /// <summary>Time since an earlier instant, as Wireshark's unsigned nanosecond difference: going backwards is "very long".</summary>
    private static long Elapsed(long now, long then) => now >= then ? now - then : long.MaxValue;

    /// <summary>Options are read after the analysis, as Wireshark does: window scale and SACK blocks affect later frames.</summary>
    private static void ReadOptions(FlowDirection fwd, FlowDirection rev, in DecodedPacket p, ReadOnlySpan<byte> frame)
    {
        if (p.TcpHeaderLength > 20 && !OnlyNopsAndTimestamps(p.GetTcpOptionBytes(frame)))
        {
            foreach (var o in p.GetTcpOptions(frame))
            {
                if (o.IsMalformed)
                {
                    continue;
                }

                if (o.Kind == TcpOptionKind.WindowScale)
                {
                    // RFC 7323 section 2.3: shifts above 14 are treated as 14. Any segment's option counts (as in Wireshark).
                    fwd.WindowScale = Math.Min((int)o.WindowScaleShift, 14);
                }
                else if (o.Kind == TcpOptionKind.Sack)
                {
                    // Only the first three blocks are kept for bytes-in-flight.
                    int n = Math.Min(o.SackBlockCount, 3);
                    for (int i = 0; i < n; i++)
                    {
                        var block = o.GetSackBlock(i);
                        fwd.Sacks[2 * i] = block.Left.Value;
                        fwd.Sacks[(2 * i) + 1] = block.Right.Value;
                    }

                    fwd.SackCount = n;
                }
            }
        }

        // Wireshark settles "no window scaling" after dissecting a SYN's options; a header cut inside them stops
        // the dissection first, so the scale stays unknown.
        if ((p.Flags & TcpFlags.Syn) != 0 && !p.TcpHeaderCut)
        {
            // RFC 7323 section 2.2: scaling is in effect only when both SYNs carried the option.
            if (fwd.WindowScale == FlowDirection.ScaleUnknown)
            {
                fwd.WindowScale = FlowDirection.ScaleNone;
                rev.WindowScale = FlowDirection.ScaleNone;
            }
            else if ((p.Flags & TcpFlags.Ack) != 0 && rev.WindowScale == FlowDirection.ScaleNone)
            {
                fwd.WindowScale = FlowDirection.ScaleNone;
            }
        }
    }

    /// <summary>
    /// True when the options are only NOPs and well-formed timestamps (RFC 7323 section 3.2, kind 8 length 10),
    /// the layout of nearly every segment after the handshake: nothing in them matters to the analysis, so the
    /// general option walk is skipped. Anything else (window scale, SACK, EOL, malformed) takes the full path.
    /// </summary>
    private static bool OnlyNopsAndTimestamps(ReadOnlySpan<byte> options)
    {
        int i = 0;
        while (i < options.Length)
        {
            byte kind = options[i];
            if (kind == (byte)TcpOptionKind.Nop)
            {
                i++;
            }
            else if (kind == (byte)TcpOptionKind.Timestamps && i + 10 <= options.Length && options[i + 1] == 10)
            {
                i += 10;
            }
            else
            {
                return false;
            }
        }

        return true;
    }

    private TcpConversation Add(ConversationKey key, in DecodedPacket p, long frameNumber)
    {
        var conv = new TcpConversation(_all.Count, p.Source, p.SourcePort, p.Destination, p.DestinationPort, frameNumber);
        _conversations[key] = conv;
        _all.Add(conv);
        return conv;
    }
}
