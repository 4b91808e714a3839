using System.Globalization;
using System.Text;
using TcpKit.Analysis.Fields;
using TcpKit.Wire;

namespace TcpKit.Analysis.Filters;

/// <summary>
/// A value-producing part of a filter: a field, a constant, a slice, arithmetic or a function call. Each node owns
/// the <see cref="ValueList"/> it fills, so evaluating the compiled tree reuses the same buffers for every frame.
/// </summary>
internal abstract class Expr(ValueKind kind, FieldType type, int column, int length)
{
    public ValueKind Kind { get; } = kind;

    /// <summary>The Wireshark type of the values (decides how a literal on the other side is read).</summary>
    public FieldType Type { get; } = type;

    public int Column { get; } = column;

    public int Length { get; } = length;

    public ValueList Out { get; } = new();

    /// <summary>Fills <see cref="Out"/> with this expression's values for the frame.</summary>
    public abstract void Eval(in FieldContext c);
}

internal sealed class FieldExpr(FilterField source, int column, int length) : Expr(source.Kind, source.Type, column, length)
{
    public FilterField Field => source;

    public override void Eval(in FieldContext c)
    {
        Out.Clear();
        source.Get(c, Out);
    }
}

/// <summary>A literal read for the type it is compared with; its value is set once at compile time.</summary>
internal sealed class ConstExpr(ValueKind kind, FieldType type, int column, int length) : Expr(kind, type, column, length)
{
    public override void Eval(in FieldContext c)
    {
    }
}

/// <summary>A literal whose type is not known until the parser sees what it is compared with or combined with.</summary>
internal sealed class PendingLiteral(Token token) : Expr(ValueKind.None, FieldType.None, token.Column, Math.Max(1, token.Text.Length))
{
    public Token Token => token;

    public override void Eval(in FieldContext c) => throw new InvalidOperationException("an unresolved literal was evaluated");
}

/// <summary>One range of a slice: [i:j] (start, length), [i-j] (start, inclusive end), [i] and [i:] (to the end).</summary>
internal readonly record struct SliceRange(int Start, SliceEnd End, int Value)
{
    /// <summary>
    /// Where the range lies in a value of <paramref name="fieldLength"/> bytes. Negative offsets count from the
    /// end; a range that reaches outside the value gives no value at all, as in Wireshark (so
    /// <c>frame[199]</c> also tests that the frame has 200 bytes).
    /// </summary>
    public bool TryResolve(int fieldLength, out int offset, out int length)
    {
        offset = Start < 0 ? fieldLength + Start : Start;
        length = 0;
        if (offset < 0 || offset >= fieldLength)
        {
            return false;
        }

        switch (End)
        {
            case SliceEnd.ToTheEnd:
                length = fieldLength - offset;
                return true;
            case SliceEnd.Length:
                if (Value < 0)
                {
                    int end = fieldLength + Value;
                    length = end - offset;
                    return length >= 0 && end <= fieldLength;
                }

                length = Value;
                return (long)offset + length <= fieldLength;
            default:
                int last = Value < 0 ? fieldLength + Value : Value;
                length = last - offset + 1;
                return last >= offset && last < fieldLength;
        }
    }
}

internal enum SliceEnd : byte
{
    Length,
    Offset,
    ToTheEnd,
}

/// <summary><c>field[ranges]</c>: the selected bytes of each value, joined when there are several ranges.</summary>
internal sealed class SliceExpr(Expr inner, SliceRange[] ranges, int column, int length) : Expr(ValueKind.Bytes, FieldType.Bytes, column, length)
{
    private byte[] _text = new byte[64];

    public override void Eval(in FieldContext c)
    {
        inner.Eval(c);
        Out.Clear();
        var values = inner.Out;
        for (int i = 0; i < values.Count; i++)
        {
            ReadOnlySpan<byte> bytes;
            bool inFrame = false;
            int frameStart = 0;
            if (inner.Kind == ValueKind.Text)
            {
                // A string is sliced as the bytes that encode it.
                string s = values.Text(i);
                int max = Encoding.UTF8.GetMaxByteCount(s.Length);
                if (_text.Length < max)
                {
                    _text = new byte[Math.Max(max, _text.Length * 2)];
                }

                bytes = _text.AsSpan(0, Encoding.UTF8.GetBytes(s, _text));
            }
            else
            {
                inFrame = values.BytesInFrame(i, out frameStart, out _);
                bytes = values.Bytes(i, c.Frame);
            }

            if (ranges.Length == 1)
            {
                if (ranges[0].TryResolve(bytes.Length, out int offset, out int count))
                {
                    if (inFrame)
                    {
                        Out.AddFrameBytes(frameStart + offset, count);
                    }
                    else
                    {
                        Out.AddBytes(bytes.Slice(offset, count));
                    }
                }

                continue;
            }

            AddJoined(bytes);
        }
    }

