using System.Buffers.Binary;
using TcpKit.Wire;

namespace TcpKit.Analysis.Conversations;

/// <summary>
/// The FTP data connections that Wireshark's FTP dissector announces before they open. When a control
/// connection (TCP port 21) carries a PORT request or a 227 (PASV) or 229 (EPSV) reply, Wireshark creates the
/// data connection's conversation at once, with one port left open; the data connection's first segment then
/// finds a conversation it did not create, and <c>tcp.completeness</c> takes the "existing conversation"
/// branch for it: a first SYN adds nothing, a first data segment adds its bit (spec section 6.6).
/// <para>
/// The keys are Wireshark 4.0's, learnt from tshark 4.0.17 on crafted captures: PORT h1,..,p2 gives
/// (server, port 20) to (the PORT address, any port); 227 gives (the reply's address and port) to (the
/// client, any port); 229 gives (the server, the reply's port) to (the client, any port); EPRT gives
/// (the client, the EPRT port) to (the EPRT address, any port), which only a connection between two
/// endpoints of the same address can match. Only the first line of a segment is read, as Wireshark does.
/// </para>
/// <para>
/// Each announcement is claimed by the first new TCP conversation it matches. At most
/// <see cref="Capacity"/> unclaimed announcements are kept (the oldest go first), so memory stays bounded
/// however long the capture.
/// </para>
/// </summary>
public sealed class FtpDataConnections
{
    /// <summary>The FTP control port whose payload is read.</summary>
    public const ushort ControlPort = 21;

    /// <summary>Unclaimed announcements kept at most.</summary>
    public const int Capacity = 1024;

    private readonly record struct Announcement(IpAddress FixedAddress, ushort FixedPort, IpAddress OtherAddress);

    private readonly Queue<Announcement> _pending = new();

    /// <summary>Announcements read so far (claimed or not).</summary>
    public long Announced { get; private set; }

    /// <summary>Announcements dropped unclaimed because more than <see cref="Capacity"/> were waiting.</summary>
    public long Dropped { get; private set; }

    /// <summary>Reads a segment of an FTP control connection (either port 21) for an announcement.</summary>
    public void Inspect(in DecodedPacket p, ReadOnlySpan<byte> payload)
    {
        if (payload.IsEmpty || (p.SourcePort != ControlPort && p.DestinationPort != ControlPort))
        {
            return;
        }

        var line = FirstLine(payload);
        bool request = p.DestinationPort == ControlPort;
        if (request)
        {
            ReadRequest(p, line);
        }
        else
        {
            ReadReply(p, line);
        }
    }

    /// <summary>
    /// True (and the announcement is used up) when a conversation between these two endpoints, seen for
    /// the first time, was announced on a control connection.
    /// </summary>
    public bool TryClaim(IpAddress addressA, ushort portA, IpAddress addressB, ushort portB)
    {
        if (_pending.Count == 0)
        {
            return false;
        }

        // The newest matching announcement wins, as Wireshark's lookup finds the latest conversation.
        int count = _pending.Count;
        int match = -1;
        int i = 0;
        foreach (var a in _pending)
        {
            if ((a.FixedAddress == addressA && a.FixedPort == portA && a.OtherAddress == addressB)
                || (a.FixedAddress == addressB && a.FixedPort == portB && a.OtherAddress == addressA))
            {
                match = i;
            }

            i++;
        }

        if (match < 0)
        {
            return false;
        }

        for (i = 0; i < count; i++)
        {
            var a = _pending.Dequeue();
            if (i != match)
            {
                _pending.Enqueue(a);
            }
        }

        return true;
    }

    private void ReadRequest(in DecodedPacket p, ReadOnlySpan<byte> line)
    {
        // The command is the first token; its argument follows one space.
        int space = line.IndexOf((byte)' ');
        var command = space < 0 ? line : line[..space];
        var argument = space < 0 ? ReadOnlySpan<byte>.Empty : line[(space + 1)..];
        if (command.SequenceEqual("PORT"u8))
        {
            // The server connects from its port 20; the PORT command's own port is left open.
            if (TryParseSixNumbers(argument, out var address, out _))
            {
                Announce(new Announcement(p.Destination, 20, address));
            }
        }
        else if (command.SequenceEqual("EPRT"u8) && TryParseEprt(argument, out var address, out ushort port))
        {
            Announce(new Announcement(p.Source, port, address));
        }
    }

    private void ReadReply(in DecodedPacket p, ReadOnlySpan<byte> line)
    {
        if (line.Length < 3 || !IsDigit(line[0]) || !IsDigit(line[1]) || !IsDigit(line[2]))
        {
            return;
        }

        int code = ((line[0] - '0') * 100) + ((line[1] - '0') * 10) + (line[2] - '0');
        var text = line.Length >= 4 ? line[4..] : ReadOnlySpan<byte>.Empty;
        if (text.IsEmpty)
        {
            return;
        }

        if (code == 227 && TryParseSixNumbers(text, out var address, out ushort port))
        {
            Announce(new Announcement(address, port, p.Destination));
        }
        else if (code == 229 && TryParseEpsv(text, out port))
        {
            Announce(new Announcement(p.Source, port, p.Destination));
        }
    }

    private void Announce(Announcement a)
    {
        Announced++;
        if (_pending.Count == Capacity)
        {
            _pending.Dequeue();
            Dropped++;
        }

        _pending.Enqueue(a);
    }

