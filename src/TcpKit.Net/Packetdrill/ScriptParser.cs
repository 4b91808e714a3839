using TcpKit.Wire.Tcp;

namespace TcpKit.Net.Packetdrill;

/// <summary>
/// A recursive-descent parser for packetdrill's script language (the grammar of its parser.y):
/// options, an init command, then events of the form "time action".
/// </summary>
public sealed class ScriptParser
{
    private readonly List<Token> _tokens;
    private int _pos;

    private ScriptParser(string text) => _tokens = ScriptLexer.Tokenize(text);

    /// <summary>Parses a whole script. Throws <see cref="PacketdrillSyntaxException"/> or <see cref="PacketdrillUnsupportedException"/>.</summary>
    public static PacketdrillScript Parse(string text) => new ScriptParser(text).ParseScript();

    private Token Peek(int ahead = 0) => _tokens[Math.Min(_pos + ahead, _tokens.Count - 1)];

    private Token Next() => _tokens[Math.Min(_pos++, _tokens.Count - 1)];

    private Token Expect(char punct)
    {
        var t = Next();
        if (!t.Is(punct))
        {
            throw new PacketdrillSyntaxException(t.Line, $"expected '{punct}' but found {t}");
        }

        return t;
    }

    private long ExpectInteger(string what)
    {
        var t = Next();
        if (t.Kind != TokenKind.Integer)
        {
            throw new PacketdrillSyntaxException(t.Line, $"expected {what} but found {t}");
        }

        return t.Integer;
    }

    private PacketdrillScript ParseScript()
    {
        var options = new List<ScriptOption>();
        while (Peek().Kind == TokenKind.Option)
        {
            var nameToken = Next();
            var name = nameToken.Text;
            string? value = null;
            if (Peek().Is('=') && Peek().Line == nameToken.Line)
            {
                Next();
                // The value is the rest of the line (an address like fd::1, --define=NAME=value, a list).
                var sb = new System.Text.StringBuilder();
                while (Peek().Kind != TokenKind.End && Peek().Kind != TokenKind.Option && Peek().Line == nameToken.Line)
                {
                    sb.Append(Next().Text);
                }

                value = sb.ToString();
            }

            options.Add(new ScriptOption(name, value));
        }

        string? init = null;
        if (Peek().Kind == TokenKind.BackQuoted)
        {
            init = Next().Text;
        }

        var events = new List<ScriptEvent>();
        while (Peek().Kind != TokenKind.End)
        {
            events.Add(ParseEvent());
        }

        return new PacketdrillScript(options, events, init);
    }

    private ScriptEvent ParseEvent()
    {
        var first = Peek();
        if (first.Is('#'))
        {
            throw new PacketdrillUnsupportedException(first.Line, "C preprocessor directive (#...)");
        }

        if (first.Kind == TokenKind.BackQuoted)
        {
            // A command without a time (packetdrill accepts these, e.g. a final sysctl restore): runs at +0.
            Next();
            return new ScriptEvent(first.Line, new EventTime(TimeKind.Relative, 0), new ShellAction(first.Text));
        }

        var time = ParseEventTime();
        var action = ParseAction(first.Line);
        bool outbound = action is PacketAction { Direction: PacketDirection.Outbound };
        if (time.Kind is TimeKind.Any && !outbound)
        {
            throw new PacketdrillSyntaxException(first.Line, "event time * can only be used with outbound packets");
        }

        if (time.Kind is TimeKind.AbsoluteRange or TimeKind.RelativeRange)
        {
            if (!outbound)
            {
                throw new PacketdrillSyntaxException(first.Line, "event time range can only be used with outbound packets");
            }

            if (time.EndMicros < time.StartMicros)
            {
                throw new PacketdrillSyntaxException(first.Line, "time range is backwards");
            }
        }

        return new ScriptEvent(first.Line, time, action);
    }

