using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using TcpKit.Analysis.Fields;
using TcpKit.Wire;

namespace TcpKit.Analysis.Filters;

/// <summary>
/// A Wireshark display filter (tshark -Y) compiled once into a tree of predicates over the fields TcpKit
/// produces. Supported: field and protocol existence; == != === !== &gt; &lt; &gt;= &lt;= and eq ne gt lt ge le;
/// and or xor not (&amp;&amp; || ^^ !) with Wireshark's precedence (not, and, xor, or); parentheses;
/// in {80, 4430..4434}; contains; matches / ~ (case-insensitive); bitwise &amp;; numbers (decimal, 0x hex,
/// fractions), IPv4/IPv6 addresses and CIDR blocks, MAC addresses, quoted strings.
/// Not yet supported: slices [i:j] and arithmetic.
/// A filter instance is not thread-safe (it reuses scratch buffers).
/// </summary>
public sealed class DisplayFilter
{
    private readonly Node _root;

    private DisplayFilter(string text, Node root)
    {
        Text = text;
        _root = root;
    }

    public string Text { get; }

    /// <summary>Compiles a filter; throws <see cref="FilterException"/> with the column of the problem.</summary>
    public static DisplayFilter Compile(string filter)
    {
        var parser = new Parser(filter, FilterLexer.Tokenize(filter));
        var root = parser.ParseExpression();
        parser.ExpectEnd();
        return new DisplayFilter(filter, root);
    }

    public bool Matches(in FieldContext context) => _root.Eval(context);

    internal abstract class Node
    {
        public abstract bool Eval(in FieldContext c);
    }

    private sealed class And(Node l, Node r) : Node
    {
        public override bool Eval(in FieldContext c) => l.Eval(c) && r.Eval(c);
    }

    private sealed class Or(Node l, Node r) : Node
    {
        public override bool Eval(in FieldContext c) => l.Eval(c) || r.Eval(c);
    }

    private sealed class Xor(Node l, Node r) : Node
    {
        public override bool Eval(in FieldContext c) => l.Eval(c) ^ r.Eval(c);
    }

    private sealed class Not(Node inner) : Node
    {
        public override bool Eval(in FieldContext c) => !inner.Eval(c);
    }

    private enum Op : byte
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

    private enum LitKind : byte
    {
        Integer,
        Real,
        Address,
        Text,
    }

    /// <summary>A constant on the right-hand side of a comparison.</summary>
    private sealed record Literal(LitKind Kind, long Integer, double Real, IpAddress Address, int PrefixBits, string Text, long RangeEnd = long.MinValue)
    {
        public bool IsRange => RangeEnd != long.MinValue;
    }

    /// <summary>A field reference with its value source and an optional bitwise mask.</summary>
    private sealed class FieldRef(string name, long? mask)
    {
        private readonly NumericGetter? _numeric = FilterFields.Numeric.GetValueOrDefault(name);
        private readonly StringBuilder _scratch = new(64);
        private readonly List<string> _texts = new(4);
        private readonly long[] _numbers = new long[8];

        public string Name => name;

        public long? Mask => mask;

        public bool HasNumeric => _numeric is not null;

        public bool Exists(in FieldContext c)
        {
            if (mask is long m)
            {
                // "field & mask" on its own: true when any value has a masked bit set.
                int n = Numbers(c);
                for (int i = 0; i < n; i++)
                {
                    if ((_numbers[i] & m) != 0)
                    {
                        return true;
                    }
                }

                return false;
            }

            return _numeric is not null ? _numeric(c, _numbers) > 0 : FilterFields.Exists(name, c, _scratch);
        }

        /// <summary>Integer values (masked), via the fast path or by parsing the text values.</summary>
        public int Numbers(in FieldContext c)
        {
            int n;
            if (_numeric is not null)
            {
                n = _numeric(c, _numbers);
            }
            else
            {
                n = 0;
                FilterFields.Text(name, c, _scratch, _texts);
                foreach (var t in _texts)
                {
                    if (n < _numbers.Length && TryParseInteger(t, out long v))
                    {
                        _numbers[n++] = v;
                    }
                }
            }

            if (mask is long m)
            {
                for (int i = 0; i < n; i++)
                {
                    _numbers[i] &= m;
                }
            }

            return n;
        }