    /// <summary>Up to the first CR or LF (the whole payload when there is none).</summary>
    private static ReadOnlySpan<byte> FirstLine(ReadOnlySpan<byte> payload)
    {
        int end = payload.IndexOfAny((byte)'\r', (byte)'\n');
        return end < 0 ? payload : payload[..end];
    }

    private static bool IsDigit(byte b) => b is >= (byte)'0' and <= (byte)'9';

    /// <summary>
    /// "h1,h2,h3,h4,p1,p2" anywhere in the text (RFC 959 gives no syntax for the 227 reply): from each run of
    /// digits, six comma-separated integers, as C's sscanf("%d,%d,...") reads them (blanks and a sign allowed
    /// before each but the first); the port is (p1 mod 256) * 256 + (p2 mod 256).
    /// </summary>
    public static bool TryParseSixNumbers(ReadOnlySpan<byte> text, out IpAddress address, out ushort port)
    {
        Span<int> n = stackalloc int[6];
        int i = 0;
        while (i < text.Length)
        {
            while (i < text.Length && !IsDigit(text[i]))
            {
                i++;
            }

            if (i == text.Length)
            {
                break;
            }

            if (TryReadSix(text[i..], n))
            {
                Span<byte> v4 = stackalloc byte[4];
                BinaryPrimitives.WriteUInt32BigEndian(v4, unchecked((uint)((n[0] << 24) | (n[1] << 16) | (n[2] << 8) | n[3])));
                address = IpAddress.FromIPv4(v4[0], v4[1], v4[2], v4[3]);
                port = (ushort)(((n[4] & 0xFF) << 8) | (n[5] & 0xFF));
                return true;
            }

            while (i < text.Length && IsDigit(text[i]))
            {
                i++;
            }
        }

        address = default;
        port = 0;
        return false;
    }

    private static bool TryReadSix(ReadOnlySpan<byte> s, Span<int> n)
    {
        int i = 0;
        for (int k = 0; k < 6; k++)
        {
            if (k > 0)
            {
                if (i >= s.Length || s[i] != ',')
                {
                    return false;
                }

                i++;
                while (i < s.Length && s[i] is (byte)' ' or (byte)'\t')
                {
                    i++;
                }
            }

            bool negative = false;
            if (k > 0 && i < s.Length && s[i] is (byte)'+' or (byte)'-')
            {
                negative = s[i] == '-';
                i++;
            }

            if (i >= s.Length || !IsDigit(s[i]))
            {
                return false;
            }

            long value = 0;
            while (i < s.Length && IsDigit(s[i]))
            {
                value = Math.Min((value * 10) + (s[i] - '0'), int.MaxValue);
                i++;
            }

            n[k] = negative ? -(int)value : (int)value;
        }

        return true;
    }

    /// <summary>RFC 2428 section 3: "(|||port|)" with any valid delimiter in place of '|'.</summary>
    public static bool TryParseEpsv(ReadOnlySpan<byte> text, out ushort port)
    {
        port = 0;
        int open = text.IndexOf((byte)'(');
        if (open < 0)
        {
            return false;
        }

        int i = open + 1;
        byte delimiter = 0;
        for (int k = 0; k < 3 && i < text.Length; k++)
        {
            byte c = text[i];
            if (delimiter == 0 && IsValidDelimiter(c))
            {
                delimiter = c;
            }

            if (c != delimiter)
            {
                break;
            }

            i++;
        }

        int start = i;
        int value = 0;
        while (i < text.Length && IsDigit(text[i]) && value <= ushort.MaxValue)
        {
            value = (value * 10) + (text[i] - '0');
            i++;
        }

        if (i == start || value > ushort.MaxValue || text[i..].IndexOf((byte)')') < 0)
        {
            return false;
        }

        port = (ushort)value;
        return true;
    }

    /// <summary>RFC 2428 section 2: "EPRT |1|132.235.1.2|6275|" (address family 1 or 2).</summary>
    public static bool TryParseEprt(ReadOnlySpan<byte> text, out IpAddress address, out ushort port)
    {
        address = default;
        port = 0;
        if (text.IsEmpty || !IsValidDelimiter(text[0]) || text.Count(text[0]) != 4)
        {
            return false;
        }

        byte d = text[0];
        var rest = text[1..];
        int a = rest.IndexOf(d);
        var family = rest[..a];
        rest = rest[(a + 1)..];
        int b = rest.IndexOf(d);
        var host = rest[..b];
        rest = rest[(b + 1)..];
        int c = rest.IndexOf(d);
        var portText = rest[..c];
        if (family.IsEmpty || host.IsEmpty || portText.IsEmpty)
        {
            return false;
        }

        int version = family.SequenceEqual("1"u8) ? 4 : family.SequenceEqual("2"u8) ? 6 : 0;
        Span<char> chars = stackalloc char[host.Length];
        for (int i = 0; i < host.Length; i++)
        {
            chars[i] = (char)host[i];
        }

        if (version == 0 || !IpAddress.TryParse(chars, out address) || address.Version != version)
        {
            return false;
        }

        int value = 0;
        foreach (byte ch in portText)
        {
            if (!IsDigit(ch) || (value = (value * 10) + (ch - '0')) > ushort.MaxValue)
            {
                return false;
            }
        }

        port = (ushort)value;
        return true;
    }

    /// <summary>RFC 2428 section 2: a printable ASCII character other than a hex digit, '.' or ':'.</summary>
    private static bool IsValidDelimiter(byte c) =>
        c is > 32 and < 127 && !IsDigit(c) && (c | 0x20) is not (>= (byte)'a' and <= (byte)'f') && c is not (byte)'.' and not (byte)':';
}
