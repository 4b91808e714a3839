namespace TcpKit.Tcp;

/// <summary>
/// Event queues lent to connections while they have unpolled events. Events are usually polled right
/// after the call that raised them, so a few queues per thread serve any number of connections.
/// </summary>
internal static class EventQueuePool
{
    private const int MaxPooled = 32;

    [ThreadStatic]
    private static Queue<TcpEvent>[]? t_pool;

    [ThreadStatic]
    private static int t_count;

    public static Queue<TcpEvent> Rent()
    {
        var pool = t_pool;
        if (pool is not null && t_count > 0)
        {
            int i = --t_count;
            var q = pool[i];
            pool[i] = null!;
            return q;
        }

        return new Queue<TcpEvent>(4);
    }

    /// <summary>Takes back an empty queue.</summary>
    public static void Return(Queue<TcpEvent> queue)
    {
        if (queue.Count != 0)
        {
            return;
        }

        var pool = t_pool ??= new Queue<TcpEvent>[MaxPooled];
        if (t_count < MaxPooled)
        {
            pool[t_count++] = queue;
        }
    }
}
