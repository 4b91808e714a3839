using TcpKit.Analysis.Filters;
using TcpKit.Analysis.Tests.Support;
using TcpKit.Wire.Capture;
using static TcpKit.Wire.Tcp.TcpFlags;

namespace TcpKit.Analysis.Tests.Filters;

/// <summary>Slices, arithmetic, field comparisons, functions and quantifiers; expected frames follow tshark 4.0.17's rules.</summary>
public class FilterExpressionTests
{
    // Frames: 1 SYN, 2 SYN-ACK, 3 ACK, 4 "aaaaaaaaaa", 5 "bbbbbbbbbb", 6 server "zz", 7 FIN from the server; SACK on 6.
    private static readonly Trace Conversation = new Trace(41000, 80)
        .Add(0.000, true, 100, 0, Syn, 1000, options: Trace.Options(mss: 1460, sackPermitted: true))
        .Add(0.001, false, 500, 101, Syn | Ack, 2000, options: Trace.Options(mss: 1400))
        .Add(0.002, true, 101, 501, Ack, 1000)
        .Add(0.003, true, 101, 501, Psh | Ack, 1000, 10, fill: (byte)'a')
        .Add(0.004, true, 111, 501, Psh | Ack, 1000, 10, fill: (byte)'b')
        .Add(0.005, false, 501, 111, Psh | Ack, 2000, 2, options: Trace.Options(sack: (121, 131)), fill: (byte)'z')
        .Add(0.250, false, 503, 121, Fin | Ack, 2000);

    private static List<long> Select(string filter)
    {
        var f = DisplayFilter.Compile(filter);
        var frames = new List<long>();
        Conversation.Each((in Fields.FieldContext c) =>
        {
            if (f.Matches(c))
            {
                frames.Add(c.Number);
            }
        });
        return frames;
    }

    [Theory]
    [InlineData("tcp.payload[0:2] == 61:61", new long[] { 4 })]
    [InlineData("tcp.payload[0] == \"b\"", new long[] { 5 })]
    [InlineData("tcp.payload[-1] == 7a", new long[] { 6 })]
    [InlineData("tcp.payload[8:] == 62:62", new long[] { 5 })]
    [InlineData("tcp.payload[:3] == \"aaa\"", new long[] { 4 })]
    [InlineData("tcp.payload[2-3] == 61.61", new long[] { 4 })]
    [InlineData("tcp.payload[0:1,9] == \"aa\"", new long[] { 4 })]
    [InlineData("tcp.payload[9]", new long[] { 4, 5 })]
    [InlineData("tcp.payload[5:10]", new long[0])]
    [InlineData("tcp.payload[1:2147483647]", new long[0])]
    [InlineData("tcp.payload[-2147483648:1]", new long[0])]
    [InlineData("tcp.payload[0] == 'z'", new long[] { 6 })]
    [InlineData("tcp.payload[0] == 61", new long[] { 4 })]
    [InlineData("ip.src[3] == 9", new long[] { 2, 6, 7 })]
    [InlineData("ip.dst[0:2] == 0a:00 && ip.dst[-1] == 01", new long[] { 2, 6, 7 })]
    [InlineData("eth.src[5] == 02", new long[] { 2, 6, 7 })]
    [InlineData("tcp[13] & 0x02", new long[] { 1, 2 })]
    [InlineData("tcp[13] & 0x11 == 0x11", new long[] { 7 })]
    [InlineData("frame[14] == 45 && ip[9] == 06", new long[] { 1, 2, 3, 4, 5, 6, 7 })]
    public void Slices_select_bytes_of_fields_and_protocols(string filter, long[] frames) => Assert.Equal(frames, Select(filter));

