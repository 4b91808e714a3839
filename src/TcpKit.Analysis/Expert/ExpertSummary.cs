using System.Globalization;
using System.Text;
using TcpKit.Analysis.Conversations;
using TcpKit.Analysis.Fields;
using TcpKit.Wire.Tcp;

namespace TcpKit.Analysis.Expert;

/// <summary>Wireshark's expert severities, in the order <c>-z expert</c> prints them.</summary>
public enum ExpertSeverity : byte
{
    Error,
    Warning,
    Note,
    Chat,
}

/// <summary>One kind of TCP expert item; <see cref="ExpertSummary"/> turns it into Wireshark's text.</summary>
public enum ExpertKind : byte
{
    AckNonZero,
    SynAckAcceptingTfoData,
    SynAck,
    Syn,
    Fin,
    FinInitiates,
    FinUndergoes,
    Reset,
    UrgentPointerNonZero,
    MssInNonSyn,
    WindowScaleShiftInvalid,
    DSack,
    SynWithoutMss,
    ReusedPorts,
    Retransmission,
    FastRetransmission,
    SpuriousRetransmission,
    OutOfOrder,
    LostSegment,
    AckLostSegment,
    WindowUpdate,
    WindowFull,
    KeepAlive,
    KeepAliveAck,
    DuplicateAck,
    ZeroWindowProbe,
    ZeroWindow,
    ZeroWindowProbeAck,
}

/// <summary>
/// Counts TCP expert items per frame the way Wireshark emits them and prints <c>tshark -q -z expert</c>'s
/// report: severities Errors, Warns, Notes, Chats; within each, one row per distinct summary in order of
/// first occurrence. Counting allocates only when a new distinct item appears.
/// </summary>
public sealed class ExpertSummary
{
    private readonly List<(ExpertKind Kind, uint Arg)>[] _order = [[], [], [], []];
    private readonly Dictionary<(ExpertKind Kind, uint Arg), long> _counts = [];

