using System.Buffers.Binary;
using System.Text;

namespace TcpKit.Wire.Capture;

/// <summary>
/// Writes a pcapng file (one little-endian section, draft-ietf-opsawg-pcapng) to a stream,
/// buffered; everything is flushed at <see cref="Dispose"/>. The section header names the
/// application (shb_userappl); each <see cref="AddInterface"/> writes an interface description
/// block; each packet is an enhanced packet block, optionally with an opt_comment.
/// </summary>
public sealed class PcapngWriter : IDisposable
{
    public const string DefaultUserApplication = "TcpKit";

    private const uint ShbType = 0x0A0D0D0A;
    private const uint IdbType = 1;
    private const uint EpbType = 6;

    private readonly OutputBuffer _out;
    private readonly List<(int Snap, TimestampScale Scale)> _interfaces = [];

    public PcapngWriter(Stream stream, bool leaveOpen = false, string? userApplication = DefaultUserApplication, string? sectionComment = null)
    {
        _out = new OutputBuffer(stream, leaveOpen);
        int optionsLength = OptionLength(userApplication) + OptionLength(sectionComment);
        if (optionsLength > 0)
        {
            optionsLength += 4;
        }

        int length = 28 + optionsLength;
        var b = _out.GetSpan(length);
        BinaryPrimitives.WriteUInt32LittleEndian(b, ShbType);
        BinaryPrimitives.WriteUInt32LittleEndian(b[4..], (uint)length);
        BinaryPrimitives.WriteUInt32LittleEndian(b[8..], 0x1A2B3C4D);
        BinaryPrimitives.WriteUInt16LittleEndian(b[12..], 1);
        BinaryPrimitives.WriteUInt16LittleEndian(b[14..], 0);
        BinaryPrimitives.WriteInt64LittleEndian(b[16..], -1); // section length not known in advance
        int at = 24;
        at = WriteStringOption(b, at, OptionReader.Comment, sectionComment);
        at = WriteStringOption(b, at, 4, userApplication); // shb_userappl
        if (optionsLength > 0)
        {
            at += 4; // opt_endofopt
        }

        BinaryPrimitives.WriteUInt32LittleEndian(b[at..], (uint)length);
        _out.Advance(length);
    }

