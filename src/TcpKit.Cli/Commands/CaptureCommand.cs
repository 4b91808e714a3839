using System.CommandLine;
using SharpPcap;
using SharpPcap.LibPcap;
using TcpKit.Analysis;
using TcpKit.Analysis.Conversations;
using TcpKit.Analysis.Fields;
using TcpKit.Analysis.Filters;
using TcpKit.Analysis.Output;
using TcpKit.Analysis.Output.Ladder;
using TcpKit.Wire;
using TcpKit.Wire.Capture;

namespace TcpKit.Cli.Commands;

/// <summary>
/// <c>tcpkit capture -i IFACE [-f BPF] [-Y FILTER] [-w OUT] [-c N] [--ladder]</c>: live capture through libpcap
/// (SharpPcap), each packet run through the analyzer as it arrives and printed as <c>tcpkit read</c> prints a
/// file (relative sequence numbers, analysis flags), or with <c>--ladder</c> drawn as <c>tcpkit ladder</c> draws
/// a stream, row by row. A display filter (-Y, Wireshark syntax) selects what is shown and written.
/// </summary>
internal static class CaptureCommand
{
    public static Command Create()
    {
        var iface = new Option<string?>("--interface", "-i") { Description = "Interface to capture on (e.g. tk0, eth0)" };
        var filter = new Option<string?>("--filter", "-f") { Description = "Capture filter (BPF, as in tcpdump), e.g. \"tcp port 9999\"" };
        var write = new Option<string?>("--write", "-w") { Description = "Also write the packets to this pcapng file" };
        var count = new Option<long>("--count", "-c") { Description = "Stop after this many packets (0: until Ctrl+C)" };
        var list = new Option<bool>("--list-interfaces", "-D") { Description = "List the interfaces libpcap can capture on" };
        var displayFilter = new Option<string?>("--display-filter", "-Y") { Description = "Display filter (Wireshark syntax), e.g. \"tcp.analysis.retransmission\"; only matching packets are shown and written" };
        var ladder = new Option<bool>("--ladder") { Description = "Draw each TCP segment as a ladder row (as tcpkit ladder does), live, with both endpoints' states" };
        var color = new Option<string>("--color") { Description = "Colour in --ladder: auto (when stdout is a terminal), always or never", DefaultValueFactory = _ => "auto" };
        color.AcceptOnlyFromAmong("auto", "always", "never");
        var command = new Command("capture", "Live capture on an interface, analysed as it arrives (libpcap through SharpPcap); Ctrl+C stops")
        {
            iface, filter, displayFilter, write, count, ladder, color, list,
        };
        command.SetAction(parse =>
        {
            DisplayFilter? display = null;
            if (parse.GetValue(displayFilter) is string filterText)
            {
                try
                {
                    display = DisplayFilter.Compile(filterText);
                }
                catch (FilterException e)
                {
                    return Cli.Fail("invalid display filter: " + e.Describe());
                }
            }

            IReadOnlyList<LibPcapLiveDevice> devices;
            try
            {
                devices = [.. LibPcapLiveDeviceList.New()];
            }
            catch (Exception e) when (e is DllNotFoundException or PcapException or TypeInitializationException)
            {
                return Cli.Fail($"libpcap is not available: {e.Message}. Install it (apt install libpcap0.8).");
            }

            if (parse.GetValue(list))
            {
                foreach (var d in devices)
                {
                    Console.Out.WriteLine(string.IsNullOrEmpty(d.Description) ? d.Name : $"{d.Name} ({d.Description})");
                }

                return 0;
            }

            var name = parse.GetValue(iface);
            if (name is null)
            {
                return Cli.Fail("give the interface to capture on with -i (tcpkit capture -D lists them)");
            }

            var device = devices.FirstOrDefault(d => d.Name == name);
            if (device is null)
            {
                return Cli.Fail($"no interface named {name} (tcpkit capture -D lists them)");
            }

            long limit = parse.GetValue(count);
            if (limit < 0)
            {
                return Cli.Fail("--count must not be negative");
            }

            LiveLadder? live = null;
            if (parse.GetValue(ladder))
            {
                bool useColor = parse.GetValue(color) switch
                {
                    "always" => true,
                    "never" => false,
                    _ => !Console.IsOutputRedirected && Environment.GetEnvironmentVariable("NO_COLOR") is null,
                };
                live = new LiveLadder(new LadderOptions { Color = useColor, Width = Console.IsOutputRedirected ? 120 : Math.Max(100, SafeWindowWidth()), StateWidth = LiveLadder.StateWidth });
            }

            return Run(device, parse.GetValue(filter), display, live, parse.GetValue(write), limit);
        });
        return command;
    }

