using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace TcpKit.Wire;

/// <summary>
/// An IPv4 or IPv6 address as a value: 128 bits plus the version, no allocation, usable as a
/// flow key. IPv4 addresses occupy the low 32 bits. Text follows Wireshark on Linux (glibc
/// inet_ntop): dotted quad for IPv4; RFC 5952 for IPv6 (lower-case hex, the longest run of two
/// or more zero groups, first on ties, becomes "::"; ::a.b.c.d and ::ffff:a.b.c.d keep the
/// embedded IPv4 address in dotted form).
/// </summary>
public readonly struct IpAddress : IEquatable<IpAddress>, IComparable<IpAddress>, ISpanFormattable
{
    /// <summary>Longest text form: "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255" would be 45.</summary>
    public const int MaxTextLength = 45;

    private readonly ulong _high;
    private readonly ulong _low;
    private readonly byte _version;

    private IpAddress(ulong high, ulong low, byte version)
    {
        _high = high;
        _low = low;
        _version = version;
    }

    /// <summary>4 or 6; 0 for the default (unset) value.</summary>
    public int Version => _version;

    public bool IsIPv4 => _version == 4;

    public bool IsIPv6 => _version == 6;

    /// <summary>The upper 64 bits of an IPv6 address, in network order as a number.</summary>
    public ulong High => _high;

    /// <summary>The lower 64 bits of an IPv6 address (for IPv4: the address in the low 32 bits).</summary>
    public ulong Low => _low;

    /// <summary>The IPv4 address as a network-order number (192.0.2.1 is 0xC0000201).</summary>
    public uint IPv4Value => (uint)_low;

    /// <summary>Bytes in the wire form: 4 or 16.</summary>
    public int ByteLength => _version == 4 ? 4 : 16;

    public static IpAddress FromIPv4(uint networkOrderValue) => new(0, networkOrderValue, 4);

    public static IpAddress FromIPv4(byte a, byte b, byte c, byte d) => FromIPv4((uint)(a << 24 | b << 16 | c << 8 | d));

    /// <summary>Reads four bytes in wire order.</summary>
    public static IpAddress FromIPv4(ReadOnlySpan<byte> bytes) => FromIPv4(BinaryPrimitives.ReadUInt32BigEndian(bytes));

    /// <summary>Reads sixteen bytes in wire order.</summary>
    public static IpAddress FromIPv6(ReadOnlySpan<byte> bytes)
        => new(BinaryPrimitives.ReadUInt64BigEndian(bytes), BinaryPrimitives.ReadUInt64BigEndian(bytes.Slice(8, 8)), 6);

    public static IpAddress FromIPv6(UInt128 value) => new((ulong)(value >> 64), (ulong)value, 6);

    public static IpAddress FromIPv6(ulong high, ulong low) => new(high, low, 6);

    public UInt128 ToUInt128() => new(_high, _low);

    /// <summary>Writes the 4 or 16 wire bytes; returns the count.</summary>
    public int WriteTo(Span<byte> destination)
    {
        if (_version == 4)
        {
            BinaryPrimitives.WriteUInt32BigEndian(destination, (uint)_low);
            return 4;
        }

        BinaryPrimitives.WriteUInt64BigEndian(destination, _high);
        BinaryPrimitives.WriteUInt64BigEndian(destination.Slice(8, 8), _low);
        return 16;
    }

    public static IpAddress FromIPAddress(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out int written);
        return address.AddressFamily == AddressFamily.InterNetwork ? FromIPv4(bytes[..written]) : FromIPv6(bytes);
    }

    public IPAddress ToIPAddress()
    {
        Span<byte> bytes = stackalloc byte[16];
        int n = WriteTo(bytes);
        return new IPAddress(bytes[..n]);
    }

    /// <summary>Parses either textual form (not a hot path).</summary>
    public static bool TryParse(ReadOnlySpan<char> text, out IpAddress address)
    {
        if (IPAddress.TryParse(text, out var parsed) && (parsed.AddressFamily == AddressFamily.InterNetwork || parsed.ScopeId == 0))
        {
            address = FromIPAddress(parsed);
            return true;
        }

        address = default;
        return false;
    }

    public static IpAddress Parse(string text)
        => TryParse(text, out var a) ? a : throw new FormatException($"'{text}' is not an IP address.");

    public bool Equals(IpAddress other) => _low == other._low && _high == other._high && _version == other._version;

    public override bool Equals([NotNullWhen(true)] object? obj) => obj is IpAddress other && Equals(other);

    public override int GetHashCode() => HashCode.Combine(_high, _low, _version);

    public int CompareTo(IpAddress other)
    {
        int c = _version.CompareTo(other._version);
        if (c != 0)
        {
            return c;
        }

        c = _high.CompareTo(other._high);
        return c != 0 ? c : _low.CompareTo(other._low);
    }

    public static bool operator ==(IpAddress a, IpAddress b) => a.Equals(b);

    public static bool operator !=(IpAddress a, IpAddress b) => !a.Equals(b);

    public static bool operator <(IpAddress a, IpAddress b) => a.CompareTo(b) < 0;

    public static bool operator >(IpAddress a, IpAddress b) => a.CompareTo(b) > 0;

    public static bool operator <=(IpAddress a, IpAddress b) => a.CompareTo(b) <= 0;

    public static bool operator >=(IpAddress a, IpAddress b) => a.CompareTo(b) >= 0;

    public override string ToString()
    {
        Span<char> buffer = stackalloc char[MaxTextLength];
        TryFormat(buffer, out int n);
        return new string(buffer[..n]);
    }

    public string ToString(string? format, IFormatProvider? formatProvider) => ToString();

    public bool TryFormat(Span<char> destination, out int charsWritten, ReadOnlySpan<char> format, IFormatProvider? provider)
        => TryFormat(destination, out charsWritten);

    /// <summary>Writes the text form; false when <paramref name="destination"/> is too small (at most <see cref="MaxTextLength"/> chars).</summary>
    public bool TryFormat(Span<char> destination, out int charsWritten)
    {
        charsWritten = 0;
        if (_version == 4)
        {
            return TryFormatDotted((uint)_low, destination, ref charsWritten);
        }

        if (_version == 0)
        {
            return TryAppend("<none>", destination, ref charsWritten);
        }

        Span<ushort> words = stackalloc ushort[8];
        for (int k = 0; k < 4; k++)
        {
            words[k] = (ushort)(_high >> (48 - 16 * k));
            words[k + 4] = (ushort)(_low >> (48 - 16 * k));
        }

        // RFC 5952 section 4.2: the longest run (first on ties) of at least two zero groups.
        int bestStart = -1, bestLength = 0;
        for (int k = 0; k < 8;)
        {
            if (words[k] != 0)
            {
                k++;
                continue;
            }

            int start = k;
            while (k < 8 && words[k] == 0)
            {
                k++;
            }

            if (k - start > bestLength)
            {
                bestStart = start;
                bestLength = k - start;
            }
        }

        if (bestLength < 2)
        {
            bestStart = -1;
        }

        // Embedded IPv4 as glibc inet_ntop prints it: IPv4-compatible ::a.b.c.d (not :: or ::1
        // style addresses, whose zero run reaches group 6) and IPv4-mapped ::ffff:a.b.c.d (RFC 5952 section 5).
        bool embedded = bestStart == 0 && (bestLength == 6 || (bestLength == 5 && words[5] == 0xFFFF));
        int groups = embedded ? 6 : 8;
        for (int k = 0; k < groups; k++)
        {
            if (k == bestStart)
            {
                if (!TryAppend("::", destination, ref charsWritten))
                {
                    return false;
                }

                k += bestLength - 1;
                continue;
            }

            if (!TryAppendHex(words[k], destination, ref charsWritten))
            {
                return false;
            }

            if (k < groups - 1 || embedded)
            {
                if (k + 1 != bestStart && !TryAppend(":", destination, ref charsWritten))
                {
                    return false;
                }
            }
        }

        return !embedded || TryFormatDotted((uint)_low, destination, ref charsWritten);
    }

    private static bool TryFormatDotted(uint v, Span<char> destination, ref int pos)
    {
        for (int shift = 24; shift >= 0; shift -= 8)
        {
            if (!((byte)(v >> shift)).TryFormat(destination[pos..], out int n, default, CultureInfo.InvariantCulture))
            {
                return false;
            }

            pos += n;
            if (shift != 0 && !TryAppend(".", destination, ref pos))
            {
                return false;
            }
        }

        return true;
    }

    private static bool TryAppendHex(ushort word, Span<char> destination, ref int pos)
    {
        if (!word.TryFormat(destination[pos..], out int n, "x", CultureInfo.InvariantCulture))
        {
            return false;
        }

        pos += n;
        return true;
    }

    private static bool TryAppend(string text, Span<char> destination, ref int pos)
    {
        if (!text.AsSpan().TryCopyTo(destination[pos..]))
        {
            return false;
        }

        pos += text.Length;
        return true;
    }
}