    private EventTime ParseEventTime()
    {
        if (Peek().Is('*'))
        {
            Next();
            return new EventTime(TimeKind.Any, 0);
        }

        bool relative = Peek().Is('+');
        if (relative)
        {
            Next();
        }

        long start = ParseTime();
        if (!Peek().Is('~'))
        {
            return new EventTime(relative ? TimeKind.Relative : TimeKind.Absolute, start);
        }

        Next();
        if (relative)
        {
            Expect('+');
        }

        long end = ParseTime();
        return new EventTime(relative ? TimeKind.RelativeRange : TimeKind.AbsoluteRange, start, end);
    }

    private long ParseTime()
    {
        var t = Next();
        return t.Kind switch
        {
            TokenKind.Integer when t.Integer >= 0 => checked(t.Integer * 1_000_000),
            TokenKind.Float when t.Float >= 0 => (long)Math.Round(t.Float * 1e6),
            TokenKind.Integer or TokenKind.Float => throw new PacketdrillSyntaxException(t.Line, "negative time"),
            _ => throw new PacketdrillSyntaxException(t.Line, $"expected a time but found {t}"),
        };
    }

    private ScriptAction ParseAction(int line)
    {
        var t = Peek();
        if (t.Is('<') || t.Is('>'))
        {
            return ParsePacket();
        }

        if (t.Kind == TokenKind.BackQuoted)
        {
            Next();
            return new ShellAction(t.Text);
        }

        if (t.Kind == TokenKind.Code)
        {
            Next();
            return new CodeAction(t.Text);
        }

        if (t.Kind == TokenKind.Word || t.Kind == TokenKind.Ellipsis)
        {
            return ParseSyscall();
        }

        throw new PacketdrillSyntaxException(line, $"expected a packet, system call, command or code block but found {t}");
    }

    private PacketAction ParsePacket()
    {
        var dirToken = Next();
        var direction = dirToken.Is('<') ? PacketDirection.Inbound : PacketDirection.Outbound;
        int line = dirToken.Line;
        if (Peek().Kind == TokenKind.Word && Peek().Text is "ipv4" or "ipv6" or "gre" or "GREv0" or "mpls")
        {
            throw new PacketdrillUnsupportedException(line, $"encapsulation prefix '{Peek().Text}'");
        }

        var ipInfo = ParseOptionalIpInfo();
        if (Peek().Kind == TokenKind.Word && Peek().Text is "udp" or "icmp")
        {
            throw new PacketdrillUnsupportedException(line, $"{Peek().Text} packets");
        }

        ushort? srcPort = null, dstPort = null;
        if (Peek().Kind == TokenKind.Integer && Peek(1).Is('>'))
        {
            // Explicit ports "src>dst" (packetdrill's opt_port_info): several connections in one script.
            srcPort = (ushort)CheckRange(ExpectInteger("a source port"), ushort.MaxValue, line, "src port");
            Expect('>');
            dstPort = (ushort)CheckRange(ExpectInteger("a destination port"), ushort.MaxValue, line, "dst port");
        }

        var flags = ParseFlags(line);
        // seq: start:end(len)
        long startSeq = ExpectInteger("a start sequence number");
        Expect(':');
        long endSeq = ExpectInteger("an end sequence number");
        Expect('(');
        long len = ExpectInteger("a payload length");
        Expect(')');
        if (Peek().Is('!'))
        {
            throw new PacketdrillUnsupportedException(line, "'!' after the sequence numbers (FreeBSD packetdrill)");
        }

        if (startSeq is < 0 or > uint.MaxValue || endSeq is < 0 or > uint.MaxValue)
        {
            throw new PacketdrillSyntaxException(line, "TCP sequence number out of range");
        }

        if (len is < 0 or > ushort.MaxValue)
        {
            throw new PacketdrillSyntaxException(line, "TCP payload size out of range");
        }

        if (endSeq != startSeq + len)
        {
            throw new PacketdrillSyntaxException(line, "inconsistent TCP sequence numbers and payload size");
        }

        uint? ack = null;
        int? window = null;
        int urg = 0;
        if (Peek().IsWord("ack"))
        {
            Next();
            long a = ExpectInteger("an ACK number");
            if (a is < 0 or > uint.MaxValue)
            {
                throw new PacketdrillSyntaxException(line, "TCP ack sequence number out of range");
            }

            ack = (uint)a;
        }

        if (Peek().IsWord("win"))
        {
            Next();
            long w = ExpectInteger("a window");
            if (w is < 0 or > ushort.MaxValue)
            {
                throw new PacketdrillSyntaxException(line, "TCP window value out of range");
            }

            window = (int)w;
        }

        if (Peek().IsWord("urg"))
        {
            Next();
            long u = ExpectInteger("an urgent pointer");
            if (u is < 0 or > ushort.MaxValue)
            {
                throw new PacketdrillSyntaxException(line, "urg_ptr value out of range");
            }

            urg = (int)u;
        }

        IReadOnlyList<ScriptTcpOption>? options = [];
        if (Peek().Is('<'))
        {
            Next();
            if (Peek().Kind == TokenKind.Ellipsis)
            {
                Next();
                Expect('>');
                if (direction == PacketDirection.Inbound)
                {
                    throw new PacketdrillSyntaxException(line, "<...> for TCP options can only be used with outbound packets");
                }

                options = null;
            }
            else
            {
                options = ParseTcpOptions(line);
            }
        }

        if (Peek().Is('{'))
        {
            throw new PacketdrillUnsupportedException(line, "packet fuzzing specification");
        }

        if (Peek().Is('/'))
        {
            throw new PacketdrillUnsupportedException(line, "UDP encapsulation of TCP");
        }

        return new PacketAction(direction, flags, (uint)startSeq, (int)len, ack, window, urg, options, ipInfo)
        {
            SourcePort = srcPort,
            DestinationPort = dstPort,
        };
    }

