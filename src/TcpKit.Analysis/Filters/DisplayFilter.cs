using System.Text;
using System.Text.RegularExpressions;
using TcpKit.Analysis.Conversations;
using TcpKit.Analysis.Fields;

namespace TcpKit.Analysis.Filters;

/// <summary>
/// A Wireshark display filter (tshark -Y, 4.0 syntax) compiled once into a tree of predicates over the fields
/// TcpKit produces. Supported: field and protocol existence; == != === !== &gt; &lt; &gt;= &lt;= and eq ne gt lt ge le
/// (any_eq all_ne all_eq any_ne), with the <c>any</c>/<c>all</c> quantifiers; and or not (&amp;&amp; || !) with
/// Wireshark's precedence, plus xor/^^; parentheses; <c>in {80, 4430..4434}</c>; contains; matches / ~;
/// slices <c>[i:j] [i-j] [i] [:j] [i:] [-1]</c> and joined ranges <c>[0:1,3-4]</c>; arithmetic + - * / % and
/// unary minus, grouped with { }; bitwise &amp;; field-to-field comparisons; the functions len, count, upper,
/// lower, string, abs, min and max; numbers (decimal, hex, octal, binary, 'c'), IPv4/IPv6 addresses and CIDR
/// blocks, MAC addresses, byte strings (aa:bb, aa.bb, aabb), strings and raw strings.
/// A filter instance is not thread-safe (it reuses its buffers for every frame).
/// </summary>
public sealed class DisplayFilter
{
    private readonly Node _root;

    private DisplayFilter(string text, Node root, bool namesTcpKitFields)
    {
        Text = text;
        _root = root;
        NamesTcpKitFields = namesTcpKitFields;
    }

    public string Text { get; }

    /// <summary>
    /// The filter names a tcpkit.* field (connection states, conn_state, history), which are computed only when
    /// something asks for them (<see cref="Conversations.ConversationTracker.TrackConnectionStates"/>). Decided
    /// on the text, so a string or a ${tcpkit...} reference that mentions one also counts: never a false "no".
    /// </summary>
    public bool NamesTcpKitFields { get; }

    /// <summary>Compiles a filter; throws <see cref="FilterException"/> with the column of the problem.</summary>
    public static DisplayFilter Compile(string filter)
    {
        var parser = new FilterParser(filter, FilterLexer.Tokenize(filter));
        var root = parser.ParseExpression();
        parser.ExpectEnd();
        return new DisplayFilter(filter, root, filter.Contains("tcpkit", StringComparison.OrdinalIgnoreCase));
    }

    public bool Matches(in FieldContext context) => _root.Eval(context);
}

internal abstract class Node
{
    public abstract bool Eval(in FieldContext c);
}

internal sealed class AndNode(Node l, Node r) : Node
{
    public override bool Eval(in FieldContext c) => l.Eval(c) && r.Eval(c);
}

internal sealed class OrNode(Node l, Node r) : Node
{
    public override bool Eval(in FieldContext c) => l.Eval(c) || r.Eval(c);
}

internal sealed class XorNode(Node l, Node r) : Node
{
    public override bool Eval(in FieldContext c) => l.Eval(c) ^ r.Eval(c);
}

internal sealed class NotNode(Node inner) : Node
{
    public override bool Eval(in FieldContext c) => !inner.Eval(c);
}

/// <summary>A field, protocol or slice on its own: true when it has a value in the frame.</summary>
internal sealed class ExistsNode(Expr value) : Node
{
    // A bare analysis flag (tcp.analysis.retransmission and the like, the filters run most over large captures)
    // is one bit test on the frame's analysis: no getter call and no value list per frame.
    private readonly AnalysisFlags _analysisMask = value is FieldExpr field ? field.Field.AnalysisMask : AnalysisFlags.None;

    public override bool Eval(in FieldContext c)
    {
        if (_analysisMask != AnalysisFlags.None)
        {
            return c.HasTcp && (c.Analysis.Flags & _analysisMask) != 0;
        }

        value.Eval(c);
        return value.Out.Count > 0;
    }
}

/// <summary><c>x &amp; mask</c> on its own: true when some value has a masked bit set.</summary>
internal sealed class NonZeroNode(Expr value) : Node
{
    public override bool Eval(in FieldContext c)
    {
        value.Eval(c);
        var v = value.Out;
        for (int i = 0; i < v.Count; i++)
        {
            if (value.Kind == ValueKind.Integer ? v.Integer(i) != 0 : v.Bytes(i, c.Frame).ContainsAnyExcept((byte)0))
            {
                return true;
            }
        }

        return false;
    }
}

