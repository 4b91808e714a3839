using TcpKit.Wire;
using TcpKit.Wire.Tcp;

namespace TcpKit.Tcp;

/// <summary>
/// Engines of connections that ended, reused for new connections, so a host that opens and closes
/// connections at a high rate does not allocate an engine (its TCB, buffers' headers and RTO estimator)
/// for each. Only an engine reduced to a <see cref="TimeWaitRecord"/> can come back, and only when its
/// owner will never touch it again: the pool cannot know that, its caller must. Bounded by its capacity
/// (an array of that many references, allocated with the pool).
/// <para>
/// One thread at a time, as a host's event loop: the pool is not synchronised, and its engines borrow event
/// rings from it while they have events to report, so they too must run on the thread that uses the pool.
/// </para>
/// </summary>
public sealed class TcpConnectionPool(int capacity = 1024)
{
    private readonly TcpConnection?[] _free = new TcpConnection?[Math.Max(0, capacity)];
    private int _count;

    /// <summary>Event rings the pool's engines borrow while they have events to report.</summary>
    private readonly EventRingPool _events = new();

    /// <summary>Engines waiting to be reused.</summary>
    public int Count => _count;

    /// <summary>As <see cref="TcpConnection.Connect"/>, with a recycled engine when one is free.</summary>
    public TcpConnection Connect(TcpConfig config, ushort localPort, ushort remotePort, SeqNum iss, Instant now) =>
        (TryTake(out var engine)
            ? TcpConnection.Recycle(engine, config, localPort, remotePort, iss)
            : TcpConnection.ForPool(config, localPort, remotePort, iss, _events)).StartConnect(now);

    /// <summary>As <see cref="TcpConnection.Listen"/>, with a recycled engine when one is free.</summary>
    public TcpConnection Listen(TcpConfig config, ushort localPort, SeqNum iss) =>
        (TryTake(out var engine)
            ? TcpConnection.Recycle(engine, config, localPort, 0, iss)
            : TcpConnection.ForPool(config, localPort, 0, iss, _events)).StartListen();

    /// <summary>
    /// Takes back an engine that was reduced to a <see cref="TimeWaitRecord"/> (<see cref="TcpConnection.ToTimeWaitRecord"/>)
    /// and that nothing will use again. False when it cannot be recycled (its statistics went to the record) or the pool is full.
    /// </summary>
    public bool Return(TcpConnection engine)
    {
        ArgumentNullException.ThrowIfNull(engine);
        if (!engine.CanBeRecycled || _count >= _free.Length)
        {
            return false;
        }

        engine.TakenByPool();
        engine.UseEventPool(_events); // a resumed engine came from no pool
        _free[_count++] = engine;
        return true;
    }

    private bool TryTake([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out TcpConnection? engine)
    {
        if (_count == 0)
        {
            engine = null;
            return false;
        }

        engine = _free[--_count]!;
        _free[_count] = null;
        return true;
    }
}
