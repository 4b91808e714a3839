using TcpKit.Wire.Tcp;

namespace TcpKit.Tcp;

/// <summary>
/// Bookkeeping of out-of-order data: the sorted, disjoint sequence ranges received beyond RCV.NXT.
/// The bytes themselves live in <see cref="ReceiveBuffer"/>; this type holds at most a fixed number of
/// ranges, so a hostile peer sending many tiny holes costs a bounded amount of memory and CPU.
/// </summary>
public sealed class Reassembler
{
    private readonly int _maxRanges;

    // Allocated when the first out-of-order segment arrives: an in-order connection never pays for them.
    private SeqNum[] _start = [];
    private SeqNum[] _end = [];

    public Reassembler(int maxRanges)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxRanges, 1);
        _maxRanges = maxRanges;
    }

    public int RangeCount { get; private set; }

    public bool IsEmpty => RangeCount == 0;

    public int MaxRanges => _maxRanges;

    /// <summary>The i-th range (sorted by sequence number), e.g. to build SACK blocks later.</summary>
    public (SeqNum Start, SeqNum End) GetRange(int index) =>
        (uint)index < (uint)RangeCount ? (_start[index], _end[index]) : throw new ArgumentOutOfRangeException(nameof(index));

    /// <summary>
    /// Records [start, end). Returns false (and records nothing) when the range would need more
    /// ranges than allowed. Ranges are relative to a fixed RCV.NXT, so all lie within half the sequence space.
    /// </summary>
    public bool TryAdd(SeqNum start, SeqNum end)
    {
        if (end <= start)
        {
            return true;
        }

        // Find the first range that ends at or after start (could merge), and the last that begins at or before end.
        int i = 0;
        while (i < RangeCount && _end[i] < start)
        {
            i++;
        }

        int j = i;
        while (j < RangeCount && _start[j] <= end)
        {
            j++;
        }

        // Ranges i..j-1 overlap or touch [start, end): merge them into one.
        if (j > i)
        {
            SeqNum s = SeqNum.Min(start, _start[i]);
            SeqNum e = SeqNum.Max(end, _end[j - 1]);
            _start[i] = s;
            _end[i] = e;
            int removed = j - i - 1;
            if (removed > 0)
            {
                Array.Copy(_start, j, _start, i + 1, RangeCount - j);
                Array.Copy(_end, j, _end, i + 1, RangeCount - j);
                RangeCount -= removed;
            }

            return true;
        }

        if (RangeCount == _maxRanges)
        {
            return false;
        }

        if (_start.Length == 0)
        {
            _start = new SeqNum[_maxRanges];
            _end = new SeqNum[_maxRanges];
        }

        Array.Copy(_start, i, _start, i + 1, RangeCount - i);
        Array.Copy(_end, i, _end, i + 1, RangeCount - i);
        _start[i] = start;
        _end[i] = end;
        RangeCount++;
        return true;
    }

    /// <summary>
    /// Removes the range that starts at or before <paramref name="rcvNxt"/> and returns how many bytes from
    /// <paramref name="rcvNxt"/> it makes contiguous (0 when the first hole is still open).
    /// </summary>
    public int TakeContiguous(SeqNum rcvNxt)
    {
        int taken = 0;
        while (RangeCount > 0 && _start[0] <= rcvNxt)
        {
            int n = _end[0] - rcvNxt;
            if (n > taken)
            {
                taken = n;
            }

            Array.Copy(_start, 1, _start, 0, RangeCount - 1);
            Array.Copy(_end, 1, _end, 0, RangeCount - 1);
            RangeCount--;
        }

        return taken;
    }

    public void Clear() => RangeCount = 0;
}
