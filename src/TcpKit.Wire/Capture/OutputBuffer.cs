using System.Buffers;

namespace TcpKit.Wire.Capture;

/// <summary>One pooled buffer in front of a stream: blocks are built in place, written in large chunks.</summary>
internal sealed class OutputBuffer : IDisposable
{
    private const int Size = 256 * 1024;

    private readonly Stream _stream;
    private readonly bool _leaveOpen;
    private byte[] _buffer;
    private int _length;
    private bool _disposed;

    public OutputBuffer(Stream stream, bool leaveOpen)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (!stream.CanWrite)
        {
            throw new ArgumentException("the stream is not writable", nameof(stream));
        }

        _stream = stream;
        _leaveOpen = leaveOpen;
        _buffer = ArrayPool<byte>.Shared.Rent(Size);
    }

    /// <summary>A zeroed span of exactly <paramref name="size"/> bytes; call <see cref="Advance"/> after filling it.</summary>
    public Span<byte> GetSpan(int size)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_length + size > _buffer.Length)
        {
            Drain();
            if (size > _buffer.Length)
            {
                ArrayPool<byte>.Shared.Return(_buffer);
                _buffer = ArrayPool<byte>.Shared.Rent(size);
            }
        }

        var span = _buffer.AsSpan(_length, size);
        span.Clear();
        return span;
    }

    public void Advance(int size) => _length += size;

    public void Flush()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Drain();
        _stream.Flush();
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        try
        {
            Drain();
            _stream.Flush();
        }
        finally
        {
            _disposed = true;
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = [];
            if (!_leaveOpen)
            {
                _stream.Dispose();
            }
        }
    }

    private void Drain()
    {
        if (_length > 0)
        {
            _stream.Write(_buffer, 0, _length);
            _length = 0;
        }
    }
}
