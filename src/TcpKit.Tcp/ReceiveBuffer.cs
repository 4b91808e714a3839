namespace TcpKit.Tcp;

/// <summary>
/// The receive queue: a fixed-capacity byte ring. In-order bytes wait here for the application;
/// out-of-order bytes are written into the free space beyond them at their final position
/// (tracked by <see cref="Reassembler"/>), so reassembly never needs memory beyond the ring,
/// and the ring is never asked to hold more than the window advertised from its free space.
/// </summary>
public sealed class ReceiveBuffer
{
    private readonly int _capacity;

    // Rented from the shared pool when the first byte arrives; returned by Release.
    private byte[] _ring = [];
    private int _head;

    public ReceiveBuffer(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _capacity = capacity;
    }

    public int Capacity => _capacity;

    /// <summary>In-order bytes the application can read.</summary>
    public int Count { get; private set; }

    public int Free => _capacity - Count;

    /// <summary>Returns the ring to the pool once nothing is left to read (out-of-order bytes are discarded with it).</summary>
    public void Release()
    {
        if (_ring.Length != 0 && Count == 0)
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(_ring);
            _ring = [];
            _head = 0;
        }
    }

    /// <summary>Stores bytes <paramref name="offset"/> bytes after the last readable one without making them readable.</summary>
    public void WriteAt(int offset, ReadOnlySpan<byte> data)
    {
        if (offset < 0 || (long)offset + data.Length > Free)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), "Write beyond the free space of the receive buffer.");
        }

        if (data.IsEmpty)
        {
            return;
        }

        if (_ring.Length == 0)
        {
            _ring = System.Buffers.ArrayPool<byte>.Shared.Rent(_capacity);
        }

        int start = (_head + Count + offset) % _capacity;
        int first = Math.Min(data.Length, _capacity - start);
        data[..first].CopyTo(_ring.AsSpan(start));
        data[first..].CopyTo(_ring.AsSpan(0));
    }

    /// <summary>Makes the next <paramref name="count"/> stored bytes readable.</summary>
    public void Commit(int count)
    {
        if (count < 0 || count > Free)
        {
            throw new ArgumentOutOfRangeException(nameof(count));
        }

        Count += count;
    }

    public int Read(Span<byte> destination)
    {
        int n = Math.Min(destination.Length, Count);
        if (n == 0)
        {
            return 0;
        }

        int first = Math.Min(n, _capacity - _head);
        _ring.AsSpan(_head, first).CopyTo(destination);
        _ring.AsSpan(0, n - first).CopyTo(destination[first..]);
        // The head is never reset to 0 when empty: out-of-order bytes may already sit beyond it.
        _head = (_head + n) % _capacity;
        Count -= n;
        return n;
    }
}
