using System.Globalization;
using System.Text;
using TcpKit.Analysis.Conversations;

namespace TcpKit.Analysis.Output;

/// <summary>
/// tshark's <c>-q -z conv,tcp</c> table: one row per tcp.stream, side A being the sender of its first frame,
/// frames and bytes (frame.len) each way, start relative to the capture and duration; sorted by total frames,
/// most first, ties in first-seen order.
/// </summary>
public static class ConversationTable
{
    private const string Rule = "================================================================================";

    public static string Format(IReadOnlyList<TcpConversation> conversations, string filter = "<No Filter>")
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder(256 + (conversations.Count * 140));
        sb.Append(Rule).Append('\n');
        sb.Append("TCP Conversations\n");
        sb.Append("Filter:").Append(filter).Append('\n');
        sb.Append(' ', 59).Append("|       <-      | |       ->      | |     Total     |    Relative    |   Duration   |\n");
        sb.Append(' ', 59).Append("| Frames  Bytes | | Frames  Bytes | | Frames  Bytes |      Start     |              |\n");

        // A stream known only from a TCP header quoted in an ICMP error has no frames of its own: tshark leaves it out.
        var rows = conversations.Where(c => c.Directions[0].Frames + c.Directions[1].Frames > 0).ToList();
        // A stable sort: equal totals keep their first-seen order.
        var ordered = rows.Select((c, i) => (c, i)).OrderByDescending(x => x.c.Directions[0].Frames + x.c.Directions[1].Frames).ThenBy(x => x.i);
        foreach (var (c, _) in ordered)
        {
            var tx = c.Directions[0];
            var rx = c.Directions[1];
            long totalFrames = tx.Frames + rx.Frames;
            long totalBytes = tx.Bytes + rx.Bytes;
            string a = Endpoint(c.InitiatorAddress.ToString(), c.InitiatorPort);
            string b = Endpoint(c.ResponderAddress.ToString(), c.ResponderPort);
            sb.Append(a.PadRight(26)).Append(" <-> ").Append(b.PadRight(26)).Append("  ");
            sb.Append(rx.Frames.ToString(inv).PadLeft(6)).Append(' ').Append(Size(rx.Bytes).PadRight(9)).Append("  ");
            sb.Append(tx.Frames.ToString(inv).PadLeft(6)).Append(' ').Append(Size(tx.Bytes).PadRight(9)).Append("  ");
            sb.Append(totalFrames.ToString(inv).PadLeft(6)).Append(' ').Append(Size(totalBytes).PadRight(9)).Append("  ");
            sb.Append(Seconds(c.StartRelativeNs).PadLeft(14)).Append("   ");
            double duration = (c.StopRelativeNs - c.StartRelativeNs) / 1e9;
            sb.Append(duration.ToString("F4", inv).PadLeft(12)).Append('\n');
        }

        sb.Append(Rule).Append('\n');
        return sb.ToString();
    }

    /// <summary>Wireshark's format_size with SI units and integer division: "9999 bytes", "10 kB", "15 MB".</summary>
    public static string Size(long v)
    {
        var inv = CultureInfo.InvariantCulture;
        return v switch
        {
            < 10_000 => v.ToString(inv) + " bytes",
            < 10_000_000 => (v / 1_000).ToString(inv) + " kB",
            < 10_000_000_000 => (v / 1_000_000).ToString(inv) + " MB",
            < 10_000_000_000_000 => (v / 1_000_000_000).ToString(inv) + " GB",
            _ => (v / 1_000_000_000_000).ToString(inv) + " TB",
        };
    }

    private static string Seconds(long ns) => SummaryFormatter.FormatSeconds(ns, 9);

    private static string Endpoint(string address, ushort port) => address + ":" + port.ToString(CultureInfo.InvariantCulture);
}
