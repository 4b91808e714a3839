using TcpKit.Wire;

namespace TcpKit.Net.Host;

/// <summary>
/// The deadlines of all of a host's connections in one binary min-heap keyed by (deadline, order of
/// setting), so the event loop needs a single timer per host instead of one per connection. A
/// connection records its slot, so moving or cancelling its deadline costs O(log n) and allocates nothing.
/// The keys sit in the heap array itself, so comparisons never touch the connections' memory.
/// <para>
/// Beside the heap runs a FIFO lane for deadlines set in non-decreasing order. TIME-WAIT is the case it is
/// for: every one lasts the same 2 MSL (RFC 9293 section 3.6.1), so they arrive already sorted. (A released
/// connection nobody watches waits out 2 MSL in the <see cref="TimeWaitTable"/>, which has a lane of its own;
/// this one holds the connections that keep their engine through TIME-WAIT.) Appending one to the lane and taking it from the front costs O(1) and touches
/// no other connection, where the heap costs a sift through ~15 levels, each a cache miss on another
/// connection's slot index. A deadline that is earlier than the lane's last one goes to the heap, so the
/// lane stays sorted and the earliest deadline is the earlier of the two fronts. Cancelling a lane entry
/// only clears it in place (the connection knows its position in the lane); cleared entries are dropped at
/// the front without reading any connection's memory, and the lane is compacted when they outnumber live
/// ones, so it never holds more than about twice the live entries.
/// </para>
/// </summary>
internal sealed class ConnectionTimers
{
    /// <summary>The value of <see cref="HostConnection.TimerIndex"/> of a connection whose deadline is in the lane.</summary>
    private const int InLane = -2;

    private Entry[] _heap = new Entry[16];
    private int _count;
    private long _nextSequence;

    private Entry[] _lane = new Entry[16];
    private int _laneHead;
    private long _laneHeadPosition; // the position of the entry at _laneHead; each append takes the next one
    private int _laneCount; // live and cleared entries
    private int _laneLive;

    public int Count => _count + _laneLive;

    /// <summary>The lane's array length (for tests: stale entries must not make it grow without bound).</summary>
    internal int LaneCapacity => _lane.Length;

    /// <summary>The earliest deadline, or Instant.Never when no connection has one.</summary>
    public Instant Earliest
    {
        get
        {
            // The lane's front is always live (stale entries are trimmed as soon as they reach it).
            long earliest = _count == 0 ? long.MaxValue : _heap[0].Deadline;
            if (_laneCount > 0 && _lane[_laneHead].Deadline < earliest)
            {
                earliest = _lane[_laneHead].Deadline;
            }

            return earliest == long.MaxValue ? Instant.Never : new Instant(earliest);
        }
    }

    /// <summary>Arms, moves or (with Instant.Never) cancels the deadline of <paramref name="c"/>.</summary>
    public void Set(HostConnection c, Instant deadline)
    {
        if (deadline == Instant.Never)
        {
            Cancel(c);
            return;
        }

        if (c.TimerIndex == InLane)
        {
            CancelInLane(c);
        }

        c.TimerDeadline = deadline;
        var e = new Entry(deadline.Nanoseconds, _nextSequence++, c);
        if (_laneCount == 0 || deadline.Nanoseconds >= _lane[LaneSlot(_laneCount - 1)].Deadline)
        {
            // In order: the lane takes it, and the heap gives up the old deadline if it held one.
            if (c.TimerIndex >= 0)
            {
                RemoveFromHeap(c);
            }

            Append(e);
            return;
        }

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
        if (c.TimerIndex == InLane)
        {
            CancelInLane(c);
        }
        else if (c.TimerIndex >= 0)
        {
            RemoveFromHeap(c);
        }
    }

    private void RemoveFromHeap(HostConnection c)
    {
        int index = c.TimerIndex;
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
        bool heapFirst = _count > 0 && (_laneCount == 0 || Less(_heap[0], _lane[_laneHead]));
        ref readonly Entry first = ref heapFirst ? ref _heap[0] : ref _lane[_laneHead];
        if ((_count == 0 && _laneCount == 0) || first.Deadline > now.Nanoseconds)
        {
            c = null!;
            return false;
        }

        c = first.Connection;
        Cancel(c);
        return true;
    }

    private int LaneSlot(int offset)
    {
        int i = _laneHead + offset;
        return i >= _lane.Length ? i - _lane.Length : i;
    }

    private void Append(in Entry e)
    {
        if (_laneCount == _lane.Length)
        {
            // Full: drop stale entries if they are many, else grow. Either way the order is kept.
            Repack(_laneCount - _laneLive > _laneLive ? _lane.Length : _lane.Length * 2);
        }

        _lane[LaneSlot(_laneCount)] = e;
        e.Connection.TimerIndex = InLane;
        e.Connection.TimerLanePosition = _laneHeadPosition + _laneCount;
        _laneCount++;
        _laneLive++;
    }

    private void CancelInLane(HostConnection c)
    {
        c.TimerIndex = -1;
        // Cleared but for its deadline (the last entry's deadline keeps the lane in order): dropped at the front.
        ref Entry entry = ref _lane[LaneSlot((int)(c.TimerLanePosition - _laneHeadPosition))];
        entry = entry with { Connection = null! };
        _laneLive--;
        TrimLaneFront();
        if (_laneCount > 64 && _laneCount - _laneLive > _laneLive)
        {
            Repack(_lane.Length);
        }
    }

    private static bool IsLive(in Entry e) => e.Connection is not null;

    private void TrimLaneFront()
    {
        while (_laneCount > 0 && !IsLive(_lane[_laneHead]))
        {
            _laneHead = _laneHead + 1 == _lane.Length ? 0 : _laneHead + 1;
            _laneHeadPosition++;
            _laneCount--;
        }
    }

    /// <summary>
    /// Moves the live lane entries, in order, to the front of an array of <paramref name="capacity"/>: the lane's
    /// own when the capacity stays (no allocation: a lane of tens of thousands of TIME-WAIT deadlines is a
    /// large-object-heap array, and allocating those counts towards a full collection), a new one to grow.
    /// </summary>
    private void Repack(int capacity)
    {
        var source = _lane;
        bool inPlace = capacity == source.Length;
        if (inPlace && _laneHead != 0)
        {
            // Rotate so the ring starts at slot 0 (live and cleared entries alike): entry k then sits in slot k,
            // and sliding the live ones down never overwrites one not yet read.
            source.AsSpan(0, _laneHead).Reverse();
            source.AsSpan(_laneHead).Reverse();
            source.AsSpan().Reverse();
            _laneHead = 0;
        }

        var target = inPlace ? source : new Entry[capacity];
        int n = 0;
        for (int k = 0; k < _laneCount; k++)
        {
            var e = source[LaneSlot(k)];
            if (IsLive(e))
            {
                e.Connection.TimerLanePosition = n;
                target[n++] = e;
            }
        }

        if (inPlace)
        {
            target.AsSpan(n).Clear();
        }

        _lane = target;
        _laneHead = 0;
        _laneHeadPosition = 0;
        _laneCount = n;
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
