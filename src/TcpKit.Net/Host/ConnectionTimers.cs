using TcpKit.Wire;

namespace TcpKit.Net.Host;

/// <summary>
/// The deadlines of all of a host's connections in one binary min-heap keyed by (deadline, order of
/// setting), so the event loop needs a single timer per host instead of one per connection. A
/// connection records its slot, so moving or cancelling its deadline costs O(log n) and allocates nothing.
/// The keys sit in the heap array itself, so comparisons never touch the connections' memory.
/// <para>
/// Beside the heap run a few FIFO lanes, each holding deadlines set in non-decreasing order. A connection's
/// timers mostly last a constant time from now: TIME-WAIT's 2 MSL (RFC 9293 section 3.6.1), the initial
/// RTO of a SYN, the minimum RTO of a FIN on a fast path, the delayed-ACK timeout. Deadlines of one such
/// length arrive already sorted, so a busy host's tens of thousands of them can each be appended to a lane
/// and taken from its front in O(1), touching no other connection, where the heap costs a sift through ~15
/// levels, each a cache miss on another connection's slot index. A deadline goes to the lane whose last
/// deadline is the latest one not after it (so each lane keeps to one length), or to an empty lane, or
/// else to the heap; the earliest deadline is the earliest of the heap's top and the lanes' fronts.
/// Cancelling a lane entry only clears it in place (the connection knows its lane and position); cleared
/// entries are dropped at the front without reading any connection's memory, and a lane is compacted when
/// they outnumber live ones, so it never holds more than about twice its live entries.
/// </para>
/// </summary>
internal sealed class ConnectionTimers
{
    /// <summary>Lanes beside the heap: enough for the constant timer lengths a busy host sets.</summary>
    internal const int Lanes = 4;

    private Entry[] _heap = new Entry[16];
    private int _count;
    private long _nextSequence;
    private readonly Lane[] _lanes = [new(), new(), new(), new()];
    // Each lane's first and last deadline side by side (long.MaxValue / long.MinValue when empty), so choosing
    // a lane and finding the earliest deadline read one cache line instead of four lanes' arrays.
    private readonly long[] _laneFirst = [long.MaxValue, long.MaxValue, long.MaxValue, long.MaxValue];
    private readonly long[] _laneLast = [long.MinValue, long.MinValue, long.MinValue, long.MinValue];
    private int _laneLive;

    public int Count => _count + _laneLive;

    /// <summary>The largest lane array length (for tests: cleared entries must not make lanes grow without bound).</summary>
    internal int LaneCapacity
    {
        get
        {
            int capacity = 0;
            foreach (var lane in _lanes)
            {
                capacity = Math.Max(capacity, lane.Capacity);
            }

            return capacity;
        }
    }

    /// <summary>The value of <see cref="HostConnection.TimerIndex"/> for a deadline in lane <paramref name="lane"/> (heap slots are 0 and up, -1 is none).</summary>
    private static int LaneIndex(int lane) => -2 - lane;

    private static bool InLane(HostConnection c) => c.TimerIndex <= -2;

