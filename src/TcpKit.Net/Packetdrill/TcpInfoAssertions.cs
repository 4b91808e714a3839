using System.Globalization;
using TcpKit.Wire.Tcp;

namespace TcpKit.Net.Packetdrill;

/// <summary>
/// Evaluates the <c>%{ }%</c> blocks TcpKit can answer: <c>assert</c> statements over <c>tcpi_*</c> fields
/// with integer literals, arithmetic, comparisons (chained as in Python) and <c>and</c>/<c>or</c>/<c>not</c>.
/// packetdrill runs these as Python; anything beyond this small language is reported as unsupported.
/// </summary>
public static class TcpInfoAssertions
{
    /// <summary>
    /// Returns null when every assertion holds, else the failing statement. With <paramref name="timeToleranceMicros"/>
    /// a comparison of tcpi_rtt, tcpi_rttvar or tcpi_rto itself with a value holds within that many microseconds
    /// or 1/16 of the value, whichever is more: a stack measured in real time sees the script's delays only as
    /// exactly as packets keep their times, and its RTO scales that error.
    /// </summary>
    public static string? Check(string code, TcpInfo? info, int line, long timeToleranceMicros = 0)
    {
        ArgumentNullException.ThrowIfNull(code);
        foreach (var raw in code.Split(['\n', ';'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (raw.StartsWith('#'))
            {
                continue;
            }

            if (!raw.StartsWith("assert ", StringComparison.Ordinal))
            {
                throw new PacketdrillUnsupportedException(line, $"code statement '{raw}' (only assert on tcpi_* fields)");
            }

            var parser = new ExprParser(Tokenize(raw[7..], line), info, line, timeToleranceMicros);
            long value = parser.ParseAssertion();
            if (value == 0)
            {
                return $"assertion failed: {raw[7..].Trim()} ({parser.Describe()})";
            }
        }

        return null;
    }

    private static List<string> Tokenize(string s, int line)
    {
        var tokens = new List<string>();
        int i = 0;
        while (i < s.Length)
        {
            char c = s[i];
            if (char.IsWhiteSpace(c))
            {
                i++;
            }
            else if (char.IsAsciiLetterOrDigit(c) || c == '_')
            {
                int start = i;
                while (i < s.Length && (char.IsAsciiLetterOrDigit(s[i]) || s[i] == '_'))
                {
                    i++;
                }

                tokens.Add(s[start..i]);
            }
            else if (i + 1 < s.Length && s.Substring(i, 2) is "==" or "!=" or "<=" or ">=" or "//")
            {
                tokens.Add(s.Substring(i, 2));
                i += 2;
            }
            else if ("<>+-*%(),".Contains(c, StringComparison.Ordinal))
            {
                tokens.Add(c.ToString());
                i++;
            }
            else if (c is '"' or '\'')
            {
                // A message string after the comma: skip it.
                int end = s.IndexOf(c, i + 1);
                tokens.Add("\"");
                i = end < 0 ? s.Length : end + 1;
            }
            else
            {
                throw new PacketdrillUnsupportedException(line, $"'{c}' in code block");
            }
        }

        return tokens;
    }

    private sealed class ExprParser(List<string> tokens, TcpInfo? info, int line, long timeTolerance)
    {
        private readonly List<string> _used = [];
        private int _pos;
        private bool _timeOperand; // the operand just parsed is a time field as read, not computed from it

        private string? Peek => _pos < tokens.Count ? tokens[_pos] : null;

        public string Describe() => string.Join(", ", _used.Distinct());

        public long ParseAssertion()
        {
            long v = Or();
            if (Peek == ",")
            {
                // assert expr, message: the message is only for humans.
                _pos = tokens.Count;
            }

            if (Peek is not null)
            {
                throw new PacketdrillUnsupportedException(line, $"'{Peek}' in code block");
            }

            return v;
        }

        private long Or()
        {
            long v = And();
            while (Peek == "or")
            {
                _pos++;
                long r = And();
                v = (v != 0 || r != 0) ? 1 : 0;
            }

            return v;
        }

        private long And()
        {
            long v = Not();
            while (Peek == "and")
            {
                _pos++;
                long r = Not();
                v = (v != 0 && r != 0) ? 1 : 0;
            }

            return v;
        }

        private long Not()
        {
            if (Peek == "not")
            {
                _pos++;
                return Not() == 0 ? 1 : 0;
            }

            return Comparison();
        }

        private long Comparison()
        {
            _timeOperand = false;
            long left = Sum();
            bool leftTime = _timeOperand;
            long result = 1;
            bool any = false;
            while (Peek is "==" or "!=" or "<" or ">" or "<=" or ">=")
            {
                string op = tokens[_pos++];
                _timeOperand = false;
                long right = Sum();
                bool rightTime = _timeOperand;
                // An RTO multiplies the measured RTT's jitter (4 x RTTVAR, x2 per backoff): 1/16 of the value at least.
                long tol = (leftTime || rightTime) && timeTolerance > 0 ? Math.Max(timeTolerance, Math.Abs(leftTime ? right : left) / 16) : 0;
                bool ok = op switch
                {
                    "==" => Math.Abs(left - right) <= tol,
                    "!=" => Math.Abs(left - right) > tol,
                    "<" => left < right + tol,
                    ">" => left > right - tol,
                    "<=" => left <= right + tol,
                    _ => left >= right - tol,
                };
                result = ok && result != 0 ? 1 : 0;
                left = right;
                leftTime = rightTime;
                any = true;
            }

            return any ? result : left;
        }

        private long Sum()
        {
            long v = Term();
            while (Peek is "+" or "-")
            {
                _timeOperand = false;
                string op = tokens[_pos++];
                long r = Term();
                _timeOperand = false;
                v = op == "+" ? v + r : v - r;
            }

            return v;
        }

        private long Term()
        {
            long v = Factor();
            while (Peek is "*" or "//" or "%")
            {
                string op = tokens[_pos++];
                long r = Factor();
                _timeOperand = false;
                if (op != "*" && r == 0)
                {
                    throw new PacketdrillUnsupportedException(line, "division by zero in code block");
                }

                v = op switch { "*" => v * r, "//" => (long)Math.Floor((double)v / r), _ => ((v % r) + r) % r };
            }

            return v;
        }

        private long Factor()
        {
            string? t = Peek;
            _pos++;
            switch (t)
            {
                case null:
                    throw new PacketdrillUnsupportedException(line, "incomplete expression in code block");
                case "-":
                    long negated = -Factor();
                    _timeOperand = false;
                    return negated;
                case "(":
                    long v = Or();
                    if (Peek != ")")
                    {
                        throw new PacketdrillUnsupportedException(line, "unbalanced parentheses in code block");
                    }

                    _pos++;
                    return v;
                case "True":
                    return 1;
                case "False":
                    return 0;
            }

            if (long.TryParse(t, NumberStyles.Integer, CultureInfo.InvariantCulture, out long n))
            {
                return n;
            }

            if (t.StartsWith("tcpi_", StringComparison.Ordinal))
            {
                long value = Field(t);
                _used.Add($"{t}={value.ToString(CultureInfo.InvariantCulture)}");
                _timeOperand = t is "tcpi_rtt" or "tcpi_rttvar" or "tcpi_rto";
                return value;
            }

            if (t.StartsWith("TCP_", StringComparison.Ordinal) && ScriptSymbols.TryGetValue(t, out long symbol))
            {
                return symbol;
            }

            throw new PacketdrillUnsupportedException(line, $"'{t}' in code block");
        }

        private long Field(string name)
        {
            if (info is null)
            {
                throw new PacketdrillUnsupportedException(line, $"{name} without a connection under test");
            }

            return name switch
            {
                "tcpi_state" => LinuxState(info.State),
                "tcpi_rto" => info.RtoMicros,
                "tcpi_rtt" => info.RttMicros ?? 0,
                "tcpi_rttvar" => info.RttVarMicros ?? 0,
                "tcpi_snd_cwnd" => info.SndCwnd,
                "tcpi_snd_ssthresh" => info.SndSsthresh,
                "tcpi_total_retrans" => info.TotalRetrans,
                "tcpi_snd_mss" => info.SndMss,
                "tcpi_unacked" => info.Unacked,
                _ => throw new PacketdrillUnsupportedException(line, $"{name} (TcpKit has no such statistic)"),
            };
        }

        private static long LinuxState(TcpState s) => s switch
        {
            TcpState.Established => 1,
            TcpState.SynSent => 2,
            TcpState.SynReceived => 3,
            TcpState.FinWait1 => 4,
            TcpState.FinWait2 => 5,
            TcpState.TimeWait => 6,
            TcpState.Closed => 7,
            TcpState.CloseWait => 8,
            TcpState.LastAck => 9,
            TcpState.Listen => 10,
            _ => 11, // CLOSING
        };
    }
}
