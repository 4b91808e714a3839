using System.Text;
using TcpKit.Analysis.Fields;
using TcpKit.Analysis.Filters;

namespace TcpKit.Analysis.Output.Export;

/// <summary>
/// One row per frame, one column per field (named as in Wireshark). Numbers, times and flags are typed
/// columns (Int64, Double seconds, Boolean); addresses and text keep tshark's <c>-T fields</c> text. Fields
/// that a frame can hold more than once (the outer and quoted IP headers of an ICMP error, a VLAN stack, SACK
/// blocks) are text columns with the values comma-separated as tshark prints them, so nothing is lost.
/// </summary>
public sealed class FrameExport
{
    /// <summary>The columns a frame export has when no field is named.</summary>
    public static readonly string[] DefaultFields =
    [
        "frame.number", "frame.time_relative", "frame.len", "ip.src", "ip.dst", "ipv6.src", "ipv6.dst",
        "tcp.stream", "tcp.srcport", "tcp.dstport", "tcp.flags", "tcp.seq", "tcp.ack", "tcp.len", "tcp.nxtseq",
        "tcp.window_size", "tcp.analysis.ack_rtt", "tcp.analysis.bytes_in_flight",
        "tcp.analysis.retransmission", "tcp.analysis.fast_retransmission", "tcp.analysis.spurious_retransmission",
        "tcp.analysis.out_of_order", "tcp.analysis.lost_segment", "tcp.analysis.duplicate_ack", "tcp.analysis.zero_window",
        "tcp.analysis.window_full", "tcp.analysis.keep_alive",
        "tcpkit.state.client.before", "tcpkit.state.client.after", "tcpkit.state.server.before", "tcpkit.state.server.after",
    ];

    /// <summary>Name prefixes of fields a frame can carry more than once.</summary>
    private static readonly string[] RepeatablePrefixes = ["ip.", "ipv6.", "eth.", "vlan.", "tcp.options.sack"];

    private readonly Column[] _columns;
    private readonly ValueList _values = new();
    private readonly StringBuilder _text = new();

    private FrameExport(Column[] columns) => _columns = columns;

    public IReadOnlyList<ExportColumn> Columns => _columns.Select(c => new ExportColumn(c.Name, c.Type)).ToArray();

    /// <summary>
    /// The export of <paramref name="fields"/> (all text when <paramref name="allText"/>); an unknown field is an
    /// <see cref="ArgumentException"/> that names it and suggests the closest known one.
    /// </summary>
    public static FrameExport Create(IReadOnlyList<string> fields, bool allText = false)
    {
        var columns = new Column[fields.Count];
        for (int i = 0; i < fields.Count; i++)
        {
            string name = fields[i];
            if (!FieldCatalog.TryGet(name, out var writer) || FilterFields.Get(name) is not { } field)
            {
                string? suggestion = FieldCatalog.Suggest(name);
#pragma warning disable CA2208 // the message names the field; the parameter name would only clutter the CLI's error
                throw new ArgumentException($"unknown field \"{name}\"{(suggestion is null ? "" : $" (did you mean \"{suggestion}\"?)")}");
#pragma warning restore CA2208
            }

            var type = allText || RepeatablePrefixes.Any(p => name.StartsWith(p, StringComparison.Ordinal))
                ? ExportType.String
                : field.Type switch
                {
                    FieldType.None or FieldType.Boolean => ExportType.Boolean,
                    FieldType.RelativeTime => ExportType.Double,
                    _ when field.Kind == ValueKind.Integer => ExportType.Int64,
                    _ => ExportType.String,
                };
            columns[i] = new Column(name, type, field, writer);
        }

        return new FrameExport(columns);
    }

    /// <summary>Adds the frame's row to <paramref name="table"/> (whose columns must be <see cref="Columns"/>).</summary>
    public ValueTask AddAsync(in FieldContext c, ExportTable table)
    {
        foreach (var column in _columns)
        {
            if (column.Type == ExportType.String)
            {
                _text.Clear();
                table.Add(column.Writer(c, _text) ? _text.ToString() : null);
                continue;
            }

            _values.Clear();
            column.Field.Get(c, _values);

            // A label can be set more than once (tshark prints tcp.analysis.duplicate_ack as "1,1"): still true.
            if (_values.Count > 1 && column.Field.Type != FieldType.None)
            {
                throw new InvalidDataException($"frame {c.Number}: \"{column.Name}\" has {_values.Count} values; export it as text (--text) to keep them all");
            }

            switch (column.Type)
            {
                case ExportType.Boolean:
                    // A label (tcp.analysis.retransmission) is true where set; a flag is its bit.
                    table.Add(column.Field.Type == FieldType.None ? _values.Count > 0 : _values.Count > 0 ? _values.Integer(0) != 0 : null);
                    break;
                case ExportType.Double:
                    table.Add(_values.Count > 0 ? _values.Real(0) : null);
                    break;
                default:
                    table.Add(_values.Count > 0 ? _values.Integer(0) : null);
                    break;
            }
        }

        return table.EndRowAsync();
    }

    private sealed record Column(string Name, ExportType Type, FilterField Field, FieldWriter Writer);
}
