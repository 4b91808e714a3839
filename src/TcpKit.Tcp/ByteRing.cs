using System.Buffers;

namespace TcpKit.Tcp;

/// <summary>
/// The storage both TCP queues share: a fixed-capacity byte ring whose array is rented from the shared
/// pool when the first byte is stored and returned by <see cref="Release"/>, so an idle connection holds
/// no ring. Positions are offsets from the head, the oldest byte.
/// </summary>
public abstract class ByteRing
{
    private int _capacity;
    private byte[] _ring = [];
    private int _head;

    protected ByteRing(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _capacity = capacity;
        Limit = capacity;
    }

    /// <summary>The size of the ring now: at least <see cref="Limit"/>, more while bytes beyond it still have to be kept.</summary>
    public int Capacity => _capacity;

    /// <summary>The size the user asked for (SO_SNDBUF / SO_RCVBUF); new bytes are accepted only up to it.</summary>
    public int Limit { get; private set; }

    /// <summary>Room for new bytes within <see cref="Limit"/>.</summary>
    public int Space => Math.Max(0, Math.Min(Limit, _capacity) - Count);

    /// <summary>Bytes held from the head on.</summary>
    public int Count { get; protected set; }

    public int Free => _capacity - Count;

    /// <summary>Returns the array to the pool when the ring holds nothing; the next store rents one again.</summary>
    public void Release()
    {
        if (_ring.Length != 0 && Count == 0)
        {
            ArrayPool<byte>.Shared.Return(_ring);
            _ring = [];
            _head = 0;
        }
    }

    /// <summary>
    /// Sets <see cref="Limit"/>. The ring grows at once; it shrinks only as far as the first
    /// <paramref name="inUse"/> bytes from the head allow (call again once they are consumed).
    /// </summary>
    protected void SetLimit(int limit, int inUse)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        Limit = limit;
        int capacity = Math.Max(limit, inUse);
        if (capacity == _capacity)
        {
            return;
        }

        if (_ring.Length != 0)
        {
            // Unwrap the bytes in use into a new array; the head moves to 0.
            byte[] ring = ArrayPool<byte>.Shared.Rent(capacity);
            int first = Math.Min(inUse, _capacity - _head);
            _ring.AsSpan(_head, first).CopyTo(ring);
            _ring.AsSpan(0, inUse - first).CopyTo(ring.AsSpan(first));
            ArrayPool<byte>.Shared.Return(_ring);
            _ring = ring;
            _head = 0;
        }

        _capacity = capacity;
    }

    /// <summary>Copies <paramref name="data"/> to <paramref name="offset"/> bytes after the head, wrapping around.</summary>
    protected void CopyIn(int offset, ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
        {
            return;
        }

        if (_ring.Length == 0)
        {
            _ring = ArrayPool<byte>.Shared.Rent(_capacity);
        }

        int start = (_head + offset) % _capacity;
        int first = Math.Min(data.Length, _capacity - start);
        data[..first].CopyTo(_ring.AsSpan(start));
        data[first..].CopyTo(_ring.AsSpan(0));
    }

    /// <summary>Copies <paramref name="destination"/>.Length bytes from <paramref name="offset"/> bytes after the head.</summary>
    protected void CopyOut(int offset, Span<byte> destination)
    {
        if (destination.IsEmpty)
        {
            return;
        }

        int start = (_head + offset) % _capacity;
        int first = Math.Min(destination.Length, _capacity - start);
        _ring.AsSpan(start, first).CopyTo(destination);
        _ring.AsSpan(0, destination.Length - first).CopyTo(destination[first..]);
    }

    /// <summary>Moves the head forward over <paramref name="count"/> consumed bytes.</summary>
    protected void Advance(int count)
    {
        // The head is not reset to 0 when the ring empties: bytes may already be stored beyond it.
        _head = (_head + count) % _capacity;
        Count -= count;
    }

    /// <summary>As new with <paramref name="capacity"/>, for a recycled engine (its ring must have been released).</summary>
    internal void Reinitialize(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        if (_ring.Length != 0)
        {
            throw new InvalidOperationException("A ring still holding its array cannot be reinitialised.");
        }

        _capacity = capacity;
        Limit = capacity;
        _head = 0;
        Count = 0;
    }

    /// <summary>Forgets everything (the array is kept until <see cref="Release"/>).</summary>
    protected void Reset()
    {
        _head = 0;
        Count = 0;
    }
}