    private ScriptIpInfo? ParseOptionalIpInfo()
    {
        if (!(Peek().Is('[') || Peek().Is('(')))
        {
            return null;
        }

        char close = Next().Is('[') ? ']' : ')';
        string? ecn = null;
        int? tos = null, flow = null, ttl = null;
        while (!Peek().Is(close))
        {
            var t = Next();
            switch (t.Text)
            {
                case "noecn" or "ect0" or "ect1" or "ce" or "ect01":
                    ecn = t.Text;
                    break;
                case "tos":
                    tos = (int)ExpectInteger("a TOS value");
                    break;
                case "flowlabel":
                    flow = (int)ExpectInteger("a flow label");
                    break;
                case "ttl":
                    ttl = (int)ExpectInteger("a TTL");
                    break;
                case ",":
                    break;
                case "hlim" or "class":
                    throw new PacketdrillUnsupportedException(t.Line, $"IPv6 {t.Text} in IP information");
                default:
                    throw new PacketdrillSyntaxException(t.Line, $"unexpected {t} in IP information");
            }
        }

        Next();
        return new ScriptIpInfo(ecn, tos, flow, ttl);
    }

    private TcpFlags ParseFlags(int line)
    {
        var t = Peek();
        string text;
        if (t.Is('.'))
        {
            Next();
            text = ".";
        }
        else if (t.Is('-'))
        {
            Next();
            text = "";
        }
        else if (t.Kind == TokenKind.Word)
        {
            Next();
            text = t.Text;
            if (Peek().Is('.'))
            {
                Next();
                text += ".";
            }
        }
        else if (t.Kind == TokenKind.Float)
        {
            throw new PacketdrillUnsupportedException(line, "AccECN ACE counter in flags");
        }
        else
        {
            throw new PacketdrillSyntaxException(line, $"expected TCP flags but found {t}");
        }

        var flags = TcpFlags.None;
        foreach (char c in text)
        {
            flags |= c switch
            {
                'F' => TcpFlags.Fin,
                'S' => TcpFlags.Syn,
                'R' => TcpFlags.Rst,
                'P' => TcpFlags.Psh,
                '.' => TcpFlags.Ack,
                'U' => TcpFlags.Urg,
                'E' => TcpFlags.Ece,
                'W' => TcpFlags.Cwr,
                'A' or 'N' => TcpFlags.Ae,
                _ => throw new PacketdrillSyntaxException(line, $"unknown TCP flag '{c}' in '{text}'"),
            };
        }

        return flags;
    }

