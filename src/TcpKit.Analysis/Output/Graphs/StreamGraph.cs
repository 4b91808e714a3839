using System.Globalization;
using System.Text;
using TcpKit.Analysis.Conversations;
using TcpKit.Analysis.Fields;
using TcpKit.Wire.Tcp;

namespace TcpKit.Analysis.Output.Graphs;

/// <summary>The graphs <c>tcpkit graph</c> draws for one direction of one stream.</summary>
public enum GraphKind
{
    /// <summary>Stevens/tcptrace time-sequence graph: segments, the ACK line, the receive window, SACK blocks, retransmissions.</summary>
    TimeSequence,

    /// <summary>Goodput of the data direction over time.</summary>
    Throughput,

    /// <summary>tcp.analysis.ack_rtt of each acknowledged segment.</summary>
    RoundTripTime,

    /// <summary>The receiver's advertised window and the sender's bytes in flight.</summary>
    Window,
}

/// <summary>
/// Collects one TCP stream's segments (data one way, ACKs the other) and draws them as a standalone SVG.
/// The data direction is the side that sent more payload unless chosen.
/// </summary>
public sealed class StreamGraph
{
    private readonly int _stream;
    private readonly List<Point> _points = [];
    private readonly List<SackBar> _sacks = [];

    public StreamGraph(int stream) => _stream = stream;

    private readonly record struct Point(long TimeNs, bool FromInitiator, uint Seq, int Length, uint Ack, long Window, bool Retransmitted, long RttNs, long BytesInFlight, bool Syn, bool Fin);

    /// <summary>One SACK block (RFC 2018) of an ACK, in the data sender's relative sequence numbers.</summary>
    private readonly record struct SackBar(long TimeNs, bool FromInitiator, uint Left, uint Right);

    /// <summary>Segments recorded so far.</summary>
    public int Count => _points.Count;

    public void Observe(in FieldContext c)
    {
        if (!c.HasTcp || c.Analysis.Conversation.StreamIndex != _stream)
        {
            return;
        }

        var a = c.Analysis;
        var p = c.Decoded;
        var rev = a.Conversation.Directions[1 - a.Direction];
        foreach (var o in p.GetTcpOptions(c.Frame))
        {
            if (o.Kind == TcpOptionKind.Sack && !o.IsMalformed)
            {
                for (int i = 0; i < o.SackBlockCount; i++)
                {
                    var b = o.GetSackBlock(i);
                    _sacks.Add(new SackBar(a.TimeRelativeNs, a.Direction == 0, b.Left.RelativeTo(rev.BaseSeq), b.Right.RelativeTo(rev.BaseSeq)));
                }
            }
        }

        _points.Add(new Point(a.TimeRelativeNs, a.Direction == 0, a.RelativeSeq, a.Length, (p.Flags & TcpFlags.Ack) != 0 ? a.RelativeAck : 0, a.Window,
            (a.Flags & (AnalysisFlags.Retransmission | AnalysisFlags.FastRetransmission | AnalysisFlags.SpuriousRetransmission)) != 0,
            a.AcksFrame != 0 ? a.AckRttNs : 0, a.BytesInFlight, (p.Flags & TcpFlags.Syn) != 0, (p.Flags & TcpFlags.Fin) != 0));
    }

    /// <summary>The SVG's size in pixels, and the PNG's unless asked otherwise.</summary>
    public const int DefaultWidth = 1000, DefaultHeight = 600;

    /// <summary>
    /// The same graph as <see cref="RenderSvg"/>, as a PNG file's bytes of <paramref name="width"/> x <paramref name="height"/>
    /// pixels, labelled with the font in <paramref name="fontPath"/> or a usual one found on the machine.
    /// </summary>
    public byte[] RenderPng(GraphKind kind, bool? fromInitiator = null, int width = DefaultWidth, int height = DefaultHeight, string? fontPath = null) =>
        PngRenderer.Render(RenderSvg(kind, fromInitiator), width, height, fontPath);

