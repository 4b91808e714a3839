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
/// <para>
/// Packet arrivals that come in order (deadline not before the last one queued so) skip the heap: they wait
/// in a FIFO ring and the earlier of the ring's front and the heap's top runs next. A link with a fixed delay
/// delivers in the order it sends, so nearly every packet takes the O(1) ring instead of two sifts that copy
/// 48-byte entries (with their references) through the heap. Sequences grow with every push, so the ring is
/// sorted by (deadline, sequence) like the heap, and events run in exactly the order a heap alone gives:
/// simulations stay deterministic and unchanged. Packets cannot be cancelled, so the ring needs no slots.
/// </para>
/// </summary>
internal sealed class EventQueue
{
    private SimEvent[] _items = new SimEvent[64];
    private int _count;

    private SimEvent[] _ring = new SimEvent[64];
    private int _ringHead;
    private int _ringCount;

    public int Count => _count + _ringCount;

    public long PeekDeadline => RingFirst() ? _ring[_ringHead].Deadline : _items[0].Deadline;

    /// <summary>True when the ring's front runs before the heap's top (the queue must not be empty).</summary>
    private bool RingFirst() => _ringCount > 0 && (_count == 0 || Less(_ring[_ringHead], _items[0]));

    public void Push(in SimEvent e)
    {
        if (e.Timer is null && (_ringCount == 0 || !Less(e, _ring[RingSlot(_ringCount - 1)])))
        {
            if (_ringCount == _ring.Length)
            {
                var grown = new SimEvent[_ring.Length * 2];
                for (int k = 0; k < _ringCount; k++)
                {
                    grown[k] = _ring[RingSlot(k)];
                }

                _ring = grown;
                _ringHead = 0;
            }

            _ring[RingSlot(_ringCount++)] = e;
            return;
        }

        if (_count == _items.Length)
        {
            Array.Resize(ref _items, _items.Length * 2);
        }

        SiftUp(_count++, e);
    }

    public SimEvent Pop()
    {
        if (RingFirst())
        {
            SimEvent first = _ring[_ringHead];
            _ring[_ringHead] = default; // drop references so pooled buffers are not kept alive
            _ringHead = _ringHead + 1 == _ring.Length ? 0 : _ringHead + 1;
            _ringCount--;
            return first;
        }

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

    private int RingSlot(int offset)
    {
        int i = _ringHead + offset;
        return i >= _ring.Length ? i - _ring.Length : i;
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