    /// <summary>Items in the order one frame emits them (spec section 6.5).</summary>
    public void Observe(in FieldContext c)
    {
        if (!c.HasTcp)
        {
            return;
        }

        var p = c.Decoded;
        var a = c.Analysis;
        var flags = p.Flags;
        if ((flags & TcpFlags.Ack) == 0 && p.Ack.Value != 0)
        {
            Add(ExpertKind.AckNonZero);
        }
        else if ((flags & (TcpFlags.Syn | TcpFlags.Ack)) == (TcpFlags.Syn | TcpFlags.Ack) && a.RelativeAck > 1)
        {
            Add(ExpertKind.SynAckAcceptingTfoData);
        }

        if ((flags & TcpFlags.Syn) != 0)
        {
            if ((flags & TcpFlags.Ack) != 0)
            {
                Add(ExpertKind.SynAck, p.SourcePort);
            }
            else
            {
                Add(ExpertKind.Syn, p.DestinationPort);
            }
        }

        if ((flags & TcpFlags.Fin) != 0)
        {
            Add(ExpertKind.Fin);
            Add(a.FinInitiatesClose ? ExpertKind.FinInitiates : ExpertKind.FinUndergoes);
        }

        if ((flags & TcpFlags.Rst) != 0)
        {
            Add(ExpertKind.Reset);
        }

        if ((flags & TcpFlags.Urg) == 0 && p.UrgentPointer != 0)
        {
            Add(ExpertKind.UrgentPointerNonZero);
        }

        if (p.TcpHeaderLength > 20)
        {
            bool anyOption = false, mss = false;
            foreach (var o in p.GetTcpOptions(c.Frame))
            {
                anyOption = true;
                if (o.IsMalformed)
                {
                    continue;
                }

                switch (o.Kind)
                {
                    case TcpOptionKind.Mss:
                        mss = true;
                        if ((flags & TcpFlags.Syn) == 0)
                        {
                            Add(ExpertKind.MssInNonSyn);
                        }

                        break;
                    case TcpOptionKind.WindowScale when o.WindowScaleShift > 14:
                        Add(ExpertKind.WindowScaleShiftInvalid);
                        break;
                    case TcpOptionKind.Sack when o.SackBlockCount > 0:
                        // RFC 2883 section 4: the first block is a D-SACK when it lies below the ACK or inside the second block.
                        var first = o.GetSackBlock(0);
                        bool dsack = first.Right <= p.Ack;
                        if (!dsack && o.SackBlockCount > 1)
                        {
                            var second = o.GetSackBlock(1);
                            dsack = second.Left < first.Right && second.Right >= first.Right;
                        }

                        if (dsack)
                        {
                            Add(ExpertKind.DSack);
                        }

                        break;
                }
            }

            if ((flags & TcpFlags.Syn) != 0 && anyOption && !mss)
            {
                Add(ExpertKind.SynWithoutMss);
            }
        }

        var f = a.Flags;
        if (f == AnalysisFlags.None)
        {
            return;
        }

        if ((f & AnalysisFlags.ReusedPorts) != 0) Add(ExpertKind.ReusedPorts);
        if ((f & AnalysisFlags.Retransmission) != 0) Add(ExpertKind.Retransmission);
        if ((f & AnalysisFlags.FastRetransmission) != 0)
        {
            Add(ExpertKind.FastRetransmission);
            Add(ExpertKind.Retransmission);
        }

        if ((f & AnalysisFlags.SpuriousRetransmission) != 0)
        {
            Add(ExpertKind.SpuriousRetransmission);
            Add(ExpertKind.Retransmission);
        }

        if ((f & AnalysisFlags.OutOfOrder) != 0) Add(ExpertKind.OutOfOrder);
        if ((f & AnalysisFlags.LostSegment) != 0) Add(ExpertKind.LostSegment);
        if ((f & AnalysisFlags.AckLostSegment) != 0) Add(ExpertKind.AckLostSegment);
        if ((f & AnalysisFlags.WindowUpdate) != 0) Add(ExpertKind.WindowUpdate);
        if ((f & AnalysisFlags.WindowFull) != 0) Add(ExpertKind.WindowFull);
        if ((f & AnalysisFlags.KeepAlive) != 0) Add(ExpertKind.KeepAlive);
        if ((f & AnalysisFlags.KeepAliveAck) != 0) Add(ExpertKind.KeepAliveAck);
        if ((f & AnalysisFlags.DuplicateAck) != 0 && a.DupAckNum != 0) Add(ExpertKind.DuplicateAck, a.DupAckNum);
        if ((f & AnalysisFlags.ZeroWindowProbe) != 0) Add(ExpertKind.ZeroWindowProbe);
        if ((f & AnalysisFlags.ZeroWindow) != 0) Add(ExpertKind.ZeroWindow);
        if ((f & AnalysisFlags.ZeroWindowProbeAck) != 0) Add(ExpertKind.ZeroWindowProbeAck);
    }

    /// <summary>How often an item was seen (all arguments together).</summary>
    public long Count(ExpertKind kind)
    {
        long n = 0;
        foreach (var (key, count) in _counts)
        {
            if (key.Kind == kind)
            {
                n += count;
            }
        }

        return n;
    }

    /// <summary>tshark's <c>-z expert</c> text.</summary>
    public string Format()
    {
        var sb = new StringBuilder();
        string[] labels = ["Errors", "Warns", "Notes", "Chats"];
        for (int s = 0; s < 4; s++)
        {
            if (_order[s].Count == 0)
            {
                continue;
            }

            long total = 0;
            foreach (var key in _order[s])
            {
                total += _counts[key];
            }

            sb.Append('\n').Append(labels[s]).Append(" (").Append(total.ToString(CultureInfo.InvariantCulture)).Append(")\n");
            sb.Append("=============\n");
            sb.Append("   Frequency      Group           Protocol  Summary\n");
            foreach (var key in _order[s])
            {
                var (group, _, text) = Describe(key.Kind, key.Arg);
                sb.Append(_counts[key].ToString(CultureInfo.InvariantCulture).PadLeft(12)).Append(' ')
                  .Append(group.PadLeft(10)).Append(' ').Append("TCP".PadLeft(18)).Append("  ").Append(text).Append('\n');
            }
        }

        return sb.ToString();
    }

