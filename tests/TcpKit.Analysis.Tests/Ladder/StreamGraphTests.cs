using Process = System.Diagnostics.Process;
using ProcessStartInfo = System.Diagnostics.ProcessStartInfo;
using System.Globalization;
using System.Xml.Linq;
using SkiaSharp;
using TcpKit.Analysis.Output.Graphs;
using TcpKit.Analysis.Tests.Support;
using static TcpKit.Wire.Tcp.TcpFlags;

namespace TcpKit.Analysis.Tests.Ladder;

public class StreamGraphTests
{
    [Fact]
    public void The_time_sequence_graph_draws_the_SYN_and_each_data_segment_retransmissions_in_red_and_the_ACK_and_window_lines()
    {
        var graph = new StreamGraph(0);
        new Trace()
            .Add(0, true, 1000, 0, Syn, 1000)
            .Add(0.01, false, 5000, 1001, Syn | Ack, 1000)
            .Add(0.02, true, 1001, 5001, Ack, 1000)
            .Add(0.03, true, 1001, 5001, Psh | Ack, 1000, 100)
            .Add(0.53, true, 1001, 5001, Psh | Ack, 1000, 100)
            .Add(0.54, false, 5001, 1101, Ack, 1000)
            .Each((in Fields.FieldContext c) => graph.Observe(c));
        var svg = XDocument.Parse(graph.RenderSvg(GraphKind.TimeSequence));
        XNamespace ns = "http://www.w3.org/2000/svg";
        var bars = svg.Descendants(ns + "line").Where(l => (string?)l.Attribute("stroke-width") == "1.5").ToList();
        Assert.Equal(["#1565c0", "#1565c0", "#c62828"], bars.Select(b => (string?)b.Attribute("stroke")));
        Assert.Single(svg.Descendants(ns + "polyline"), p => (string?)p.Attribute("class") == "ACK");
        Assert.Single(svg.Descendants(ns + "polyline"), p => (string?)p.Attribute("class") == "receive window");
    }

    private static StreamGraph Retransmission()
    {
        var graph = new StreamGraph(0);
        new Trace()
            .Add(0, true, 1000, 0, Syn, 1000)
            .Add(0.01, false, 5000, 1001, Syn | Ack, 1000)
            .Add(0.02, true, 1001, 5001, Ack, 1000)
            .Add(0.03, true, 1001, 5001, Psh | Ack, 1000, 400)
            .Add(0.04, true, 1401, 5001, Psh | Ack, 1000, 400)
            .Add(0.53, true, 1001, 5001, Psh | Ack, 1000, 400)
            .Add(0.54, false, 5001, 1801, Ack, 1000)
            .Each((in Fields.FieldContext c) => graph.Observe(c));
        return graph;
    }

