using TcpKit.Wire;

namespace TcpKit.Net.Host;

/// <summary>
/// The deadlines of all of a host's connections in one binary min-heap keyed by (deadline, order of
/// setting), so the event loop needs a single timer per host instead of one per connection. A
/// connection records its slot, so moving or cancelling its deadline costs O(log n) and allocates nothing.
/// The keys sit in the heap array itself, so comparisons never touch the connections' memory.
/// </summary>
internal sealed class ConnectionTimers
{
    private Entry[] _heap = new Entry[16];
    private int _count;
    private long _nextSequence;

    public int Count => _count;

    /// <summary>The earliest deadline, or Instant.Never when no connection has one.</summary>
    public Instant Earliest => _count == 0 ? Instant.Never : new Instant(_heap[0].Deadline);

    /// <summary>Arms, moves or (with Instant.Never) cancels the deadline of <paramref name="c"/>.</summary>
    public void Set(HostConnection c, Instant deadline)
    {
        if (deadline == Instant.Never)
        {
            Cancel(c);
            return;
        }

        c.TimerDeadline = deadline;
        var e = new Entry(deadline.Nanoseconds, _nextSequence++, c);
        if (c.TimerIndex < 0)
        {
            if (_count == _heap.Length)
            {
                Array.Resize(ref _heap, _heap.Length * 2);
            }

            SiftUp(_count++, e);
        }
        else
        {
            // A later key sinks, an earlier one rises; trying both is cheap and simple.
            int index = c.TimerIndex;
            SiftUp(index, e);
            if (c.TimerIndex == index)
            {
                SiftDown(index, e);
            }
        }
    }

    public void Cancel(HostConnection c)
    {
        c.TimerDeadline = Instant.Never;
        int index = c.TimerIndex;
        if (index < 0)
        {
            return;
        }

        c.TimerIndex = -1;
        int last = --_count;
        var moved = _heap[last];
        _heap[last] = default;
        if (index != last)
        {
            SiftUp(index, moved);
            if (moved.Connection.TimerIndex == index)
            {
                SiftDown(index, moved);
            }
        }
    }

    /// <summary>Removes and returns the connection with the earliest deadline if it is due at <paramref name="now"/>.</summary>
    public bool TryTakeDue(Instant now, out HostConnection c)
    {
        if (_count == 0 || _heap[0].Deadline > now.Nanoseconds)
        {
            c = null!;
            return false;
        }

        c = _heap[0].Connection;
        Cancel(c);
        return true;
    }

    private void SiftUp(int index, in Entry c)
    {
        while (index > 0)
        {
            int parent = (index - 1) / 2;
            if (!Less(c, _heap[parent]))
            {
                break;
            }

            Place(index, _heap[parent]);
            index = parent;
        }

        Place(index, c);
    }

    private void SiftDown(int index, in Entry c)
    {
        while (true)
        {
            int child = (2 * index) + 1;
            if (child >= _count)
            {
                break;
            }

            if (child + 1 < _count && Less(_heap[child + 1], _heap[child]))
            {
                child++;
            }

            if (!Less(_heap[child], c))
            {
                break;
            }

            Place(index, _heap[child]);
            index = child;
        }

        Place(index, c);
    }

    private void Place(int index, in Entry e)
    {
        _heap[index] = e;
        e.Connection.TimerIndex = index;
    }

    private static bool Less(in Entry a, in Entry b) =>
        a.Deadline < b.Deadline || (a.Deadline == b.Deadline && a.Sequence < b.Sequence);

    private readonly record struct Entry(long Deadline, long Sequence, HostConnection Connection);
}
