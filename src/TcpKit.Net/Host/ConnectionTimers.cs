using System.Runtime.CompilerServices;
using TcpKit.Wire;

namespace TcpKit.Net.Host;

/// <summary>
/// The deadlines of all of a host's connections in one binary min-heap keyed by (deadline, order of
/// setting), so the event loop needs a single timer per host instead of one per connection. A
/// connection records its slot, so moving or cancelling its deadline costs O(log n) and allocates nothing.
/// The keys sit in the heap array itself, so comparisons never touch the connections' memory.
/// <para>
/// Beside the heap runs a <see cref="DeadlineLane{T}"/> for deadlines set in non-decreasing order. TIME-WAIT is the
/// case it is for: every one lasts the same 2 MSL, so they arrive already sorted. (A released connection nobody
/// watches waits out 2 MSL in the <see cref="TimeWaitTable"/>, which has a lane of its own; this one holds the
/// connections that keep their engine through TIME-WAIT.) A deadline that is earlier than the lane's last one goes
/// to the heap, so the lane stays sorted and the earliest deadline is the earlier of the two fronts. Cancelling a
/// lane entry only clears its connection in place (the connection knows its position in the lane); cleared entries
/// are dropped at the front without reading any connection's memory, and the lane is compacted when they outnumber
/// live ones, so it never holds more than about twice the live entries.
/// </para>
/// </summary>
internal sealed class ConnectionTimers
{
    /// <summary>The value of <see cref="HostConnection.TimerIndex"/> of a connection whose deadline is in the lane.</summary>
    private const int InLane = -2;

    private Entry[] _heap = new Entry[16];
    private int _count;
    private long _nextSequence;

    private readonly DeadlineLane<Entry> _lane = new();
    private int _laneLive;

    public int Count => _count + _laneLive;

    /// <summary>The lane's array length (for tests: stale entries must not make it grow without bound).</summary>
    internal int LaneCapacity => _lane.Capacity;

    /// <summary>The earliest deadline, or Instant.Never when no connection has one.</summary>
    public Instant Earliest
    {
        get
        {
            // The lane's front is always live (stale entries are trimmed as soon as they reach it).
            long earliest = _count == 0 ? long.MaxValue : _heap[0].Deadline;
            if (_lane.Count > 0 && _lane.Front.Deadline < earliest)
            {
                earliest = _lane.Front.Deadline;
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
        if (_lane.Count == 0 || deadline.Nanoseconds >= _lane.Last.Deadline)
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
        bool heapFirst = _count > 0 && (_lane.Count == 0 || Less(_heap[0], _lane.Front));
        if (!heapFirst && _lane.Count == 0)
        {
            c = null!;
            return false;
        }

        ref readonly Entry first = ref heapFirst ? ref _heap[0] : ref _lane.Front;
        if (first.Deadline > now.Nanoseconds)
        {
            c = null!;
            return false;
        }

        c = first.Connection;
        Cancel(c);
        return true;
    }

    private void Append(in Entry e)
    {
        var liveness = default(Live);
        _lane.EnsureRoom(ref liveness);
        e.Connection.TimerIndex = InLane;
        e.Connection.TimerLanePosition = _lane.Append(e);
        _laneLive++;
    }

    private void CancelInLane(HostConnection c)
    {
        c.TimerIndex = -1;
        // Cleared but for its deadline (the last entry's deadline keeps the lane in order): dropped at the front.
        ref Entry entry = ref _lane.At(c.TimerLanePosition);
        entry = entry with { Connection = null! };
        _laneLive--;
        var liveness = default(Live);
        _lane.TrimFront(ref liveness);
        if (_lane.Count > 64 && _lane.Count - _laneLive > _laneLive)
        {
            _lane.Compact(_lane.Capacity, ref liveness);
        }
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

    /// <summary>A lane entry is live while it names its connection; a compaction tells the connection where its entry went.</summary>
    private readonly struct Live : ILaneLiveness<Entry>
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool IsLive(in Entry entry) => entry.Connection is not null;

        public void Moved(in Entry entry, long position) => entry.Connection.TimerLanePosition = position;
    }
}
