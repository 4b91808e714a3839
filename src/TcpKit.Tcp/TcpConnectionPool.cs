using TcpKit.Wire;
using TcpKit.Wire.Tcp;

namespace TcpKit.Tcp;

/// <summary>
/// Engines of connections that ended, reused for new connections, so a host that opens and closes
/// connections at a high rate does not allocate an engine (its TCB, buffers' headers and RTO estimator)
/// for each. Only an engine reduced to a <see cref="TimeWaitRecord"/> can come back, and only when its
/// owner will never touch it again: the pool cannot know that, its caller must. Bounded by its capacity.
/// </summary>
public sealed class TcpConnectionPool(int capacity = 1024)
{
    private readonly Stack<TcpConnection> _free = new();

    /// <summary>Engines waiting to be reused.</summary>
    public int Count => _free.Count;

    /// <summary>As <see cref="TcpConnection.Connect"/>, with a recycled engine when one is free.</summary>
    public TcpConnection Connect(TcpConfig config, ushort localPort, ushort remotePort, SeqNum iss, Instant now) =>
        _free.TryPop(out var engine)
            ? TcpConnection.Recycle(engine, config, localPort, remotePort, iss).StartConnect(now)
            : TcpConnection.Connect(config, localPort, remotePort, iss, now);

    /// <summary>As <see cref="TcpConnection.Listen"/>, with a recycled engine when one is free.</summary>
    public TcpConnection Listen(TcpConfig config, ushort localPort, SeqNum iss) =>
        _free.TryPop(out var engine)
            ? TcpConnection.Recycle(engine, config, localPort, 0, iss).StartListen()
            : TcpConnection.Listen(config, localPort, iss);

    /// <summary>
    /// Takes back an engine that was reduced to a <see cref="TimeWaitRecord"/> (<see cref="TcpConnection.ToTimeWaitRecord"/>)
    /// and that nothing will use again. False when it cannot be recycled (its statistics went to the record) or the pool is full.
    /// </summary>
    public bool Return(TcpConnection engine)
    {
        ArgumentNullException.ThrowIfNull(engine);
        if (!engine.CanBeRecycled || _free.Count >= capacity)
        {
            return false;
        }

        engine.TakenByPool();
        _free.Push(engine);
        return true;
    }
}