    private List<ScriptTcpOption> ParseTcpOptions(int line)
    {
        var list = new List<ScriptTcpOption>();
        while (true)
        {
            var t = Next();
            if (t.Kind != TokenKind.Word)
            {
                throw new PacketdrillSyntaxException(t.Line, $"expected a TCP option but found {t}");
            }

            switch (t.Text)
            {
                case "nop":
                    list.Add(new ScriptTcpOption(ScriptOptionKind.Nop));
                    break;
                case "eol":
                    list.Add(new ScriptTcpOption(ScriptOptionKind.Eol));
                    break;
                case "mss":
                    list.Add(new ScriptTcpOption(ScriptOptionKind.Mss, CheckRange(ExpectInteger("an MSS"), ushort.MaxValue, t.Line, "mss value")));
                    break;
                case "wscale":
                    list.Add(new ScriptTcpOption(ScriptOptionKind.WindowScale, CheckRange(ExpectInteger("a shift count"), byte.MaxValue, t.Line, "window scale shift count")));
                    break;
                case "sackOK":
                    list.Add(new ScriptTcpOption(ScriptOptionKind.SackPermitted));
                    break;
                case "sack":
                    var blocks = new List<(uint, uint)>();
                    while (Peek().Kind == TokenKind.Integer)
                    {
                        long left = CheckRange(ExpectInteger("a SACK left edge"), uint.MaxValue, t.Line, "SACK left edge");
                        Expect(':');
                        long right = CheckRange(ExpectInteger("a SACK right edge"), uint.MaxValue, t.Line, "SACK right edge");
                        blocks.Add(((uint)left, (uint)right));
                    }

                    if (blocks.Count == 0)
                    {
                        throw new PacketdrillSyntaxException(t.Line, "sack option needs at least one block");
                    }

                    list.Add(new ScriptTcpOption(ScriptOptionKind.Sack, SackBlocks: blocks));
                    break;
                case "TS":
                    if (!Next().IsWord("val"))
                    {
                        throw new PacketdrillSyntaxException(t.Line, "expected 'val' after TS");
                    }

                    long val = CheckRange(ExpectInteger("a TS value"), uint.MaxValue, t.Line, "ts val");
                    if (!Next().IsWord("ecr"))
                    {
                        throw new PacketdrillSyntaxException(t.Line, "expected 'ecr' in TS option");
                    }

                    long ecr = CheckRange(ExpectInteger("a TS echo reply"), uint.MaxValue, t.Line, "ecr val");
                    list.Add(new ScriptTcpOption(ScriptOptionKind.Timestamp, val, ecr));
                    break;
                case "FO" or "FOEXP":
                    string blob = "";
                    while (Peek().Kind is TokenKind.Word or TokenKind.Integer or TokenKind.Float)
                    {
                        blob += Next().Text;
                    }

                    list.Add(new ScriptTcpOption(t.Text == "FO" ? ScriptOptionKind.FastOpen : ScriptOptionKind.FastOpenExperimental, Blob: blob));
                    break;
                case "md5":
                    // A hex key may lex as several tokens (digits, then letters): take everything up to ',' or '>'.
                    var key = new System.Text.StringBuilder();
                    while (Peek().Kind is TokenKind.Integer or TokenKind.Word or TokenKind.Float)
                    {
                        key.Append(Next().Text);
                    }

                    list.Add(new ScriptTcpOption(ScriptOptionKind.Md5, Blob: key.ToString()));
                    break;
                default:
                    throw new PacketdrillUnsupportedException(t.Line, $"TCP option '{t.Text}'");
            }

            var sep = Next();
            if (sep.Is('>'))
            {
                return list;
            }

            if (!sep.Is(','))
            {
                throw new PacketdrillSyntaxException(sep.Line, $"expected ',' or '>' in TCP options but found {sep}");
            }
        }
    }

