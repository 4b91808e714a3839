using System.CommandLine;
using System.Globalization;
using TcpKit.Analysis.Output;
using TcpKit.Analysis.Output.Ladder;
using TcpKit.Net.Demo;
using TcpKit.Wire;

namespace TcpKit.Cli.Commands;

/// <summary>
/// <c>tcpkit demo</c>: the classic lesson on the simulated network, as an annotated ladder with both
/// endpoints' states, plus a pcapng that Wireshark opens.
/// </summary>
internal static class DemoCommand
{
    public static Command Create()
    {
        var loss = new Option<double>("--loss") { Description = "Random loss on each direction, in percent (e.g. 20), to see retransmissions" };
        var delay = new Option<double>("--delay") { Description = "One-way delay in milliseconds", DefaultValueFactory = _ => 10 };
        var seed = new Option<ulong>("--seed") { Description = "Seed of the simulated network: the same seed gives the same run", DefaultValueFactory = _ => 1 };
        var clientCloses = new Option<bool>("--client-closes") { Description = "The client closes first instead of the server" };
        var pcap = new Option<string>("--pcap") { Description = "Where to write the capture", DefaultValueFactory = _ => "demo.pcapng" };
        var svg = new Option<string?>("--svg") { Description = "Also write the ladder as SVG" };
        var color = new Option<string>("--color") { Description = "auto (on a terminal), always or never", DefaultValueFactory = _ => "auto" };
        color.AcceptOnlyFromAmong("auto", "always", "never");

        var command = new Command("demo", "The classic lesson: a server on port 9999, a client that sends \"a\" then \"b\", the server closes first; shown as a ladder with both endpoints' TCP states")
        {
            loss, delay, seed, clientCloses, pcap, svg, color,
        };
        command.SetAction(parse =>
        {
            double lossPercent = parse.GetValue(loss);
            if (lossPercent is < 0 or > 100)
            {
                return Cli.Fail("--loss is a percentage between 0 and 100");
            }

            double delayMs = parse.GetValue(delay);
            if (delayMs is < 0 or > 60_000)
            {
                return Cli.Fail("--delay is milliseconds between 0 and 60000");
            }

            var options = new LessonOptions
            {
                Loss = lossPercent / 100,
                Delay = TimeSpan.FromMilliseconds(delayMs),
                Seed = parse.GetValue(seed),
                ClientCloses = parse.GetValue(clientCloses),
                PcapPath = parse.GetValue(pcap),
            };
            bool useColor = parse.GetValue(color) switch
            {
                "always" => true,
                "never" => false,
                _ => !Console.IsOutputRedirected && Environment.GetEnvironmentVariable("NO_COLOR") is null,
            };
            return Run(options, useColor, parse.GetValue(svg));
        });
        return command;
    }

    private static int Run(LessonOptions options, bool color, string? svgPath)
    {
        LessonTrace trace;
        try
        {
            trace = LessonDemo.Run(options);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            return Cli.Fail(e.Message);
        }

        var clientLabel = $"client {trace.ClientAddress}:{trace.ClientPort}";
        var serverLabel = $"server {trace.ServerAddress}:{trace.ServerPort}";
        var rows = ToLadderRows(trace);
        var output = Console.Out;
        output.WriteLine($"The classic lesson on a simulated network (seed {options.Seed}, delay {options.Delay.TotalMilliseconds.ToString(CultureInfo.InvariantCulture)} ms, loss {(options.Loss * 100).ToString(CultureInfo.InvariantCulture)} %):");
        output.WriteLine($"the server listens on port {trace.ServerPort}; the client connects, sends \"a\" then \"b\"; the {(options.ClientCloses ? "client" : "server")} closes first.");
        output.WriteLine();
        output.Write(LadderRenderer.Render(clientLabel, serverLabel, rows, new LadderOptions { Color = color }));

        var start = trace.Steps.Count > 0 ? trace.Steps[0].Time : Instant.Zero;
        foreach (var step in trace.Steps.Where(s => !s.IsSegment))
        {
            var change = step.From == LessonSide.Client ? step.Client : step.Server;
            output.WriteLine($"{SummaryFormatter.FormatSeconds((step.Time - start).Ticks * 100, 6),16}  {(step.From == LessonSide.Client ? "client" : "server")}: {change}. {step.Explanation}");
        }

        if (svgPath is not null)
        {
            File.WriteAllText(svgPath, LadderSvgRenderer.Render(clientLabel, serverLabel, rows));
            output.WriteLine($"Wrote the ladder as SVG to {svgPath}.");
        }

        if (trace.PcapPath is not null)
        {
            output.WriteLine();
            output.WriteLine($"Wrote {trace.PcapPath} ({rows.Count(r => r.Sender == LadderSide.Client || !r.Expert.Contains("lost"))} packets seen at the client, states in the packet comments).");
            output.WriteLine($"Open it in Wireshark, or: tcpkit read -r {trace.PcapPath}");
        }

        return 0;
    }

    /// <summary>The lesson's segments as rows of the analyzer's ladder renderer.</summary>
    internal static List<LadderRow> ToLadderRows(LessonTrace trace)
    {
        var start = trace.Steps.Count > 0 ? trace.Steps[0].Time : Instant.Zero;
        var rows = new List<LadderRow>();
        foreach (var step in trace.Steps.Where(s => s.IsSegment))
        {
            var tags = new List<string>();
            if (step.Retransmission)
            {
                tags.Add("retransmission");
            }

            if (!step.Delivered)
            {
                tags.Add("lost");
            }

            rows.Add(new LadderRow
            {
                Frame = rows.Count + 1,
                TimeNs = (step.Time - start).Ticks * 100,
                Sender = step.From == LessonSide.Client ? LadderSide.Client : LadderSide.Server,
                Flags = step.Flags,
                Seq = step.RelativeSeq,
                Ack = step.RelativeAck,
                Length = step.Length,
                Window = step.Window,
                Payload = step.Payload,
                ClientBefore = new EndpointState(step.Client.Before),
                ClientAfter = new EndpointState(step.Client.After),
                ServerBefore = new EndpointState(step.Server.Before),
                ServerAfter = new EndpointState(step.Server.After),
                Explanation = step.Explanation,
                Expert = tags,
            });
        }

        return rows;
    }
}
