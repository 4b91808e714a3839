using System.Buffers.Binary;

namespace TcpKit.Wire.Tcp;

/// <summary>TCP option kinds (IANA "TCP Option Kind Numbers").</summary>
public enum TcpOptionKind : byte
{
    EndOfOptionList = 0,
    Nop = 1,
    /// <summary>RFC 9293 section 3.2.</summary>
    Mss = 2,
    /// <summary>RFC 7323 section 2.</summary>
    WindowScale = 3,
    /// <summary>RFC 2018 section 2.</summary>
    SackPermitted = 4,
    /// <summary>RFC 2018 section 3.</summary>
    Sack = 5,
    /// <summary>RFC 7323 section 3.</summary>
    Timestamps = 8,
    /// <summary>RFC 2385.</summary>
    Md5Signature = 19,
    /// <summary>RFC 5925.</summary>
    AuthenticationOption = 29,
    /// <summary>TCP Fast Open cookie, RFC 7413 section 4.1.1.</summary>
    FastOpenCookie = 34,
    /// <summary>RFC 6994 shared experimental kind; ExID 0xF989 is pre-RFC TCP Fast Open.</summary>
    Experimental254 = 254,
}

/// <summary>Whether an option's bytes agree with its kind.</summary>
public enum TcpOptionStatus : byte
{
    Ok,
    /// <summary>Length byte below 2 (or missing), beyond the option space, or wrong for a fixed-size kind.</summary>
    Malformed,
}

/// <summary>
/// One option as found in the header: its kind, status, and raw bytes with typed accessors.
/// Fixed-field accessors (<see cref="Mss"/>, <see cref="Timestamp"/>, …) are meaningful only for
/// their kind with <see cref="Status"/> Ok; the span accessors return empty when not applicable.
/// </summary>
public readonly ref struct TcpOption
{
    /// <summary>ExID of the experimental TCP Fast Open option under kind 254 (RFC 7413 section 4.1.1).</summary>
    public const ushort FastOpenExperimentId = 0xF989;

    internal TcpOption(TcpOptionKind kind, TcpOptionStatus status, ReadOnlySpan<byte> raw)
    {
        Kind = kind;
        Status = status;
        Raw = raw;
    }

    public TcpOptionKind Kind { get; }

    public TcpOptionStatus Status { get; }

    public bool IsMalformed => Status == TcpOptionStatus.Malformed;

    /// <summary>The option's bytes, kind and length included (for a malformed option, what was there up to the end of the option space).</summary>
    public ReadOnlySpan<byte> Raw { get; }

    /// <summary>The length byte, or 1 for EOL and NOP.</summary>
    public int Length => Raw.Length >= 2 && Kind is not (TcpOptionKind.EndOfOptionList or TcpOptionKind.Nop) ? Raw[1] : 1;

    /// <summary>Bytes after kind and length.</summary>
    public ReadOnlySpan<byte> Data => Raw.Length >= 2 && Kind is not (TcpOptionKind.EndOfOptionList or TcpOptionKind.Nop) ? Raw[2..] : default;

    public ushort Mss => BinaryPrimitives.ReadUInt16BigEndian(Data);

    public byte WindowScaleShift => Data[0];

    public uint TimestampValue => BinaryPrimitives.ReadUInt32BigEndian(Data);

    public uint TimestampEchoReply => BinaryPrimitives.ReadUInt32BigEndian(Data[4..]);

    public TcpTimestamp Timestamp => new(TimestampValue, TimestampEchoReply);

    public int SackBlockCount => Kind == TcpOptionKind.Sack && !IsMalformed ? Data.Length / 8 : 0;

    public SackBlock GetSackBlock(int index)
    {
        if ((uint)index >= (uint)SackBlockCount)
        {
            throw new ArgumentOutOfRangeException(nameof(index));
        }

        var block = Data.Slice(index * 8, 8);
        return new SackBlock(new SeqNum(BinaryPrimitives.ReadUInt32BigEndian(block)), new SeqNum(BinaryPrimitives.ReadUInt32BigEndian(block[4..])));
    }

    /// <summary>Kind 34, or kind 254 with ExID 0xF989.</summary>
    public bool IsFastOpen => Kind == TcpOptionKind.FastOpenCookie
        || (Kind == TcpOptionKind.Experimental254 && Data.Length >= 2 && BinaryPrimitives.ReadUInt16BigEndian(Data) == FastOpenExperimentId);

    /// <summary>The Fast Open cookie (empty for a cookie request).</summary>
    public ReadOnlySpan<byte> FastOpenCookie => Kind == TcpOptionKind.FastOpenCookie ? Data : IsFastOpen ? Data[2..] : default;

    /// <summary>For kind 254 (RFC 6994): the 16-bit experiment identifier, 0 otherwise.</summary>
    public ushort ExperimentId => Kind == TcpOptionKind.Experimental254 && Data.Length >= 2 ? BinaryPrimitives.ReadUInt16BigEndian(Data) : (ushort)0;

    /// <summary>The 16-byte MD5 digest of kind 19.</summary>
    public ReadOnlySpan<byte> Md5Digest => Kind == TcpOptionKind.Md5Signature ? Data : default;

    /// <summary>TCP-AO KeyID (RFC 5925 section 2.2).</summary>
    public byte AoKeyId => Data[0];

    public byte AoRNextKeyId => Data[1];

    public ReadOnlySpan<byte> AoMac => Kind == TcpOptionKind.AuthenticationOption && Data.Length >= 2 ? Data[2..] : default;
}