    private static int Run(LibPcapLiveDevice device, string? filter, DisplayFilter? display, LiveLadder? ladder, string? writePath, long limit)
    {
        try
        {
            // Immediate mode: each packet is handed over as it arrives, so the lines appear live.
            device.Open(new DeviceConfiguration { Mode = DeviceModes.Promiscuous, ReadTimeout = 100, Immediate = true, Snaplen = 262144 });
        }
        catch (PcapException e)
        {
            return Cli.Fail($"cannot capture on {device.Name}: {e.Message}. Capturing needs root or CAP_NET_RAW.");
        }

        using (device)
        {
            if (filter is not null)
            {
                try
                {
                    device.Filter = filter;
                }
                catch (PcapException e)
                {
                    return Cli.Fail($"bad capture filter \"{filter}\": {e.Message}");
                }
            }

            var link = ToLinkType((int)device.LinkType);
            PcapngWriter? writer = null;
            int writerInterface = 0;
            if (writePath is not null)
            {
                try
                {
                    writer = PcapngWriter.Create(writePath);
                    writerInterface = writer.AddInterface(link, name: device.Name);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    return Cli.Fail($"cannot write {writePath}: {e.Message}");
                }
            }

            using var stop = new CancellationTokenSource();
            void OnCancel(object? sender, ConsoleCancelEventArgs e)
            {
                e.Cancel = true;
                stop.Cancel();
            }

            Console.CancelKeyPress += OnCancel;
            var output = Console.Out;
            Console.Error.WriteLine($"Capturing on {device.Name}{(filter is null ? string.Empty : $" ({filter})")}{(display is null ? string.Empty : $", showing {display.Text}")}; Ctrl+C stops");
            var analyzer = new LiveAnalyzer(link);
            var printer = new SummaryPrinter();
            long shown = 0;
            try
            {
                while (!stop.IsCancellationRequested && (limit == 0 || analyzer.Count < limit))
                {
                    var status = device.GetNextPacket(out PacketCapture capture);
                    if (status == GetPacketStatus.ReadTimeout)
                    {
                        continue;
                    }

                    if (status != GetPacketStatus.PacketRead)
                    {
                        break; // the interface went away (e.g. a TUN device whose program exited)
                    }

                    var time = capture.Header.Timeval;
                    long ns = ((long)time.Seconds * 1_000_000_000) + ((long)time.MicroSeconds * 1000);
                    var data = capture.Data;
                    var context = analyzer.Next(data, ns);
                    if (display is not null && !display.Matches(context))
                    {
                        continue;
                    }

                    shown++;
                    if (ladder is null)
                    {
                        output.WriteLine(printer.Format(context, 6));
                    }
                    else
                    {
                        ladder.Write(output, context);
                    }

                    output.Flush();
                    writer?.WritePacket(writerInterface, ns, data);
                }
            }
            finally
            {
                Console.CancelKeyPress -= OnCancel;
                writer?.Dispose();
            }

            Console.Error.WriteLine($"{analyzer.Count} packets captured" + (display is null ? string.Empty : $", {shown} shown") + (writePath is null ? string.Empty : $", {(display is null ? string.Empty : "those ")}written to {writePath}"));
            return 0;
        }
    }

    /// <summary>
    /// What <see cref="CapturePipeline"/> does for a file, for packets that arrive one by one from libpcap:
    /// decode, assign to a conversation, keep the capture-relative clock.
    /// </summary>
    private sealed class LiveAnalyzer(LinkType link)
    {
        private readonly ConversationTracker _tracker = new();
        private long _first = long.MinValue;
        private long _previous;

        public long Count { get; private set; }

        public FieldContext Next(ReadOnlySpan<byte> data, long timestampNs)
        {
            Count++;
            if (_first == long.MinValue)
            {
                _first = timestampNs;
                _previous = timestampNs;
            }

            var status = PacketDecoder.Decode(link, data, out var decoded);
            var analysis = status == DecodeStatus.Ok ? _tracker.Observe(decoded, data, Count, timestampNs, data.Length) : default;
            long delta = timestampNs - _previous;
            _previous = timestampNs;
            return new FieldContext(data, link, Count, data.Length, timestampNs - _first, delta, status, decoded, analysis);
        }
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

    /// <summary>pcap_datalink() gives DLT_ values; the few that differ from LINKTYPE_ values are mapped here.</summary>
    private static LinkType ToLinkType(int dlt) => dlt switch
    {
        12 or 14 => LinkType.Raw, // DLT_RAW (Linux 12, some BSDs 14): what a TUN interface gives
        _ => (LinkType)dlt,
    };
}