        public long Number(int i) => _numbers[i];

        public List<string> Texts(in FieldContext c)
        {
            FilterFields.Text(name, c, _scratch, _texts);
            return _texts;
        }
    }

    private sealed class ExistsNode(FieldRef field) : Node
    {
        public override bool Eval(in FieldContext c) => field.Exists(c);
    }

    private sealed class Compare(FieldRef field, Op op, Literal lit) : Node
    {
        public override bool Eval(in FieldContext c)
        {
            if (lit.Kind == LitKind.Integer && (field.HasNumeric || field.Mask is not null))
            {
                int n = field.Numbers(c);
                if (n == 0)
                {
                    return false;
                }

                bool any = false, all = true;
                for (int i = 0; i < n; i++)
                {
                    bool r = Test(field.Number(i).CompareTo(lit.Integer));
                    any |= r;
                    all &= r;
                }

                return Combine(any, all);
            }

            var texts = field.Texts(c);
            if (texts.Count == 0)
            {
                return false;
            }

            bool anyT = false, allT = true;
            foreach (var t in texts)
            {
                bool r = TestText(t);
                anyT |= r;
                allT &= r;
            }

            return Combine(anyT, allT);
        }

        private bool Combine(bool any, bool all) => op switch
        {
            Op.AllEq => all,
            // "!=" is "all values differ"; each test below computed equality for these two.
            Op.AllNe => !any,
            Op.AnyNe => !all,
            _ => any,
        };

        private bool Test(int cmp) => op switch
        {
            Op.AnyEq or Op.AllEq or Op.AllNe or Op.AnyNe => cmp == 0,
            Op.Gt => cmp > 0,
            Op.Ge => cmp >= 0,
            Op.Lt => cmp < 0,
            _ => cmp <= 0,
        };

        private bool TestText(string value)
        {
            switch (lit.Kind)
            {
                case LitKind.Integer:
                    if (TryParseInteger(value, out long iv))
                    {
                        return Test(iv.CompareTo(lit.Integer));
                    }

                    return double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double dv) && Test(dv.CompareTo(lit.Integer));
                case LitKind.Real:
                    return double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double rv) && Test(rv.CompareTo(lit.Real));
                case LitKind.Address:
                    if (!IpAddress.TryParse(value, out var address))
                    {
                        return false;
                    }

                    if (lit.PrefixBits >= 0 && op is Op.AnyEq or Op.AllEq or Op.AllNe or Op.AnyNe)
                    {
                        return InPrefix(address, lit.Address, lit.PrefixBits);
                    }

