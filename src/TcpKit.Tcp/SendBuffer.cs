namespace TcpKit.Tcp;

/// <summary>
/// The send queue: a fixed-capacity byte ring holding unacknowledged and not-yet-sent data, oldest first.
/// Offset 0 is the first byte not yet acknowledged.
/// </summary>
public sealed class SendBuffer
{
    private readonly byte[] _ring;
    private int _head;

    public SendBuffer(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _ring = new byte[capacity];
    }

    public int Capacity => _ring.Length;

    public int Count { get; private set; }

    public int Free => _ring.Length - Count;

    /// <summary>Appends as much of <paramref name="data"/> as fits; returns the number of bytes taken.</summary>
    public int Write(ReadOnlySpan<byte> data)
    {
        int n = Math.Min(data.Length, Free);
        int tail = (_head + Count) % _ring.Length;
        int first = Math.Min(n, _ring.Length - tail);
        data[..first].CopyTo(_ring.AsSpan(tail));
        data[first..n].CopyTo(_ring.AsSpan(0));
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
        int start = (_head + offset) % _ring.Length;
        int first = Math.Min(n, _ring.Length - start);
        _ring.AsSpan(start, first).CopyTo(destination);
        _ring.AsSpan(0, n - first).CopyTo(destination[first..]);
        return n;
    }

    /// <summary>Forgets the oldest <paramref name="count"/> bytes (they were acknowledged).</summary>
    public void Drop(int count)
    {
        count = Math.Clamp(count, 0, Count);
        _head = (_head + count) % _ring.Length;
        Count -= count;
        if (Count == 0)
        {
            _head = 0;
        }
    }

    public void Clear()
    {
        _head = 0;
        Count = 0;
    }
}
