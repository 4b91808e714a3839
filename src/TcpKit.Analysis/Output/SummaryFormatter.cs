using System.Globalization;
using System.Text;
using TcpKit.Analysis.Conversations;
using TcpKit.Wire;
using TcpKit.Wire.Link;
using TcpKit.Wire.Tcp;

namespace TcpKit.Analysis.Output;

/// <summary>
/// Formats one packet as tshark's default one-line summary: number, relative time, source, destination,
/// protocol, length, info. Column padding follows tshark's print_columns: the number right-aligned in 5,
/// the time right-aligned in 10, the source right-aligned and the destination left-aligned in 12.
/// </summary>
public static class SummaryFormatter
{
    private const string Arrow = " \u2192 ";

    /// <summary>Appends the columns shared by every packet.</summary>
    public static void AppendColumns(StringBuilder sb, long number, long relativeNs, int timeDigits, string source, string destination, string protocol, long frameLength)
    {
        AppendRight(sb, number.ToString(CultureInfo.InvariantCulture), 5);
        sb.Append(' ');
        AppendRight(sb, FormatSeconds(relativeNs, timeDigits), 10);
        sb.Append(' ');
        AppendRight(sb, source, 12);
        sb.Append(Arrow);
        sb.Append(destination);
        if (destination.Length < 12)
        {
            sb.Append(' ', 12 - destination.Length);
        }

        sb.Append(' ').Append(protocol).Append(' ').Append(frameLength.ToString(CultureInfo.InvariantCulture)).Append(' ');
    }

    /// <summary>The TCP info column: ports, flags, relative Seq/Ack, Win, Urg, Len, then options in packet order.</summary>
    public static void AppendTcpInfo(StringBuilder sb, in DecodedPacket p, in SegmentAnalysis a, ReadOnlySpan<byte> frame)
    {
        var inv = CultureInfo.InvariantCulture;
        AppendExpertPrefixes(sb, a);
        sb.Append(p.SourcePort.ToString(inv)).Append(Arrow).Append(p.DestinationPort.ToString(inv)).Append(' ');
        AppendFlags(sb, p.Flags);
        sb.Append(" Seq=").Append(a.RelativeSeq.ToString(inv));
        if ((p.Flags & TcpFlags.Ack) != 0)
        {
            sb.Append(" Ack=").Append(a.RelativeAck.ToString(inv));
        }

        sb.Append(" Win=").Append(a.Window.ToString(inv));
        if ((p.Flags & TcpFlags.Urg) != 0)
        {
            sb.Append(" Urg=").Append(p.UrgentPointer.ToString(inv));
        }

        sb.Append(" Len=").Append(a.Length.ToString(inv));
        var rev = a.Conversation.Directions[1 - a.Direction];
        foreach (var o in p.GetTcpOptions(frame))
        {
            if (o.IsMalformed)
            {
                continue;
            }

            switch (o.Kind)
            {
                case TcpOptionKind.Mss:
                    sb.Append(" MSS=").Append(o.Mss.ToString(inv));
                    break;
                case TcpOptionKind.WindowScale:
                    sb.Append(" WS=").Append((1 << Math.Min((int)o.WindowScaleShift, 14)).ToString(inv));
                    break;
                case TcpOptionKind.SackPermitted:
                    sb.Append(" SACK_PERM");
                    break;
                case TcpOptionKind.Timestamps:
                    sb.Append(" TSval=").Append(o.TimestampValue.ToString(inv)).Append(" TSecr=").Append(o.TimestampEchoReply.ToString(inv));
                    break;
                case TcpOptionKind.Sack:
                    for (int i = 0; i < o.SackBlockCount; i++)
                    {
                        // SACK edges are relative to the other direction's base, like the ACK number.
                        var block = o.GetSackBlock(i);
                        sb.Append(" SLE=").Append(block.Left.RelativeTo(rev.BaseSeq).ToString(inv));
                        sb.Append(" SRE=").Append(block.Right.RelativeTo(rev.BaseSeq).ToString(inv));
                    }

                    break;
            }
        }

        if (p.TcpHeaderCut)
        {
            // Wireshark's dissection stops at the cut option and says so right after the options it could read.
            sb.Append("[Packet size limited during capture]");
        }
    }