    private static long CheckRange(long value, long max, int line, string what)
    {
        if (value < 0 || value > max)
        {
            throw new PacketdrillSyntaxException(line, $"{what} out of range");
        }

        return value;
    }

    private SyscallAction ParseSyscall()
    {
        long? end = null;
        if (Peek().Kind == TokenKind.Ellipsis)
        {
            Next();
            end = ParseTime();
        }

        var nameToken = Next();
        if (nameToken.Kind != TokenKind.Word)
        {
            throw new PacketdrillSyntaxException(nameToken.Line, $"expected a system call name but found {nameToken}");
        }

        Expect('(');
        var args = Peek().Is(')') ? [] : ParseExpressionList(')');
        Expect(')');
        Expect('=');
        var result = ParseExpression();
        string? errno = null, errnoText = null, note = null;
        if (Peek().Kind == TokenKind.Word && Peek(1).Is('('))
        {
            errno = Next().Text;
            errnoText = ParseNote();
        }

        if (Peek().Is('('))
        {
            note = ParseNote();
        }

        return new SyscallAction(nameToken.Text, args, result, errno, errnoText, note, end);
    }

    private string ParseNote()
    {
        Expect('(');
        var words = new List<string>();
        int depth = 1;
        while (true)
        {
            var t = Next();
            if (t.Kind == TokenKind.End)
            {
                throw new PacketdrillSyntaxException(t.Line, "unterminated note in parentheses");
            }

            if (t.Is('('))
            {
                depth++;
            }
            else if (t.Is(')') && --depth == 0)
            {
                return string.Join(' ', words);
            }

            words.Add(t.Text);
        }
    }

    private List<ScriptExpr> ParseExpressionList(char close)
    {
        var list = new List<ScriptExpr> { ParseExpression() };
        while (Peek().Is(','))
        {
            Next();
            list.Add(ParseExpression());
        }

        if (!Peek().Is(close))
        {
            throw new PacketdrillSyntaxException(Peek().Line, $"expected ',' or '{close}' but found {Peek()}");
        }

        return list;
    }

    private ScriptExpr ParseExpression()
    {
        var left = ParsePrimary();
        while (Peek().Is('|'))
        {
            Next();
            left = new BinaryExpr("|", left, ParsePrimary());
        }

        return left;
    }

    private ScriptExpr ParsePrimary()
    {
        var t = Next();
        switch (t.Kind)
        {
            case TokenKind.Ellipsis:
                return EllipsisExpr.Instance;
            case TokenKind.Integer:
                return new IntExpr(t.Integer);
            case TokenKind.String:
                var s = t.Text;
                while (Peek().Kind == TokenKind.String)
                {
                    s += Next().Text;
                }

                bool ellipsis = Peek().Kind == TokenKind.Ellipsis;
                if (ellipsis)
                {
                    Next();
                }

                return new StringExpr(s, ellipsis);
            case TokenKind.Word:
                if (Peek().Is('='))
                {
                    Next();
                    return new BinaryExpr("=", new WordExpr(t.Text), ParseExpression());
                }

                if (Peek().Is('('))
                {
                    Next();
                    var args = Peek().Is(')') ? [] : ParseExpressionList(')');
                    Expect(')');
                    if (Peek().Is('='))
                    {
                        // A field written with its length, as in msg_iov(1)=[...] of sendmsg/recvmsg.
                        Next();
                        return new BinaryExpr("=", new CallExpr(t.Text, args), ParseExpression());
                    }

                    return new CallExpr(t.Text, args);
                }

                return new WordExpr(t.Text);
            case TokenKind.Punct when t.Is('['):
                var items = Peek().Is(']') ? [] : ParseExpressionList(']');
                Expect(']');
                return new ListExpr(items);
            case TokenKind.Punct when t.Is('{'):
                var fields = Peek().Is('}') ? [] : ParseExpressionList('}');
                Expect('}');
                return new StructExpr(fields);
            default:
                throw new PacketdrillSyntaxException(t.Line, $"expected an expression but found {t}");
        }
    }
}
