using System.Text;

namespace TcpKit.Analysis.Filters;

internal enum TokenKind : byte
{
    Word,
    String,
    Op,
    LParen,
    RParen,
    LBrace,
    RBrace,
    Comma,
    /// <summary>A character constant ('a', '\n'), an integer.</summary>
    Char,

    /// <summary>The text between [ and ] after a value: a slice's ranges.</summary>
    Slice,

    /// <summary>A field reference, ${field}: the field's name.</summary>
    FieldRef,

    /// <summary>A layer operator after a field, #N or #[range] (Wireshark 4.0): the text after '#'.</summary>
    Layer,
    End,
}

internal readonly record struct Token(TokenKind Kind, string Text, int Column);

/// <summary>Splits a Wireshark display filter into words (fields, numbers, addresses, keywords), strings and operators.</summary>
internal static class FilterLexer
{
    private static readonly string[] Operators = ["===", "!==", "==", "!=", "~=", ">=", "<=", "&&", "||", "^^", ">", "<", "~", "!", "&", "+", "-", "*", "/", "%"];

    /// <summary>
    /// Wireshark 4.0's field reference ${name}: the name between the braces, letters, digits, '.', '_' and '-'
    /// only (a blank is "an invalid character in macro name", as tshark says).
    /// </summary>
    private static string ReadFieldReference(string filter, ref int i)
    {
        int start = i;
        int close = filter.IndexOf('}', i);
        if (close < 0)
        {
            throw new FilterException("missing \"}\" after \"${\"", filter, start, filter.Length - start);
        }

        string name = filter[(i + 2)..close];
        for (int k = 0; k < name.Length; k++)
        {
            if (!char.IsAsciiLetterOrDigit(name[k]) && name[k] is not ('.' or '_' or '-'))
            {
                throw new FilterException("invalid character in macro name", filter, i + 2 + k, 1);
            }
        }

        if (name.Length == 0)
        {
            throw new FilterException("a field reference needs a field name: ${tcp.port}", filter, start, close + 1 - start);
        }

        i = close + 1;
        return name;
    }

    /// <summary>The layer after '#': digits, or a bracketed range ("2-3", "2:2", "3").</summary>
    private static string ReadLayer(string filter, ref int i)
    {
        int start = i++;
        if (i < filter.Length && filter[i] == '[')
        {
            int close = filter.IndexOf(']', i);
            if (close < 0)
            {
                throw new FilterException("missing \"]\"", filter, filter.Length, 1);
            }

            string range = filter[(i + 1)..close];
            i = close + 1;
            return range;
        }

        while (i < filter.Length && char.IsAsciiDigit(filter[i]))
        {
            i++;
        }

        if (i == start + 1)
        {
            throw new FilterException("a layer number must follow \"#\"", filter, start, 1);
        }

        return filter[(start + 1)..i];
    }

    public static List<Token> Tokenize(string filter)
    {
        var tokens = new List<Token>();
        int i = 0;
        while (i < filter.Length)
        {
            char c = filter[i];
            if (char.IsWhiteSpace(c))
            {
                i++;
                continue;
            }

            int start = i;
            switch (c)
            {
                case '(':
                    tokens.Add(new(TokenKind.LParen, "(", i++));
                    continue;
                case ')':
                    tokens.Add(new(TokenKind.RParen, ")", i++));
                    continue;
                case '{':
                    tokens.Add(new(TokenKind.LBrace, "{", i++));
                    continue;
                case '}':
                    tokens.Add(new(TokenKind.RBrace, "}", i++));
                    continue;
                case ',':
                    tokens.Add(new(TokenKind.Comma, ",", i++));
                    continue;
                case '[':
                    int close = filter.IndexOf(']', i);
                    if (close < 0)
                    {
                        throw new FilterException("missing \"]\"", filter, filter.Length, 1);
                    }

                    tokens.Add(new(TokenKind.Slice, filter[(i + 1)..close], i));
                    i = close + 1;
                    continue;
                case ']':
                    throw new FilterException("unexpected \"]\"", filter, i, 1);
                case '#':
                    tokens.Add(new(TokenKind.Layer, ReadLayer(filter, ref i), start));
                    continue;
                case '$' when i + 1 < filter.Length && filter[i + 1] == '{':
                    tokens.Add(new(TokenKind.FieldRef, ReadFieldReference(filter, ref i), start));
                    continue;
                case '"':
                    tokens.Add(new(TokenKind.String, ReadString(filter, ref i, raw: false), start));
                    continue;
                case 'r' when i + 1 < filter.Length && filter[i + 1] == '"':
                    i++;
                    tokens.Add(new(TokenKind.String, ReadString(filter, ref i, raw: true), start));
                    continue;
                case '\'':
                    ReadCharConstant(filter, ref i);
                    tokens.Add(new(TokenKind.Char, filter[start..i], start));
                    continue;
            }

            // "-" starts a negative number where a value is expected ("== -1"); after a value it is a
            // minus ("tcp.srcport -1"). Inside a word it is part of it ("aa-bb-cc", "A-B"), as in Wireshark.
            bool negative = c == '-' && i + 1 < filter.Length && char.IsAsciiDigit(filter[i + 1]) && !EndsValue(tokens);
            if (negative || (IsWordChar(c) && c != '-' && c != '/'))
            {
                i++;
                while (i < filter.Length && (IsWordChar(filter[i]) || (filter[i] == '/' && IsAddressLike(filter, start, i))))
                {
                    if (filter[i] == '/')
                    {
                        // CIDR: the prefix length is digits only, so "10.0.0.0/24 * 2" still splits.
                        i++;
                        while (i < filter.Length && char.IsAsciiDigit(filter[i]))
                        {
                            i++;
                        }

                        break;
                    }

                    i++;
                }

                tokens.Add(new(TokenKind.Word, filter[start..i], start));
                continue;
            }

            string? op = null;
            foreach (var candidate in Operators)
            {
                if (string.CompareOrdinal(filter, i, candidate, 0, candidate.Length) == 0)
                {
                    op = candidate;
                    break;
                }
            }

            if (op is null)
            {
                throw new FilterException($"unexpected character '{c}'", filter, i, 1);
            }

            tokens.Add(new(TokenKind.Op, op, i));
            i += op.Length;
        }

        tokens.Add(new(TokenKind.End, "", filter.Length));
        return tokens;
    }