    private void AddJoined(ReadOnlySpan<byte> bytes)
    {
        int total = 0;
        foreach (var r in ranges)
        {
            if (!r.TryResolve(bytes.Length, out _, out int count))
            {
                return;
            }

            total += count;
        }

        var target = Out.Reserve(total, out int start);
        int at = 0;
        foreach (var r in ranges)
        {
            r.TryResolve(bytes.Length, out int offset, out int count);
            bytes.Slice(offset, count).CopyTo(target[at..]);
            at += count;
        }

        Out.Commit(start, total);
    }
}

/// <summary>
/// <c>a + b</c>, <c>a - b</c>, <c>a * b</c>, <c>a / b</c>, <c>a % b</c> and bitwise <c>a &amp; b</c>. With several
/// values on either side every pair is combined, as Wireshark does; division by zero gives no value.
/// </summary>
internal sealed class ArithExpr(char op, Expr left, Expr right, int column, int length) : Expr(left.Kind, left.Type == FieldType.Boolean ? FieldType.UInt32 : left.Type, column, length)
{
    public bool IsBitwise => op == '&';

    public Expr Left => left;

    public Expr Right => right;

    public override void Eval(in FieldContext c)
    {
        left.Eval(c);
        right.Eval(c);
        Out.Clear();
        var a = left.Out;
        var b = right.Out;
        for (int i = 0; i < a.Count; i++)
        {
            for (int j = 0; j < b.Count && !Out.IsFull; j++)
            {
                switch (Kind)
                {
                    case ValueKind.Integer:
                        AddInteger(a.Integer(i), b.Integer(j));
                        break;
                    case ValueKind.Real:
                        Out.AddReal(op == '+' ? a.Real(i) + b.Real(j) : a.Real(i) - b.Real(j));
                        break;
                    default:
                        AddMasked(a.Bytes(i, c.Frame), b.Bytes(j, c.Frame));
                        break;
                }
            }
        }
    }

    private void AddInteger(long x, long y)
    {
        switch (op)
        {
            case '+':
                Out.AddInteger(unchecked(x + y));
                break;
            case '-':
                Out.AddInteger(unchecked(x - y));
                break;
            case '*':
                Out.AddInteger(unchecked(x * y));
                break;
            case '/':
                // long.MinValue / -1 overflows (a trap in .NET): negate instead.
                if (y != 0)
                {
                    Out.AddInteger(y == -1 ? unchecked(-x) : x / y);
                }

                break;
            case '%':
                if (y != 0)
                {
                    Out.AddInteger(y == -1 ? 0 : x % y);
                }

                break;
            default:
                Out.AddInteger(x & y);
                break;
        }
    }

    private void AddMasked(ReadOnlySpan<byte> value, ReadOnlySpan<byte> mask)
    {
        // A byte mask applies to a slice of the same length only.
        if (value.Length != mask.Length)
        {
            return;
        }

        var target = Out.Reserve(value.Length, out int start);
        for (int k = 0; k < value.Length; k++)
        {
            target[k] = (byte)(value[k] & mask[k]);
        }

        Out.Commit(start, value.Length);
    }
}

/// <summary>Unary minus.</summary>
internal sealed class NegateExpr(Expr inner, int column, int length) : Expr(inner.Kind, inner.Type, column, length)
{
    public Expr Inner => inner;

    public override void Eval(in FieldContext c)
    {
        inner.Eval(c);
        Out.Clear();
        for (int i = 0; i < inner.Out.Count; i++)
        {
            if (Kind == ValueKind.Integer)
            {
                Out.AddInteger(-inner.Out.Integer(i));
            }
            else
            {
                Out.AddReal(-inner.Out.Real(i));
            }
        }
    }
}

/// <summary>The functions of Wireshark 4.0's filter language: len, count, upper, lower, string, abs, min and max.</summary>
internal sealed class FunctionExpr(string name, Expr[] args, ValueKind kind, FieldType type, int column, int length) : Expr(kind, type, column, length)
{
    public string Name => name;

