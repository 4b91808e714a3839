using System.CommandLine;
using TcpKit.Analysis.Fields;
using TcpKit.Analysis.Output.Graphs;

namespace TcpKit.Cli.Commands;

/// <summary><c>tcpkit graph</c>: time-sequence, throughput, RTT and window graphs of one stream, as SVG or PNG.</summary>
internal static class GraphCommand
{
    public static Command Create()
    {
        var file = new Option<string>("--read-file", "-r") { Description = "Capture file to read (pcap or pcapng)", Required = true };
        var stream = new Option<int>("--stream") { Description = "The conversation to draw (tcp.stream)", Required = true };
        var kind = new Option<string>("--kind") { Description = "tsq (time-sequence, Stevens/tcptrace style), throughput, rtt or window", DefaultValueFactory = _ => "tsq" };
        kind.AcceptOnlyFromAmong("tsq", "throughput", "rtt", "window");
        var direction = new Option<string>("--direction") { Description = "Data direction: auto (the side that sent more), client or server", DefaultValueFactory = _ => "auto" };
        direction.AcceptOnlyFromAmong("auto", "client", "server");
        var output = new Option<string>("--output", "-o") { Description = "Output file: .svg (vector) or .png (raster)", Required = true };
        var width = new Option<int>("--width") { Description = "PNG width in pixels", DefaultValueFactory = _ => StreamGraph.DefaultWidth };
        var height = new Option<int>("--height") { Description = "PNG height in pixels", DefaultValueFactory = _ => StreamGraph.DefaultHeight };
        var font = new Option<string?>("--font") { Description = "TrueType/OpenType font file for the PNG's labels (default: DejaVu Sans, Liberation Sans, FreeSans or Noto Sans if installed)" };
        var command = new Command("graph", "Draw a time-sequence, throughput, RTT or window graph of one TCP stream as SVG or PNG") { file, stream, kind, direction, output, width, height, font };
        command.SetAction(parse =>
        {
            string outPath = parse.GetValue(output)!;
            bool png = outPath.EndsWith(".png", StringComparison.OrdinalIgnoreCase);
            if (!png && !outPath.EndsWith(".svg", StringComparison.OrdinalIgnoreCase))
            {
                return Cli.Fail($"name the output file *.svg or *.png (got \"{outPath}\")");
            }

            int w = parse.GetValue(width), h = parse.GetValue(height);
            if (png && (w is < 1 or > 16384 || h is < 1 or > 16384))
            {
                return Cli.Fail($"the PNG size must be 1 to 16384 pixels each way (got {w} x {h})");
            }

            var graph = new StreamGraph(parse.GetValue(stream));
            int rc = ConvCommand.Analyse(parse.GetValue(file)!, (in FieldContext c) => graph.Observe(c));
            if (rc != 0)
            {
                return rc;
            }

            if (graph.Count == 0)
            {
                return Cli.Fail($"there is no TCP stream {parse.GetValue(stream)} in \"{parse.GetValue(file)}\"");
            }

            var k = parse.GetValue(kind) switch
            {
                "throughput" => GraphKind.Throughput,
                "rtt" => GraphKind.RoundTripTime,
                "window" => GraphKind.Window,
                _ => GraphKind.TimeSequence,
            };
            bool? fromInitiator = parse.GetValue(direction) switch { "client" => true, "server" => false, _ => null };
            if (png)
            {
                string? fontPath = parse.GetValue(font);
                if (fontPath is not null && !File.Exists(fontPath))
                {
                    return Cli.Fail($"the font file \"{fontPath}\" does not exist");
                }

                if (fontPath is null && !PngRenderer.HasFont)
                {
                    Console.Error.WriteLine("tcpkit: warning: no font found for the PNG's labels (looked for " +
                        string.Join(", ", PngRenderer.FontsLookedFor.Select(Path.GetFileName).Distinct()) +
                        "); the graph is drawn without text. Install one (Debian/Ubuntu: apt-get install fonts-dejavu-core), name one with --font, or write an .svg.");
                }

                try
                {
                    File.WriteAllBytes(outPath, graph.RenderPng(k, fromInitiator, w, h, fontPath));
                }
                catch (InvalidDataException e)
                {
                    return Cli.Fail(e.Message);
                }
            }
            else
            {
                File.WriteAllText(outPath, graph.RenderSvg(k, fromInitiator));
            }

            return 0;
        });
        return command;
    }
}