internal enum Relation : byte
{
    AnyEq,
    AllEq,
    AllNe,
    AnyNe,
    Gt,
    Ge,
    Lt,
    Le,
}

/// <summary>
/// <c>left OP right</c> over every pair of values (a field can occur more than once). Wireshark 4.0 semantics:
/// == is "any pair equal", != is "all pairs differ" (so it is exactly <c>!(a == b)</c> when both exist),
/// === and !== are "all equal" and "any differs"; orderings hold for any pair, or for all with <c>all</c>.
/// An absent operand makes every comparison false.
/// </summary>
internal sealed class CompareNode(Expr left, Relation relation, bool all, Expr right, ValueKind kind) : Node
{
    public override bool Eval(in FieldContext c)
    {
        left.Eval(c);
        var a = left.Out;
        if (a.Count == 0)
        {
            return false;
        }

        right.Eval(c);
        var b = right.Out;
        if (b.Count == 0)
        {
            return false;
        }

        bool any = false, every = true;
        for (int i = 0; i < a.Count; i++)
        {
            for (int j = 0; j < b.Count; j++)
            {
                bool r = Test(a, i, b, j, c.Frame);
                any |= r;
                every &= r;
            }
        }

        return relation switch
        {
            Relation.AllEq => every,
            Relation.AllNe => !any,
            Relation.AnyNe => !every,
            Relation.AnyEq => any,
            _ => all ? every : any,
        };
    }

    private bool Test(ValueList a, int i, ValueList b, int j, ReadOnlySpan<byte> frame)
    {
        if (relation is Relation.AnyEq or Relation.AllEq or Relation.AllNe or Relation.AnyNe)
        {
            return ValueOps.Equal(kind, a, i, b, j, frame);
        }

        int cmp = ValueOps.Compare(kind, a, i, b, j, frame);
        return relation switch
        {
            Relation.Gt => cmp > 0,
            Relation.Ge => cmp >= 0,
            Relation.Lt => cmp < 0,
            _ => cmp <= 0,
        };
    }
}

/// <summary>
/// <c>x in {a, b, c..d}</c>: some value equals an element or lies in a range. With <c>all</c>, Wireshark 4.0
/// tests each element on its own (<c>all x == a || all x == b ...</c>), so every value must match the same element.
/// </summary>
internal sealed class InSetNode(Expr value, List<(ConstExpr Low, ConstExpr? High)> set, bool all) : Node
{
    public override bool Eval(in FieldContext c)
    {
        value.Eval(c);
        var v = value.Out;
        if (v.Count == 0)
        {
            return false;
        }

        foreach (var (low, high) in set)
        {
            bool any = false, every = true;
            for (int i = 0; i < v.Count; i++)
            {
                bool member = high is null
                    ? ValueOps.Equal(value.Kind, v, i, low.Out, 0, c.Frame)
                    : ValueOps.Compare(value.Kind, v, i, low.Out, 0, c.Frame) >= 0 && ValueOps.Compare(value.Kind, v, i, high.Out, 0, c.Frame) <= 0;
                any |= member;
                every &= member;
            }

            if (all ? every : any)
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary><c>x contains y</c>: a byte string or text holds the other as a run.</summary>
internal sealed class ContainsNode(Expr left, Expr right) : Node
{
    public override bool Eval(in FieldContext c)
    {
        left.Eval(c);
        right.Eval(c);
        for (int i = 0; i < left.Out.Count; i++)
        {
            for (int j = 0; j < right.Out.Count; j++)
            {
                bool hit = left.Kind == ValueKind.Text
                    ? left.Out.Text(i).Contains(right.Out.Text(j), StringComparison.Ordinal)
                    : left.Out.Bytes(i, c.Frame).IndexOf(right.Out.Bytes(j, c.Frame)) >= 0;
                if (hit)
                {
                    return true;
                }
            }
        }

        return false;
    }
}

/// <summary><c>x matches "re"</c>: a case-insensitive regular expression; byte strings are matched as Latin-1 text.</summary>
internal sealed class MatchesNode(Expr left, Regex regex) : Node
{
    /// <summary>Values the pattern gave up on (counted, treated as no match).</summary>
    public long TimedOut { get; private set; }

    public override bool Eval(in FieldContext c)
    {
        left.Eval(c);
        for (int i = 0; i < left.Out.Count; i++)
        {
            string text = left.Kind == ValueKind.Text ? left.Out.Text(i) : Encoding.Latin1.GetString(left.Out.Bytes(i, c.Frame));
            try
            {
                if (regex.IsMatch(text))
                {
                    return true;
                }
            }
            catch (RegexMatchTimeoutException)
            {
                // A backtracking pattern that runs too long on this value is no match, not a crash.
                TimedOut++;
            }
        }

        return false;
    }
}
