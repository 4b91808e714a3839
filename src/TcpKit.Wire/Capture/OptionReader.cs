using System.Buffers.Binary;

namespace TcpKit.Wire.Capture;

/// <summary>
/// Walks a pcapng option list (draft section 3.5): code (16 bits), length (16 bits), value padded
/// to 32 bits, ended by opt_endofopt or by the end of the block. Unknown and custom options
/// (2988/2989/19372/19373) are just returned for the caller to ignore.
/// </summary>
internal ref struct OptionReader
{
    public const ushort EndOfOptions = 0;
    public const ushort Comment = 1;

    private ReadOnlySpan<byte> _rest;
    private readonly bool _bigEndian;

    public OptionReader(ReadOnlySpan<byte> options, bool bigEndian)
    {
        _rest = options;
        _bigEndian = bigEndian;
        Malformed = false;
    }

    /// <summary>True once an option's length ran past the end of the block.</summary>
    public bool Malformed { get; private set; }

    public bool Next(out ushort code, out ReadOnlySpan<byte> value)
    {
        code = 0;
        value = default;
        // Fewer than 4 bytes left cannot hold an option header: the list simply ends there.
        if (_rest.Length < 4)
        {
            return false;
        }

        code = _bigEndian ? BinaryPrimitives.ReadUInt16BigEndian(_rest) : BinaryPrimitives.ReadUInt16LittleEndian(_rest);
        int length = _bigEndian ? BinaryPrimitives.ReadUInt16BigEndian(_rest[2..]) : BinaryPrimitives.ReadUInt16LittleEndian(_rest[2..]);
        if (code == EndOfOptions)
        {
            _rest = default;
            return false;
        }

        if (4 + length > _rest.Length)
        {
            Malformed = true;
            _rest = default;
            return false;
        }

        value = _rest.Slice(4, length);
        // The last option's padding may be missing in some writers' output; tolerate that.
        _rest = _rest[Math.Min(4 + ((length + 3) & ~3), _rest.Length)..];
        return true;
    }
}