    /// <summary>
    /// tshark's analysis prefixes, e.g. "[TCP ZeroWindowProbeAck] [TCP ZeroWindow] ". Wireshark prepends each
    /// text in turn, so the one added last comes first: this is the reverse of its call order.
    /// </summary>
    public static void AppendExpertPrefixes(StringBuilder sb, in SegmentAnalysis a)
    {
        var f = a.Flags;
        if (f == AnalysisFlags.None)
        {
            return;
        }

        if ((f & AnalysisFlags.ZeroWindowProbeAck) != 0) sb.Append("[TCP ZeroWindowProbeAck] ");
        if ((f & AnalysisFlags.ZeroWindow) != 0) sb.Append("[TCP ZeroWindow] ");
        if ((f & AnalysisFlags.ZeroWindowProbe) != 0) sb.Append("[TCP ZeroWindowProbe] ");
        if ((f & AnalysisFlags.DuplicateAck) != 0 && a.DupAckNum != 0)
        {
            sb.Append("[TCP Dup ACK ").Append(a.DupAckFrame.ToString(CultureInfo.InvariantCulture)).Append('#').Append(a.DupAckNum.ToString(CultureInfo.InvariantCulture)).Append("] ");
        }

        if ((f & AnalysisFlags.KeepAliveAck) != 0) sb.Append("[TCP Keep-Alive ACK] ");
        if ((f & AnalysisFlags.KeepAlive) != 0) sb.Append("[TCP Keep-Alive] ");
        if ((f & AnalysisFlags.WindowFull) != 0) sb.Append("[TCP Window Full] ");
        if ((f & AnalysisFlags.WindowUpdate) != 0) sb.Append("[TCP Window Update] ");
        if ((f & AnalysisFlags.AckLostSegment) != 0) sb.Append("[TCP ACKed unseen segment] ");
        if ((f & AnalysisFlags.LostSegment) != 0) sb.Append("[TCP Previous segment not captured] ");
        if ((f & AnalysisFlags.OutOfOrder) != 0) sb.Append("[TCP Out-Of-Order] ");
        if ((f & AnalysisFlags.SpuriousRetransmission) != 0) sb.Append("[TCP Spurious Retransmission] ");
        if ((f & AnalysisFlags.FastRetransmission) != 0) sb.Append("[TCP Fast Retransmission] ");
        if ((f & AnalysisFlags.Retransmission) != 0) sb.Append("[TCP Retransmission] ");
        if ((f & AnalysisFlags.ReusedPorts) != 0) sb.Append("[TCP Port numbers reused] ");
    }

    /// <summary>Wireshark's flag list: "[SYN, ACK]", in bit order from FIN upward, "[&lt;None&gt;]" when empty.</summary>
    public static void AppendFlags(StringBuilder sb, TcpFlags flags)
    {
        sb.Append('[');
        bool first = true;
        void Add(StringBuilder b, string name)
        {
            if (!first)
            {
                b.Append(", ");
            }

            b.Append(name);
            first = false;
        }

        if ((flags & TcpFlags.Fin) != 0) Add(sb, "FIN");
        if ((flags & TcpFlags.Syn) != 0) Add(sb, "SYN");
        if ((flags & TcpFlags.Rst) != 0) Add(sb, "RST");
        if ((flags & TcpFlags.Psh) != 0) Add(sb, "PSH");
        if ((flags & TcpFlags.Ack) != 0) Add(sb, "ACK");
        if ((flags & TcpFlags.Urg) != 0) Add(sb, "URG");
        if ((flags & TcpFlags.Ece) != 0) Add(sb, "ECE");
        if ((flags & TcpFlags.Cwr) != 0) Add(sb, "CWR");
        if ((flags & TcpFlags.Ae) != 0) Add(sb, "AE");
        if ((flags & TcpFlags.Reserved) != 0) Add(sb, "Reserved");
        if (first)
        {
            sb.Append("<None>");
        }

        sb.Append(']');
    }

    /// <summary>Seconds with a fixed number of decimals (tshark shows the capture's own precision).</summary>
    public static string FormatSeconds(long ns, int digits)
    {
        bool negative = ns < 0;
        ulong abs = negative ? (ulong)(-(ns + 1)) + 1 : (ulong)ns;
        ulong secs = abs / 1_000_000_000;
        ulong frac = abs % 1_000_000_000;
        var s = new StringBuilder();
        if (negative)
        {
            s.Append('-');
        }

        s.Append(secs.ToString(CultureInfo.InvariantCulture));
        if (digits > 0)
        {
            // Truncate like Wireshark's nstime formatting does.
            ulong scaled = frac / Pow10(9 - digits);
            s.Append('.').Append(scaled.ToString(CultureInfo.InvariantCulture).PadLeft(digits, '0'));
        }

        return s.ToString();
    }

    /// <summary>Decimal digits tshark shows for a timestamp resolution (if_tsresol byte: 10^-n, or 2^-n with the high bit).</summary>
    public static int DigitsForResolution(byte tsresol)
    {
        if ((tsresol & 0x80) == 0)
        {
            return Math.Min((int)tsresol, 9);
        }

        int bits = tsresol & 0x7F;
        return Math.Min((int)Math.Ceiling(bits * Math.Log10(2)), 9);
    }

    public static string FormatMac(MacAddress mac) => mac == MacAddress.Broadcast ? "Broadcast" : mac.ToString();

    private static ulong Pow10(int n)
    {
        ulong r = 1;
        for (int i = 0; i < n; i++)
        {
            r *= 10;
        }

        return r;
    }

    private static void AppendRight(StringBuilder sb, string text, int width)
    {
        if (text.Length < width)
        {
            sb.Append(' ', width - text.Length);
        }

        sb.Append(text);
    }
}
