namespace TcpKit.Tcp;

/// <summary>
/// The send queue: unacknowledged and not-yet-sent data, oldest first. Offset 0 is the first byte not
/// yet acknowledged.
/// </summary>
public sealed class SendBuffer(int capacity) : ByteRing(capacity)
{
    /// <summary>Appends as much of <paramref name="data"/> as fits; returns the number of bytes taken.</summary>
    public int Write(ReadOnlySpan<byte> data)
    {
        int n = Math.Min(data.Length, Space);
        CopyIn(Count, data[..n]);
        Count += n;
        return n;
    }

    /// <summary>Copies bytes starting <paramref name="offset"/> bytes after the oldest one; returns the number copied.</summary>
    public int Peek(int offset, Span<byte> destination)
    {
        if (offset < 0 || offset >= Count)
        {
            return 0;
        }

        int n = Math.Min(destination.Length, Count - offset);
        CopyOut(offset, destination[..n]);
        return n;
    }

    /// <summary>Forgets the oldest <paramref name="count"/> bytes (they were acknowledged).</summary>
    public void Drop(int count) => Advance(Math.Clamp(count, 0, Count));

    public void Clear() => Reset();

    /// <summary>Changes the buffer size; queued bytes are kept even when they exceed the new size (no new ones are taken until they fit).</summary>
    public void Resize(int size) => SetLimit(size, Count);
}
