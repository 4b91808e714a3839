namespace TcpKit.Analysis.Filters;

/// <summary>Wireshark's field types (the FT_* of <c>tshark -G fields</c>) for the fields a filter can name.</summary>
internal enum FieldType : byte
{
    /// <summary>FT_NONE: a label such as tcp.analysis.retransmission; it can only be tested for presence.</summary>
    None,
    Boolean,
    UInt8,
    UInt16,
    UInt24,
    UInt32,
    Int32,
    FrameNum,
    RelativeTime,
    Ether,
    IPv4,
    IPv6,
    Bytes,
    Protocol,
    String,
}

/// <summary>How a value is held while a filter runs: integers, seconds, byte strings or text.</summary>
internal enum ValueKind : byte
{
    None,
    Integer,
    Real,
    Bytes,
    Text,
}

internal static class FieldTypes
{
    public static ValueKind KindOf(FieldType t) => t switch
    {
        FieldType.None => ValueKind.None,
        FieldType.RelativeTime => ValueKind.Real,
        FieldType.Ether or FieldType.IPv4 or FieldType.IPv6 or FieldType.Bytes or FieldType.Protocol => ValueKind.Bytes,
        FieldType.String => ValueKind.Text,
        _ => ValueKind.Integer,
    };

    /// <summary>What len() gives for one value of a fixed-size type (Wireshark's wire size; 0 for booleans and times).</summary>
    public static int WireSize(FieldType t) => t switch
    {
        FieldType.UInt8 => 1,
        FieldType.UInt16 => 2,
        FieldType.UInt24 => 3,
        FieldType.UInt32 or FieldType.Int32 or FieldType.FrameNum or FieldType.IPv4 => 4,
        FieldType.IPv6 => 16,
        FieldType.Ether => 6,
        _ => 0,
    };

    /// <summary>The type's name in messages, as Wireshark words it.</summary>
    public static string Describe(FieldType t) => t switch
    {
        FieldType.None => "Label",
        FieldType.Boolean => "Boolean",
        FieldType.UInt8 => "Unsigned integer (1 byte)",
        FieldType.UInt16 => "Unsigned integer (2 bytes)",
        FieldType.UInt24 => "Unsigned integer (3 bytes)",
        FieldType.UInt32 => "Unsigned integer (4 bytes)",
        FieldType.Int32 => "Signed integer (4 bytes)",
        FieldType.FrameNum => "Frame number",
        FieldType.RelativeTime => "Time offset",
        FieldType.Ether => "Ethernet or other MAC address",
        FieldType.IPv4 => "IPv4 address",
        FieldType.IPv6 => "IPv6 address",
        FieldType.Bytes => "Byte sequence",
        FieldType.Protocol => "Protocol",
        _ => "Character string",
    };
}

/// <summary>
/// The values one expression yields for one frame (a field can occur several times). Byte strings point into
/// the frame when they can, or into a scratch buffer that grows once and is reused, so evaluating a filter
/// allocates nothing per frame for numbers, addresses, payloads and slices.
/// </summary>
internal sealed class ValueList
{
    /// <summary>More occurrences than this (e.g. a product of two multi-valued operands) are dropped.</summary>
    public const int Capacity = 64;

    private readonly long[] _integers = new long[Capacity];
    private readonly double[] _reals = new double[Capacity];
    private readonly int[] _starts = new int[Capacity];
    private readonly int[] _lengths = new int[Capacity];
    private readonly bool[] _inFrame = new bool[Capacity];
    private readonly int[] _prefixBits = new int[Capacity];
    private readonly string[] _texts = new string[Capacity];
    private byte[] _scratch = new byte[64];
    private int _scratchUsed;

    public int Count { get; private set; }

    public bool IsFull => Count == Capacity;

    public void Clear()
    {
        Count = 0;
        _scratchUsed = 0;
    }

    public long Integer(int i) => _integers[i];

    public double Real(int i) => _reals[i];

    public string Text(int i) => _texts[i];

    /// <summary>A CIDR literal's prefix length, or -1.</summary>
    public int PrefixBits(int i) => _prefixBits[i];

    public ReadOnlySpan<byte> Bytes(int i, ReadOnlySpan<byte> frame) =>
        _inFrame[i] ? frame.Slice(_starts[i], _lengths[i]) : _scratch.AsSpan(_starts[i], _lengths[i]);

    public int ByteLength(int i) => _lengths[i];

    public bool BytesInFrame(int i, out int start, out int length)
    {
        start = _starts[i];
        length = _lengths[i];
        return _inFrame[i];
    }

    public void AddPresence()
    {
        if (Count < Capacity)
        {
            _lengths[Count] = 0;
            Count++;
        }
    }

    public void AddInteger(long v)
    {
        if (Count < Capacity)
        {
            _integers[Count++] = v;
        }
    }

    public void AddReal(double v)
    {
        if (Count < Capacity)
        {
            _reals[Count++] = v;
        }
    }

    public void AddText(string v)
    {
        if (Count < Capacity)
        {
            _texts[Count++] = v;
        }
    }

    /// <summary>Bytes of the frame itself, by position: nothing is copied.</summary>
    public void AddFrameBytes(int start, int length, int prefixBits = -1)
    {
        if (Count < Capacity)
        {
            _starts[Count] = start;
            _lengths[Count] = length;
            _inFrame[Count] = true;
            _prefixBits[Count] = prefixBits;
            Count++;
        }
    }

    /// <summary>Bytes that are not in the frame (a literal, a joined slice, a masked value): copied into scratch.</summary>
    public void AddBytes(ReadOnlySpan<byte> bytes, int prefixBits = -1)
    {
        if (Count >= Capacity)
        {
            return;
        }

        var target = Reserve(bytes.Length, out int start);
        bytes.CopyTo(target);
        Commit(start, bytes.Length, prefixBits);
    }

    /// <summary>Room for <paramref name="length"/> bytes in scratch; call <see cref="Commit"/> once they are written.</summary>
    public Span<byte> Reserve(int length, out int start)
    {
        if (_scratchUsed + length > _scratch.Length)
        {
            Array.Resize(ref _scratch, Math.Max(_scratch.Length * 2, _scratchUsed + length));
        }

        start = _scratchUsed;
        return _scratch.AsSpan(start, length);
    }

    public void Commit(int start, int length, int prefixBits = -1)
    {
        if (Count >= Capacity)
        {
            return;
        }

        _scratchUsed = start + length;
        _starts[Count] = start;
        _lengths[Count] = length;
        _inFrame[Count] = false;
        _prefixBits[Count] = prefixBits;
        Count++;
    }
}