    [Theory]
    [InlineData("tcp.len * 2 == 20", new long[] { 4, 5 })]
    [InlineData("{tcp.len + 2} * 3 == 12", new long[] { 6 })]
    [InlineData("tcp.len + 2 * 3 == 8", new long[] { 6 })]
    [InlineData("tcp.len == 2 * 5", new long[] { 4, 5 })]
    [InlineData("tcp.seq - 1 == 10", new long[] { 5 })]
    [InlineData("tcp.srcport -41000 == 0", new long[] { 1, 3, 4, 5 })]
    [InlineData("-tcp.len == -2", new long[] { 6 })]
    [InlineData("tcp.window_size / 3 == 666 && tcp.window_size % 3 == 2", new long[] { 2, 6, 7 })]
    [InlineData("tcp.len / 0 == 0", new long[0])]
    [InlineData("{tcp.len - 10 - 9223372036854775807 - 1} / -1 == tcp.len - 10 - 9223372036854775807 - 1", new long[] { 4, 5 })]
    [InlineData("tcp.nxtseq == tcp.seq + tcp.len", new long[] { 3, 4, 5, 6 })]
    [InlineData("tcp.seq == tcp.ack", new long[] { 1, 3, 4 })]
    [InlineData("tcp.srcport > tcp.dstport", new long[] { 1, 3, 4, 5 })]
    [InlineData("ip.src == ip.dst", new long[0])]
    [InlineData("tcp.options.sack_le > tcp.ack", new long[] { 6 })]
    [InlineData("frame.time_relative + 0.2 > 0.3", new long[] { 7 })]
    [InlineData("tcp.flags & 0x12 == 0x12", new long[] { 2 })]
    public void Arithmetic_and_field_comparisons_combine_values(string filter, long[] frames) => Assert.Equal(frames, Select(filter));

    [Theory]
    [InlineData("len(tcp.payload) == 2", new long[] { 6 })]
    [InlineData("len(tcp.srcport) == 2 && len(ip.src) == 4 && len(eth.src) == 6 && len(tcp) == 20", new long[] { 3, 4, 5, 7 })]
    [InlineData("count(tcp.port) == 2 && count(tcp.options.sack_le) == 1", new long[] { 6 })]
    [InlineData("count(tcp.options.sack_le) == 0", new long[0])]
    [InlineData("upper(tcpkit.state.sender) == \"SERVER\"", new long[] { 2, 6, 7 })]
    [InlineData("lower(tcpkit.state.sender) == \"client\"", new long[] { 1, 3, 4, 5 })]
    [InlineData("string(tcp.srcport) == \"80\"", new long[] { 2, 6, 7 })]
    [InlineData("string(ip.dst) matches \"\\\\.1$\"", new long[] { 2, 6, 7 })]
    [InlineData("string(eth.dst) == \"02:00:00:00:00:02\"", new long[] { 1, 3, 4, 5 })]
    [InlineData("tcp.payload matches \"^(a+)+$\"", new long[] { 4 })]
    [InlineData("tcp.payload matches \"(?-i)^(B|Z)\"", new long[0])]
    [InlineData("tcp.payload matches \"^(b)\\\\1\"", new long[] { 5 })]
    [InlineData("abs(tcp.srcport - tcp.dstport) == 40920", new long[] { 1, 2, 3, 4, 5, 6, 7 })]
    [InlineData("min(tcp.port) == 80 && max(tcp.port) == 41000", new long[] { 1, 2, 3, 4, 5, 6, 7 })]
    [InlineData("max(tcp.len, 5) == 10", new long[] { 4, 5 })]
    public void Functions_work_as_in_Wireshark_4_0(string filter, long[] frames) => Assert.Equal(frames, Select(filter));

    [Theory]
    [InlineData("tcp.port != 80", new long[0])]
    [InlineData("tcp.port !== 80", new long[] { 1, 2, 3, 4, 5, 6, 7 })]
    [InlineData("tcp.port === 80", new long[0])]
    [InlineData("all tcp.port > 79", new long[] { 1, 2, 3, 4, 5, 6, 7 })]
    [InlineData("all tcp.port > 80", new long[0])]
    [InlineData("any tcp.port != 80", new long[] { 1, 2, 3, 4, 5, 6, 7 })]
    [InlineData("all tcp.port == 80", new long[0])]
    [InlineData("all tcp.port in {80, 41000}", new long[0])]
    [InlineData("all tcp.port in {80..41000}", new long[] { 1, 2, 3, 4, 5, 6, 7 })]
    [InlineData("tcp.port == tcp.port && !(tcp.port != tcp.port)", new long[] { 1, 2, 3, 4, 5, 6, 7 })]
    [InlineData("ip.addr != 10.0.0.1", new long[0])]
    [InlineData("not ip.addr == 10.0.0.1", new long[0])]
    [InlineData("tcp.options.sack_le != 22", new long[] { 6 })]
    [InlineData("tcp.options.sack_le != 21", new long[0])]
    public void Multi_valued_fields_follow_any_and_all_semantics(string filter, long[] frames) => Assert.Equal(frames, Select(filter));

