namespace TcpKit.Net.Simulation;

/// <summary>
/// One pending event: a timer firing, or a packet arriving at the far end of a channel.
/// A struct so that scheduling a packet allocates nothing beyond the packet buffer.
/// </summary>
internal struct SimEvent
{
    public long Deadline;

    /// <summary>Insertion order; breaks deadline ties so equal deadlines run first-scheduled first.</summary>
    public long Sequence;

    public SimTimer? Timer;
    public SimulatedChannel? Channel;
    public byte[]? Buffer;
    public int Length;
}

/// <summary>
/// A binary min-heap of events keyed by (deadline, sequence). Timers record their slot so they can be
/// cancelled or moved in O(log n) without leaving stale entries behind.
/// </summary>
internal sealed class EventQueue
{
    private SimEvent[] _items = new SimEvent[64];
    private int _count;

    public int Count => _count;

    public long PeekDeadline => _items[0].Deadline;

    public void Push(in SimEvent e)
    {
        if (_count == _items.Length)
        {
            Array.Resize(ref _items, _items.Length * 2);
        }

        SiftUp(_count++, e);
    }

    public SimEvent Pop()
    {
        SimEvent top = _items[0];
        RemoveAt(0);
        if (top.Timer is not null)
        {
            top.Timer.HeapIndex = -1;
        }

        return top;
    }

    /// <summary>Removes a timer's entry.</summary>
    public void Remove(SimTimer timer)
    {
        int index = timer.HeapIndex;
        RemoveAt(index);
        timer.HeapIndex = -1;
    }

    /// <summary>Gives an armed timer a new key and restores heap order.</summary>
    public void Update(SimTimer timer, long deadline, long sequence)
    {
        int index = timer.HeapIndex;
        SimEvent e = _items[index];
        bool earlier = Less(deadline, sequence, e.Deadline, e.Sequence);
        e.Deadline = deadline;
        e.Sequence = sequence;
        if (earlier)
        {
            SiftUp(index, e);
        }
        else
        {
            SiftDown(index, e);
        }
    }

    private void RemoveAt(int index)
    {
        int last = --_count;
        SimEvent moved = _items[last];
        _items[last] = default; // drop references so pooled buffers and callbacks are not kept alive
        if (index == last)
        {
            return;
        }

        // The moved element may belong above or below the hole.
        if (index > 0 && Less(moved, _items[(index - 1) / 2]))
        {
            SiftUp(index, moved);
        }
        else
        {
            SiftDown(index, moved);
        }
    }

    private void SiftUp(int index, SimEvent e)
    {
        while (index > 0)
        {
            int parent = (index - 1) / 2;
            if (!Less(e, _items[parent]))
            {
                break;
            }

            Place(index, _items[parent]);
            index = parent;
        }

        Place(index, e);
    }

    private void SiftDown(int index, SimEvent e)
    {
        while (true)
        {
            int child = (2 * index) + 1;
            if (child >= _count)
            {
                break;
            }

            if (child + 1 < _count && Less(_items[child + 1], _items[child]))
            {
                child++;
            }

            if (!Less(_items[child], e))
            {
                break;
            }

            Place(index, _items[child]);
            index = child;
        }

        Place(index, e);
    }

    private void Place(int index, in SimEvent e)
    {
        _items[index] = e;
        if (e.Timer is not null)
        {
            e.Timer.HeapIndex = index;
        }
    }

    private static bool Less(in SimEvent a, in SimEvent b) => Less(a.Deadline, a.Sequence, b.Deadline, b.Sequence);

    private static bool Less(long deadlineA, long sequenceA, long deadlineB, long sequenceB) =>
        deadlineA < deadlineB || (deadlineA == deadlineB && sequenceA < sequenceB);
}
