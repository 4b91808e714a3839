using System.Buffers.Binary;

namespace TcpKit.Wire.Capture;

public enum PcapTimestampPrecision
{
    /// <summary>Magic 0xA1B2C3D4: timestamps in microseconds (nanoseconds are truncated).</summary>
    Microseconds,
    /// <summary>Magic 0xA1B23C4D: timestamps in nanoseconds.</summary>
    Nanoseconds,
}

/// <summary>
/// Writes a classic pcap file (version 2.4, host byte order = little-endian) to a stream,
/// buffered; everything is flushed at <see cref="Dispose"/>.
/// </summary>
public sealed class PcapWriter : IDisposable
{
    private readonly OutputBuffer _out;
    private readonly int _snap;
    private readonly bool _nano;

    public PcapWriter(Stream stream, LinkType linkType, int snapLength = CaptureReadOptions.MaxCapturedLength,
        PcapTimestampPrecision precision = PcapTimestampPrecision.Microseconds, bool leaveOpen = false)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(snapLength, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(snapLength, CaptureReadOptions.MaxCapturedLength);
        _out = new OutputBuffer(stream, leaveOpen);
        _snap = snapLength;
        _nano = precision == PcapTimestampPrecision.Nanoseconds;
        LinkType = linkType;
        var h = _out.GetSpan(24);
        BinaryPrimitives.WriteUInt32LittleEndian(h, _nano ? 0xA1B23C4Du : 0xA1B2C3D4u);
        BinaryPrimitives.WriteUInt16LittleEndian(h[4..], 2);
        BinaryPrimitives.WriteUInt16LittleEndian(h[6..], 4);
        // thiszone and sigfigs stay 0 (draft-ietf-opsawg-pcap section 4: both SHOULD be 0).
        BinaryPrimitives.WriteUInt32LittleEndian(h[16..], (uint)snapLength);
        BinaryPrimitives.WriteUInt32LittleEndian(h[20..], (ushort)linkType);
        _out.Advance(24);
    }

    public static PcapWriter Create(string path, LinkType linkType, int snapLength = CaptureReadOptions.MaxCapturedLength,
        PcapTimestampPrecision precision = PcapTimestampPrecision.Microseconds) =>
        new(new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read, 1), linkType, snapLength, precision);

    public LinkType LinkType { get; }

    public long PacketsWritten { get; private set; }

    /// <summary>
    /// Appends one record. Data beyond the snapshot length is cut (the original length keeps the
    /// full size). <paramref name="originalLength"/> defaults to the data length.
    /// </summary>
    public void WritePacket(long timestampNs, ReadOnlySpan<byte> data, long originalLength = -1)
    {
        if (originalLength < 0)
        {
            originalLength = data.Length;
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(originalLength, data.Length);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(originalLength, uint.MaxValue);
        long seconds = Math.DivRem(timestampNs, 1_000_000_000L, out long ns);
        if (timestampNs < 0 || seconds > uint.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(timestampNs), timestampNs, "pcap timestamps are unsigned 32-bit seconds since 1970");
        }

        int captured = Math.Min(data.Length, _snap);
        var r = _out.GetSpan(16 + captured);
        BinaryPrimitives.WriteUInt32LittleEndian(r, (uint)seconds);
        BinaryPrimitives.WriteUInt32LittleEndian(r[4..], (uint)(_nano ? ns : ns / 1000));
        BinaryPrimitives.WriteUInt32LittleEndian(r[8..], (uint)captured);
        BinaryPrimitives.WriteUInt32LittleEndian(r[12..], (uint)originalLength);
        data[..captured].CopyTo(r[16..]);
        _out.Advance(16 + captured);
        PacketsWritten++;
    }

    public void Flush() => _out.Flush();

    public void Dispose() => _out.Dispose();
}