    [Theory]
    [InlineData("tcp.flags.syn == True", new long[] { 1, 2 })]
    [InlineData("tcp.flags.syn == FALSE", new long[] { 3, 4, 5, 6, 7 })]
    [InlineData("tcp.len == 0xa", new long[] { 4, 5 })]
    [InlineData("tcp.len == 012", new long[] { 4, 5 })]
    [InlineData("tcp.len == 0b10", new long[] { 6 })]
    [InlineData("tcp.len == '\\n'", new long[] { 4, 5 })]
    [InlineData("tcp.payload contains \"\\x7a\\172\"", new long[] { 6 })]
    [InlineData("tcp.payload == r\"zz\"", new long[] { 6 })]
    [InlineData("tcp.payload[0:2] == 6262", new long[] { 5 })]
    [InlineData("eth.dst == 02-00-00-00-00-01", new long[] { 2, 6, 7 })]
    [InlineData("ip.src in {10.0.0.0 .. 10.0.0.5}", new long[] { 1, 3, 4, 5 })]
    [InlineData("frame.time_relative in {0.2..0.3}", new long[] { 7 })]
    public void Literals_are_read_for_the_type_they_are_compared_with(string filter, long[] frames) => Assert.Equal(frames, Select(filter));

    [Theory]
    [InlineData("tcp.port[0:1] == 0", 0, 8, "\"tcp.port\" (Unsigned integer (2 bytes)) cannot be sliced into a sequence of bytes")]
    [InlineData("tcp.payload[1:x] == 00", 12, 3, "\"1:x\" is not a slice range ([i:j], [i-j], [i], [:j] or [i:])")]
    [InlineData("tcp.payload[0:1,,2] == 00", 16, 1, "\"\" is not a slice range ([i:j], [i-j], [i], [:j] or [i:])")]
    [InlineData("tcp.payload[0:2 == 00", 21, 1, "missing \"]\"")]
    [InlineData("21 == tcp.srcport", 0, 2, "the left side of a test must be a field, a slice or a function, not \"21\"")]
    [InlineData("len(tcp.srcport)", 0, 16, "a function's result is not a test; compare it with a value")]
    [InlineData("len(tcp.payload[0:2]) > 1", 0, 21, "only fields can be used as the argument of len()")]
    [InlineData("upper(ip.src) == \"A\"", 0, 13, "only text fields can be used as the argument of upper()")]
    [InlineData("string(tcp.flags.syn) == \"1\"", 0, 21, "string() cannot convert \"tcp.flags.syn\" (Boolean); it takes a number or an address field")]
    [InlineData("frame.time_relative * 2 > 1", 20, 1, "cannot compute \"frame.time_relative\" (Time offset) * a time")]
    [InlineData("tcp.len + 1", 0, 11, "an arithmetic expression is not a test; compare it with a value")]
    [InlineData("tcp.len == 'a' + 2", 11, 3, "a character constant cannot be an arithmetic operand")]
    [InlineData("tcp.len == ip.src", 8, 2, "\"tcp.len\" (Unsigned integer (4 bytes)) and \"ip.src\" (IPv4 address) cannot be compared")]
    [InlineData("tcp.analysis.flags == 1", 22, 1, "\"tcp.analysis.flags\" (Label) has no value to compare; test it on its own")]
    [InlineData("tcp.len == 1.5", 11, 3, "\"1.5\" is not a valid number for \"tcp.len\" (Unsigned integer (4 bytes))")]
    [InlineData("ip.src == 10.0.0.300", 10, 10, "\"10.0.0.300\" is not a valid hostname or IPv4 address")]
    [InlineData("eth.src == 00:11:22", 11, 8, "\"00:11:22\" is not a valid Ethernet address")]
    [InlineData("tcp.port in {80 443}", 16, 3, "expected \",\" or \"}\" in the set, found \"443\"")]
    [InlineData("tcp.payload[0:2] in {61:61}", 0, 16, "only a field can be tested for membership in a set")]
    [InlineData("all tcp.port", 12, 1, "\"any\" and \"all\" need a comparison after the value")]
    [InlineData("max(tcp.len, tcp.hdr_len) == 1", 13, 11, "the arguments of max() must all have the same type (\"tcp.len\" (Unsigned integer (4 bytes)) and \"tcp.hdr_len\" (Unsigned integer (1 byte)) differ)")]
    [InlineData("tcp.payload matches abc", 20, 3, "\"matches\" needs a regular expression in double quotes")]
    [InlineData("tcp.len == {tcp.seq + 1", 23, 1, "missing \"}\"")]
    [InlineData("tcp.len == 'a", 11, 2, "unterminated character constant")]
    public void Bad_expressions_are_rejected_at_the_column_of_the_problem(string filter, int column, int length, string message)
    {
        var e = Assert.Throws<FilterException>(() => DisplayFilter.Compile(filter));
        Assert.Equal(message, e.Message);
        Assert.Equal(column, e.Column);
        Assert.Equal(length, e.Length);
    }

