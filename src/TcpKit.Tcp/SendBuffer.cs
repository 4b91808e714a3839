namespace TcpKit.Tcp;

/// <summary>
/// The send queue: a fixed-capacity byte ring holding unacknowledged and not-yet-sent data, oldest first.
/// Offset 0 is the first byte not yet acknowledged. The ring is rented from the shared array pool when the
/// first byte is written and returned by <see cref="Release"/>, so connections that never send cost nothing.
/// </summary>
public sealed class SendBuffer
{
    private readonly int _capacity;
    private byte[] _ring = [];
    private int _head;

    public SendBuffer(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _capacity = capacity;
    }

    public int Capacity => _capacity;

    public int Count { get; private set; }

    public int Free => _capacity - Count;

    /// <summary>Returns the ring to the pool; the buffer must be empty (cleared or fully acknowledged).</summary>
    public void Release()
    {
        if (_ring.Length != 0 && Count == 0)
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(_ring);
            _ring = [];
            _head = 0;
        }
    }

    /// <summary>Appends as much of <paramref name="data"/> as fits; returns the number of bytes taken.</summary>
    public int Write(ReadOnlySpan<byte> data)
    {
        int n = Math.Min(data.Length, Free);
        if (n == 0)
        {
            return 0;
        }

        if (_ring.Length == 0)
        {
            _ring = System.Buffers.ArrayPool<byte>.Shared.Rent(_capacity);
        }

        int tail = (_head + Count) % _capacity;
        int first = Math.Min(n, _capacity - tail);
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
        int start = (_head + offset) % _capacity;
        int first = Math.Min(n, _capacity - start);
        _ring.AsSpan(start, first).CopyTo(destination);
        _ring.AsSpan(0, n - first).CopyTo(destination[first..]);
        return n;
    }

    /// <summary>Forgets the oldest <paramref name="count"/> bytes (they were acknowledged).</summary>
    public void Drop(int count)
    {
        count = Math.Clamp(count, 0, Count);
        _head = (_head + count) % _capacity;
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