    /// <summary>
    /// The numbers a graph plots, as (seconds since the stream began, value): the data segments' relative
    /// sequence numbers (tsq), goodput in bytes/s per time bin (throughput), each ACK's RTT in seconds
    /// (tcp.analysis.ack_rtt), or the receiver's advertised window in bytes (tcp.window_size).
    /// </summary>
    public IReadOnlyList<(double Seconds, double Value)> Series(GraphKind kind, bool? fromInitiator = null)
    {
        bool dataA = DataFromInitiator(fromInitiator);
        var series = new List<(double, double)>();
        if (kind == GraphKind.Throughput)
        {
            foreach (var (t, rate) in Goodput(dataA))
            {
                series.Add((t / 1e9, rate));
            }

            return series;
        }

        foreach (var p in _points)
        {
            switch (kind)
            {
                case GraphKind.TimeSequence when p.FromInitiator == dataA && (p.Length > 0 || p.Syn || p.Fin):
                    series.Add((p.TimeNs / 1e9, p.Seq));
                    break;
                case GraphKind.RoundTripTime when p.FromInitiator != dataA && p.RttNs > 0:
                    series.Add((p.TimeNs / 1e9, p.RttNs / 1e9));
                    break;
                case GraphKind.Window when p.FromInitiator != dataA:
                    series.Add((p.TimeNs / 1e9, p.Window));
                    break;
            }
        }

        return series;
    }

    /// <summary>The data direction: as chosen, or the side that sent more payload.</summary>
    private bool DataFromInitiator(bool? fromInitiator)
    {
        long bytesA = 0, bytesB = 0;
        foreach (var p in _points)
        {
            if (p.FromInitiator)
            {
                bytesA += p.Length;
            }
            else
            {
                bytesB += p.Length;
            }
        }

        return fromInitiator ?? bytesA >= bytesB;
    }

    /// <summary>Payload bytes first sent (retransmissions left out) per bin of 1 ms or 1/100 of the stream, as bytes/s at the bin centre.</summary>
    private List<(long TimeNs, double Rate)> Goodput(bool dataA)
    {
        long end = _points.Count > 0 ? _points[^1].TimeNs : 0;
        long bin = Math.Max(1_000_000, end / 100);
        var bins = new double[(end / bin) + 1];
        foreach (var p in _points)
        {
            if (p.FromInitiator == dataA && !p.Retransmitted)
            {
                bins[p.TimeNs / bin] += p.Length;
            }
        }

        var line = new List<(long, double)>(bins.Length);
        for (int i = 0; i < bins.Length; i++)
        {
            line.Add(((i * bin) + (bin / 2), bins[i] * 1e9 / bin));
        }

        return line;
    }

    /// <summary>Draws the graph; <paramref name="fromInitiator"/> picks the data direction (null: the one with more payload).</summary>
    public string RenderSvg(GraphKind kind, bool? fromInitiator = null)
    {
        bool dataA = DataFromInitiator(fromInitiator);
        var svg = new Svg(kind switch
        {
            GraphKind.TimeSequence => $"Time-sequence graph (stream {_stream})",
            GraphKind.Throughput => $"Throughput (stream {_stream})",
            GraphKind.RoundTripTime => $"Round-trip time (stream {_stream})",
            _ => $"Window and bytes in flight (stream {_stream})",
        });
        switch (kind)
        {
            case GraphKind.TimeSequence:
                TimeSequence(svg, dataA);
                break;
            case GraphKind.Throughput:
                Throughput(svg, dataA);
                break;
            case GraphKind.RoundTripTime:
                Rtt(svg, dataA);
                break;
            default:
                WindowGraph(svg, dataA);
                break;
        }

        return svg.ToString();
    }

    private void TimeSequence(Svg svg, bool dataA)
    {
        svg.YLabel = "relative sequence number (bytes)";
        foreach (var p in _points)
        {
            svg.Extend(p.TimeNs, p.FromInitiator == dataA ? p.Seq + (uint)p.Length : p.Ack + p.Window);
        }

        var ackLine = new List<(long, double)>();
        var windowLine = new List<(long, double)>();
        foreach (var p in _points)
        {
            if (p.FromInitiator == dataA)
            {
                if (p.Length > 0 || p.Syn || p.Fin)
                {
                    // A segment is an I-beam from its first to its last byte; retransmissions in red.
                    svg.Bar(p.TimeNs, p.Seq, p.Seq + (uint)Math.Max(p.Length, 1), p.Retransmitted ? "#c62828" : "#1565c0");
                }
            }
            else if (p.Ack != 0)
            {
                // The ACK line and, above it, the right edge of the receive window (ACK + window, RFC 9293 3.8.6).
                ackLine.Add((p.TimeNs, p.Ack));
                windowLine.Add((p.TimeNs, p.Ack + (double)p.Window));
            }
        }

        foreach (var sack in _sacks)
        {
            if (sack.FromInitiator != dataA)
            {
                svg.Bar(sack.TimeNs, sack.Left, sack.Right, "#8e24aa");
            }
        }

        svg.Steps(ackLine, "#2e7d32", "ACK");
        svg.Steps(windowLine, "#f9a825", "receive window");
        svg.Legend(("data", "#1565c0"), ("retransmission", "#c62828"), ("SACK block", "#8e24aa"), ("ACK", "#2e7d32"), ("receive window", "#f9a825"));
    }

