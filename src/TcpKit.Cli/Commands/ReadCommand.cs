using System.CommandLine;
using System.Runtime.CompilerServices;
using TcpKit.Analysis;
using TcpKit.Analysis.Filters;
using TcpKit.Analysis.Output;
using TcpKit.Wire;
using TcpKit.Wire.Capture;

namespace TcpKit.Cli.Commands;

/// <summary><c>tcpkit read</c>: tshark-style one-line summaries of a capture, or a copy of it with -w.</summary>
internal static class ReadCommand
{
    public static Command Create()
    {
        var file = new Option<string>("--read-file", "-r") { Description = "Capture file to read (pcap or pcapng)", Required = true };
        var count = new Option<long?>("--count", "-c") { Description = "Stop after N packets" };
        var write = new Option<string?>("--write-file", "-w") { Description = "Write the packets read to this file instead of printing them" };
        var format = new Option<string>("--format", "-F") { Description = "Output file format for -w: pcapng (default) or pcap", DefaultValueFactory = _ => "pcapng" };
        format.AcceptOnlyFromAmong("pcap", "pcapng");
        var print = new Option<bool>("--print", "-P") { Description = "Print summaries even when writing with -w" };
        var lenient = new Option<bool>("--lenient") { Description = "Skip and count damaged records instead of stopping at the first one" };
        var output = new Option<string>("-T") { Description = "Output: text (one summary line per packet, the default), fields (with -e), json or ek (with -e, as tshark prints them)", DefaultValueFactory = _ => "text" };
        output.AcceptOnlyFromAmong("text", "fields", "json", "ek");
        var fields = new Option<string[]>("-e") { Description = "A field to print with -T fields (repeatable), named as in Wireshark, e.g. tcp.seq", AllowMultipleArgumentsPerToken = false };
        var fieldOptions = new Option<string[]>("-E") { Description = "Field output options: header=y|n, separator=/t|/s|CHAR" };
        var displayFilter = new Option<string?>("--display-filter", "-Y") { Description = "Only packets matching this Wireshark display filter, e.g. \"tcp.analysis.retransmission && tcp.port == 443\"" };

        var command = new Command("read", "Print one line per packet, as tshark does, with relative sequence numbers per TCP connection")
        {
            file, count, write, format, print, lenient, output, fields, fieldOptions, displayFilter,
        };
        command.SetAction(parse =>
        {
            DisplayFilter? filter = null;
            if (parse.GetValue(displayFilter) is string filterText)
            {
                try
                {
                    filter = DisplayFilter.Compile(filterText);
                }
                catch (FilterException e)
                {
                    return Cli.Fail("invalid display filter: " + e.Describe());
                }
            }

            FieldsPrinter? fieldsPrinter = null;
            JsonPrinter? jsonPrinter = null;
            bool header = false;
            if (parse.GetValue(output) is "json" or "ek")
            {
                try
                {
                    jsonPrinter = new JsonPrinter(parse.GetValue(fields) ?? [], parse.GetValue(output) == "ek");
                }
                catch (ArgumentException e)
                {
                    return Cli.Fail(e.Message);
                }
            }

            if (parse.GetValue(output) == "fields")
            {
                string separator = "\t";
                foreach (var e in parse.GetValue(fieldOptions) ?? [])
                {
                    var (key, value) = e.IndexOf('=', StringComparison.Ordinal) is int i and >= 0 ? (e[..i], e[(i + 1)..]) : (e, "");
                    switch (key)
                    {
                        case "header":
                            header = value is "y" or "yes";
                            break;
                        case "separator":
                            separator = value switch { "/t" => "\t", "/s" => " ", _ => value };
                            break;
                        default:
                            return Cli.Fail($"unknown -E option \"{e}\" (known: header=y|n, separator=/t|/s|CHAR)");
                    }
                }

                var names = parse.GetValue(fields) ?? [];
                if (names.Length == 0)
                {
                    return Cli.Fail("-T fields needs at least one -e FIELD");
                }

                try
                {
                    fieldsPrinter = new FieldsPrinter(names, separator);
                }
                catch (ArgumentException e)
                {
                    return Cli.Fail(e.Message);
                }
            }

            return Run(
                parse.GetValue(file)!,
                parse.GetValue(count),
                parse.GetValue(write),
                parse.GetValue(format)!,
                parse.GetValue(print),
                parse.GetValue(lenient),
                fieldsPrinter,
                header,
                filter,
                jsonPrinter);
        });
        return command;
    }

