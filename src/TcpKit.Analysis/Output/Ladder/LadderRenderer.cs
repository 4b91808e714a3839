using System.Globalization;
using System.Text;
using TcpKit.Wire.Tcp;

namespace TcpKit.Analysis.Output.Ladder;

/// <summary>
/// Draws TCP segments as a textbook sequence ("ladder") diagram: the client's time line on the left,
/// the server's on the right, one arrow per segment with its flags and numbers above it, each side's
/// state transition next to its time line, and an explanation under the arrow.
/// Rows can be written one at a time (a live demo) or all at once.
/// </summary>
public sealed class LadderRenderer
{
    private const int GutterWidth = 18;
    private const int DefaultStateWidth = 28;
    private const int MinArrowWidth = 30;

    private const string Reset = "\e[0m";
    private const string Green = "\e[32m";
    private const string Blue = "\e[34m";
    private const string Red = "\e[31m";
    private const string White = "\e[97m";
    private const string Yellow = "\e[33m";
    private const string Gray = "\e[90m";

    private readonly string _clientLabel;
    private readonly string _serverLabel;
    private readonly LadderOptions _options;
    private readonly int _stateWidth;
    private readonly int _arrowWidth;

    public LadderRenderer(string clientLabel, string serverLabel, LadderOptions? options = null)
    {
        _clientLabel = clientLabel;
        _serverLabel = serverLabel;
        _options = options ?? new LadderOptions();
        _stateWidth = _options.StateWidth ?? DefaultStateWidth;
        int gutter = _options.ShowFrameAndTime ? GutterWidth : 0;
        _arrowWidth = Math.Max(MinArrowWidth, _options.Width - gutter - (2 * (_stateWidth + 1)) - 2);
    }

    /// <summary>Renders a whole ladder; the state columns are sized to the longest transition unless the options fix them.</summary>
    public static string Render(string clientLabel, string serverLabel, IReadOnlyList<LadderRow> rows, LadderOptions? options = null)
    {
        options ??= new LadderOptions();
        if (options.StateWidth is null)
        {
            int widest = 0;
            foreach (var r in rows)
            {
                widest = Math.Max(widest, Math.Max(Transition(r.ClientBefore, r.ClientAfter).Length, Transition(r.ServerBefore, r.ServerAfter).Length));
            }

            if (rows.Count > 0)
            {
                widest = Math.Max(widest, Math.Max((rows[0].ClientBefore?.ToString() ?? "").Length, (rows[0].ServerBefore?.ToString() ?? "").Length));
            }

            options = options with { StateWidth = Math.Max(widest, 12) };
        }

        var renderer = new LadderRenderer(clientLabel, serverLabel, options);
        using var w = new StringWriter(CultureInfo.InvariantCulture) { NewLine = "\n" };
        renderer.WriteHeader(w, rows.Count > 0 ? rows[0].ClientBefore : null, rows.Count > 0 ? rows[0].ServerBefore : null);
        foreach (var r in rows)
        {
            renderer.WriteRow(w, r);
        }

        return w.ToString();
    }

    /// <summary>Column titles (the endpoints) and, when known, each side's state before the first segment.</summary>
    public void WriteHeader(TextWriter output, EndpointState? clientInitial = null, EndpointState? serverInitial = null)
    {
        var line = new Line(_options.Color);
        if (_options.ShowFrameAndTime)
        {
            line.Text(" No.").Pad(6).Text("      Time").Pad(GutterWidth);
        }

        int leftAxis = line.Visible + _stateWidth + 1;
        int rightAxis = leftAxis + _arrowWidth + 1;
        line.Pad(Math.Max(line.Visible, leftAxis + 1 - _clientLabel.Length)).Text(_clientLabel).Text(" ");
        line.Pad(rightAxis).Text(_serverLabel);
        output.WriteLine(line.ToString());

        if (clientInitial is not null || serverInitial is not null)
        {
            var states = new Line(_options.Color);
            string c = clientInitial?.ToString() ?? "";
            states.Pad(leftAxis - 1 - c.Length).Text(c).Pad(leftAxis).Text("|").Pad(rightAxis).Text("| ").Text(serverInitial?.ToString() ?? "");
            output.WriteLine(states.ToString());
        }
    }