    /// <summary>Wireshark's group, severity and summary text for an item.</summary>
    public static (string Group, ExpertSeverity Severity, string Summary) Describe(ExpertKind kind, uint arg = 0) => kind switch
    {
        ExpertKind.AckNonZero => ("Protocol", ExpertSeverity.Note, "The acknowledgment number field is nonzero while the ACK flag is not set"),
        ExpertKind.SynAckAcceptingTfoData => ("Sequence", ExpertSeverity.Note, "TCP SYN-ACK accepting TFO data"),
        ExpertKind.SynAck => ("Sequence", ExpertSeverity.Chat, "Connection establish acknowledge (SYN+ACK): server port " + arg.ToString(CultureInfo.InvariantCulture)),
        ExpertKind.Syn => ("Sequence", ExpertSeverity.Chat, "Connection establish request (SYN): server port " + arg.ToString(CultureInfo.InvariantCulture)),
        ExpertKind.Fin => ("Sequence", ExpertSeverity.Chat, "Connection finish (FIN)"),
        ExpertKind.FinInitiates => ("Sequence", ExpertSeverity.Note, "This frame initiates the connection closing"),
        ExpertKind.FinUndergoes => ("Sequence", ExpertSeverity.Note, "This frame undergoes the connection closing"),
        ExpertKind.Reset => ("Sequence", ExpertSeverity.Warning, "Connection reset (RST)"),
        ExpertKind.UrgentPointerNonZero => ("Protocol", ExpertSeverity.Note, "The urgent pointer field is nonzero while the URG flag is not set"),
        ExpertKind.MssInNonSyn => ("Protocol", ExpertSeverity.Warning, "The non-SYN packet does contain a MSS option"),
        ExpertKind.WindowScaleShiftInvalid => ("Protocol", ExpertSeverity.Warning, "Window scale shift exceeds 14"),
        ExpertKind.DSack => ("Sequence", ExpertSeverity.Warning, "D-SACK Sequence"),
        ExpertKind.SynWithoutMss => ("Protocol", ExpertSeverity.Note, "The SYN packet does not contain a MSS option"),
        ExpertKind.ReusedPorts => ("Sequence", ExpertSeverity.Note, "A new tcp session is started with the same ports as an earlier session in this trace"),
        ExpertKind.Retransmission => ("Sequence", ExpertSeverity.Note, "This frame is a (suspected) retransmission"),
        ExpertKind.FastRetransmission => ("Sequence", ExpertSeverity.Note, "This frame is a (suspected) fast retransmission"),
        ExpertKind.SpuriousRetransmission => ("Sequence", ExpertSeverity.Note, "This frame is a (suspected) spurious retransmission"),
        ExpertKind.OutOfOrder => ("Sequence", ExpertSeverity.Warning, "This frame is a (suspected) out-of-order segment"),
        ExpertKind.LostSegment => ("Sequence", ExpertSeverity.Warning, "Previous segment(s) not captured (common at capture start)"),
        ExpertKind.AckLostSegment => ("Sequence", ExpertSeverity.Warning, "ACKed segment that wasn't captured (common at capture start)"),
        ExpertKind.WindowUpdate => ("Sequence", ExpertSeverity.Chat, "TCP window update"),
        ExpertKind.WindowFull => ("Sequence", ExpertSeverity.Warning, "TCP window specified by the receiver is now completely full"),
        ExpertKind.KeepAlive => ("Sequence", ExpertSeverity.Note, "TCP keep-alive segment"),
        ExpertKind.KeepAliveAck => ("Sequence", ExpertSeverity.Note, "ACK to a TCP keep-alive segment"),
        ExpertKind.DuplicateAck => ("Sequence", ExpertSeverity.Note, "Duplicate ACK (#" + arg.ToString(CultureInfo.InvariantCulture) + ")"),
        ExpertKind.ZeroWindowProbe => ("Sequence", ExpertSeverity.Note, "TCP Zero Window Probe"),
        ExpertKind.ZeroWindow => ("Sequence", ExpertSeverity.Warning, "TCP Zero Window segment"),
        ExpertKind.ZeroWindowProbeAck => ("Sequence", ExpertSeverity.Note, "ACK to a TCP Zero Window Probe"),
        _ => ("Sequence", ExpertSeverity.Note, kind.ToString()),
    };

    private void Add(ExpertKind kind, uint arg = 0)
    {
        var key = (kind, arg);
        if (_counts.TryGetValue(key, out long n))
        {
            _counts[key] = n + 1;
            return;
        }

        _counts[key] = 1;
        _order[(int)Describe(kind, arg).Severity].Add(key);
    }
}
