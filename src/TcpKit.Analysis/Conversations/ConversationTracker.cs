using TcpKit.Wire;
using TcpKit.Wire.Tcp;

namespace TcpKit.Analysis.Conversations;

/// <summary>Per-segment values computed the way Wireshark computes them.</summary>
public struct SegmentAnalysis
{
    public TcpConversation Conversation;

    /// <summary>0 from the initiator, 1 from the responder.</summary>
    public int Direction;

    /// <summary>tcp.seq: sequence number relative to this direction's base.</summary>
    public uint RelativeSeq;

    /// <summary>tcp.ack: acknowledgment number relative to the other direction's base (valid when ACK is set).</summary>
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
    public bool ReusedPorts;
}

/// <summary>
/// Assigns TCP segments to conversations (tcp.stream numbers in first-seen order) and computes relative
/// sequence numbers and scaled windows. Memory grows with the number of conversations, not packets.
/// </summary>
public sealed class ConversationTracker
{
    private readonly Dictionary<ConversationKey, TcpConversation> _conversations = [];
    private readonly List<TcpConversation> _all = [];

    public IReadOnlyList<TcpConversation> Conversations => _all;

    /// <summary>Analyses one decoded TCP segment; <paramref name="frameNumber"/> is 1-based like Wireshark's.</summary>
    public SegmentAnalysis Observe(in DecodedPacket p, ReadOnlySpan<byte> frame, long frameNumber, long timestampNs = 0)
    {
        var key = ConversationKey.Create(p.Source, p.SourcePort, p.Destination, p.DestinationPort, out _);
        bool reused = false;
        if (!_conversations.TryGetValue(key, out var conv))
        {
            conv = Add(key, p, frameNumber);
        }
        else if ((p.Flags & (TcpFlags.Syn | TcpFlags.Ack)) == TcpFlags.Syn)
        {
            // A SYN carrying a different ISN than the one this direction started with is a new
            // connection reusing the 4-tuple (Wireshark: tcp.analysis.reused_ports).
            var d = conv.Directions[conv.DirectionOf(p.Source, p.SourcePort)];
            if (d.BaseSeqSet && d.SynSeen && p.Seq != d.BaseSeq)
            {
                conv = Add(key, p, frameNumber);
                reused = true;
            }
        }

        if (conv.FirstTimeNs == long.MinValue)
        {
            conv.FirstTimeNs = timestampNs;
            conv.LastTimeNs = timestampNs;
        }

        long previousNs = conv.LastTimeNs;
        conv.LastTimeNs = timestampNs;
        int dir = conv.DirectionOf(p.Source, p.SourcePort);
        var fwd = conv.Directions[dir];
        var rev = conv.Directions[1 - dir];
        bool syn = (p.Flags & TcpFlags.Syn) != 0;

        if (syn)
        {
            fwd.SynSeen = true;
            fwd.WindowScale = FindWindowScale(p.GetTcpOptions(frame));
            if ((p.Flags & TcpFlags.Ack) != 0 && (fwd.WindowScale == FlowDirection.ScaleNone || rev.WindowScale == FlowDirection.ScaleNone))
            {
                // RFC 7323 section 2.2: scaling is in effect only when both SYNs carried the option.
                fwd.WindowScale = FlowDirection.ScaleNone;
                rev.WindowScale = FlowDirection.ScaleNone;
            }
        }

        if (!fwd.BaseSeqSet)
        {
            // With the SYN seen, relative numbers count from the ISN; mid-stream, the first byte seen is 1.
            fwd.BaseSeq = syn ? p.Seq : p.Seq - 1;
            fwd.BaseSeqSet = true;
        }

        if ((p.Flags & TcpFlags.Ack) != 0 && !rev.BaseSeqSet)
        {
            rev.BaseSeq = p.Ack - 1;
            rev.BaseSeqSet = true;
        }

        fwd.FinSeen |= (p.Flags & TcpFlags.Fin) != 0;
        fwd.RstSeen |= (p.Flags & TcpFlags.Rst) != 0;

        var a = new SegmentAnalysis
        {
            Conversation = conv,
            Direction = dir,
            RelativeSeq = p.Seq.RelativeTo(fwd.BaseSeq),
            RelativeAck = (p.Flags & TcpFlags.Ack) != 0 ? p.Ack.RelativeTo(rev.BaseSeq) : 0,
            Length = p.TcpPayloadLength,
            ReusedPorts = reused,
            TimeRelativeNs = timestampNs - conv.FirstTimeNs,
            TimeDeltaNs = timestampNs - previousNs,
        };
        int seqSpace = a.Length + (syn ? 1 : 0) + ((p.Flags & TcpFlags.Fin) != 0 ? 1 : 0);
        a.NextSeq = unchecked(a.RelativeSeq + (uint)seqSpace);

        // The window field of a SYN is never scaled (RFC 7323 section 2.2).
        if (!syn && fwd.WindowScale >= 0 && rev.WindowScale != FlowDirection.ScaleNone)
        {
            a.ScaleFactor = 1 << fwd.WindowScale;
            a.Window = (long)p.Window << fwd.WindowScale;
        }
        else
        {
            a.ScaleFactor = syn || fwd.WindowScale == FlowDirection.ScaleUnknown ? FlowDirection.ScaleUnknown : FlowDirection.ScaleNone;
            a.Window = p.Window;
        }

        return a;
    }

    private TcpConversation Add(ConversationKey key, in DecodedPacket p, long frameNumber)
    {
        var conv = new TcpConversation(_all.Count, p.Source, p.SourcePort, p.Destination, p.DestinationPort, frameNumber);
        _conversations[key] = conv;
        _all.Add(conv);
        return conv;
    }

    private static int FindWindowScale(TcpOptionReader options)
    {
        foreach (var o in options)
        {
            if (o.Kind == TcpOptionKind.WindowScale && !o.IsMalformed)
            {
                // RFC 7323 section 2.3: shifts above 14 are treated as 14.
                return Math.Min((int)o.WindowScaleShift, 14);
            }
        }

        return FlowDirection.ScaleNone;
    }
}
