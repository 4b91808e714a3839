using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using TcpKit.Wire;

namespace TcpKit.Analysis.Filters;

/// <summary>
/// Recursive descent over Wireshark 4.0's grammar. Logical: or &lt; xor &lt; and &lt; not &lt; relations.
/// Values: bitwise &amp; &lt; + - &lt; * / % &lt; unary minus &lt; slices; { } groups arithmetic.
/// A literal takes its meaning from what it is compared with (as Wireshark's semantic check does): "50" is
/// the number 50 next to tcp.port but the byte 0x50 next to a slice.
/// </summary>
internal sealed class FilterParser(string filter, List<Token> tokens)
{
    private static readonly HashSet<string> Functions = ["len", "count", "upper", "lower", "string", "abs", "min", "max"];

    private int _pos;

    private Token Current => tokens[_pos];

    private Token Next => tokens[Math.Min(_pos + 1, tokens.Count - 1)];

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
            left = new OrNode(left, ParseXor());
        }

        return left;
    }

    private Node ParseXor()
    {
        var left = ParseAnd();
        while (IsOp("^^", "xor"))
        {
            _pos++;
            left = new XorNode(left, ParseAnd());
        }

        return left;
    }

    private Node ParseAnd()
    {
        var left = ParseNot();
        while (IsOp("&&", "and"))
        {
            _pos++;
            left = new AndNode(left, ParseNot());
        }

        return left;
    }

    private Node ParseNot()
    {
        if (IsOp("!", "not"))
        {
            _pos++;
            return new NotNode(ParseNot());
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

        // "all tcp.port > 1024", "any ip.addr != 10.0.0.1".
        bool? all = null;
        if (Current.Kind == TokenKind.Word && Current.Text is "any" or "all" && Next.Kind is TokenKind.Word or TokenKind.LBrace)
        {
            all = Current.Text == "all";
            _pos++;
        }

        var leftToken = Current;
        var left = ParseValue();
        if (left is PendingLiteral literal)
        {
            throw NotAFieldError(literal.Token);
        }

        if (IsConstant(left))
        {
            throw Error("the left side of a test must be a field, a slice or a function, not a constant expression", leftToken, left.Length);
        }

        Relation? relation = Current.Kind is TokenKind.Op or TokenKind.Word ? Current.Text switch
        {
            "==" or "eq" or "any_eq" => Relation.AnyEq,
            "!=" or "ne" or "all_ne" => Relation.AllNe,
            "===" or "all_eq" => Relation.AllEq,
            "!==" or "~=" or "any_ne" => Relation.AnyNe,
            ">" or "gt" => Relation.Gt,
            ">=" or "ge" => Relation.Ge,
            "<" or "lt" => Relation.Lt,
            "<=" or "le" => Relation.Le,
            _ => null,
        } : null;
        if (relation is Relation rel)
        {
            var opToken = Current;
            _pos++;
            if (all is bool quantifier)
            {
                // The quantifier decides between "any" and "all" even for === and !==.
                rel = rel switch
                {
                    Relation.AnyEq or Relation.AllEq => quantifier ? Relation.AllEq : Relation.AnyEq,
                    Relation.AllNe or Relation.AnyNe => quantifier ? Relation.AllNe : Relation.AnyNe,
                    _ => rel,
                };
            }

            var right = ParseValue();
            (left, right) = Unify(left, right, opToken);
            CheckComparable(left, right, opToken);
            return new CompareNode(left, rel, all == true, right, left.Kind);
        }

        if (Current.Kind == TokenKind.Word && Current.Text == "contains")
        {
            var opToken = Current;
            _pos++;
            var right = ParseValue();
            (left, right) = Unify(left, right, opToken);
            if (left.Kind is not (ValueKind.Bytes or ValueKind.Text) || right.Kind != left.Kind)
            {
                throw Error($"\"contains\" needs a byte string or text on both sides; {Describe(left)} cannot contain {Describe(right)}", opToken);
            }

            return new ContainsNode(left, right);
        }

        if (Current.Text is "matches" or "~" && Current.Kind is TokenKind.Word or TokenKind.Op)
        {
            _pos++;
            var t = Current;
            if (t.Kind != TokenKind.String)
            {
                throw Error("\"matches\" needs a regular expression in double quotes", t);
            }

            if (left.Kind is not (ValueKind.Bytes or ValueKind.Text))
            {
                throw Error($"\"matches\" needs text; {Describe(left)} is not (convert it with string())", leftToken);
            }

            _pos++;
            try
            {
                // The linear-time engine cannot be made to backtrack forever by a hostile pattern or payload;
                // patterns it does not support (backreferences, lookarounds) run with a time limit instead.
                return new MatchesNode(left, new Regex(t.Text, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.NonBacktracking));
            }
            catch (NotSupportedException)
            {
            }
            catch (ArgumentException e)
            {
                throw Error($"invalid regular expression: {e.Message}", t);
            }

            try
            {
                return new MatchesNode(left, new Regex(t.Text, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, TimeSpan.FromMilliseconds(100)));
            }
            catch (ArgumentException e)
            {
                throw Error($"invalid regular expression: {e.Message}", t);
            }
        }

        bool negated = false;
        if (Current.Kind == TokenKind.Word && Current.Text == "not" && Next.Text == "in")
        {
            negated = true;
            _pos++;
        }

        if (Current.Kind == TokenKind.Word && Current.Text == "in")
        {
            if (left is not FieldExpr)
            {
                throw Error("only a field can be tested for membership in a set", leftToken, left.Length);
            }

            _pos++;
            Node node = new InSetNode(left, ParseSet(left), all == true);
            return negated ? new NotNode(node) : node;
        }

        if (all is not null)
        {
            throw Error("\"any\" and \"all\" need a comparison after the value", Current);
        }

        return left switch
        {
            FunctionExpr f => throw Error("a function's result is not a test; compare it with a value", leftToken, f.Length),
            ArithExpr { IsBitwise: true } a => new NonZeroNode(a),
            ArithExpr or NegateExpr => throw Error("an arithmetic expression is not a test; compare it with a value", leftToken, left.Length),
            _ => new ExistsNode(left),
        };
    }

    private static bool IsConstant(Expr e) => e switch
    {
        ConstExpr or PendingLiteral => true,
        ArithExpr a => IsConstant(a.Left) && IsConstant(a.Right),
        NegateExpr n => IsConstant(n.Inner),
        _ => false,
    };

    // ---- values ----

    private Expr ParseValue()
    {
        var left = ParseAdditive();
        while (IsOp("&", "bitwise_and"))
        {
            var op = Current;
            _pos++;
            var right = ParseAdditive();
            left = Arithmetic('&', left, right, op);
        }

        return left;
    }

    private Expr ParseAdditive()
    {
        var left = ParseMultiplicative();
        while (Current.Kind == TokenKind.Op && Current.Text is "+" or "-")
        {
            var op = Current;
            _pos++;
            left = Arithmetic(op.Text[0], left, ParseMultiplicative(), op);
        }

        return left;
    }

    private Expr ParseMultiplicative()
    {
        var left = ParseUnary();
        while (Current.Kind == TokenKind.Op && Current.Text is "*" or "/" or "%")
        {
            var op = Current;
            _pos++;
            left = Arithmetic(op.Text[0], left, ParseUnary(), op);
        }

        return left;
    }

    private Expr ParseUnary()
    {
        if (Current.Kind == TokenKind.Op && Current.Text == "-")
        {
            var minus = Current;
            _pos++;
            var operand = ParseUnary();
            if (operand is PendingLiteral p)
            {
                return new PendingLiteral(new Token(p.Token.Kind, "-" + p.Token.Text, minus.Column));
            }

            if (operand.Kind is not (ValueKind.Integer or ValueKind.Real))
            {
                throw Error($"unary minus needs a number; {Describe(operand)} is not one", minus);
            }

            return new NegateExpr(operand, minus.Column, operand.Column + operand.Length - minus.Column);
        }

        return ParsePrimary();
    }

    private Expr ParsePrimary()
    {
        var t = Current;
        Expr value;
        switch (t.Kind)
        {
            case TokenKind.Word when Next.Kind == TokenKind.LParen && Functions.Contains(t.Text):
                value = ParseFunction();
                break;
            case TokenKind.Word:
                _pos++;
                value = FilterFields.Get(t.Text) is { } field ? new FieldExpr(field, t.Column, t.Text.Length) : new PendingLiteral(t);
                if (Current.Kind == TokenKind.Layer)
                {
                    value = LayerOf(value, t, Current);
                    _pos++;
                }

                break;
            case TokenKind.FieldRef:
                _pos++;
                value = FieldReference(t);
                break;
            case TokenKind.String or TokenKind.Char:
                _pos++;
                value = new PendingLiteral(t);
                break;
            case TokenKind.LBrace:
                _pos++;
                value = ParseValue();
                if (Current.Kind != TokenKind.RBrace)
                {
                    throw Error("missing \"}\"", Current);
                }

                _pos++;
                break;
            case TokenKind.End:
                throw Error("the filter ends where a value was expected", t);
            default:
                throw Error($"expected a field or a value, found \"{t.Text}\"", t);
        }

        while (Current.Kind == TokenKind.Slice)
        {
            var s = Current;
            _pos++;
            if (value is PendingLiteral p)
            {
                throw NotAFieldError(p.Token);
            }

            if (value.Kind is not (ValueKind.Bytes or ValueKind.Text))
            {
                throw Error($"{Describe(value)} cannot be sliced into a sequence of bytes", t, value.Length);
            }

            value = new SliceExpr(value, ParseRanges(s), value.Column, s.Column + s.Text.Length + 2 - value.Column);
        }

        return value;
    }

    private FunctionExpr ParseFunction()
    {
        var name = Current;
        _pos += 2;
        var args = new List<Expr>();
        while (Current.Kind != TokenKind.RParen)
        {
            if (Current.Kind == TokenKind.End)
            {
                throw Error("missing \")\"", Current);
            }

            args.Add(ParseValue());
            if (Current.Kind == TokenKind.Comma)
            {
                _pos++;
            }
            else if (Current.Kind != TokenKind.RParen)
            {
                throw Error($"unexpected \"{Current.Text}\" in the arguments of {name.Text}()", Current);
            }
        }

        int end = Current.Column + 1;
        _pos++;
        int length = end - name.Column;
        if (args.Count == 0 || (args.Count > 1 && name.Text is not ("min" or "max")))
        {
            throw Error($"{name.Text}() takes {(name.Text is "min" or "max" ? "one or more arguments" : "one argument")}", name, length);
        }

        var a = args[0];
        switch (name.Text)
        {
            case "len" or "count":
                if (a is not FieldExpr)
                {
                    throw Error($"only fields can be used as the argument of {name.Text}()", name, length);
                }

                return new FunctionExpr(name.Text, [a], ValueKind.Integer, FieldType.UInt32, name.Column, length);
            case "upper" or "lower":
                if (a is not FieldExpr || a.Kind != ValueKind.Text)
                {
                    throw Error($"only text fields can be used as the argument of {name.Text}()", name, length);
                }

                return new FunctionExpr(name.Text, [a], ValueKind.Text, FieldType.String, name.Column, length);
            case "string":
                if (a is not FieldExpr f || !(f.Type is FieldType.IPv4 or FieldType.IPv6 or FieldType.Ether || (f.Kind == ValueKind.Integer && f.Type != FieldType.Boolean)))
                {
                    throw Error($"string() cannot convert {Describe(a)}; it takes a number or an address field", name, length);
                }

                return new FunctionExpr(name.Text, [a], ValueKind.Text, FieldType.String, name.Column, length);
            case "abs":
                if (a.Kind is not (ValueKind.Integer or ValueKind.Real))
                {
                    throw Error($"abs() needs a number; {Describe(a)} is not one", name, length);
                }

                return new FunctionExpr(name.Text, [a], a.Kind, a.Type, name.Column, length);
            default:
                var typed = args.Find(x => x is not PendingLiteral) ?? throw Error($"{name.Text}() needs at least one field", name, length);
                for (int i = 0; i < args.Count; i++)
                {
                    if (args[i] is PendingLiteral p)
                    {
                        args[i] = Resolve(p, typed);
                    }
                    else if (args[i].Kind != typed.Kind || (args[i].Type != typed.Type && args[i] is FieldExpr && typed is FieldExpr))
                    {
                        throw Error($"the arguments of {name.Text}() must all have the same type ({Describe(typed)} and {Describe(args[i])} differ)", args[i].Column, args[i].Length);
                    }
                }

                return new FunctionExpr(name.Text, [.. args], typed.Kind, typed.Type, name.Column, length);
        }
    }

    /// <summary>
    /// ${field}: in Wireshark the field's values in the frame selected in the packet list. A capture read from
    /// the command line has no selected frame (tshark alike), so the reference has the field's type, for the
    /// type checks, and no values: every comparison with it is false, and its negation true.
    /// </summary>
    private FieldExpr FieldReference(Token t)
    {
        var field = FilterFields.Get(t.Text);
        if (field is null)
        {
            string? suggestion = FilterFields.Suggest(t.Text);
            throw Error($"\"{t.Text}\" is neither a field nor a display filter macro{(suggestion is null ? "" : $" (did you mean \"{suggestion}\"?)")}", t);
        }

        return new FieldExpr(field with { Get = static (in Fields.FieldContext _, ValueList _) => { } }, t.Column, SourceLength(t));
    }

    private Expr Arithmetic(char op, Expr left, Expr right, Token opToken)
    {
        foreach (var operand in (ReadOnlySpan<Expr>)[left, right])
        {
            if (operand is PendingLiteral { Token.Kind: TokenKind.Char } ch)
            {
                // Wireshark 4.0 does not take 'a' in arithmetic.
                throw Error("a character constant cannot be an arithmetic operand", ch.Token);
            }
        }

        (left, right) = Unify(left, right, opToken);
        bool ok = left.Kind == right.Kind && left.Kind switch
        {
            ValueKind.Integer => true,
            ValueKind.Real => op is '+' or '-',
            ValueKind.Bytes => op == '&',
            _ => false,
        };
        if (!ok)
        {
            throw Error($"cannot compute {Describe(left)} {opToken.Text} {Describe(right)}", opToken);
        }

        int end = Math.Max(left.Column + left.Length, right.Column + right.Length);
        return new ArithExpr(op, left, right, left.Column, end - left.Column);
    }

    /// <summary>Gives a literal the type of the other side; two literals are read as integers.</summary>
    private (Expr, Expr) Unify(Expr left, Expr right, Token at)
    {
        if (left is PendingLiteral l && right is PendingLiteral)
        {
            left = Resolve(l, new ConstExpr(ValueKind.Integer, FieldType.Int32, at.Column, 1));
        }

        if (left is PendingLiteral pl)
        {
            left = Resolve(pl, right);
        }

        if (right is PendingLiteral pr)
        {
            right = Resolve(pr, left);
        }

        return (left, right);
    }

    private void CheckComparable(Expr left, Expr right, Token op)
    {
        if (left.Kind == ValueKind.None || right.Kind == ValueKind.None)
        {
            var label = left.Kind == ValueKind.None ? left : right;
            throw Error($"{Describe(label)} has no value to compare; test it on its own", op);
        }

        if (left.Kind != right.Kind)
        {
            throw Error($"{Describe(left)} and {Describe(right)} cannot be compared", op);
        }
    }

    private List<(ConstExpr Low, ConstExpr? High)> ParseSet(Expr left)
    {
        if (Current.Kind != TokenKind.LBrace)
        {
            throw Error("expected \"{\" after \"in\"", Current);
        }

        _pos++;
        var set = new List<(ConstExpr, ConstExpr?)>();
        while (true)
        {
            var t = Current;
            if (t.Kind == TokenKind.End)
            {
                throw Error("missing \"}\"", t);
            }

            if (t.Kind is not (TokenKind.Word or TokenKind.String or TokenKind.Char))
            {
                throw Error($"expected a value in the set, found \"{t.Text}\"", t);
            }

            _pos++;
            int dots = t.Kind == TokenKind.Word ? t.Text.IndexOf("..", StringComparison.Ordinal) : -1;
            if (dots > 0 && dots + 2 < t.Text.Length)
            {
                // "4430..4434" in one word.
                set.Add((Resolve(new Token(t.Kind, t.Text[..dots], t.Column), left), Resolve(new Token(t.Kind, t.Text[(dots + 2)..], t.Column + dots + 2), left)));
            }
            else if (Current.Kind == TokenKind.Word && Current.Text == "..")
            {
                // "1 .. 100" with spaces.
                _pos++;
                var high = Current;
                if (high.Kind is not (TokenKind.Word or TokenKind.String))
                {
                    throw Error("a range needs an upper bound after \"..\"", high);
                }

                _pos++;
                set.Add((Resolve(t, left), Resolve(high, left)));
            }
            else
            {
                set.Add((Resolve(t, left), null));
            }

            if (Current.Kind == TokenKind.RBrace)
            {
                _pos++;
                return set;
            }

            if (Current.Kind != TokenKind.Comma)
            {
                throw Error(Current.Kind == TokenKind.End ? "missing \"}\"" : $"expected \",\" or \"}}\" in the set, found \"{Current.Text}\"", Current);
            }

            _pos++;
        }
    }

    private SliceRange[] ParseRanges(Token slice)
    {
        var ranges = new List<SliceRange>();
        int column = slice.Column + 1;
        foreach (var part in slice.Text.Split(','))
        {
            ranges.Add(ParseRange(part.Trim(), column, part.Length));
            column += part.Length + 1;
        }

        return [.. ranges];
    }

    /// <summary>One of i:j (start, length), i-j (start, inclusive end), i, :j, i: with negative offsets from the end.</summary>
    private SliceRange ParseRange(string s, int column, int length)
    {
        FilterException Bad() => new($"\"{s}\" is not a slice range ([i:j], [i-j], [i], [:j] or [i:])", filter, column, Math.Max(1, length));

        int colon = s.IndexOf(':', StringComparison.Ordinal);
        if (colon >= 0)
        {
            int start = colon == 0 ? 0 : Int(s[..colon]) ?? throw Bad();
            if (colon == s.Length - 1)
            {
                return new SliceRange(start, SliceEnd.ToTheEnd, 0);
            }

            int count = Int(s[(colon + 1)..]) ?? throw Bad();
            return count == 0 ? throw Bad() : new SliceRange(start, SliceEnd.Length, count);
        }

        // "i-j": the dash after the first character (a leading one is a negative start, as in "-4").
        int dash = s.Length > 1 ? s.IndexOf('-', 1) : -1;
        if (dash > 0)
        {
            int start = Int(s[..dash]) ?? throw Bad();
            int end = Int(s[(dash + 1)..]) ?? throw Bad();
            return new SliceRange(start, SliceEnd.Offset, end);
        }

        int single = Int(s) ?? throw Bad();
        return new SliceRange(single, SliceEnd.Length, 1);
    }

    private static int? Int(string s) => int.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int v) ? v : null;

    // ---- literals ----

    /// <summary>Reads a literal as a value of <paramref name="like"/>'s type.</summary>
    private ConstExpr Resolve(PendingLiteral p, Expr like) => Resolve(p.Token, like);

    private ConstExpr Resolve(Token t, Expr like)
    {
        var c = new ConstExpr(like.Kind, like.Type, t.Column, Math.Max(1, t.Text.Length));
        string s = t.Text;
        bool quoted = t.Kind == TokenKind.String;
        switch (like.Kind)
        {
            case ValueKind.None:
                throw Error($"{Describe(like)} has no value to compare; test it on its own", t);
            case ValueKind.Integer:
                if (!quoted && like.Type == FieldType.Boolean && s is "True" or "TRUE" or "False" or "FALSE")
                {
                    c.Out.AddInteger(s[0] == 'T' ? 1 : 0);
                }
                else if (t.Kind == TokenKind.Char)
                {
                    c.Out.AddInteger(FilterLexer.CharValue(s));
                }
                else if (!quoted && TryParseInteger(s, out long v))
                {
                    c.Out.AddInteger(v);
                }
                else
                {
                    throw Error($"\"{s}\" is not a valid number for {Describe(like)}", t);
                }

                break;
            case ValueKind.Real:
                if (!quoted && (TryParseInteger(s, out long whole) ? (double?)whole : ParseReal(s)) is double d)
                {
                    c.Out.AddReal(d);
                }
                else
                {
                    throw Error($"\"{s}\" is not a valid number of seconds for {Describe(like)}", t);
                }

                break;
            case ValueKind.Text:
                c.Out.AddText(t.Kind == TokenKind.Char ? ((char)FilterLexer.CharValue(s)).ToString() : s);
                break;
            default:
                AddBytesLiteral(c, t, like.Type);
                break;
        }

        return c;
    }

    private static double? ParseReal(string s) =>
        double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) && double.IsFinite(d) ? d : null;

    private void AddBytesLiteral(ConstExpr c, Token t, FieldType type)
    {
        string s = t.Text;
        if (t.Kind == TokenKind.Char)
        {
            // 'h' next to bytes is the one byte 0x68.
            c.Out.AddBytes([(byte)FilterLexer.CharValue(s)]);
            return;
        }

        if (t.Kind == TokenKind.String && type is FieldType.IPv4 or FieldType.IPv6 or FieldType.Ether)
        {
            // Wireshark's address types have no conversion from a quoted string: "10.0.0.1" is an error, not bytes.
            string kind = type switch { FieldType.IPv4 => "IPv4 address", FieldType.IPv6 => "IPv6 address", _ => "Ethernet or other MAC address" };
            throw Error($"{kind} cannot be converted from a string (\"{s}\")", t);
        }

        if (t.Kind == TokenKind.String)
        {
            // A string compared with bytes is its bytes ("\xff" is the byte 0xff).
            c.Out.AddBytes(s.All(ch => ch <= 0xFF) ? Encoding.Latin1.GetBytes(s) : Encoding.UTF8.GetBytes(s));
            return;
        }

        if (type is FieldType.IPv4 or FieldType.IPv6)
        {
            int slash = s.IndexOf('/', StringComparison.Ordinal);
            int version = type == FieldType.IPv4 ? 4 : 6;
            string host = slash >= 0 ? s[..slash] : s;
            if ((!IpAddress.TryParse(host, out var address) || address.Version != version)
                && !TryResolveHost(host, version, out address))
            {
                throw Error($"\"{s}\" is not a valid hostname or IPv{version} address", t);
            }

            int bits = -1;
            if (slash >= 0 && (!int.TryParse(s.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out bits) || bits > address.ByteLength * 8))
            {
                throw Error($"\"{s}\" has an invalid prefix length", t);
            }

            Span<byte> raw = stackalloc byte[16];
            int n = address.WriteTo(raw);
            c.Out.AddBytes(raw[..n], bits);
            return;
        }

        if (TryParseByteString(s, out var bytes))
        {
            if (type == FieldType.Ether && bytes.Length != 6)
            {
                throw Error($"\"{s}\" is not a valid Ethernet address", t);
            }

            c.Out.AddBytes(bytes);
            return;
        }

        if (type == FieldType.Ether)
        {
            throw Error($"\"{s}\" is not a valid Ethernet address", t);
        }

        // An unquoted word that is no byte string stands for its text, as Wireshark still allows.
        c.Out.AddBytes(Encoding.UTF8.GetBytes(s));
    }

    /// <summary>
    /// A host name in an address literal (<c>ip.addr == server.example</c>) stands for its first address of
    /// the field's version, looked up once when the filter is compiled (the hosts file, then DNS), as Wireshark
    /// does when network name resolution is on.
    /// </summary>
    private static bool TryResolveHost(string host, int version, out IpAddress address)
    {
        address = default;
        if (!LooksLikeHostName(host))
        {
            return false;
        }

        IPAddress[] found;
        try
        {
            found = Dns.GetHostAddresses(host, version == 4 ? AddressFamily.InterNetwork : AddressFamily.InterNetworkV6);
        }
        catch (SocketException)
        {
            return false;
        }

        foreach (var candidate in found)
        {
            if (!candidate.IsIPv4MappedToIPv6 && IpAddress.TryParse(candidate.ToString(), out address) && address.Version == version)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>RFC 1123 host names: labels of letters, digits and hyphens, with a letter somewhere.</summary>
    private static bool LooksLikeHostName(string s) =>
        s.Length is > 0 and <= 253
        && s.Any(char.IsAsciiLetter)
        && s.All(ch => char.IsAsciiLetterOrDigit(ch) || ch is '-' or '.')
        && !s.StartsWith('.') && !s.StartsWith('-') && !s.Contains("..", StringComparison.Ordinal);

    /// <summary>
    /// Byte strings as Wireshark writes them: hex pairs separated by ':', '.' or '-' (aa:bb:cc), or unseparated
    /// (aabbcc), or one byte (50 is 0x50); a hex number up to 0xff is one byte.
    /// </summary>
    private static bool TryParseByteString(string s, out byte[] bytes)
    {
        bytes = [];
        if (s.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            if (s.Length is > 2 and <= 4 && byte.TryParse(s.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out byte one))
            {
                bytes = [one];
                return true;
            }

            return false;
        }

        var list = new List<byte>();
        char? separator = null;
        int i = 0;
        while (i < s.Length)
        {
            int digits = 0;
            int value = 0;
            while (i < s.Length && digits < 2 && char.IsAsciiHexDigit(s[i]))
            {
                value = (value * 16) + Convert.ToInt32(s[i].ToString(), 16);
                digits++;
                i++;
            }

            if (digits == 0)
            {
                return false;
            }

            list.Add((byte)value);
            if (i == s.Length)
            {
                break;
            }

            if (s[i] is ':' or '.' or '-')
            {
                if (digits != 2 && list.Count == 1 && separator is null && i + 1 == s.Length)
                {
                    return false;
                }

                if (separator is char sep && sep != s[i])
                {
                    return false;
                }

                separator = s[i];
                i++;
                if (i == s.Length)
                {
                    return false;
                }
            }
            else if (separator is not null || digits != 2)
            {
                return false;
            }
        }

        bytes = [.. list];
        return true;
    }

    /// <summary>Integers in decimal, hex (0x), binary (0b), octal (leading 0), with an optional sign.</summary>
    private static bool TryParseInteger(string s, out long value)
    {
        value = 0;
        bool negative = s.StartsWith('-');
        var digits = negative ? s.AsSpan(1) : s.AsSpan();
        bool ok;
        if (digits.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            ok = long.TryParse(digits[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value);
        }
        else if (digits.StartsWith("0b", StringComparison.OrdinalIgnoreCase))
        {
            ok = long.TryParse(digits[2..], NumberStyles.AllowBinarySpecifier, CultureInfo.InvariantCulture, out value);
        }
        else if (digits.Length > 1 && digits[0] == '0' && !digits.ContainsAnyExcept("01234567"))
        {
            ok = true;
            foreach (char ch in digits)
            {
                value = (value * 8) + (ch - '0');
            }
        }
        else
        {
            ok = long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out value);
        }

        if (negative)
        {
            value = -value;
        }

        return ok;
    }

    // ---- errors ----

    private FilterException NotAFieldError(Token t)
    {
        if (t.Kind == TokenKind.Word && char.IsAsciiLetter(t.Text[0]) && !t.Text.Contains(':', StringComparison.Ordinal))
        {
            var hint = FilterFields.Suggest(t.Text);
            return Error(hint is null ? $"unknown field \"{t.Text}\"" : $"unknown field \"{t.Text}\" (did you mean \"{hint}\"?)", t);
        }

        return Error($"the left side of a test must be a field, a slice or a function, not \"{t.Text}\"", t);
    }

    private static string Describe(Expr e) => e switch
    {
        FieldExpr f => $"\"{f.Field.Name}\" ({FieldTypes.Describe(f.Type)})",
        FunctionExpr fn => $"{fn.Name}() ({DescribeKind(fn.Kind)})",
        SliceExpr => "a slice (Byte sequence)",
        _ => DescribeKind(e.Kind),
    };

    private static string DescribeKind(ValueKind k) => k switch
    {
        ValueKind.Integer => "an integer",
        ValueKind.Real => "a time",
        ValueKind.Bytes => "a byte sequence",
        ValueKind.Text => "text",
        _ => "a label",
    };

    private bool IsOp(string symbol, string word) =>
        (Current.Kind == TokenKind.Op && Current.Text == symbol) || (Current.Kind == TokenKind.Word && Current.Text == word);

    /// <summary>
    /// field#N, field#[a-b], field#[a:n]: only the values of the field's Nth protocol layers (Wireshark 4.0's
    /// layer operator; layers count from 1, outermost first, e.g. ip.src#2 is a tunnel's inner source).
    /// </summary>
    private Expr LayerOf(Expr value, Token name, Token layer)
    {
        if (value is not FieldExpr field)
        {
            throw Error($"\"{name.Text}\" is not a valid protocol or protocol field", name);
        }

        if (!TryLayerRange(layer.Text, out int first, out int last))
        {
            throw Error($"\"{layer.Text}\" is not a valid layer range", layer, layer.Text.Length + 1);
        }

        // Fields with a source and a destination in each layer give two values per layer.
        int perLayer = field.Field.Name is "ip.addr" or "ipv6.addr" or "tcp.port" ? 2 : 1;
        var all = new ValueList();
        var get = field.Field.Get;
        var kind = field.Field.Kind;
        var layered = field.Field with
        {
            Get = (in Fields.FieldContext c, ValueList into) =>
            {
                all.Clear();
                get(c, all);
                int end = Math.Min(all.Count, last * perLayer);
                for (int i = (first - 1) * perLayer; i < end; i++)
                {
                    CopyValue(all, i, into, c.Frame, kind);
                }
            },
        };
        return new FieldExpr(layered, name.Column, layer.Column + layer.Text.Length + 1 - name.Column);
    }

    private static bool TryLayerRange(string text, out int first, out int last)
    {
        first = last = 0;
        int dash = text.IndexOf('-', StringComparison.Ordinal);
        int colon = text.IndexOf(':', StringComparison.Ordinal);
        static bool Number(string s, out int n) => int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out n) && n > 0;
        if (dash > 0)
        {
            return Number(text[..dash], out first) && Number(text[(dash + 1)..], out last) && last >= first;
        }

        if (colon > 0)
        {
            if (!Number(text[..colon], out first) || !Number(text[(colon + 1)..], out int count))
            {
                return false;
            }

            last = first + count - 1;
            return true;
        }

        bool single = Number(text, out first);
        last = first;
        return single;
    }

    private static void CopyValue(ValueList from, int i, ValueList into, ReadOnlySpan<byte> frame, ValueKind kind)
    {
        switch (kind)
        {
            case ValueKind.Integer:
                into.AddInteger(from.Integer(i));
                break;
            case ValueKind.Real:
                into.AddReal(from.Real(i));
                break;
            case ValueKind.Text:
                into.AddText(from.Text(i));
                break;
            case ValueKind.Bytes when from.BytesInFrame(i, out int start, out int length):
                into.AddFrameBytes(start, length, from.PrefixBits(i));
                break;
            case ValueKind.Bytes:
                into.AddBytes(from.Bytes(i, frame), from.PrefixBits(i));
                break;
            default:
                into.AddPresence();
                break;
        }
    }

    private FilterException Error(string message, Token at, int? length = null) => new(message, filter, at.Column, length ?? SourceLength(at));

    /// <summary>How many characters of the filter a token spans: a string's quotes and escapes included.</summary>
    private int SourceLength(Token t)
    {
        if (t.Kind == TokenKind.FieldRef)
        {
            return t.Text.Length + 3;
        }

        if (t.Kind != TokenKind.String)
        {
            return Math.Max(1, t.Text.Length);
        }

        int i = t.Column;
        bool raw = i < filter.Length && filter[i] is 'r' or 'R';
        i += raw ? 2 : 1;
        while (i < filter.Length && filter[i] != '"')
        {
            i += !raw && filter[i] == '\\' ? 2 : 1;
        }

        return Math.Min(i + 1, filter.Length) - t.Column;
    }

    private FilterException Error(string message, int column, int length) => new(message, filter, column, length);
}
