using System.Text;
using TcpKit.Analysis.Fields;

namespace TcpKit.Analysis.Output;

/// <summary>tshark's <c>-T fields -e NAME ...</c>: one line per packet, fields separated, absent fields empty.</summary>
public sealed class FieldsPrinter
{
    private readonly FieldWriter[] _writers;
    private readonly string _separator;
    private readonly StringBuilder _line = new(256);

    public FieldsPrinter(IReadOnlyList<string> fields, string separator = "\t")
    {
        _writers = new FieldWriter[fields.Count];
        for (int i = 0; i < fields.Count; i++)
        {
            if (!FieldCatalog.TryGet(fields[i], out _writers[i]))
            {
                var hint = FieldCatalog.Suggest(fields[i]);
                throw new ArgumentException(hint is null
                    ? $"unknown field \"{fields[i]}\""
                    : $"unknown field \"{fields[i]}\" (did you mean \"{hint}\"?)");
            }
        }

        Fields = fields;
        _separator = separator;
    }

    public IReadOnlyList<string> Fields { get; }

    public string Header => string.Join(_separator, Fields);

    public string Format(in FieldContext context)
    {
        _line.Clear();
        for (int i = 0; i < _writers.Length; i++)
        {
            if (i > 0)
            {
                _line.Append(_separator);
            }

            _writers[i](context, _line);
        }

        return _line.ToString();
    }
}
