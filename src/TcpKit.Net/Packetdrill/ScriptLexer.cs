using System.Globalization;
using System.Text;

namespace TcpKit.Net.Packetdrill;

internal enum TokenKind
{
    Integer,
    Float,
    Word,
    String,
    BackQuoted,
    Code,
    Option,
    Ellipsis,
    Punct,
    End,
}

internal readonly record struct Token(TokenKind Kind, string Text, int Line, long Integer = 0, double Float = 0)
{
    public bool Is(char punct) => Kind == TokenKind.Punct && Text.Length == 1 && Text[0] == punct;

    public bool IsWord(string word) => Kind == TokenKind.Word && Text == word;

    public override string ToString() => Kind == TokenKind.End ? "end of script" : $"'{Text}'";
}

/// <summary>Splits packetdrill script text into tokens, following the shape of packetdrill's lexer.l.</summary>
internal static class ScriptLexer
{
    public static List<Token> Tokenize(string text)
    {
        var tokens = new List<Token>();
        int i = 0;
        int line = 1;
        while (true)
        {
            // Whitespace and comments.
            while (i < text.Length)
            {
                char c = text[i];
                if (c == '\n')
                {
                    line++;
                    i++;
                }
                else if (char.IsWhiteSpace(c))
                {
                    i++;
                }
                else if (c == '/' && At(text, i + 1) == '/')
                {
                    while (i < text.Length && text[i] != '\n')
                    {
                        i++;
                    }
                }
                else if (c == '/' && At(text, i + 1) == '*')
                {
                    int end = text.IndexOf("*/", i + 2, StringComparison.Ordinal);
                    if (end < 0)
                    {
                        throw new PacketdrillSyntaxException(line, "unterminated /* comment");
                    }

                    line += Count(text, i, end, '\n');
                    i = end + 2;
                }
                else
                {
                    break;
                }
            }

            if (i >= text.Length)
            {
                tokens.Add(new Token(TokenKind.End, "", line));
                return tokens;
            }

            int start = i;
            char ch = text[i];
            if (ch == '%' && At(text, i + 1) == '{')
            {
                int end = text.IndexOf("}%", i + 2, StringComparison.Ordinal);
                if (end < 0)
                {
                    throw new PacketdrillSyntaxException(line, "unterminated %{ code block");
                }

                tokens.Add(new Token(TokenKind.Code, text[(i + 2)..end].Trim(' ', '\t'), line));
                line += Count(text, i, end, '\n');
                i = end + 2;
            }
            else if (ch == '-' && At(text, i + 1) == '-' && IsWordChar(At(text, i + 2)))
            {
                i += 2;
                while (i < text.Length && IsWordChar(text[i]))
                {
                    i++;
                }

                tokens.Add(new Token(TokenKind.Option, text[(start + 2)..i], line));
            }
            else if (ch == '.' && At(text, i + 1) == '.' && At(text, i + 2) == '.')
            {
                tokens.Add(new Token(TokenKind.Ellipsis, "...", line));
                i += 3;
            }
            else if (char.IsAsciiDigit(ch) || (ch == '-' && (char.IsAsciiDigit(At(text, i + 1)) || (At(text, i + 1) == '.' && char.IsAsciiDigit(At(text, i + 2))))) || (ch == '.' && char.IsAsciiDigit(At(text, i + 1))))
            {
                tokens.Add(LexNumber(text, ref i, line));
            }
            else if (IsWordChar(ch))
            {
                while (i < text.Length && IsWordChar(text[i]))
                {
                    i++;
                }

                tokens.Add(new Token(TokenKind.Word, text[start..i], line));
            }
            else if (ch == '"' || ch == '`')
            {
                var sb = new StringBuilder();
                i++;
                while (i < text.Length && text[i] != ch)
                {
                    if (text[i] == '\\' && i + 1 < text.Length)
                    {
                        sb.Append(Unescape(text[i + 1]));
                        i += 2;
                        continue;
                    }

                    if (text[i] == '\n')
                    {
                        line++;
                    }

                    sb.Append(text[i++]);
                }

                if (i >= text.Length)
                {
                    throw new PacketdrillSyntaxException(line, $"unterminated {(ch == '"' ? "string" : "backquoted command")}");
                }

                i++;
                tokens.Add(new Token(ch == '"' ? TokenKind.String : TokenKind.BackQuoted, sb.ToString(), line));
            }
            else
            {
                tokens.Add(new Token(TokenKind.Punct, ch.ToString(), line));
                i++;
            }
        }
    }

    private static Token LexNumber(string text, ref int i, int line)
    {
        int start = i;
        if (text[i] == '-')
        {
            i++;
        }

        if (text[i] == '0' && (At(text, i + 1) == 'x' || At(text, i + 1) == 'X') && char.IsAsciiHexDigit(At(text, i + 2)))
        {
            i += 2;
            while (i < text.Length && char.IsAsciiHexDigit(text[i]))
            {
                i++;
            }

            var hex = text[(start + (text[start] == '-' ? 3 : 2))..i];
            long value = long.Parse(hex, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            return new Token(TokenKind.Integer, text[start..i], line, text[start] == '-' ? -value : value);
        }

        while (i < text.Length && char.IsAsciiDigit(text[i]))
        {
            i++;
        }

        if (At(text, i) == '.' && char.IsAsciiDigit(At(text, i + 1)))
        {
            i++;
            while (i < text.Length && char.IsAsciiDigit(text[i]))
            {
                i++;
            }

            var s = text[start..i];
            return new Token(TokenKind.Float, s, line, Float: double.Parse(s, CultureInfo.InvariantCulture));
        }

        var digits = text[start..i];
        if (!long.TryParse(digits, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long n))
        {
            // Too long for a number: a hex blob such as a TFO cookie or MD5 key; where a number is needed the parser says so.
            return new Token(TokenKind.Word, digits, line);
        }

        return new Token(TokenKind.Integer, digits, line, n);
    }

    private static char Unescape(char c) => c switch
    {
        'n' => '\n',
        't' => '\t',
        'r' => '\r',
        '0' => '\0',
        _ => c,
    };

    private static bool IsWordChar(char c) => char.IsAsciiLetterOrDigit(c) || c == '_';

    private static char At(string s, int i) => i < s.Length ? s[i] : '\0';

    private static int Count(string s, int from, int to, char c)
    {
        int n = 0;
        for (int k = from; k < to; k++)
        {
            if (s[k] == c)
            {
                n++;
            }
        }

        return n;
    }
}