    private void Throughput(Svg svg, bool dataA)
    {
        svg.YLabel = "goodput (bytes/s)";
        var line = Goodput(dataA);
        svg.Extend(0, 0);
        foreach (var (t, rate) in line)
        {
            svg.Extend(t, rate);
        }

        svg.Line(line, "#1565c0");
        svg.Legend(("goodput", "#1565c0"));
    }

    private void Rtt(Svg svg, bool dataA)
    {
        svg.YLabel = "RTT (ms)";
        svg.Extend(0, 0);
        foreach (var p in _points)
        {
            if (p.FromInitiator != dataA && p.RttNs > 0)
            {
                svg.Extend(p.TimeNs, p.RttNs / 1e6);
            }
        }

        foreach (var p in _points)
        {
            if (p.FromInitiator != dataA && p.RttNs > 0)
            {
                svg.Dot(p.TimeNs, p.RttNs / 1e6, "#1565c0");
            }
        }

        svg.Legend(("ack_rtt", "#1565c0"));
    }

    private void WindowGraph(Svg svg, bool dataA)
    {
        svg.YLabel = "bytes";
        svg.Extend(0, 0);
        var window = new List<(long, double)>();
        foreach (var p in _points)
        {
            if (p.FromInitiator != dataA)
            {
                window.Add((p.TimeNs, p.Window));
                svg.Extend(p.TimeNs, p.Window);
            }
            else if (p.BytesInFlight > 0)
            {
                svg.Extend(p.TimeNs, p.BytesInFlight);
            }
        }

        svg.Steps(window, "#f9a825", "window");
        foreach (var p in _points)
        {
            if (p.FromInitiator == dataA && p.BytesInFlight > 0)
            {
                svg.Dot(p.TimeNs, p.BytesInFlight, "#1565c0");
            }
        }

        svg.Legend(("receive window", "#f9a825"), ("bytes in flight", "#1565c0"));
    }

    /// <summary>A small SVG plot: time on x (seconds), a value on y, axes with five ticks each.</summary>
    private sealed class Svg(string title)
    {
        private const int W = DefaultWidth, H = DefaultHeight, Left = 90, Right = 30, Top = 50, Bottom = 60;
        private readonly StringBuilder _body = new();
        private long _maxT = 1;
        private double _minY = double.MaxValue, _maxY = double.MinValue;

        public string YLabel { get; set; } = "";

        public void Extend(long t, double y)
        {
            _maxT = Math.Max(_maxT, t);
            _minY = Math.Min(_minY, y);
            _maxY = Math.Max(_maxY, y);
        }

        private double X(long t) => Left + ((W - Left - Right) * (double)t / _maxT);

        private double Y(double v) => H - Bottom - ((H - Top - Bottom) * (v - MinY) / Math.Max(1e-9, _maxY - MinY));

        private double MinY => _minY == double.MaxValue ? 0 : _minY;

        private readonly List<Action<StringBuilder>> _deferred = [];

        public void Bar(long t, double from, double to, string color) =>
            _deferred.Add(sb => sb.Append(CultureInfo.InvariantCulture, $"<line x1=\"{X(t):0.#}\" y1=\"{Y(from):0.#}\" x2=\"{X(t):0.#}\" y2=\"{Y(to):0.#}\" stroke=\"{color}\" stroke-width=\"1.5\"/>\n"));

        public void Dot(long t, double v, string color) =>
            _deferred.Add(sb => sb.Append(CultureInfo.InvariantCulture, $"<circle cx=\"{X(t):0.#}\" cy=\"{Y(v):0.#}\" r=\"2\" fill=\"{color}\"/>\n"));

        public void Line(List<(long T, double V)> points, string color) =>
            _deferred.Add(sb =>
            {
                sb.Append("<polyline fill=\"none\" stroke=\"").Append(color).Append("\" stroke-width=\"1.5\" points=\"");
                foreach (var (t, v) in points)
                {
                    sb.Append(CultureInfo.InvariantCulture, $"{X(t):0.#},{Y(v):0.#} ");
                }

                sb.Append("\"/>\n");
            });

        public void Steps(List<(long T, double V)> points, string color, string name) =>
            _deferred.Add(sb =>
            {
                if (points.Count == 0)
                {
                    return;
                }

                sb.Append("<polyline class=\"").Append(name).Append("\" fill=\"none\" stroke=\"").Append(color).Append("\" stroke-width=\"1.2\" points=\"");
                double? last = null;
                foreach (var (t, v) in points)
                {
                    if (last is double l)
                    {
                        sb.Append(CultureInfo.InvariantCulture, $"{X(t):0.#},{Y(l):0.#} ");
                    }

                    sb.Append(CultureInfo.InvariantCulture, $"{X(t):0.#},{Y(v):0.#} ");
                    last = v;
                }

                sb.Append("\"/>\n");
            });

