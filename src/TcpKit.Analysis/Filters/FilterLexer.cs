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
    LBracket,
    RBracket,
    End,
}

internal readonly record struct Token(TokenKind Kind, string Text, int Column);

/// <summary>Splits a Wireshark display filter into words (fields, numbers, addresses, keywords), strings and operators.</summary>
internal static class FilterLexer
{
    private static readonly string[] Operators = ["===", "!==", "==", "!=", "~=", ">=", "<=", "&&", "||", "^^", ">", "<", "~", "!", "&"];

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
                    tokens.Add(new(TokenKind.LBracket, "[", i++));
                    continue;
                case ']':
                    tokens.Add(new(TokenKind.RBracket, "]", i++));
                    continue;
                case '"':
                    tokens.Add(new(TokenKind.String, ReadString(filter, ref i), start));
                    continue;
            }

            if (IsWordChar(c))
            {
                while (i < filter.Length && IsWordChar(filter[i]))
                {
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

    /// <summary>Field names, numbers, addresses (IPv4, IPv6, CIDR, MAC) and keywords are all "words".</summary>
    private static bool IsWordChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or ':' or '-' or '/';

    private static string ReadString(string filter, ref int i)
    {
        int start = i;
        i++;
        var sb = new StringBuilder();
        while (i < filter.Length && filter[i] != '"')
        {
            char c = filter[i++];
            if (c == '\\' && i < filter.Length)
            {
                char e = filter[i++];
                sb.Append(e switch
                {
                    'n' => '\n',
                    'r' => '\r',
                    't' => '\t',
                    '0' => '\0',
                    _ => e,
                });
            }
            else
            {
                sb.Append(c);
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
