using TcpKit.Wire;

namespace TcpKit.Net.Host;

/// <summary>
/// The deadlines of all of a host's connections in one binary min-heap keyed by (deadline, order of
/// setting), so the event loop needs a single timer per host instead of one per connection. A
/// connection records its slot, so moving or cancelling its deadline costs O(log n) and allocates nothing.
/// </summary>
internal sealed class ConnectionTimers
{
    private HostConnection[] _heap = new HostConnection[16];
    private int _count;
    private long _nextSequence;

    public int Count => _count;

    /// <summary>The earliest deadline, or Instant.Never when no connection has one.</summary>
    public Instant Earliest => _count == 0 ? Instant.Never : _heap[0].TimerDeadline;

    /// <summary>Arms, moves or (with Instant.Never) cancels the deadline of <paramref name="c"/>.</summary>
    public void Set(HostConnection c, Instant deadline)
    {
        if (deadline == Instant.Never)
        {
            Cancel(c);
            return;
        }

        c.TimerDeadline = deadline;
        c.TimerSequence = _nextSequence++;
        if (c.TimerIndex < 0)
        {
            if (_count == _heap.Length)
            {
                Array.Resize(ref _heap, _heap.Length * 2);
            }

            SiftUp(_count++, c);
        }
        else
        {
            // A later key sinks, an earlier one rises; trying both is cheap and simple.
            int index = c.TimerIndex;
            SiftUp(index, c);
            if (c.TimerIndex == index)
            {
                SiftDown(index, c);
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
        _heap[last] = null!;
        if (index != last)
        {
            SiftUp(index, moved);
            if (moved.TimerIndex == index)
            {
                SiftDown(index, moved);
            }
        }
    }

    /// <summary>Removes and returns the connection with the earliest deadline if it is due at <paramref name="now"/>.</summary>
    public bool TryTakeDue(Instant now, out HostConnection c)
    {
        if (_count == 0 || _heap[0].TimerDeadline > now)
        {
            c = null!;
            return false;
        }

        c = _heap[0];
        Cancel(c);
        return true;
    }

    private void SiftUp(int index, HostConnection c)
    {
        while (index > 0)
        {
            int parent = (index - 1) / 2;
            var p = _heap[parent];
            if (!Less(c, p))
            {
                break;
            }

            Place(index, p);
            index = parent;
        }

        Place(index, c);
    }

    private void SiftDown(int index, HostConnection c)
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

    private void Place(int index, HostConnection c)
    {
        _heap[index] = c;
        c.TimerIndex = index;
    }

    private static bool Less(HostConnection a, HostConnection b) =>
        a.TimerDeadline < b.TimerDeadline || (a.TimerDeadline == b.TimerDeadline && a.TimerSequence < b.TimerSequence);
}
