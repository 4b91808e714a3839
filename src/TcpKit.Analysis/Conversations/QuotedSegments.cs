using TcpKit.Wire.Ip;
using TcpKit.Wire.Tcp;

namespace TcpKit.Analysis.Conversations;

/// <summary>What the analyzer shows for a TCP header quoted by an ICMP error (Wireshark's "in error packet" dissection).</summary>
public struct QuoteAnalysis
{
    /// <summary>The conversation the quoted segment belongs to; null when the quote is too short to name one.</summary>
    public TcpConversation? Conversation;

    /// <summary>0 when the quoted segment went from the conversation's first-seen side, 1 otherwise.</summary>
    public int Direction;

    public long TimeRelativeNs;
    public long TimeDeltaNs;
    public int Completeness;

    /// <summary>tcp.window_size_scalefactor (absent on a quoted SYN, like on a real one).</summary>
    public int ScaleFactor;

    /// <summary>tcp.window_size: the quoted window, scaled as the conversation's direction is.</summary>
    public long Window;

    /// <summary>
    /// Wireshark shows an (empty) SEQ/ACK analysis for a quoted SYN that repeats the ISN its conversation
    /// already has: the check for a retransmitted SYN runs before the error-packet test.
    /// </summary>
    public bool HasAnalysis;
}

public sealed partial class ConversationTracker
{
    /// <summary>
    /// Places a TCP header quoted by an ICMP error in its conversation the way Wireshark does for an error
    /// packet: only a whole quoted header takes a stream (a new one when its 4-tuple was never seen), the
    /// frame moves the conversation's clock (tcp.time_delta of the next frame counts from it) but no
    /// sequence analysis, no state, no completeness and no conversation-table counts.
    /// </summary>
    public QuoteAnalysis ObserveQuote(in IcmpQuote quote, ReadOnlySpan<byte> frame, long frameNumber, long timestampNs)
    {
        var a = default(QuoteAnalysis);
        if (!quote.HasTcpHeader)
        {
            return a;
        }

        if (_captureStartNs == long.MinValue)
        {
            _captureStartNs = timestampNs;
        }

        ref readonly var p = ref quote.Inner;
        var quoteBytes = quote.GetBytes(frame);
        var key = ConversationKey.Create(p.Source, p.SourcePort, p.Destination, p.DestinationPort, out _);
        bool known = _conversations.TryGetValue(key, out var existing);
        var conv = existing ?? Add(key, p, frameNumber);

        if (conv.FirstTimeNs == long.MinValue)
        {
            conv.FirstTimeNs = timestampNs;
            conv.LastTimeNs = timestampNs;
            conv.StartRelativeNs = timestampNs - _captureStartNs;
            conv.StopRelativeNs = conv.StartRelativeNs;
        }

        a.Conversation = conv;
        a.Direction = conv.DirectionOf(p.Source, p.SourcePort);
        a.TimeRelativeNs = timestampNs - conv.FirstTimeNs;
        a.TimeDeltaNs = timestampNs - conv.LastTimeNs;
        conv.LastTimeNs = timestampNs;
        a.Completeness = conv.Completeness;

        // Completeness is the one piece of conversation state an error packet changes (a quoted SYN-ACK,
        // FIN or RST counts; quoted data does not, as an error packet has no segment length).
        conv.Completeness = CompletenessAfter(conv.Completeness, !known, p.Flags, 0);
        var fwd = conv.Directions[a.Direction];
        a.HasAnalysis = known && (p.Flags & (TcpFlags.Syn | TcpFlags.Ack)) == TcpFlags.Syn && fwd.BaseSeqSet && p.Seq == fwd.BaseSeq;
        a.Window = p.Window;
        if ((p.Flags & TcpFlags.Syn) == 0)
        {
            int shift = conv.Directions[a.Direction].WindowScale;
            a.ScaleFactor = shift >= 0 ? 1 << shift : shift;
            if (shift >= 0)
            {
                a.Window = (long)p.Window << shift;
            }
        }

        // Wireshark reads the quoted options like any others: a quoted SYN settles window scaling.
        ReadOptions(fwd, conv.Directions[1 - a.Direction], p, quoteBytes);
        return a;
    }

    /// <summary>
    /// tcp.completeness after a segment (spec section 6.6): a new conversation starts from its SYN (and
    /// data on it); then a SYN-ACK adds 2, an ACK 4 (8 with data), a FIN-ACK 16, a RST 32.
    /// </summary>
    private static int CompletenessAfter(int completeness, bool isNew, TcpFlags flags, int length)
    {
        if (isNew)
        {
            return (flags & (TcpFlags.Syn | TcpFlags.Ack)) == TcpFlags.Syn ? 1 | (length > 0 ? 8 : 0) : 0;
        }

        if ((flags & (TcpFlags.Syn | TcpFlags.Ack)) == (TcpFlags.Syn | TcpFlags.Ack))
        {
            completeness |= 2;
        }

        if ((flags & (TcpFlags.Syn | TcpFlags.Ack)) == TcpFlags.Ack)
        {
            completeness |= length > 0 ? 8 : 4;
        }

        if ((flags & (TcpFlags.Fin | TcpFlags.Ack)) == (TcpFlags.Fin | TcpFlags.Ack))
        {
            completeness |= 16;
        }

        if ((flags & TcpFlags.Rst) != 0)
        {
            completeness |= 32;
        }

        return completeness;
    }
}
