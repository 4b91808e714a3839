using System.CommandLine;
using TcpKit.Analysis.Output.Ladder;
using TcpKit.Wire.Capture;

namespace TcpKit.Cli.Commands;

/// <summary><c>tcpkit ladder</c>: one TCP stream as an annotated sequence diagram with both endpoints' states.</summary>
internal static class LadderCommand
{
    public static Command Create()
    {
        var file = new Option<string>("--read-file", "-r") { Description = "Capture file to read (pcap or pcapng)", Required = true };
        var stream = new Option<int>("--stream") { Description = "The conversation to draw (tcp.stream, as numbered by tshark)", Required = true };
        var svg = new Option<string?>("--svg") { Description = "Also write the ladder as an SVG image to this file" };
        var color = new Option<string>("--color") { Description = "Colour flags: auto (when stdout is a terminal), always or never", DefaultValueFactory = _ => "auto" };
        color.AcceptOnlyFromAmong("auto", "always", "never");
        var width = new Option<int?>("--width") { Description = "Line width (default: the terminal's, or 120)" };
        var max = new Option<int>("--max-rows") { Description = "Draw at most this many segments", DefaultValueFactory = _ => 10_000 };

        var command = new Command("ladder", "Draw one TCP conversation as a ladder diagram: every segment, each endpoint's RFC 9293 state, and what the analysis found")
        {
            file, stream, svg, color, width, max,
        };
        command.SetAction(parse =>
        {
            string path = parse.GetValue(file)!;
            if (!File.Exists(path))
            {
                return Cli.Fail($"the file \"{path}\" does not exist.");
            }

            StreamLadder? ladder;
            try
            {
                using var reader = CaptureReader.Open(path);
                ladder = StreamLadder.FromCapture(reader, parse.GetValue(stream), parse.GetValue(max));
            }
            catch (Exception e) when (e is CaptureFormatException or IOException or UnauthorizedAccessException)
            {
                return Cli.Fail($"cannot read \"{path}\": {e.Message}");
            }

            if (ladder is null)
            {
                return Cli.Fail($"there is no TCP stream {parse.GetValue(stream)} in \"{path}\" (streams are numbered from 0, like tcp.stream)");
            }

            bool useColor = parse.GetValue(color) switch
            {
                "always" => true,
                "never" => false,
                _ => !Console.IsOutputRedirected && Environment.GetEnvironmentVariable("NO_COLOR") is null,
            };
            int lineWidth = parse.GetValue(width) ?? (Console.IsOutputRedirected ? 120 : Math.Max(100, SafeWindowWidth()));
            var text = LadderRenderer.Render(ladder.ClientLabel, ladder.ServerLabel, ladder.Rows, new LadderOptions { Color = useColor, Width = lineWidth });
            using var stdout = new StreamWriter(Console.OpenStandardOutput(), new System.Text.UTF8Encoding(false), 1 << 16);
            stdout.Write(text);
            if (ladder.Truncated)
            {
                Console.Error.WriteLine($"tcpkit: stopped after {ladder.Rows.Count} segments (--max-rows)");
            }

            if (parse.GetValue(svg) is string svgPath)
            {
                File.WriteAllText(svgPath, LadderSvgRenderer.Render(ladder.ClientLabel, ladder.ServerLabel, ladder.Rows));
            }

            return 0;
        });
        return command;
    }

    private static int SafeWindowWidth()
    {
        try
        {
            return Console.WindowWidth;
        }
        catch (IOException)
        {
            return 120;
        }
    }
}
