using Parquet;
using Parquet.Schema;
using TcpKit.Analysis.Output.Export;
using TcpKit.Analysis.Tests.Support;
using static TcpKit.Wire.Tcp.TcpFlags;

namespace TcpKit.Analysis.Tests.Output;

/// <summary>Frames and conversations exported as Parquet (read back with Parquet.Net's reader) and CSV.</summary>
public class ExportTests
{
    /// <summary>Handshake, data, a retransmission 200 ms later, its ACK, and a close from the server.</summary>
    private static Trace Transfer() => new Trace(41000, 80)
        .Add(1.000, true, 100, 0, Syn, 1000)
        .Add(1.010, false, 500, 101, Syn | Ack, 1000)
        .Add(1.020, true, 101, 501, Ack, 1000)
        .Add(1.030, true, 101, 501, Psh | Ack, 1000, 10)
        .Add(1.230, true, 101, 501, Psh | Ack, 1000, 10)
        .Add(1.240, false, 501, 111, Ack, 1000)
        .Add(1.250, false, 501, 111, Fin | Ack, 1000)
        .Add(1.260, true, 111, 502, Fin | Ack, 1000)
        .Add(1.270, false, 502, 112, Ack, 1000);

    private static string TempPath(string extension) => Path.Combine(Path.GetTempPath(), $"tcpkit-export-{Guid.NewGuid():N}.{extension}");

    private static async Task<string> ExportFrames(Trace trace, ExportFormat format, string[] fields, bool allText = false)
    {
        var path = TempPath(format == ExportFormat.Csv ? "csv" : "parquet");
        var export = FrameExport.Create(fields, allText);
        await using (var table = await ExportTable.CreateAsync(File.Create(path), format, export.Columns))
        {
            trace.Each((in Fields.FieldContext c) => export.AddAsync(c, table).AsTask().GetAwaiter().GetResult());
        }

        return path;
    }

    private static async Task<Dictionary<string, Array>> ReadParquet(string path)
    {
        await using var reader = await ParquetReader.CreateAsync(path);
        var columns = new Dictionary<string, Array>();
        using var group = reader.OpenRowGroupReader(0);
        int rows = (int)group.RowCount;
        foreach (var field in reader.Schema.GetDataFields())
        {
            Array values;
            if (field.ClrType == typeof(long))
            {
                var v = new long?[rows];
                await group.ReadAsync<long>(field, v);
                values = v;
            }
            else if (field.ClrType == typeof(double))
            {
                var v = new double?[rows];
                await group.ReadAsync<double>(field, v);
                values = v;
            }
            else if (field.ClrType == typeof(bool))
            {
                var v = new bool?[rows];
                await group.ReadAsync<bool>(field, v);
                values = v;
            }
            else
            {
                var v = new string[rows];
                await group.ReadAsync(field, v);
                values = v;
            }

            columns[field.Name] = values;
        }

        return columns;
    }

