using System.Buffers;
using System.IO.MemoryMappedFiles;

namespace TcpKit.Wire.Capture;

/// <summary>
/// Random-ish access to the bytes of a capture: <see cref="Get"/> returns the bytes at an offset,
/// shorter than asked only at the end of the input. Callers never ask for more than
/// <see cref="CaptureReadOptions.MaxBlockLength"/> bytes, and never for an offset before an offset
/// they asked for earlier (so the streaming source may discard what lies behind).
/// A returned span is valid until the next call.
/// </summary>
internal abstract class ByteSource : IDisposable
{
    public abstract CaptureAccess Access { get; }

    /// <summary>Bytes in the input from offset 0, or -1 when the stream cannot say (a pipe).</summary>
    public abstract long Length { get; }

    public abstract ReadOnlySpan<byte> Get(long offset, int count);

    public abstract void Dispose();
}

/// <summary>Parses in place in caller-owned memory.</summary>
internal sealed class MemorySource(ReadOnlyMemory<byte> memory) : ByteSource
{
    public override CaptureAccess Access => CaptureAccess.InMemory;

    public override long Length => memory.Length;

    public override void Dispose()
    {
    }

    public override ReadOnlySpan<byte> Get(long offset, int count)
    {
        int length = memory.Length;
        if (offset >= length)
        {
            return default;
        }

        return memory.Span.Slice((int)offset, (int)Math.Min(count, length - offset));
    }
}

/// <summary>Maps the whole file read-only and parses in place (files larger than 2 GiB included).</summary>
internal sealed unsafe class MappedSource : ByteSource
{
    private readonly MemoryMappedFile _map;
    private readonly MemoryMappedViewAccessor _view;
    private readonly byte* _base;
    private readonly long _length;

    public MappedSource(FileStream file, bool leaveOpen)
    {
        _length = file.Length;
        _map = MemoryMappedFile.CreateFromFile(file, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen);
        try
        {
            _view = _map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            byte* p = null;
            _view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
            _base = p + _view.PointerOffset;
        }
        catch
        {
            _view?.Dispose();
            _map.Dispose();
            throw;
        }
    }

    public override CaptureAccess Access => CaptureAccess.MemoryMapped;

    public override long Length => _length;

    public override ReadOnlySpan<byte> Get(long offset, int count)
    {
        if (offset >= _length)
        {
            return default;
        }

        return new ReadOnlySpan<byte>(_base + offset, (int)Math.Min(count, _length - offset));
    }

    public override void Dispose()
    {
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _map.Dispose();
    }
}

/// <summary>
/// Large buffered reads into one pooled buffer that grows only to the largest block asked for
/// (at most <see cref="CaptureReadOptions.MaxBlockLength"/>): constant memory for any file size.
/// </summary>
internal sealed class StreamSource : ByteSource
{
    private const int InitialBuffer = 128 * 1024;

    private readonly Stream _stream;
    private readonly bool _leaveOpen;
    private readonly long _origin;  // stream position of offset 0, or -1 when the stream cannot seek
    private byte[] _buffer;
    private long _start;   // file offset of _buffer[0]
    private int _length;   // valid bytes in _buffer

    public StreamSource(Stream stream, bool leaveOpen)
    {
        _stream = stream;
        _leaveOpen = leaveOpen;
        _origin = stream.CanSeek ? stream.Position : -1;
        _buffer = ArrayPool<byte>.Shared.Rent(InitialBuffer);
    }

    public override CaptureAccess Access => CaptureAccess.Streaming;

    public override long Length => _origin < 0 ? -1 : Math.Max(0, _stream.Length - _origin);

    public override ReadOnlySpan<byte> Get(long offset, int count)
    {
        if (offset >= _start && offset + count <= _start + _length)
        {
            return new ReadOnlySpan<byte>(_buffer, (int)(offset - _start), count);
        }

        return Refill(offset, count);
    }

    private ReadOnlySpan<byte> Refill(long offset, int count)
    {
        if (offset < _start || count > CaptureReadOptions.MaxBlockLength)
        {
            throw new InvalidOperationException("capture reader asked for bytes behind its window or beyond its bound");
        }

        long end = _start + _length;
        if (offset > end)
        {
            Skip(offset - end);
            _start = offset;
            _length = 0;
            end = offset;
        }

        if (offset + count > _start + _buffer.Length)
        {
            // The request does not fit behind the current window start: keep the bytes from
            // offset on and move them to the front. Capacity is kept at twice the largest request,
            // so a window sliding forward a few bytes at a time (lenient resynchronisation) moves
            // memory only once per half buffer, not once per step.
            int keep = (int)(end - offset);
            if (count * 2 > _buffer.Length)
            {
                var bigger = ArrayPool<byte>.Shared.Rent(Math.Min(Math.Max(count * 2, _buffer.Length * 2), 2 * CaptureReadOptions.MaxBlockLength));
                Buffer.BlockCopy(_buffer, (int)(offset - _start), bigger, 0, keep);
                ArrayPool<byte>.Shared.Return(_buffer);
                _buffer = bigger;
            }
            else if (keep > 0)
            {
                Buffer.BlockCopy(_buffer, (int)(offset - _start), _buffer, 0, keep);
            }

            _start = offset;
            _length = keep;
        }

        int need = (int)(offset - _start) + count;
        while (_length < need)
        {
            int n = _stream.Read(_buffer, _length, _buffer.Length - _length);
            if (n <= 0)
            {
                break;
            }

            _length += n;
        }

        int at = (int)(offset - _start);
        return new ReadOnlySpan<byte>(_buffer, at, Math.Max(0, Math.Min(count, _length - at)));
    }

    private void Skip(long bytes)
    {
        if (_stream.CanSeek)
        {
            // Never seek past the end: some streams (MemoryStream) reject far positions, and a length
            // field may point anywhere. Stopping at the end makes the next read report truncation.
            long remaining = Math.Max(0, _stream.Length - _stream.Position);
            _stream.Seek(Math.Min(bytes, remaining), SeekOrigin.Current);
            return;
        }

        while (bytes > 0)
        {
            int n = _stream.Read(_buffer, 0, (int)Math.Min(bytes, _buffer.Length));
            if (n <= 0)
            {
                return;
            }

            bytes -= n;
        }
    }

    public override void Dispose()
    {
        if (!_leaveOpen)
        {
            _stream.Dispose();
        }

        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = [];
    }
}