/// <summary>
/// Allocation-free enumerator over TCP option bytes (RFC 9293 section 3.2). Yields every option
/// including NOP and one EOL (after which the rest is padding). A length byte below 2 or past
/// the end yields one Malformed option and ends the walk, since the next option's start is
/// unknown; a wrong length for a fixed-size kind yields Malformed and the walk continues.
/// </summary>
public ref struct TcpOptionReader
{
    private readonly ReadOnlySpan<byte> _bytes;
    private int _next;
    private TcpOption _current;

    public TcpOptionReader(ReadOnlySpan<byte> optionBytes)
    {
        _bytes = optionBytes;
        _next = 0;
        _current = default;
    }

    public readonly TcpOption Current => _current;

    public readonly TcpOptionReader GetEnumerator() => this;

    public bool MoveNext()
    {
        if (_next >= _bytes.Length)
        {
            return false;
        }

        int at = _next;
        var kind = (TcpOptionKind)_bytes[at];
        if (kind == TcpOptionKind.EndOfOptionList)
        {
            _current = new TcpOption(kind, TcpOptionStatus.Ok, _bytes.Slice(at, 1));
            _next = _bytes.Length;
            return true;
        }

        if (kind == TcpOptionKind.Nop)
        {
            _current = new TcpOption(kind, TcpOptionStatus.Ok, _bytes.Slice(at, 1));
            _next = at + 1;
            return true;
        }

        if (at + 1 >= _bytes.Length || _bytes[at + 1] < 2 || at + _bytes[at + 1] > _bytes.Length)
        {
            _current = new TcpOption(kind, TcpOptionStatus.Malformed, _bytes[at..]);
            _next = _bytes.Length;
            return true;
        }

        int length = _bytes[at + 1];
        _current = new TcpOption(kind, HasValidLength(kind, length) ? TcpOptionStatus.Ok : TcpOptionStatus.Malformed, _bytes.Slice(at, length));
        _next = at + length;
        return true;
    }

    /// <summary>
    /// The options captured whole at the start of <paramref name="captured"/>, a header cut by the snaplen: up
    /// to (not including) the option that runs past the captured bytes.
    /// </summary>
    public static ReadOnlySpan<byte> WholeOptions(ReadOnlySpan<byte> captured)
    {
        int at = 0;
        while (at < captured.Length)
        {
            var kind = (TcpOptionKind)captured[at];
            if (kind == TcpOptionKind.EndOfOptionList)
            {
                return captured;
            }

            if (kind == TcpOptionKind.Nop)
            {
                at++;
                continue;
            }

            if (at + 1 >= captured.Length || captured[at + 1] < 2 || at + captured[at + 1] > captured.Length)
            {
                return captured[..at];
            }

            at += captured[at + 1];
        }

        return captured;
    }

    private static bool HasValidLength(TcpOptionKind kind, int length) => kind switch
    {
        TcpOptionKind.Mss => length == 4,
        TcpOptionKind.WindowScale => length == 3,
        TcpOptionKind.SackPermitted => length == 2,
        TcpOptionKind.Timestamps => length == 10,
        TcpOptionKind.Sack => length >= 10 && (length - 2) % 8 == 0,
        TcpOptionKind.Md5Signature => length == 18,
        TcpOptionKind.AuthenticationOption => length >= 4,
        _ => true,
    };

    /// <summary>Fills the representation from option bytes; malformed and unknown options are skipped.</summary>
    public static TcpOptions Parse(ReadOnlySpan<byte> optionBytes, out bool malformed)
    {
        malformed = false;
        if (optionBytes.IsEmpty)
        {
            return default; // most segments carry no options
        }

        // Values are gathered in locals and stored once: writing the nullable properties of the
        // (unpromotable) TcpOptions struct inside the loop was measurably slower.
        var options = default(TcpOptions);
        ushort? mss = null;
        byte? windowScale = null;
        bool sackPermitted = false;
        TcpTimestamp? timestamp = null;
        foreach (var option in new TcpOptionReader(optionBytes))
        {
            if (option.IsMalformed)
            {
                malformed = true;
                continue;
            }

            switch (option.Kind)
            {
                case TcpOptionKind.Mss:
                    mss = option.Mss;
                    break;
                case TcpOptionKind.WindowScale:
                    windowScale = option.WindowScaleShift;
                    break;
                case TcpOptionKind.SackPermitted:
                    sackPermitted = true;
                    break;
                case TcpOptionKind.Timestamps:
                    timestamp = option.Timestamp;
                    break;
                case TcpOptionKind.Sack:
                    for (int i = 0; i < option.SackBlockCount; i++)
                    {
                        options.TryAddSack(option.GetSackBlock(i));
                    }

                    break;
            }
        }

        options.Mss = mss;
        options.WindowScale = windowScale;
        options.SackPermitted = sackPermitted;
        options.Timestamp = timestamp;
        return options;
    }
}