        private readonly List<(string, string)> _legend = [];

        public void Legend(params (string Name, string Color)[] items) => _legend.AddRange(items);

        /// <summary>A round step that cuts <paramref name="range"/> into about five parts.</summary>
        private static double NiceStep(double range)
        {
            if (!(range > 0))
            {
                return 1;
            }

            double raw = range / 5;
            double power = Math.Pow(10, Math.Floor(Math.Log10(raw)));
            double m = raw / power;
            return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * power;
        }

        /// <summary>A tick label: 0.25, 1500, 2.5k, 1.2M, 3G.</summary>
        private static string Short(double v)
        {
            var inv = CultureInfo.InvariantCulture;
            double a = Math.Abs(v);
            return a >= 1e9 ? (v / 1e9).ToString("0.##", inv) + "G"
                : a >= 1e6 ? (v / 1e6).ToString("0.##", inv) + "M"
                : a >= 1e4 ? (v / 1e3).ToString("0.##", inv) + "k"
                : v.ToString("0.####", inv);
        }

        public override string ToString()
        {
            var inv = CultureInfo.InvariantCulture;
            var sb = new StringBuilder();
            sb.Append(inv, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\" font-family=\"sans-serif\" font-size=\"12\">\n");
            sb.Append(inv, $"<rect width=\"{W}\" height=\"{H}\" fill=\"white\"/>\n");
            sb.Append(inv, $"<text x=\"{W / 2}\" y=\"24\" text-anchor=\"middle\" font-size=\"16\">{System.Security.SecurityElement.Escape(title)}</text>\n");
            // Ticks at round values (1, 2 or 5 times a power of ten), with a light grid line each.
            double tStep = NiceStep(_maxT / 1e9);
            for (double ts = 0; ts <= (_maxT / 1e9) + (tStep / 1000); ts += tStep)
            {
                double x = X((long)Math.Round(ts * 1e9));
                sb.Append(inv, $"<line x1=\"{x:0.#}\" y1=\"{Top}\" x2=\"{x:0.#}\" y2=\"{H - Bottom + 4}\" stroke=\"#e0e0e0\" stroke-width=\"0.8\"/>\n");
                sb.Append(inv, $"<text x=\"{x:0.#}\" y=\"{H - Bottom + 18}\" text-anchor=\"middle\">{Short(ts)}</text>\n");
            }

            double maxY = _maxY == double.MinValue ? 0 : _maxY;
            double yStep = NiceStep(maxY - MinY);
            for (double v = Math.Ceiling(MinY / yStep) * yStep; v <= maxY + (yStep / 1000); v += yStep)
            {
                sb.Append(inv, $"<line x1=\"{Left - 4}\" y1=\"{Y(v):0.#}\" x2=\"{W - Right}\" y2=\"{Y(v):0.#}\" stroke=\"#e0e0e0\" stroke-width=\"0.8\"/>\n");
                sb.Append(inv, $"<text x=\"{Left - 6}\" y=\"{Y(v) + 4:0.#}\" text-anchor=\"end\">{Short(v)}</text>\n");
            }

            sb.Append(inv, $"<line x1=\"{Left}\" y1=\"{H - Bottom}\" x2=\"{W - Right}\" y2=\"{H - Bottom}\" stroke=\"#333\"/>\n");
            sb.Append(inv, $"<line x1=\"{Left}\" y1=\"{Top}\" x2=\"{Left}\" y2=\"{H - Bottom}\" stroke=\"#333\"/>\n");
            sb.Append(inv, $"<text x=\"{W / 2}\" y=\"{H - 16}\" text-anchor=\"middle\">time (s)</text>\n");
            sb.Append(inv, $"<text x=\"16\" y=\"{H / 2}\" text-anchor=\"middle\" transform=\"rotate(-90 16 {H / 2})\">{System.Security.SecurityElement.Escape(YLabel)}</text>\n");
            foreach (var d in _deferred)
            {
                d(sb);
            }

            int lx = Left + 10;
            foreach (var (name, color) in _legend)
            {
                sb.Append(inv, $"<rect x=\"{lx}\" y=\"{Top - 14}\" width=\"10\" height=\"10\" fill=\"{color}\"/><text x=\"{lx + 14}\" y=\"{Top - 5}\">{name}</text>\n");
                lx += 28 + (int)(name.Length * 7.5);
            }

            sb.Append("</svg>\n");
            return sb.ToString();
        }
    }
}