    [Fact]
    public void Filters_compiled_separately_give_the_same_answers_on_parallel_threads()
    {
        const string text = "tcpkit.state.sender == \"client\" && string(tcp.srcport) matches \"^41\" && tcpkit.history contains \"S\"";
        var expected = Select(text);
        Assert.Equal(new long[] { 1, 3, 4, 5 }, expected);
        var results = new System.Collections.Concurrent.ConcurrentBag<string>();
        Parallel.For(0, 4, new ParallelOptions { MaxDegreeOfParallelism = 4 }, _ =>
        {
            var f = DisplayFilter.Compile(text);
            var frames = new List<long>();
            Conversation.Each((in Fields.FieldContext c) =>
            {
                // Many evaluations per frame, so the threads overlap while they read text fields.
                int hits = 0;
                for (int i = 0; i < 3000; i++)
                {
                    hits += f.Matches(c) ? 1 : 0;
                }

                if (hits == 3000)
                {
                    frames.Add(c.Number);
                }
                else if (hits != 0)
                {
                    frames.Add(-c.Number);
                }
            });
            results.Add(string.Join(",", frames));
        });
        Assert.All(results, r => Assert.Equal(string.Join(",", expected), r));
    }

    [Fact]
    public void Slices_arithmetic_and_field_comparisons_allocate_nothing_per_frame_after_warm_up()
    {
        var trace = new Trace(41000, 80);
        uint seq = 1;
        for (int i = 0; i < 3000; i++)
        {
            if (i % 2 == 0)
            {
                trace.Add(i * 0.001, true, seq, 1, Psh | Ack, 1000, 100, fill: (byte)('a' + (i % 3)));
                seq += 100;
            }
            else
            {
                trace.Add(i * 0.001, false, 1, seq, Ack, 1000);
            }
        }

        var path = trace.WritePcap();
        try
        {
            var filter = DisplayFilter.Compile(
                "tcp.payload[0:2,-1] == 61:61:61 || (tcp.seq + tcp.len == tcp.nxtseq && tcp.srcport > tcp.dstport && ip.src[3] == 1 && tcp[13] & 0x08 && all tcp.port != 7)");
            using var reader = CaptureReader.Open(path);
            var pipeline = new CapturePipeline();
            int matched = 0;
            for (int i = 0; i < 500 && reader.TryRead(out var warm); i++)
            {
                matched += filter.Matches(pipeline.Next(warm)) ? 1 : 0;
            }

            long before = GC.GetAllocatedBytesForCurrentThread();
            int packets = 0;
            while (reader.TryRead(out var packet))
            {
                matched += filter.Matches(pipeline.Next(packet)) ? 1 : 0;
                packets++;
            }

            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.Equal(2500, packets);
            Assert.True(matched > 1000, $"{matched} matched");
            Assert.True(allocated < 1024, $"{allocated} bytes allocated for {packets} frames");
        }
        finally
        {
            File.Delete(path);
        }
    }
}
