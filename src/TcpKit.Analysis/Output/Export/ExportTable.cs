using System.Globalization;
using System.Text;
using Parquet;
using Parquet.Schema;

namespace TcpKit.Analysis.Output.Export;

/// <summary>The type of an exported column; every column is nullable (a field a frame does not have is null).</summary>
public enum ExportType : byte
{
    Int64,
    Double,
    Boolean,
    String,
}

/// <summary>A column's name and type.</summary>
public readonly record struct ExportColumn(string Name, ExportType Type);

/// <summary>File formats <see cref="ExportTable"/> writes.</summary>
public enum ExportFormat : byte
{
    /// <summary>Apache Parquet (Parquet.Net): typed, compressed columns, read by pandas, Polars, DuckDB, Spark.</summary>
    Parquet,

    /// <summary>RFC 4180 CSV with a header line; null is an empty cell.</summary>
    Csv,
}

/// <summary>
/// A table written row by row to Parquet or CSV. Rows are buffered column by column and written every
/// <see cref="RowGroupSize"/> rows (one Parquet row group each), so memory stays bounded however many rows a
/// capture gives.
/// </summary>
public sealed class ExportTable : IAsyncDisposable
{
    /// <summary>Rows buffered before they are written.</summary>
    public const int RowGroupSize = 65_536;

    private readonly ExportColumn[] _columns;
    private readonly long?[][] _integers;
    private readonly double?[][] _reals;
    private readonly bool?[][] _booleans;
    private readonly string?[][] _strings;
    private readonly Stream _stream;
    private readonly ParquetWriter? _parquet;
    private readonly DataField[] _fields;
    private readonly StreamWriter? _csv;
    private int _rows;
    private int _column;

    private ExportTable(ExportColumn[] columns, Stream stream, ParquetWriter? parquet, DataField[] fields, StreamWriter? csv)
    {
        _columns = columns;
        _stream = stream;
        _parquet = parquet;
        _fields = fields;
        _csv = csv;
        _integers = new long?[columns.Length][];
        _reals = new double?[columns.Length][];
        _booleans = new bool?[columns.Length][];
        _strings = new string?[columns.Length][];
        for (int i = 0; i < columns.Length; i++)
        {
            switch (columns[i].Type)
            {
                case ExportType.Int64: _integers[i] = new long?[RowGroupSize]; break;
                case ExportType.Double: _reals[i] = new double?[RowGroupSize]; break;
                case ExportType.Boolean: _booleans[i] = new bool?[RowGroupSize]; break;
                default: _strings[i] = new string?[RowGroupSize]; break;
            }
        }
    }

    public IReadOnlyList<ExportColumn> Columns => _columns;

    /// <summary>Rows written so far (including those still buffered).</summary>
    public long Rows { get; private set; }

    /// <summary>The format a file name asks for: *.parquet or *.csv; null for anything else.</summary>
    public static ExportFormat? FormatOf(string path) =>
        path.EndsWith(".parquet", StringComparison.OrdinalIgnoreCase) ? ExportFormat.Parquet
        : path.EndsWith(".csv", StringComparison.OrdinalIgnoreCase) ? ExportFormat.Csv
        : null;

    /// <summary>Creates (or overwrites) <paramref name="stream"/>'s table with these columns.</summary>
    public static async Task<ExportTable> CreateAsync(Stream stream, ExportFormat format, IReadOnlyList<ExportColumn> columns)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var cols = columns.ToArray();
        if (cols.Length == 0 || cols.Select(c => c.Name).Distinct(StringComparer.Ordinal).Count() != cols.Length)
        {
            throw new ArgumentException("an export needs at least one column and distinct column names", nameof(columns));
        }

        if (format == ExportFormat.Csv)
        {
            var csv = new StreamWriter(stream, new UTF8Encoding(false), 1 << 16) { NewLine = "\r\n" };
            await csv.WriteLineAsync(string.Join(",", cols.Select(c => Quote(c.Name)))).ConfigureAwait(false);
            return new ExportTable(cols, stream, null, [], csv);
        }

