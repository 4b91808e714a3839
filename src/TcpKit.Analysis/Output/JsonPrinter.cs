using System.Globalization;
using System.Text;
using TcpKit.Analysis.Fields;

namespace TcpKit.Analysis.Output;

/// <summary>
/// tshark's <c>-T json</c> and <c>-T ek</c> output for a list of <c>-e</c> fields: one object per packet with
/// each present field as an array of strings (absent fields are left out), laid out exactly as tshark does.
/// </summary>
public sealed class JsonPrinter
{
    private readonly string[] _names;
    private readonly FieldWriter[] _writers;
    private readonly bool _ek;
    private readonly StringBuilder _value = new(64);
    private readonly StringBuilder _out = new(512);
    private bool _first = true;

    /// <param name="fields">Field names; when empty, every field TcpKit knows is considered.</param>
    /// <param name="ek">Newline-delimited Elasticsearch bulk format (-T ek) instead of a JSON array (-T json).</param>
    public JsonPrinter(IReadOnlyList<string> fields, bool ek)
    {
        _names = fields.Count > 0 ? [.. fields] : [.. FieldCatalog.Names.Order(StringComparer.Ordinal)];
        _writers = new FieldWriter[_names.Length];
        for (int i = 0; i < _names.Length; i++)
        {
            if (!FieldCatalog.TryGet(_names[i], out _writers[i]))
            {
                var hint = FieldCatalog.Suggest(_names[i]);
                throw new ArgumentException(hint is null ? $"unknown field \"{_names[i]}\"" : $"unknown field \"{_names[i]}\" (did you mean \"{hint}\"?)");
            }
        }

        _ek = ek;
    }

    /// <summary>The text for one packet (including the separator from the previous one).</summary>
    public string Format(in FieldContext c, long absoluteNs)
    {
        _out.Clear();
        string index = "packets-" + DateTimeOffset.FromUnixTimeMilliseconds(Math.Max(0, absoluteNs / 1_000_000)).UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        if (_ek)
        {
            _out.Append("{\"index\":{\"_index\":\"").Append(index).Append("\",\"_type\":\"doc\"}}\n");
            _out.Append("{\"timestamp\":\"").Append((absoluteNs / 1_000_000).ToString(CultureInfo.InvariantCulture)).Append("\",\"layers\":{");
            bool any = false;
            for (int i = 0; i < _writers.Length; i++)
            {
                if (!Values(c, i, out var values))
                {
                    continue;
                }

                _out.Append(any ? "," : "").Append('"').Append(_names[i].Replace('.', '_')).Append("\":[");
                for (int v = 0; v < values.Length; v++)
                {
                    _out.Append(v > 0 ? "," : "").Append('"').Append(Escape(values[v])).Append('"');
                }

                _out.Append(']');
                any = true;
            }

            _out.Append("}}\n");
            return _out.ToString();
        }

        _out.Append(_first ? "[\n" : ",\n");
        _first = false;
        _out.Append("  {\n    \"_index\": \"").Append(index).Append("\",\n    \"_type\": \"doc\",\n    \"_score\": null,\n    \"_source\": {\n      \"layers\": {\n");
        bool firstField = true;
        for (int i = 0; i < _writers.Length; i++)
        {
            if (!Values(c, i, out var values))
            {
                continue;
            }

            _out.Append(firstField ? "" : ",\n").Append("        \"").Append(_names[i]).Append("\": [\n");
            for (int v = 0; v < values.Length; v++)
            {
                _out.Append("          \"").Append(Escape(values[v])).Append('"').Append(v + 1 < values.Length ? ",\n" : "\n");
            }

            _out.Append("        ]");
            firstField = false;
        }

        _out.Append(firstField ? "" : "\n").Append("      }\n    }\n  }");
        return _out.ToString();
    }

    /// <summary>What ends the output: the closing bracket of the array (or "[]" when no packet was printed).</summary>
    public string End() => _ek ? "" : _first ? "[]\n" : "\n]\n";

    private bool Values(in FieldContext c, int i, out string[] values)
    {
        _value.Clear();
        if (!_writers[i](c, _value))
        {
            values = [];
            return false;
        }

        values = _value.ToString().Split(',');
        return true;
    }

    private static string Escape(string s)
    {
        if (!s.AsSpan().ContainsAny("\"\\\n\r\t"))
        {
            return s;
        }

        return s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal)
            .Replace("\n", "\\n", StringComparison.Ordinal).Replace("\r", "\\r", StringComparison.Ordinal).Replace("\t", "\\t", StringComparison.Ordinal);
    }
}