    /// <summary>The earliest deadline, or Instant.Never when no connection has one.</summary>
    public Instant Earliest
    {
        get
        {
            // A lane's front is always live (cleared entries are trimmed as soon as they reach it).
            var first = _laneFirst;
            long earliest = Math.Min(Math.Min(first[0], first[1]), Math.Min(first[2], first[3]));
            if (_count > 0 && _heap[0].Deadline < earliest)
            {
                earliest = _heap[0].Deadline;
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

        if (InLane(c))
        {
            CancelInLane(c);
        }

        c.TimerDeadline = deadline;
        var e = new Entry(deadline.Nanoseconds, _nextSequence++, c);
        int lane = LaneFor(deadline.Nanoseconds);
        if (lane >= 0)
        {
            // In order for that lane: it takes the deadline, and the heap gives up the old one if it held it.
            if (c.TimerIndex >= 0)
            {
                RemoveFromHeap(c);
            }

            _lanes[lane].Append(e, LaneIndex(lane));
            _laneLive++;
            Refresh(lane);
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

    /// <summary>The lane whose last deadline is the latest not after <paramref name="deadline"/>, else an empty one, else -1 (the heap).</summary>
    private int LaneFor(long deadline)
    {
        var lasts = _laneLast;
        int best = -1;
        int empty = -1;
        long bestLast = long.MinValue;
        for (int i = 0; i < lasts.Length; i++)
        {
            long last = lasts[i];
            if (last == long.MinValue)
            {
                empty = empty < 0 ? i : empty;
            }
            else if (last <= deadline && last >= bestLast)
            {
                best = i;
                bestLast = last;
            }
        }

        return best >= 0 ? best : empty;
    }

    public void Cancel(HostConnection c)
    {
        c.TimerDeadline = Instant.Never;
        if (InLane(c))
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
        // The earliest of the heap's top and the lanes' fronts; ties go to the deadline set first.
        Entry first = _count > 0 ? _heap[0] : default;
        bool found = _count > 0;
        for (int i = 0; i < _lanes.Length; i++)
        {
            // The lane's entry is read only when its first deadline can win (ties go by order of setting).
            if (_laneFirst[i] != long.MaxValue && (!found || _laneFirst[i] <= first.Deadline) && (!found || Less(_lanes[i].Front, first)))
            {
                first = _lanes[i].Front;
                found = true;
            }
        }

        if (!found || first.Deadline > now.Nanoseconds)
        {
            c = null!;
            return false;
        }

        c = first.Connection;
        Cancel(c);
        return true;
    }

    private void CancelInLane(HostConnection c)
    {
        int index = -2 - c.TimerIndex;
        c.TimerIndex = -1;
        _lanes[index].Clear(c.TimerLanePosition);
        _laneLive--;
        Refresh(index);
    }

    /// <summary>Copies lane <paramref name="index"/>'s first and last deadline to the side arrays after it changed.</summary>
    private void Refresh(int index)
    {
        var lane = _lanes[index];
        bool any = lane.Count > 0;
        _laneFirst[index] = any ? lane.Front.Deadline : long.MaxValue;
        _laneLast[index] = any ? lane.LastDeadline : long.MinValue;
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

    /// <summary>
    /// One FIFO lane: a ring of entries in non-decreasing deadline order. A cancelled entry is cleared in place
    /// (its connection reference dropped, its deadline kept so the lane's last deadline stays right) and dropped
    /// when it reaches the front.
    /// </summary>
    private sealed class Lane
    {
        private Entry[] _items = new Entry[16];
        private int _head;
        private long _headPosition; // the position of the entry at _head; each append takes the next one
        private int _live;

        /// <summary>Live and cleared entries.</summary>
        public int Count { get; private set; }

        public int Capacity => _items.Length;

        /// <summary>The first entry, always live while <see cref="Count"/> is not 0.</summary>
        public ref readonly Entry Front => ref _items[_head];

        public long LastDeadline => _items[Slot(Count - 1)].Deadline;

        public void Append(in Entry e, int timerIndex)
        {
            if (Count == _items.Length)
            {
                // Full: drop cleared entries if they are many, else grow. Either way the order is kept.
                Repack(Count - _live > _live ? _items.Length : _items.Length * 2);
            }

            _items[Slot(Count)] = e;
            e.Connection.TimerIndex = timerIndex;
            e.Connection.TimerLanePosition = _headPosition + Count;
            Count++;
            _live++;
        }

        public void Clear(long position)
        {
            ref Entry entry = ref _items[Slot((int)(position - _headPosition))];
            entry = entry with { Connection = null! };
            _live--;
            while (Count > 0 && _items[_head].Connection is null)
            {
                _head = _head + 1 == _items.Length ? 0 : _head + 1;
                _headPosition++;
                Count--;
            }

            if (Count > 64 && Count - _live > _live)
            {
                Repack(_items.Length);
            }
        }

        private int Slot(int offset)
        {
            int i = _head + offset;
            return i >= _items.Length ? i - _items.Length : i;
        }

        /// <summary>
        /// Moves the live entries, in order, to the front of an array of <paramref name="capacity"/>: the lane's own
        /// when the capacity stays (no allocation: a lane of tens of thousands of TIME-WAIT deadlines is a
        /// large-object-heap array, and allocating those counts towards a full collection), a new one to grow.
        /// </summary>
        private void Repack(int capacity)
        {
            var items = _items;
            if (capacity == items.Length && _head != 0)
            {
                // Rotate so the ring starts at slot 0 (live and cleared entries alike); then slide the live ones down.
                items.AsSpan(0, _head).Reverse();
                items.AsSpan(_head).Reverse();
                items.AsSpan().Reverse();
            }
            else if (capacity != items.Length)
            {
                var grown = new Entry[capacity];
                for (int k = 0; k < Count; k++)
                {
                    grown[k] = items[Slot(k)];
                }

                items = grown;
            }

            int n = 0;
            for (int k = 0; k < Count; k++)
            {
                var e = items[k];
                if (e.Connection is not null)
                {
                    e.Connection.TimerLanePosition = n;
                    items[n++] = e;
                }
            }

            items.AsSpan(n).Clear();
            _items = items;
            _head = 0;
            _headPosition = 0;
            Count = n;
        }
    }
}