    /// <summary>Field names, numbers, addresses (IPv4, IPv6, MAC), byte strings and keywords are all "words".</summary>
    private static bool IsWordChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or ':' or '-';

    private static bool EndsValue(List<Token> tokens) =>
        tokens.Count > 0 && tokens[^1].Kind is TokenKind.Word or TokenKind.String or TokenKind.Char or TokenKind.RParen or TokenKind.RBrace or TokenKind.Slice;

    /// <summary>A "/" continues an address (10.0.0.0/8, 2001:db8::/32) but divides after a field name (tcp.len/2).</summary>
    private static bool IsAddressLike(string filter, int start, int end)
    {
        var word = filter.AsSpan(start, end - start);
        return word.Contains(':') || !word.ContainsAnyExcept("0123456789.");
    }

    /// <summary>The code of a character constant token's text ('a' is 97).</summary>
    public static int CharValue(string constant)
    {
        int i = 0;
        return ReadCharConstant(constant, ref i);
    }

    /// <summary>A C-style character constant ('a', '\n', '\x0a', '\012') is an integer.</summary>
    private static int ReadCharConstant(string filter, ref int i)
    {
        int start = i;
        i++;
        if (i >= filter.Length)
        {
            throw new FilterException("unterminated character constant", filter, start, 1);
        }

        int value = filter[i] == '\\' ? ReadEscape(filter, ref i) : filter[i++];
        if (i >= filter.Length || filter[i] != '\'')
        {
            throw new FilterException("unterminated character constant", filter, start, i - start);
        }

        i++;
        return value;
    }

    /// <summary>Reads one backslash escape at <paramref name="i"/>: \n \t ... \xNN \NNN (octal).</summary>
    private static int ReadEscape(string filter, ref int i)
    {
        int start = i;
        i++;
        if (i >= filter.Length)
        {
            throw new FilterException("a backslash ends the filter", filter, start, 1);
        }

        char e = filter[i++];
        if (e == 'x')
        {
            int n = 0, digits = 0;
            while (digits < 2 && i < filter.Length && char.IsAsciiHexDigit(filter[i]))
            {
                n = (n * 16) + Convert.ToInt32(filter[i++].ToString(), 16);
                digits++;
            }

            return digits > 0 ? n : throw new FilterException("\\x needs hex digits", filter, start, 2);
        }

        if (e is >= '0' and <= '7')
        {
            int n = e - '0', digits = 1;
            while (digits < 3 && i < filter.Length && filter[i] is >= '0' and <= '7')
            {
                n = (n * 8) + (filter[i++] - '0');
                digits++;
            }

            return n;
        }

        return e switch
        {
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'a' => '\a',
            'b' => '\b',
            'f' => '\f',
            'v' => '\v',
            _ => e,
        };
    }

    /// <summary>A double-quoted string; a raw string (r"...") keeps its backslashes.</summary>
    private static string ReadString(string filter, ref int i, bool raw)
    {
        int start = i;
        i++;
        var sb = new StringBuilder();
        while (i < filter.Length && filter[i] != '"')
        {
            char c = filter[i];
            if (c == '\\' && raw)
            {
                // A raw string keeps the backslash, and a backslash still protects a quote.
                sb.Append(c);
                i++;
                if (i < filter.Length)
                {
                    sb.Append(filter[i++]);
                }
            }
            else if (c == '\\')
            {
                sb.Append((char)ReadEscape(filter, ref i));
            }
            else
            {
                sb.Append(c);
                i++;
            }
        }

        if (i >= filter.Length)
        {
            throw new FilterException("unterminated string", filter, start, filter.Length - start);
        }

        i++;
        return sb.ToString();
    }
}
