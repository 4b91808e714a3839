using System.Globalization;
using System.Security;
using System.Text;

namespace TcpKit.Analysis.Output.Ladder;

/// <summary>
/// The same ladder as <see cref="LadderRenderer"/> as a standalone SVG image: two time lines, one slanted
/// arrow per segment (the slant is the one-way trip), labels above, explanations below, states beside.
/// </summary>
public static class LadderSvgRenderer
{
    private const int Width = 980;
    private const int LeftAxis = 330;
    private const int RightAxis = 730;
    private const int Top = 70;
    private const int RowHeight = 64;

    public static string Render(string clientLabel, string serverLabel, IReadOnlyList<LadderRow> rows)
    {
        var inv = CultureInfo.InvariantCulture;
        int height = Top + (rows.Count * RowHeight) + 30;
        var sb = new StringBuilder(4096 + (rows.Count * 600));
        sb.Append(inv, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{height}\" viewBox=\"0 0 {Width} {height}\" font-family=\"monospace\" font-size=\"12\">\n");
        sb.Append("<defs>\n");
        foreach (var (name, color) in Palette)
        {
            sb.Append(inv, $"<marker id=\"head-{name}\" markerWidth=\"10\" markerHeight=\"8\" refX=\"9\" refY=\"4\" orient=\"auto\"><path d=\"M0,0 L10,4 L0,8 z\" fill=\"{color}\"/></marker>\n");
        }

        sb.Append("</defs>\n");
        sb.Append(inv, $"<rect width=\"{Width}\" height=\"{height}\" fill=\"white\"/>\n");
        sb.Append(inv, $"<text x=\"{LeftAxis}\" y=\"24\" text-anchor=\"middle\" font-weight=\"bold\">{Escape(clientLabel)}</text>\n");
        sb.Append(inv, $"<text x=\"{RightAxis}\" y=\"24\" text-anchor=\"middle\" font-weight=\"bold\">{Escape(serverLabel)}</text>\n");
        if (rows.Count > 0)
        {
            sb.Append(inv, $"<text x=\"{LeftAxis - 8}\" y=\"{Top - 16}\" text-anchor=\"end\" fill=\"#555\">{Escape(rows[0].ClientBefore?.ToString() ?? "")}</text>\n");
            sb.Append(inv, $"<text x=\"{RightAxis + 8}\" y=\"{Top - 16}\" fill=\"#555\">{Escape(rows[0].ServerBefore?.ToString() ?? "")}</text>\n");
        }

        sb.Append(inv, $"<line x1=\"{LeftAxis}\" y1=\"34\" x2=\"{LeftAxis}\" y2=\"{height - 10}\" stroke=\"#444\" stroke-width=\"2\"/>\n");
        sb.Append(inv, $"<line x1=\"{RightAxis}\" y1=\"34\" x2=\"{RightAxis}\" y2=\"{height - 10}\" stroke=\"#444\" stroke-width=\"2\"/>\n");

        for (int i = 0; i < rows.Count; i++)
        {
            var r = rows[i];
            int y = Top + (i * RowHeight);
            int y1 = y + 14;
            int y2 = y + 34;
            bool toRight = r.Sender == LadderSide.Client;
            int x1 = toRight ? LeftAxis : RightAxis;
            int x2 = toRight ? RightAxis : LeftAxis;
            string name = LadderRenderer.FlagColorName(r) ?? "ack";
            string color = ColorOf(name);

            sb.Append(inv, $"<g class=\"segment\" data-frame=\"{r.Frame}\">\n");
            sb.Append(inv, $"<text x=\"8\" y=\"{y1 + 4}\" fill=\"#777\">{r.Frame} {SummaryFormatter.FormatSeconds(r.TimeNs, 6)}</text>\n");
            sb.Append(inv, $"<line x1=\"{x1}\" y1=\"{y1}\" x2=\"{x2}\" y2=\"{y2}\" stroke=\"{color}\" stroke-width=\"1.6\" marker-end=\"url(#head-{name})\"/>\n");

            var label = new StringBuilder();
            foreach (var tag in r.Expert)
            {
                label.Append("<tspan fill=\"#b8860b\">[").Append(Escape(tag)).Append("]</tspan> ");
            }

            label.Append(inv, $"<tspan fill=\"{color}\" font-weight=\"bold\">{Escape(LadderRenderer.FlagList(r.Flags))}</tspan> ").Append(Escape(LadderRenderer.Numbers(r)));
            if (r.Payload is not null)
            {
                label.Append(" \"").Append(Escape(r.Payload)).Append('"');
            }

            sb.Append(inv, $"<text x=\"{(LeftAxis + RightAxis) / 2}\" y=\"{y + 8}\" text-anchor=\"middle\">{label}</text>\n");

            // A transition happens at the sender when the segment leaves and at the receiver when it arrives.
            string client = LadderRenderer.Transition(r.ClientBefore, r.ClientAfter);
            string server = LadderRenderer.Transition(r.ServerBefore, r.ServerAfter);
            if (client.Length > 0)
            {
                sb.Append(inv, $"<text x=\"{LeftAxis - 8}\" y=\"{(toRight ? y1 : y2) + 4}\" text-anchor=\"end\">{Escape(client)}</text>\n");
            }

            if (server.Length > 0)
            {
                sb.Append(inv, $"<text x=\"{RightAxis + 8}\" y=\"{(toRight ? y2 : y1) + 4}\">{Escape(server)}</text>\n");
            }

            if (r.Explanation is not null)
            {
                sb.Append(inv, $"<text x=\"{(LeftAxis + RightAxis) / 2}\" y=\"{y2 + 18}\" text-anchor=\"middle\" fill=\"#666\" font-style=\"italic\">{Escape(r.Explanation)}</text>\n");
            }

            sb.Append("</g>\n");
        }

        sb.Append("</svg>\n");
        return sb.ToString();
    }

    private static readonly (string Name, string Color)[] Palette =
    [
        ("green", "#2e7d32"), ("blue", "#1565c0"), ("red", "#c62828"), ("white", "#212121"), ("ack", "#757575"),
    ];

    private static string ColorOf(string name)
    {
        foreach (var (n, c) in Palette)
        {
            if (n == name)
            {
                return c;
            }
        }

        return "#757575";
    }

    private static string Escape(string s) => SecurityElement.Escape(s) ?? "";
}