    /// <summary>Writes one segment: its label line(s), the arrow with state transitions, and the explanation.</summary>
    public void WriteRow(TextWriter output, LadderRow row)
    {
        int gutter = _options.ShowFrameAndTime ? GutterWidth : 0;
        int leftAxis = gutter + _stateWidth + 1;
        int rightAxis = leftAxis + _arrowWidth + 1;
        string flagColor = FlagColor(row);
        bool toRight = row.Sender == LadderSide.Client;

        // Label: expert tags first, like tshark's Info column, then the flags and numbers, wrapped to the arrow.
        var words = new List<(string Text, string? Color)>();
        foreach (var tag in row.Expert)
        {
            words.Add(("[" + tag + "]", Yellow));
        }

        words.Add((FlagList(row.Flags), flagColor));
        words.Add((Numbers(row), null));
        if (row.Payload is not null)
        {
            words.Add(("\"" + row.Payload + "\"", null));
        }

        bool first = true;
        foreach (var chunk in Wrap(words, _arrowWidth - 3))
        {
            var line = new Line(_options.Color);
            if (first && _options.ShowFrameAndTime)
            {
                line.Text(row.Frame.ToString(CultureInfo.InvariantCulture).PadLeft(5)).Text(" ")
                    .Text(SummaryFormatter.FormatSeconds(row.TimeNs, _options.TimeDigits).PadLeft(10));
            }

            first = false;
            int chunkWidth = 0;
            foreach (var (text, _) in chunk)
            {
                chunkWidth += text.Length + (chunkWidth > 0 ? 1 : 0);
            }

            line.Pad(leftAxis).Text("|");
            line.Pad(toRight ? leftAxis + 3 : rightAxis - 2 - chunkWidth);
            for (int i = 0; i < chunk.Count; i++)
            {
                if (i > 0)
                {
                    line.Text(" ");
                }

                line.Colored(chunk[i].Text, chunk[i].Color);
            }

            line.Pad(rightAxis).Text("|");
            output.WriteLine(line.ToString());
        }

        var arrow = new Line(_options.Color);
        string left = Transition(row.ClientBefore, row.ClientAfter);
        string right = Transition(row.ServerBefore, row.ServerAfter);
        arrow.Pad(leftAxis - 1 - left.Length).Text(left).Pad(leftAxis);
        string shaft = new('-', _arrowWidth - 1);
        arrow.Colored(toRight ? "|" + shaft + ">|" : "|<" + shaft + "|", flagColor);
        if (right.Length > 0)
        {
            arrow.Text(" ").Text(right);
        }

        output.WriteLine(arrow.ToString());

        if (row.Explanation is not null)
        {
            foreach (var chunk in Wrap([(row.Explanation, null)], _arrowWidth - 3, splitWords: true))
            {
                var line = new Line(_options.Color);
                line.Pad(leftAxis).Text("|").Pad(leftAxis + 3).Colored(chunk[0].Text, Gray).Pad(rightAxis).Text("|");
                output.WriteLine(line.ToString());
            }
        }
    }

    /// <summary>"CLOSED -> SYN-SENT" when the state changed, the state alone when only the after state is known, "" when unchanged.</summary>
    public static string Transition(EndpointState? before, EndpointState? after)
    {
        if (after is null)
        {
            return "";
        }

        if (before is null)
        {
            return after.Value.ToString();
        }

        return before == after ? "" : before.Value + " -> " + after.Value;
    }

