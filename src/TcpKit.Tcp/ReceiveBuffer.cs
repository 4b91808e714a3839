namespace TcpKit.Tcp;

/// <summary>
/// The receive queue. In-order bytes wait here for the application; out-of-order bytes are written
/// into the free space beyond them at their final position (tracked by <see cref="Reassembler"/>), so
/// reassembly never needs memory beyond the ring, and the ring is never asked to hold more than the
/// window advertised from its free space.
/// </summary>
public sealed class ReceiveBuffer(int capacity) : ByteRing(capacity)
{
    /// <summary>Stores bytes <paramref name="offset"/> bytes after the last readable one without making them readable.</summary>
    public void WriteAt(int offset, ReadOnlySpan<byte> data)
    {
        if (offset < 0 || (long)offset + data.Length > Free)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), "Write beyond the free space of the receive buffer.");
        }

        CopyIn(Count + offset, data);
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

    /// <summary>
    /// Changes the buffer size. The first <paramref name="inUse"/> bytes (readable ones plus the advertised
    /// window, where out-of-order bytes may sit) stay addressable, so a smaller size takes effect only as
    /// they are consumed.
    /// </summary>
    public void Resize(int size, int inUse) => SetLimit(size, inUse);

    public int Read(Span<byte> destination)
    {
        int n = Math.Min(destination.Length, Count);
        CopyOut(0, destination[..n]);
        Advance(n);
        return n;
    }
}