    public static PcapngWriter Create(string path, string? userApplication = DefaultUserApplication, string? sectionComment = null) =>
        new(new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read, 1), false, userApplication, sectionComment);

    public int InterfaceCount => _interfaces.Count;

    public long PacketsWritten { get; private set; }

    /// <summary>
    /// Describes an interface and returns its ID for <see cref="WritePacket"/>.
    /// <paramref name="timestampResolution"/> is the raw if_tsresol (9 = nanoseconds, 6 = microseconds,
    /// 0x80|p = 2^-p seconds). <paramref name="snapLength"/> 0 means "no limit" (still at most 256 KiB written).
    /// </summary>
    public int AddInterface(LinkType linkType, int snapLength = CaptureReadOptions.MaxCapturedLength, string? name = null,
        byte timestampResolution = 9, string? description = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(snapLength);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(snapLength, CaptureReadOptions.MaxCapturedLength);
        int optionsLength = OptionLength(name) + OptionLength(description) + (timestampResolution != 6 ? 8 : 0);
        if (optionsLength > 0)
        {
            optionsLength += 4;
        }

        int length = 20 + optionsLength;
        var b = _out.GetSpan(length);
        BinaryPrimitives.WriteUInt32LittleEndian(b, IdbType);
        BinaryPrimitives.WriteUInt32LittleEndian(b[4..], (uint)length);
        BinaryPrimitives.WriteUInt16LittleEndian(b[8..], (ushort)linkType);
        BinaryPrimitives.WriteUInt32LittleEndian(b[12..], (uint)snapLength);
        int at = 16;
        at = WriteStringOption(b, at, 2, name);        // if_name
        at = WriteStringOption(b, at, 3, description); // if_description
        if (timestampResolution != 6)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(b[at..], 9); // if_tsresol
            BinaryPrimitives.WriteUInt16LittleEndian(b[(at + 2)..], 1);
            b[at + 4] = timestampResolution;
            at += 8;
        }

        if (optionsLength > 0)
        {
            at += 4;
        }

        BinaryPrimitives.WriteUInt32LittleEndian(b[at..], (uint)length);
        _out.Advance(length);
        int snap = snapLength == 0 ? CaptureReadOptions.MaxCapturedLength : snapLength;
        _interfaces.Add((snap, new TimestampScale(timestampResolution, 0)));
        return _interfaces.Count - 1;
    }

    /// <summary>
    /// Appends an enhanced packet block. Data beyond the interface's snapshot length is cut (the
    /// original length keeps the full size). A non-null <paramref name="comment"/> becomes an
    /// opt_comment (at most 65535 UTF-8 bytes); a non-zero <paramref name="flags"/> becomes epb_flags.
    /// </summary>
    public void WritePacket(int interfaceId, long timestampNs, ReadOnlySpan<byte> data, long originalLength = -1,
        string? comment = null, uint flags = 0)
    {
        if ((uint)interfaceId >= (uint)_interfaces.Count)
        {
            throw new ArgumentOutOfRangeException(nameof(interfaceId), interfaceId, "no such interface; call AddInterface first");
        }

        if (originalLength < 0)
        {
            originalLength = data.Length;
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(originalLength, data.Length);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(originalLength, uint.MaxValue);
        var (snap, scale) = _interfaces[interfaceId];
        if (!scale.TryFromNanoseconds(timestampNs, out ulong units))
        {
            throw new ArgumentOutOfRangeException(nameof(timestampNs), timestampNs, "timestamp not representable at the interface's resolution");
        }

        int captured = Math.Min(data.Length, snap);
        int padded = (captured + 3) & ~3;
        int optionsLength = OptionLength(comment) + (flags != 0 ? 8 : 0);
        if (optionsLength > 0)
        {
            optionsLength += 4;
        }

        int length = 32 + padded + optionsLength;
        var b = _out.GetSpan(length);
        BinaryPrimitives.WriteUInt32LittleEndian(b, EpbType);
        BinaryPrimitives.WriteUInt32LittleEndian(b[4..], (uint)length);
        BinaryPrimitives.WriteUInt32LittleEndian(b[8..], (uint)interfaceId);
        BinaryPrimitives.WriteUInt32LittleEndian(b[12..], (uint)(units >> 32));
        BinaryPrimitives.WriteUInt32LittleEndian(b[16..], (uint)units);
        BinaryPrimitives.WriteUInt32LittleEndian(b[20..], (uint)captured);
        BinaryPrimitives.WriteUInt32LittleEndian(b[24..], (uint)originalLength);
        data[..captured].CopyTo(b[28..]);
        int at = 28 + padded;
        at = WriteStringOption(b, at, OptionReader.Comment, comment);
        if (flags != 0)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(b[at..], 2); // epb_flags
            BinaryPrimitives.WriteUInt16LittleEndian(b[(at + 2)..], 4);
            BinaryPrimitives.WriteUInt32LittleEndian(b[(at + 4)..], flags);
            at += 8;
        }

        if (optionsLength > 0)
        {
            at += 4;
        }

        BinaryPrimitives.WriteUInt32LittleEndian(b[at..], (uint)length);
        _out.Advance(length);
        PacketsWritten++;
    }

    public void Flush() => _out.Flush();

    public void Dispose() => _out.Dispose();

    private static int OptionLength(string? value)
    {
        if (value is null)
        {
            return 0;
        }

        int bytes = Encoding.UTF8.GetByteCount(value);
        if (bytes > ushort.MaxValue)
        {
            throw new ArgumentException($"option text of {bytes} UTF-8 bytes exceeds the 65535-byte option limit", nameof(value));
        }

        return 4 + ((bytes + 3) & ~3);
    }

    private static int WriteStringOption(Span<byte> block, int at, ushort code, string? value)
    {
        if (value is null)
        {
            return at;
        }

        int bytes = Encoding.UTF8.GetBytes(value, block[(at + 4)..]);
        BinaryPrimitives.WriteUInt16LittleEndian(block[at..], code);
        BinaryPrimitives.WriteUInt16LittleEndian(block[(at + 2)..], (ushort)bytes);
        return at + 4 + ((bytes + 3) & ~3);
    }
}
