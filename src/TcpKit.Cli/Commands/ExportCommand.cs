using System.CommandLine;
using TcpKit.Analysis.Fields;
using TcpKit.Analysis.Filters;
using TcpKit.Analysis.Output.Export;

namespace TcpKit.Cli.Commands;

/// <summary>
/// <c>tcpkit export</c>: the analysis as a table for pandas, Polars, DuckDB or a spreadsheet: one row per frame
/// (the fields named with -e, typed) or one row per conversation, written as Parquet or CSV.
/// </summary>
internal static class ExportCommand
{
    public static Command Create()
    {
        var file = new Option<string>("--read-file", "-r") { Description = "Capture file to read (pcap or pcapng)", Required = true };
        var output = new Option<string>("--output", "-o") { Description = "Output file: .parquet (Apache Parquet) or .csv", Required = true };
        var fields = new Option<string[]>("-e") { Description = "A field to export (repeatable), named as in Wireshark; default: frame, addresses, ports, stream, flags, seq/ack, lengths, window, RTT, analysis flags and both endpoints' states", AllowMultipleArgumentsPerToken = false };
        var displayFilter = new Option<string?>("--display-filter", "-Y") { Description = "Only frames matching this Wireshark display filter" };
        var conversations = new Option<bool>("--conversations") { Description = "One row per TCP conversation instead of one per frame" };
        var text = new Option<bool>("--text") { Description = "Every field as tshark's text (no typed columns)" };
        var command = new Command("export", "Export per-frame fields or per-conversation summaries as a Parquet or CSV table")
        {
            file, output, fields, displayFilter, conversations, text,
        };
        command.SetAction(parse =>
        {
            string outPath = parse.GetValue(output)!;
            if (ExportTable.FormatOf(outPath) is not { } format)
            {
                return Cli.Fail($"name the output file *.parquet or *.csv (got \"{outPath}\")");
            }

            bool perConversation = parse.GetValue(conversations);
            string[] names = parse.GetValue(fields) is { Length: > 0 } given ? given : FrameExport.DefaultFields;
            if (perConversation && parse.GetValue(fields) is { Length: > 0 })
            {
                return Cli.Fail("-e names frame fields; --conversations has its own columns");
            }

            DisplayFilter? filter = null;
            if (parse.GetValue(displayFilter) is string filterText)
            {
                if (perConversation)
                {
                    return Cli.Fail("-Y selects frames; it cannot be combined with --conversations");
                }

                try
                {
                    filter = DisplayFilter.Compile(filterText);
                }
                catch (FilterException e)
                {
                    return Cli.Fail("invalid display filter: " + e.Describe());
                }
            }

            FrameExport? frames = null;
            try
            {
                frames = perConversation ? null : FrameExport.Create(names, parse.GetValue(text));
            }
            catch (ArgumentException e)
            {
                return Cli.Fail(e.Message);
            }

            return Run(parse.GetValue(file)!, outPath, format, frames, filter);
        });
        return command;
    }

    private static int Run(string path, string outPath, ExportFormat format, FrameExport? frames, DisplayFilter? filter)
    {
        ExportTable table;
        try
        {
            table = ExportTable.CreateAsync(File.Create(outPath), format, frames?.Columns ?? ConversationExport.Columns).GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Cli.Fail($"cannot write \"{outPath}\": {e.Message}");
        }

        int rc;
        try
        {
            rc = ConvCommand.Analyse(
                path,
                frames is null ? null : (in FieldContext c) =>
                {
                    if (filter is null || filter.Matches(c))
                    {
                        // Writing a row group is I/O; the rows between are buffered, so this rarely waits.
                        var pending = frames.AddAsync(c, table);
                        if (!pending.IsCompletedSuccessfully)
                        {
                            pending.AsTask().GetAwaiter().GetResult();
                        }
                    }
                },
                frames is null ? pipeline => ConversationExport.WriteAsync(pipeline.Tracker.Conversations, table).GetAwaiter().GetResult() : null);
        }
        catch (InvalidDataException e)
        {
            table.DisposeAsync().AsTask().GetAwaiter().GetResult();
            File.Delete(outPath);
            return Cli.Fail(e.Message);
        }

        table.DisposeAsync().AsTask().GetAwaiter().GetResult();
        if (rc != 0)
        {
            File.Delete(outPath);
            return rc;
        }

        Console.Error.WriteLine($"tcpkit: {table.Rows} {(frames is null ? "conversations" : "frames")} written to {outPath}");
        return 0;
    }
}