    /// <summary>Wireshark's flag list, e.g. "[SYN, ACK]".</summary>
    public static string FlagList(TcpFlags flags)
    {
        var sb = new StringBuilder(16);
        SummaryFormatter.AppendFlags(sb, flags);
        return sb.ToString();
    }

    /// <summary>"Seq=0 Ack=1 Win=64240 Len=0": tshark's numbers for the segment.</summary>
    public static string Numbers(LadderRow row)
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder(48);
        sb.Append("Seq=").Append(row.Seq.ToString(inv));
        if (row.Ack is uint ack)
        {
            sb.Append(" Ack=").Append(ack.ToString(inv));
        }

        sb.Append(" Win=").Append(row.Window.ToString(inv)).Append(" Len=").Append(row.Length.ToString(inv));
        return sb.ToString();
    }

    /// <summary>The colour of a segment: RST red, SYN green, FIN blue, data white, a bare ACK none.</summary>
    internal static string? FlagColorName(LadderRow row) =>
        (row.Flags & TcpFlags.Rst) != 0 ? "red"
        : (row.Flags & TcpFlags.Syn) != 0 ? "green"
        : (row.Flags & TcpFlags.Fin) != 0 ? "blue"
        : row.Length > 0 ? "white"
        : null;

    private static string FlagColor(LadderRow row) => FlagColorName(row) switch
    {
        "red" => Red,
        "green" => Green,
        "blue" => Blue,
        "white" => White,
        _ => "",
    };

    /// <summary>Greedy word wrap; a word longer than the width gets a line of its own.</summary>
    private static List<List<(string Text, string? Color)>> Wrap(List<(string Text, string? Color)> items, int width, bool splitWords = false)
    {
        var pieces = new List<(string Text, string? Color)>();
        foreach (var item in items)
        {
            if (splitWords || item.Color is null)
            {
                foreach (var w in item.Text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                {
                    pieces.Add((w, item.Color));
                }
            }
            else
            {
                pieces.Add(item);
            }
        }

        var lines = new List<List<(string Text, string? Color)>>();
        var current = new List<(string Text, string? Color)>();
        int used = 0;
        foreach (var p in pieces)
        {
            int need = p.Text.Length + (current.Count > 0 ? 1 : 0);
            if (current.Count > 0 && used + need > width)
            {
                lines.Add(Merge(current));
                current = [];
                used = 0;
                need = p.Text.Length;
            }

            current.Add(p);
            used += need;
        }

        if (current.Count > 0)
        {
            lines.Add(Merge(current));
        }

        return lines;
    }

    /// <summary>Joins neighbouring pieces of the same colour so each is one escape sequence.</summary>
    private static List<(string Text, string? Color)> Merge(List<(string Text, string? Color)> line)
    {
        var merged = new List<(string Text, string? Color)>();
        foreach (var p in line)
        {
            if (merged.Count > 0 && merged[^1].Color == p.Color && p.Color is null)
            {
                merged[^1] = (merged[^1].Text + " " + p.Text, null);
            }
            else
            {
                merged.Add(p);
            }
        }

        return merged;
    }

    /// <summary>A line under construction that knows its visible width (escape sequences take none).</summary>
    private sealed class Line(bool color)
    {
        private readonly StringBuilder _sb = new(160);

        public int Visible { get; private set; }

        public Line Text(string s)
        {
            _sb.Append(s);
            Visible += s.Length;
            return this;
        }

        public Line Colored(string s, string? escape)
        {
            if (color && !string.IsNullOrEmpty(escape))
            {
                _sb.Append(escape).Append(s).Append(Reset);
                Visible += s.Length;
                return this;
            }

            return Text(s);
        }

        /// <summary>Pads with spaces up to a column (0-based); does nothing when already there.</summary>
        public Line Pad(int column)
        {
            if (column > Visible)
            {
                _sb.Append(' ', column - Visible);
                Visible = column;
            }

            return this;
        }

        public override string ToString() => _sb.ToString().TrimEnd(' ');
    }
}