        var fields = cols.Select(c => c.Type switch
        {
            ExportType.Int64 => (DataField)new DataField<long?>(c.Name),
            ExportType.Double => new DataField<double?>(c.Name),
            ExportType.Boolean => new DataField<bool?>(c.Name),
            _ => new DataField<string>(c.Name, true),
        }).ToArray();
        var writer = await ParquetWriter.CreateAsync(new ParquetSchema(fields), stream).ConfigureAwait(false);
        return new ExportTable(cols, stream, writer, fields, null);
    }

    /// <summary>Sets the next column of the current row (columns are set in order, one call each).</summary>
    public void Add(long? value) => _integers[Next(ExportType.Int64)][_rows] = value;

    public void Add(double? value) => _reals[Next(ExportType.Double)][_rows] = value;

    public void Add(bool? value) => _booleans[Next(ExportType.Boolean)][_rows] = value;

    public void Add(string? value) => _strings[Next(ExportType.String)][_rows] = value;

    /// <summary>Ends the current row once every column has been set; writes a row group when the buffer is full.</summary>
    public async ValueTask EndRowAsync()
    {
        if (_column != _columns.Length)
        {
            throw new InvalidOperationException($"a row needs {_columns.Length} values; {_column} were given");
        }

        _column = 0;
        _rows++;
        Rows++;
        if (_rows == RowGroupSize)
        {
            await FlushAsync().ConfigureAwait(false);
        }
    }

    private int Next(ExportType type)
    {
        int i = _column;
        if (i >= _columns.Length || _columns[i].Type != type)
        {
            throw new InvalidOperationException(i >= _columns.Length
                ? "more values than columns in a row"
                : $"column \"{_columns[i].Name}\" holds {_columns[i].Type}, not {type}");
        }

        _column++;
        return i;
    }

    private async Task FlushAsync()
    {
        if (_rows == 0)
        {
            return;
        }

        if (_parquet is not null)
        {
            using var group = _parquet.CreateRowGroup();
            for (int i = 0; i < _columns.Length; i++)
            {
                switch (_columns[i].Type)
                {
                    case ExportType.Int64:
                        await group.WriteAsync<long>(_fields[i], _integers[i].AsMemory(0, _rows)).ConfigureAwait(false);
                        break;
                    case ExportType.Double:
                        await group.WriteAsync<double>(_fields[i], _reals[i].AsMemory(0, _rows)).ConfigureAwait(false);
                        break;
                    case ExportType.Boolean:
                        await group.WriteAsync<bool>(_fields[i], _booleans[i].AsMemory(0, _rows)).ConfigureAwait(false);
                        break;
                    default:
                        await group.WriteAsync(_fields[i], new ArraySegment<string>(_strings[i]!, 0, _rows)).ConfigureAwait(false);
                        break;
                }
            }
        }
        else
        {
            var line = new StringBuilder();
            for (int r = 0; r < _rows; r++)
            {
                line.Clear();
                for (int i = 0; i < _columns.Length; i++)
                {
                    if (i > 0)
                    {
                        line.Append(',');
                    }

                    AppendCell(line, i, r);
                }

                await _csv!.WriteLineAsync(line).ConfigureAwait(false);
            }
        }

        // Strings are referenced until the next group overwrites them: clear so they can be collected now.
        foreach (var s in _strings)
        {
            if (s is not null)
            {
                Array.Clear(s, 0, _rows);
            }
        }

        _rows = 0;
    }

    private void AppendCell(StringBuilder line, int column, int row)
    {
        var inv = CultureInfo.InvariantCulture;
        switch (_columns[column].Type)
        {
            case ExportType.Int64:
                if (_integers[column][row] is { } l)
                {
                    line.Append(l.ToString(inv));
                }

                break;
            case ExportType.Double:
                if (_reals[column][row] is { } d)
                {
                    line.Append(d.ToString("R", inv));
                }

                break;
            case ExportType.Boolean:
                if (_booleans[column][row] is { } b)
                {
                    line.Append(b ? "true" : "false");
                }

                break;
            default:
                if (_strings[column][row] is { } s)
                {
                    line.Append(Quote(s));
                }

                break;
        }
    }

    /// <summary>RFC 4180: a cell with a comma, a quote or a line break is quoted, its quotes doubled.</summary>
    private static string Quote(string s) =>
        s.AsSpan().IndexOfAny(",\"\r\n") < 0 ? s : "\"" + s.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    /// <summary>Writes the rows still buffered and closes the file's structure (Parquet footer).</summary>
    public async ValueTask DisposeAsync()
    {
        // A row left half-filled (an error while it was built) is dropped; every complete row is written.
        _column = 0;
        await FlushAsync().ConfigureAwait(false);
        if (_parquet is not null)
        {
            await _parquet.DisposeAsync().ConfigureAwait(false);
        }

        if (_csv is not null)
        {
            await _csv.DisposeAsync().ConfigureAwait(false);
        }

        await _stream.DisposeAsync().ConfigureAwait(false);
    }
}