    public override void Eval(in FieldContext c)
    {
        foreach (var a in args)
        {
            a.Eval(c);
        }

        Out.Clear();
        var v = args[0].Out;
        switch (name)
        {
            case "len":
                for (int i = 0; i < v.Count; i++)
                {
                    Out.AddInteger(args[0].Kind switch
                    {
                        ValueKind.Bytes => v.ByteLength(i),
                        ValueKind.Text => Encoding.UTF8.GetByteCount(v.Text(i)),
                        _ => FieldTypes.WireSize(args[0].Type),
                    });
                }

                break;
            case "count":
                if (v.Count > 0)
                {
                    Out.AddInteger(v.Count);
                }

                break;
            case "upper" or "lower":
                for (int i = 0; i < v.Count; i++)
                {
                    Out.AddText(name == "upper" ? v.Text(i).ToUpperInvariant() : v.Text(i).ToLowerInvariant());
                }

                break;
            case "abs":
                for (int i = 0; i < v.Count; i++)
                {
                    if (Kind == ValueKind.Integer)
                    {
                        Out.AddInteger(Math.Abs(v.Integer(i)));
                    }
                    else
                    {
                        Out.AddReal(Math.Abs(v.Real(i)));
                    }
                }

                break;
            case "string":
                for (int i = 0; i < v.Count; i++)
                {
                    Out.AddText(ToText(args[0], i, c.Frame));
                }

                break;
            default:
                Extreme(c.Frame, name == "max");
                break;
        }
    }

    /// <summary>min()/max(): the one smallest or largest value of all the arguments' values.</summary>
    private void Extreme(ReadOnlySpan<byte> frame, bool max)
    {
        Expr? bestArg = null;
        int best = -1;
        foreach (var a in args)
        {
            for (int i = 0; i < a.Out.Count; i++)
            {
                if (bestArg is null || (ValueOps.Compare(Kind, a.Out, i, bestArg.Out, best, frame) is var cmp && (max ? cmp > 0 : cmp < 0)))
                {
                    bestArg = a;
                    best = i;
                }
            }
        }

        if (bestArg is null)
        {
            return;
        }

        switch (Kind)
        {
            case ValueKind.Integer:
                Out.AddInteger(bestArg.Out.Integer(best));
                break;
            case ValueKind.Real:
                Out.AddReal(bestArg.Out.Real(best));
                break;
            case ValueKind.Text:
                Out.AddText(bestArg.Out.Text(best));
                break;
            default:
                Out.AddBytes(bestArg.Out.Bytes(best, frame));
                break;
        }
    }

    /// <summary>string(): integers in decimal, addresses as Wireshark writes them.</summary>
    private static string ToText(Expr arg, int i, ReadOnlySpan<byte> frame)
    {
        var v = arg.Out;
        switch (arg.Type)
        {
            case FieldType.IPv4:
                return IpAddress.FromIPv4(v.Bytes(i, frame)).ToString();
            case FieldType.IPv6:
                return IpAddress.FromIPv6(v.Bytes(i, frame)).ToString();
            case FieldType.Ether:
                var b = v.Bytes(i, frame);
                var sb = new StringBuilder(17);
                for (int k = 0; k < b.Length; k++)
                {
                    sb.Append(k == 0 ? "" : ":").Append(b[k].ToString("x2", CultureInfo.InvariantCulture));
                }

                return sb.ToString();
            default:
                return v.Integer(i).ToString(CultureInfo.InvariantCulture);
        }
    }
}

/// <summary>Comparisons between values of one kind, with Wireshark's orderings.</summary>
internal static class ValueOps
{
    /// <summary>Integers and times numerically, text ordinally, byte strings shorter-first and then bytewise (Wireshark's FT_BYTES order).</summary>
    public static int Compare(ValueKind kind, ValueList a, int i, ValueList b, int j, ReadOnlySpan<byte> frame)
    {
        switch (kind)
        {
            case ValueKind.Integer:
                return a.Integer(i).CompareTo(b.Integer(j));
            case ValueKind.Real:
                return a.Real(i).CompareTo(b.Real(j));
            case ValueKind.Text:
                return string.CompareOrdinal(a.Text(i), b.Text(j));
            case ValueKind.Bytes:
                int la = a.ByteLength(i), lb = b.ByteLength(j);
                return la != lb ? la.CompareTo(lb) : a.Bytes(i, frame).SequenceCompareTo(b.Bytes(j, frame));
            default:
                return 0;
        }
    }

    /// <summary>Equality; a CIDR literal (10.0.0.0/8) on the right matches every address of its block.</summary>
    public static bool Equal(ValueKind kind, ValueList a, int i, ValueList b, int j, ReadOnlySpan<byte> frame)
    {
        if (kind == ValueKind.Bytes && b.PrefixBits(j) >= 0)
        {
            return InPrefix(a.Bytes(i, frame), b.Bytes(j, frame), b.PrefixBits(j));
        }

        return Compare(kind, a, i, b, j, frame) == 0;
    }

    private static bool InPrefix(ReadOnlySpan<byte> address, ReadOnlySpan<byte> network, int bits)
    {
        if (address.Length != network.Length)
        {
            return false;
        }

        int whole = bits / 8;
        if (!address[..whole].SequenceEqual(network[..whole]))
        {
            return false;
        }

        int rest = bits % 8;
        if (rest == 0)
        {
            return true;
        }

        int mask = 0xFF << (8 - rest) & 0xFF;
        return (address[whole] & mask) == (network[whole] & mask);
    }
}