                    return address.Version == lit.Address.Version && Test(address.CompareTo(lit.Address));
                default:
                    // MAC addresses compare without regard to case.
                    return Test(IsMacLike(lit.Text) && string.Equals(value, lit.Text, StringComparison.OrdinalIgnoreCase)
                        ? 0
                        : string.CompareOrdinal(value, lit.Text));
            }
        }
    }

    private sealed class InSet(FieldRef field, List<Literal> set) : Node
    {
        public override bool Eval(in FieldContext c)
        {
            if (field.HasNumeric && set.TrueForAll(l => l.Kind == LitKind.Integer))
            {
                int n = field.Numbers(c);
                for (int i = 0; i < n; i++)
                {
                    long v = field.Number(i);
                    foreach (var l in set)
                    {
                        if (l.IsRange ? v >= l.Integer && v <= l.RangeEnd : v == l.Integer)
                        {
                            return true;
                        }
                    }
                }

                return false;
            }

            foreach (var l in set)
            {
                Node test = l.IsRange
                    ? new And(new Compare(field, Op.Ge, l with { RangeEnd = long.MinValue }), new Compare(field, Op.Le, l with { Integer = l.RangeEnd, RangeEnd = long.MinValue }))
                    : new Compare(field, Op.AnyEq, l);
                if (test.Eval(c))
                {
                    return true;
                }
            }

            return false;
        }
    }

    private sealed class ContainsNode(FieldRef field, string needle) : Node
    {
        public override bool Eval(in FieldContext c)
        {
            foreach (var t in field.Texts(c))
            {
                if (t.Contains(needle, StringComparison.Ordinal))
                {
                    return true;
                }
            }

            return false;
        }
    }

    private sealed class MatchesNode(FieldRef field, Regex regex) : Node
    {
        public override bool Eval(in FieldContext c)
        {
            foreach (var t in field.Texts(c))
            {
                if (regex.IsMatch(t))
                {
                    return true;
                }
            }

            return false;
        }
    }

    private static bool IsMacLike(string s) => s.Length == 17 && s[2] is ':' or '-';

    private static bool InPrefix(IpAddress a, IpAddress network, int bits)
    {
        if (a.Version != network.Version)
        {
            return false;
        }

        if (a.IsIPv4)
        {
            uint mask = bits == 0 ? 0 : uint.MaxValue << (32 - bits);
            return (a.IPv4Value & mask) == (network.IPv4Value & mask);
        }

        UInt128 m = bits == 0 ? UInt128.Zero : UInt128.MaxValue << (128 - bits);
        return (a.ToUInt128() & m) == (network.ToUInt128() & m);
    }

    private static bool TryParseInteger(string s, out long value)
    {
        if (s.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            return long.TryParse(s.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out value);
        }

        return long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);
    }

    /// <summary>Recursive descent with Wireshark's precedence: or &lt; xor &lt; and &lt; not &lt; relations.</summary>
    private sealed class Parser(string filter, List<Token> tokens)
    {
        private int _pos;

        private Token Current => tokens[_pos];

        public void ExpectEnd()
        {
            if (Current.Kind != TokenKind.End)
            {
                throw Error($"unexpected \"{Current.Text}\"", Current);
            }
        }

        public Node ParseExpression()
        {
            var left = ParseXor();
            while (IsOp("||", "or"))
            {
                _pos++;
                left = new Or(left, ParseXor());
            }

            return left;
        }

        private Node ParseXor()
        {
            var left = ParseAnd();
            while (IsOp("^^", "xor"))
            {
                _pos++;
                left = new Xor(left, ParseAnd());
            }

            return left;
        }

        private Node ParseAnd()
        {
            var left = ParseNot();
            while (IsOp("&&", "and"))
            {
                _pos++;
                left = new And(left, ParseNot());
            }

            return left;
        }

        private Node ParseNot()
        {
            if (IsOp("!", "not"))
            {
                _pos++;
                return new Not(ParseNot());
            }

            return ParseRelation();
        }

        private Node ParseRelation()
        {
            if (Current.Kind == TokenKind.LParen)
            {
                _pos++;
                var inner = ParseExpression();
                if (Current.Kind != TokenKind.RParen)
                {
                    throw Error("missing \")\"", Current);
                }

                _pos++;
                return inner;
            }

            var field = ParseField();
            if (Current.Kind == TokenKind.LBracket)
            {
                throw Error("slices ([i:j]) are not supported yet", Current);
            }

            Op? op = Current.Text switch
            {
                "==" or "eq" or "any_eq" => Op.AnyEq,
                "!=" or "ne" or "all_ne" => Op.AllNe,
                "===" or "all_eq" => Op.AllEq,
                "!==" or "~=" or "any_ne" => Op.AnyNe,
                ">" or "gt" => Op.Gt,
                ">=" or "ge" => Op.Ge,
                "<" or "lt" => Op.Lt,
                "<=" or "le" => Op.Le,
                _ => null,
            };
            if (op is Op o && Current.Kind is TokenKind.Op or TokenKind.Word)
            {
                _pos++;
                return new Compare(field, o, ParseLiteral());
            }

            if (Current.Kind == TokenKind.Word && Current.Text == "contains")
            {
                _pos++;
                var lit = ParseLiteral();
                return new ContainsNode(field, lit.Text);
            }

            if (Current.Text is "matches" or "~")
            {
                _pos++;
                var t = Current;
                var lit = ParseLiteral();
                try
                {
                    return new MatchesNode(field, new Regex(lit.Text, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1)));
                }
                catch (ArgumentException e)
                {
                    throw Error($"invalid regular expression: {e.Message}", t);
                }
            }

            bool negated = false;
            if (Current.Kind == TokenKind.Word && Current.Text == "not" && tokens[_pos + 1].Text == "in")
            {
                negated = true;
                _pos++;
            }

            if (Current.Kind == TokenKind.Word && Current.Text == "in")
            {
                _pos++;
                var set = ParseSet();
                Node node = new InSet(field, set);
                return negated ? new Not(node) : node;
            }

            return new ExistsNode(field);
        }

        private FieldRef ParseField()
        {
            var t = Current;
            if (t.Kind != TokenKind.Word)
            {
                throw Error(t.Kind == TokenKind.End ? "the filter ends where a field was expected" : $"expected a field name, found \"{t.Text}\"", t);
            }

            if (!FilterFields.IsKnown(t.Text))
            {
                var hint = FilterFields.Suggest(t.Text);
                throw Error(hint is null ? $"unknown field \"{t.Text}\"" : $"unknown field \"{t.Text}\" (did you mean \"{hint}\"?)", t);
            }

            _pos++;
            long? mask = null;
            if (Current.Text is "&" or "bitwise_and")
            {
                _pos++;
                var m = ParseLiteral();
                if (m.Kind != LitKind.Integer)
                {
                    throw Error("a bitwise mask must be an integer", tokens[_pos - 1]);
                }

                mask = m.Integer;
            }

            return new FieldRef(t.Text, mask);
        }

        private List<Literal> ParseSet()
        {
            if (Current.Kind != TokenKind.LBrace)
            {
                throw Error("expected \"{\" after \"in\"", Current);
            }

            _pos++;
            var set = new List<Literal>();
            while (Current.Kind != TokenKind.RBrace)
            {
                if (Current.Kind == TokenKind.End)
                {
                    throw Error("missing \"}\"", Current);
                }

                var t = Current;
                if (t.Kind == TokenKind.Word && t.Text.Contains("..", StringComparison.Ordinal))
                {
                    int dots = t.Text.IndexOf("..", StringComparison.Ordinal);
                    if (!TryParseInteger(t.Text[..dots], out long lo) || !TryParseInteger(t.Text[(dots + 2)..], out long hi))
                    {
                        throw Error($"\"{t.Text}\" is not a range of integers", t);
                    }

                    set.Add(new Literal(LitKind.Integer, lo, lo, default, -1, t.Text, hi));
                    _pos++;
                }
                else
                {
                    set.Add(ParseLiteral());
                }

                if (Current.Kind == TokenKind.Comma)
                {
                    _pos++;
                }
            }

            _pos++;
            return set;
        }

        private Literal ParseLiteral()
        {
            var t = Current;
            if (t.Kind == TokenKind.String)
            {
                _pos++;
                return new Literal(LitKind.Text, 0, 0, default, -1, t.Text);
            }

            if (t.Kind != TokenKind.Word)
            {
                throw Error(t.Kind == TokenKind.End ? "the filter ends where a value was expected" : $"expected a value, found \"{t.Text}\"", t);
            }

            _pos++;
            string s = t.Text;
            if (TryParseInteger(s, out long i))
            {
                return new Literal(LitKind.Integer, i, i, default, -1, s);
            }

            if (double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) && !s.Contains(':', StringComparison.Ordinal))
            {
                return new Literal(LitKind.Real, 0, d, default, -1, s);
            }

            int slash = s.IndexOf('/', StringComparison.Ordinal);
            string addressText = slash >= 0 ? s[..slash] : s;
            if (IpAddress.TryParse(addressText, out var address))
            {
                int bits = -1;
                if (slash >= 0 && (!int.TryParse(s.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out bits) || bits > (address.IsIPv4 ? 32 : 128)))
                {
                    throw Error($"\"{s}\" has an invalid prefix length", t);
                }

                return new Literal(LitKind.Address, 0, 0, address, bits, s);
            }

            if (IsMacLike(s))
            {
                return new Literal(LitKind.Text, 0, 0, default, -1, s.Replace('-', ':').ToLowerInvariant());
            }

            if (FilterFields.IsKnown(s))
            {
                throw Error($"comparing two fields (\"{s}\") is not supported yet", t);
            }

            // A bare word is a string value, as for Wireshark's string fields.
            return new Literal(LitKind.Text, 0, 0, default, -1, s);
        }

        private bool IsOp(string symbol, string word) =>
            (Current.Kind == TokenKind.Op && Current.Text == symbol) || (Current.Kind == TokenKind.Word && Current.Text == word);

        private FilterException Error(string message, Token at) => new(message, filter, at.Column, Math.Max(1, at.Text.Length));
    }
}
