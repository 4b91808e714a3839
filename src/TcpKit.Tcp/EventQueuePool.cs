namespace TcpKit.Tcp;

/// <summary>
/// Event queues for the engines of one <see cref="TcpConnectionPool"/> (so of one host, on one thread): an
/// engine borrows a queue while it has events to report and returns it once they are polled, so an idle
/// connection holds none and opening and closing connections allocates none. An instance per pool rather
/// than a thread-static one, because reaching a thread-static costs a TLS lookup per event.
/// </summary>
internal sealed class EventQueuePool
{
    private const int MaxPooled = 32;

    private readonly Queue<TcpEvent>[] _pool = new Queue<TcpEvent>[MaxPooled];
    private int _count;

    public Queue<TcpEvent> Rent()
    {
        if (_count > 0)
        {
            int i = --_count;
            var q = _pool[i];
            _pool[i] = null!;
            return q;
        }

        return new Queue<TcpEvent>(4);
    }

    public void Return(Queue<TcpEvent> queue)
    {
        if (queue.Count == 0 && _count < MaxPooled)
        {
            _pool[_count++] = queue;
        }
    }
}