    [Fact]
    public async Task Frames_read_back_from_Parquet_with_typed_columns_and_the_analysis_on_the_right_frames()
    {
        var path = await ExportFrames(Transfer(), ExportFormat.Parquet, FrameExport.DefaultFields);
        try
        {
            var c = await ReadParquet(path);
            Assert.Equal(FrameExport.DefaultFields, c.Keys);
            Assert.Equal(new long?[] { 1, 2, 3, 4, 5, 6, 7, 8, 9 }, (long?[])c["frame.number"]);
            Assert.Equal(new long?[] { 0, 0, 1, 1, 1, 1, 1, 11, 2 }, (long?[])c["tcp.seq"]);
            Assert.Equal("10.0.0.1", ((string[])c["ip.src"])[0]);
            Assert.Null(((string[])c["ipv6.src"])[0]);
            Assert.Equal(0.23, ((double?[])c["frame.time_relative"])[4]!.Value, 9);
            Assert.Equal(new bool?[] { false, false, false, false, true, false, false, false, false }, (bool?[])c["tcp.analysis.retransmission"]);
            Assert.Equal(0.01, ((double?[])c["tcp.analysis.ack_rtt"])[1]!.Value, 9);
            Assert.Null(((double?[])c["tcp.analysis.ack_rtt"])[0]);
            Assert.Equal(0x12, ((long?[])c["tcp.flags"])[1]);
            Assert.Equal("ESTABLISHED", ((string[])c["tcpkit.state.server.before"])[6]);
            Assert.Equal("FIN-WAIT-1", ((string[])c["tcpkit.state.server.after"])[6]);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task A_CSV_export_holds_the_same_values_as_the_fields_printer()
    {
        string[] fields = ["frame.number", "ip.src", "tcp.seq", "tcp.len", "tcp.analysis.bytes_in_flight", "tcpkit.history"];
        var path = await ExportFrames(Transfer(), ExportFormat.Csv, fields);
        try
        {
            var lines = File.ReadAllLines(path);
            Assert.Equal(string.Join(",", fields), lines[0]);
            var expected = Transfer().Fields(fields).Select(l => l.Replace('|', ',')).ToList();
            Assert.Equal(expected, lines[1..]);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task Conversations_export_one_row_each_with_endpoints_counts_and_states()
    {
        var path = TempPath("csv");
        try
        {
            IReadOnlyList<Conversations.TcpConversation> conversations = [];
            Transfer().Each((in Fields.FieldContext _) => { }, p => conversations = p.Tracker.Conversations);
            await using (var table = await ExportTable.CreateAsync(File.Create(path), ExportFormat.Csv, ConversationExport.Columns))
            {
                await ConversationExport.WriteAsync(conversations, table);
            }

            var lines = File.ReadAllLines(path);
            Assert.Equal(2, lines.Length);
            Assert.Equal(string.Join(",", ConversationExport.Columns.Select(c => c.Name)), lines[0]);
            // 54-byte frames, 64 with 10 bytes of data; the server closed first, so it is left in TIME-WAIT.
            Assert.Equal("0,10.0.0.1,41000,10.0.0.9,80,1,0,0.27,5,290,4,216,0.02,CLOSED,TIME-WAIT,SF,ShADTafF", lines[1]);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Unknown_fields_are_named_with_a_suggestion() =>
        Assert.Equal("unknown field \"tcp.prt\" (did you mean \"tcp.port\"?)", Assert.Throws<ArgumentException>(() => FrameExport.Create(["tcp.prt"])).Message);

    [Fact]
    public async Task Repeated_values_are_kept_as_text()
    {
        // An ICMP error carries its own IP header and the quoted one: ip.src has two values.
        var trace = Transfer().AddIcmpError(1.3, quotedFrame: 3);
        var path = await ExportFrames(trace, ExportFormat.Parquet, ["frame.number", "ip.src", "ip.ttl"]);
        try
        {
            var c = await ReadParquet(path);
            Assert.Equal("192.0.2.254,10.0.0.1", ((string[])c["ip.src"])[9]);
            Assert.Equal("64,64", ((string[])c["ip.ttl"])[9]);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task Tables_larger_than_a_row_group_are_written_in_several_and_read_back_whole()
    {
        var path = TempPath("parquet");
        int rows = ExportTable.RowGroupSize + 10;
        try
        {
            await using (var table = await ExportTable.CreateAsync(File.Create(path), ExportFormat.Parquet, [new("n", ExportType.Int64), new("s", ExportType.String)]))
            {
                for (int i = 0; i < rows; i++)
                {
                    table.Add(i);
                    table.Add(i % 3 == 0 ? null : "v" + i);
                    await table.EndRowAsync();
                }
            }

            await using var reader = await ParquetReader.CreateAsync(path);
            Assert.Equal(2, reader.RowGroupCount);
            long sum = 0;
            int count = 0;
            for (int g = 0; g < reader.RowGroupCount; g++)
            {
                using var group = reader.OpenRowGroupReader(g);
                var n = new long?[group.RowCount];
                await group.ReadAsync<long>((DataField)reader.Schema.Fields[0], n);
                var s = new string[group.RowCount];
                await group.ReadAsync((DataField)reader.Schema.Fields[1], s);
                for (int i = 0; i < n.Length; i++)
                {
                    Assert.Equal(n[i] % 3 == 0 ? null : "v" + n[i], s[i]);
                    sum += n[i]!.Value;
                    count++;
                }
            }

            Assert.Equal(rows, count);
            Assert.Equal((long)rows * (rows - 1) / 2, sum);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task CSV_cells_with_commas_quotes_or_line_breaks_are_quoted()
    {
        var path = TempPath("csv");
        try
        {
            await using (var table = await ExportTable.CreateAsync(File.Create(path), ExportFormat.Csv, [new("a", ExportType.String), new("b", ExportType.Boolean)]))
            {
                table.Add("x,\"y\"\nz");
                table.Add((bool?)null);
                await table.EndRowAsync();
            }

            Assert.Equal("a,b\r\n\"x,\"\"y\"\"\nz\",\r\n", File.ReadAllText(path));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task A_row_must_set_each_column_once_in_order()
    {
        var path = TempPath("csv");
        try
        {
            await using var table = await ExportTable.CreateAsync(File.Create(path), ExportFormat.Csv, [new("a", ExportType.Int64)]);
            Assert.Throws<InvalidOperationException>(() => table.Add("text"));
            await Assert.ThrowsAsync<InvalidOperationException>(() => table.EndRowAsync().AsTask());
        }
        finally
        {
            File.Delete(path);
        }
    }
}