    [Theory]
    [InlineData(1000, 600)]
    [InlineData(640, 480)]
    public void The_PNG_has_the_requested_size_and_its_segments_are_drawn_where_the_SVG_puts_them(int width, int height)
    {
        var graph = Retransmission();
        byte[] png = graph.RenderPng(GraphKind.TimeSequence, width: width, height: height);
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A }, png[..8]);
        using var bitmap = SKBitmap.Decode(png);
        Assert.Equal(width, bitmap.Width);
        Assert.Equal(height, bitmap.Height);

        // Each data segment is a vertical bar in the SVG; the same place in the PNG has its colour.
        XNamespace ns = "http://www.w3.org/2000/svg";
        var svg = XDocument.Parse(graph.RenderSvg(GraphKind.TimeSequence));
        var bars = svg.Descendants(ns + "line").Where(l => (string?)l.Attribute("stroke-width") == "1.5").ToList();
        Assert.Equal(4, bars.Count);
        Assert.Equal(3, bars.Count(b => Math.Abs(Coordinate(b, "y1") - Coordinate(b, "y2")) > 4));
        double sx = width / (double)StreamGraph.DefaultWidth, sy = height / (double)StreamGraph.DefaultHeight;
        foreach (var bar in bars.Where(b => Math.Abs(Coordinate(b, "y1") - Coordinate(b, "y2")) > 4))
        {
            double x = Coordinate(bar, "x1") * sx, y = (Coordinate(bar, "y1") + Coordinate(bar, "y2")) / 2 * sy;
            var expected = SKColor.Parse((string)bar.Attribute("stroke")!);
            Assert.True(NearColour(bitmap, (int)Math.Round(x), (int)Math.Round(y), expected), $"no {expected} near ({x:0}, {y:0})");
        }

        // Inside the plot, away from every curve, is background.
        Assert.Equal(SKColors.White, bitmap.GetPixel((int)(300 * sx), (int)(450 * sy)));
    }

    [Fact]
    public void Every_graph_kind_renders_to_a_PNG_with_drawn_pixels()
    {
        var graph = Retransmission();
        foreach (var kind in Enum.GetValues<GraphKind>())
        {
            using var bitmap = SKBitmap.Decode(graph.RenderPng(kind, width: 500, height: 300));
            int coloured = 0;
            for (int y = 0; y < bitmap.Height; y++)
            {
                for (int x = 0; x < bitmap.Width; x++)
                {
                    var p = bitmap.GetPixel(x, y);
                    coloured += p.Blue > p.Red + 60 || p.Red > p.Blue + 60 ? 1 : 0;
                }
            }

            Assert.True(coloured > 20, $"{kind}: only {coloured} coloured pixels");
        }
    }

    /// <summary>The first of the usual fonts installed here, or null.</summary>
    private static string? InstalledFont => PngRenderer.FontsLookedFor.FirstOrDefault(File.Exists);

    [SkippableFact]
    public void Labels_are_drawn_in_the_PNG_with_the_named_font()
    {
        Skip.If(InstalledFont is null, "no TrueType font installed (test.sh installs fonts-dejavu-core)");
        var graph = Retransmission();
        using var bitmap = SKBitmap.Decode(graph.RenderPng(GraphKind.TimeSequence, fontPath: InstalledFont));

        // The title is centred at (500, 24) in 16-pixel type, above the plot (which starts at y = 50): no line
        // is drawn there, so dark pixels in that box can only be its letters.
        int dark = 0;
        for (int y = 8; y < 30; y++)
        {
            for (int x = 380; x < 620; x++)
            {
                var p = bitmap.GetPixel(x, y);
                dark += p.Red + p.Green + p.Blue < 200 ? 1 : 0;
            }
        }

        Assert.True(dark > 100, $"only {dark} dark pixels where the title should be");
    }

    [Fact]
    public void A_file_that_is_no_font_is_refused_with_its_name()
    {
        var notAFont = Path.GetTempFileName();
        try
        {
            File.WriteAllText(notAFont, "not a font");
            var e = Assert.Throws<InvalidDataException>(() => Retransmission().RenderPng(GraphKind.TimeSequence, fontPath: notAFont));
            Assert.Contains(notAFont, e.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(notAFont);
        }
    }

    private static double Coordinate(XElement e, string name) => double.Parse((string)e.Attribute(name)!, CultureInfo.InvariantCulture);

    /// <summary>
    /// Anti-aliasing spreads a thin line over its neighbours and lightens it when scaled down: look within two
    /// pixels for one tinted the same way (blue over red, or red over blue) as the line's colour.
    /// </summary>
    private static bool NearColour(SKBitmap bitmap, int x, int y, SKColor expected)
    {
        for (int dy = -2; dy <= 2; dy++)
        {
            for (int dx = -2; dx <= 2; dx++)
            {
                int px = Math.Clamp(x + dx, 0, bitmap.Width - 1), py = Math.Clamp(y + dy, 0, bitmap.Height - 1);
                var p = bitmap.GetPixel(px, py);
                int tint = p.Blue - p.Red, expectedTint = expected.Blue - expected.Red;
                if (Math.Abs(tint) > 40 && Math.Sign(tint) == Math.Sign(expectedTint))
                {
                    return true;
                }
            }
        }

        return false;
    }

    [SkippableFact]
    public void The_rtt_and_window_graphs_plot_the_values_tshark_computes()
    {
        Skip.If(!TsharkExists(), "needs tshark");
        var trace = new Trace()
            .Add(0, true, 1000, 0, Syn, 1000)
            .Add(0.010, false, 5000, 1001, Syn | Ack, 1200)
            .Add(0.020, true, 1001, 5001, Ack, 1000)
            .Add(0.030, true, 1001, 5001, Psh | Ack, 1000, 300)
            .Add(0.031, true, 1301, 5001, Psh | Ack, 1000, 300)
            .Add(0.045, false, 5001, 1301, Ack, 900)
            .Add(0.052, false, 5001, 1601, Ack, 600)
            .Add(0.060, true, 1601, 5001, Psh | Ack, 1000, 600)
            .Add(0.097, false, 5001, 2201, Ack, 0)
            .Add(0.300, false, 5001, 2201, Ack, 1200);
        var graph = new StreamGraph(0);
        trace.Each((in Fields.FieldContext c) => graph.Observe(c));
        var path = trace.WritePcap();
        try
        {
            var rtt = Tshark(path, "tcp.analysis.ack_rtt && tcp.srcport == 34567", "tcp.analysis.ack_rtt");
            var window = Tshark(path, "tcp.srcport == 34567", "tcp.window_size");
            Assert.Equal(4, rtt.Count);
            AssertSeries(rtt, graph.Series(GraphKind.RoundTripTime));
            AssertSeries(window, graph.Series(GraphKind.Window));
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static void AssertSeries(List<(double Seconds, double Value)> expected, IReadOnlyList<(double Seconds, double Value)> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (int i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].Seconds, actual[i].Seconds, 9);
            Assert.Equal(expected[i].Value, actual[i].Value, 9);
        }
    }

    private static bool TsharkExists() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator).Any(d => File.Exists(Path.Combine(d, "tshark")));

    /// <summary>(tcp.time_relative, field) of the frames <paramref name="filter"/> selects, from tshark.</summary>
    private static List<(double, double)> Tshark(string pcap, string filter, string field)
    {
        var psi = new ProcessStartInfo("tshark") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-r", pcap, "-Y", filter, "-T", "fields", "-e", "tcp.time_relative", "-e", field })
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEnd();
        p.StandardError.ReadToEnd();
        p.WaitForExit();
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split('\t'))
            .Select(f => (double.Parse(f[0], CultureInfo.InvariantCulture), double.Parse(f[1], CultureInfo.InvariantCulture)))
            .ToList();
    }
}
