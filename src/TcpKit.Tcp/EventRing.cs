namespace TcpKit.Tcp;

/// <summary>
/// The events of one engine not yet polled, oldest first: a ring that grows when full. A connection
/// reports a few events per segment at most, so four slots almost always do.
/// </summary>
internal sealed class EventRing
{
    private TcpEvent[] _items = new TcpEvent[4];
    private int _head;

    public int Count { get; private set; }

    public void Enqueue(in TcpEvent e)
    {
        if (Count == _items.Length)
        {
            var grown = new TcpEvent[_items.Length * 2];
            for (int k = 0; k < Count; k++)
            {
                grown[k] = _items[(_head + k) % _items.Length];
            }

            _items = grown;
            _head = 0;
        }

        int i = _head + Count;
        _items[i >= _items.Length ? i - _items.Length : i] = e;
        Count++;
    }

    public TcpEvent Dequeue()
    {
        var e = _items[_head];
        _head = _head + 1 == _items.Length ? 0 : _head + 1;
        Count--;
        return e;
    }

    /// <summary>The pending events, oldest first (for tests).</summary>
    public TcpEvent[] ToArray()
    {
        var events = new TcpEvent[Count];
        for (int k = 0; k < Count; k++)
        {
            events[k] = _items[(_head + k) % _items.Length];
        }

        return events;
    }
}

/// <summary>
/// Event rings for the engines of one <see cref="TcpConnectionPool"/> (so of one host, on one thread): an
/// engine borrows a ring while it has events to report and returns it once they are polled, so an idle
/// connection holds none and opening and closing connections allocates none. An instance per pool rather
/// than a thread-static one, because reaching a thread-static costs a TLS lookup per event.
/// </summary>
internal sealed class EventRingPool
{
    private const int MaxPooled = 32;

    private readonly EventRing[] _pool = new EventRing[MaxPooled];
    private int _count;

    public EventRing Rent()
    {
        if (_count > 0)
        {
            int i = --_count;
            var ring = _pool[i];
            _pool[i] = null!;
            return ring;
        }

        return new EventRing();
    }

    public void Return(EventRing ring)
    {
        if (ring.Count == 0 && _count < MaxPooled)
        {
            _pool[_count++] = ring;
        }
    }
}
