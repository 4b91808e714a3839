using CsCheck;
using TcpKit.Analysis.Filters;
using TcpKit.Analysis.Tests.Support;
using static TcpKit.Wire.Tcp.TcpFlags;

namespace TcpKit.Analysis.Tests.Filters;

/// <summary>Any text either compiles or fails with a <see cref="FilterException"/> inside the filter; a compiled filter never throws on a frame.</summary>
public class FilterFuzzTests
{
    private static readonly string[] Pieces =
    [
        "tcp", "ip", "eth", "frame", "tcp.port", "tcp.len", "tcp.payload", "ip.src", "ipv6.addr", "eth.dst", "tcp.flags.syn", "frame.time_delta",
        "tcp.options.sack_le", "tcp.analysis.flags", "tcpkit.history", "len", "count", "upper", "string", "abs", "min", "max", "any", "all",
        "==", "!=", "===", "!==", ">", "<=", "&&", "||", "!", "not", "and", "in", "contains", "matches", "~", "&", "+", "-", "*", "/", "%",
        "(", ")", "{", "}", "[", "]", "[0:2]", "[-1]", "[1-3,5:]", "[:2147483647]", ",", "..", "0", "1", "-1", "0x7fffffffffffffff", "9223372036854775807",
        "10.0.0.1", "10.0.0.0/8", "::1", "aa:bb", "61", "'a'", "'\\x'", "\"x\"", "\"(\"", "r\"\\d\"", "\"", "#", "$", " ",
    ];

    private static readonly Trace Frames = new Trace(41000, 80)
        .Add(0.000, true, 100, 0, Syn, 1000, options: Trace.Options(mss: 1460, sackPermitted: true))
        .Add(0.001, false, 500, 101, Syn | Ack, 2000)
        .Add(0.003, true, 101, 501, Psh | Ack, 1000, 10)
        .Add(0.005, false, 501, 111, Ack, 2000, options: Trace.Options(sack: (121, 131)));

    [Fact]
    public void Random_filters_compile_or_fail_with_a_column_and_never_throw_while_matching()
    {
        var compiled = new List<DisplayFilter>();
        Gen.Int[0, Pieces.Length - 1].Array[1, 12].Sample(picks =>
        {
            string text = string.Join(" ", picks.Select(i => Pieces[i]));
            try
            {
                compiled.Add(DisplayFilter.Compile(text));
            }
            catch (FilterException e)
            {
                Assert.InRange(e.Column, 0, text.Length);
                Assert.False(string.IsNullOrEmpty(e.Message));
            }
        }, iter: 20_000);

        Assert.NotEmpty(compiled);
        Frames.Each((in Fields.FieldContext c) =>
        {
            foreach (var f in compiled)
            {
                f.Matches(c);
            }
        });
    }
}