    // Runs once per frame in a process that usually lives for one capture: compile it optimized at once
    // rather than through tier-0 and PGO-instrumented code first.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int Run(string path, long? maxCount, string? writePath, string format, bool alsoPrint, bool lenient, FieldsPrinter? fieldsPrinter, bool header, DisplayFilter? filter, JsonPrinter? jsonPrinter)
    {
        if (!File.Exists(path))
        {
            return Cli.Fail($"the file \"{path}\" does not exist.");
        }

        CaptureReader reader;
        try
        {
            reader = ConvCommand.OpenForAnalysis(path, lenient);
        }
        catch (Exception e) when (e is CaptureFormatException or IOException or UnauthorizedAccessException)
        {
            return Cli.Fail($"cannot read \"{path}\": {e.Message}");
        }

        using (reader)
        {
            using var stdout = new StreamWriter(Console.OpenStandardOutput(), new System.Text.UTF8Encoding(false), 1 << 16);
            using var sink = writePath is null ? null : CaptureSink.Create(writePath, format, reader);
            bool printLines = sink is null || alsoPrint;
            var pipeline = new CapturePipeline();
            // Connection states feed only the tcpkit.* fields: summaries and the tcp.* fields never read them, so
            // they are skipped unless the filter or the printed fields name one (JSON prints every field).
            pipeline.Tracker.TrackConnectionStates = jsonPrinter is not null
                || filter?.NamesTcpKitFields == true
                || fieldsPrinter?.Header.Contains("tcpkit", StringComparison.OrdinalIgnoreCase) == true;
            var summary = new SummaryPrinter();
            // Lines printed to the same terminal would be torn by the progress line: show it only when they go elsewhere.
            var progress = printLines && !Console.IsOutputRedirected ? null : ConvCommand.StderrProgress(reader, path);
            if (printLines && fieldsPrinter is not null && header)
            {
                stdout.WriteLine(fieldsPrinter.Header);
            }

            try
            {
                while ((maxCount is null || pipeline.Count < maxCount) && reader.TryRead(out var packet))
                {
                    progress?.Report(reader.Position, pipeline.Count + 1);
                    var context = pipeline.Next(packet);
                    if (filter is not null && !filter.Matches(context))
                    {
                        continue;
                    }

                    sink?.Write(packet);
                    if (!printLines)
                    {
                        continue;
                    }

                    if (jsonPrinter is not null)
                    {
                        stdout.Write(jsonPrinter.Format(context, packet.TimestampNs));
                    }
                    else if (fieldsPrinter is not null)
                    {
                        stdout.WriteLine(fieldsPrinter.Format(context));
                    }
                    else
                    {
                        int digits = SummaryFormatter.DigitsForResolution(reader.Interfaces[packet.InterfaceIndex].TimestampResolution);
                        stdout.WriteLine(summary.Format(context, digits));
                    }
                }
            }
            catch (CaptureFormatException e)
            {
                progress?.Finish();
                if (jsonPrinter is not null && printLines)
                {
                    stdout.Write(jsonPrinter.End());
                }

                stdout.Flush();
                return Cli.Fail($"\"{path}\" is damaged: {e.Message} (use --lenient to skip damaged records)");
            }

            progress?.Finish();
            if (jsonPrinter is not null && printLines)
            {
                stdout.Write(jsonPrinter.End());
            }

            if (reader.Counters.TotalSkipped > 0)
            {
                Console.Error.WriteLine($"tcpkit: skipped {reader.Counters.TotalSkipped} damaged record(s) in \"{path}\"; last: {reader.Counters.LastSkipMessage}");
            }
        }

        return 0;
    }

    /// <summary>
    /// Copies packets to a pcap or pcapng file, keeping each packet's interface (link type, snaplen and
    /// timestamp resolution). pcapng interfaces are only known once their blocks are read, so the pcap
    /// writer is created from the first packet's interface.
    /// </summary>
    private sealed class CaptureSink : IDisposable
    {
        private readonly string _path;
        private readonly PcapngWriter? _ng;
        private readonly CaptureReader _reader;
        private readonly Dictionary<int, int> _interfaceMap = [];
        private PcapWriter? _pcap;

        private CaptureSink(string path, PcapngWriter? ng, CaptureReader reader)
        {
            _path = path;
            _ng = ng;
            _reader = reader;
        }

        public static CaptureSink Create(string path, string format, CaptureReader reader) =>
            format == "pcap" ? new CaptureSink(path, null, reader) : new CaptureSink(path, PcapngWriter.Create(path), reader);

        public void Write(in CapturedPacket packet)
        {
            var itf = _reader.Interfaces[packet.InterfaceIndex];
            int snap = (int)Math.Min(itf.SnapLength == 0 ? CaptureReadOptions.MaxCapturedLength : itf.SnapLength, CaptureReadOptions.MaxCapturedLength);
            if (_ng is null)
            {
                _pcap ??= PcapWriter.Create(_path, itf.LinkType, snap, itf.TimestampResolution >= 7 ? PcapTimestampPrecision.Nanoseconds : PcapTimestampPrecision.Microseconds);
                if (packet.LinkType != _pcap.LinkType)
                {
                    throw new InvalidOperationException($"pcap holds one link type; packet {packet.Ordinal + 1} has {packet.LinkType}. Use -F pcapng.");
                }

                _pcap.WritePacket(packet.TimestampNs, packet.Data, packet.OriginalLength);
                return;
            }

            if (!_interfaceMap.TryGetValue(packet.InterfaceIndex, out int id))
            {
                id = _ng.AddInterface(itf.LinkType, snap, itf.Name, itf.TimestampResolution);
                _interfaceMap[packet.InterfaceIndex] = id;
            }

            _ng.WritePacket(id, packet.TimestampNs, packet.Data, packet.OriginalLength, packet.GetComment());
        }

        public void Dispose()
        {
            _ng?.Dispose();
            if (_ng is null)
            {
                // An empty capture still gets a valid (empty) pcap file.
                (_pcap ?? PcapWriter.Create(_path, _reader.Interfaces.Count > 0 ? _reader.Interfaces[0].LinkType : LinkType.Ethernet)).Dispose();
            }
        }
    }
}
