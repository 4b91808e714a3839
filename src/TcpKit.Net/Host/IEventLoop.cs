using TcpKit.Net.Links;
using TcpKit.Net.Simulation;
using TcpKit.Wire;

namespace TcpKit.Net.Host;

/// <summary>A timer a host stack arms for one connection; re-arming replaces the previous deadline.</summary>
public interface ILoopTimer
{
    void Set(Instant deadline);

    void Cancel();
}

/// <summary>
/// What drives a host stack: a clock, timers keyed by deadline, and a place to run work. The host and
/// its connections are only touched from the loop, so they need no locks.
/// </summary>
public interface IEventLoop : IClock
{
    ILoopTimer CreateTimer(Action callback);

    /// <summary>Runs <paramref name="action"/> on the loop soon (never inline).</summary>
    void Post(Action action);

    /// <summary>The context async API continuations resume on, so user code stays on the loop.</summary>
    SynchronizationContext Context { get; }
}

/// <summary>
/// The simulated network as an event loop: virtual time, and every continuation of user code queued as
/// an event at the current instant, so a simulation is deterministic and single-threaded.
/// </summary>
public sealed class SimulatedEventLoop : IEventLoop
{
    private readonly LoopContext _context;
    // Posted work: an Action, or a SynchronizationContext callback and its state (stored as they are, so
    // resuming an await allocates no closure).
    private readonly Queue<(SendOrPostCallback? Callback, object? State)> _posted = new();
    private readonly SimTimer _drain;

    public SimulatedEventLoop(SimulatedNetwork network)
    {
        Network = network;
        _context = new LoopContext(this);
        _drain = network.CreateTimer(() => RunInContext(Drain));
    }

    public SimulatedNetwork Network { get; }

    public Instant Now => Network.Now;

    public SynchronizationContext Context => _context;

    public ILoopTimer CreateTimer(Action callback) => new Timer(Network.CreateTimer(() => RunInContext(callback)));

    /// <summary>
    /// Queues <paramref name="action"/> to run at the current instant, after the event now running. Posted
    /// work shares one timer and runs in posting order, so it stays deterministic and cheap.
    /// </summary>
    public void Post(Action action)
    {
        ArgumentNullException.ThrowIfNull(action);
        Enqueue(null, action);
    }

    private void Enqueue(SendOrPostCallback? callback, object? state)
    {
        _posted.Enqueue((callback, state));
        if (!_drain.IsArmed)
        {
            _drain.Set(Network.Now);
        }
    }

    private void Drain()
    {
        // Work posted while draining runs in this same pass, in order.
        try
        {
            while (_posted.TryDequeue(out var work))
            {
                if (work.Callback is { } callback)
                {
                    callback(work.State);
                }
                else
                {
                    ((Action)work.State!)();
                }
            }
        }
        finally
        {
            // If an action threw, what it left queued still runs.
            if (_posted.Count > 0 && !_drain.IsArmed)
            {
                _drain.Set(Network.Now);
            }
        }
    }

    /// <summary>
    /// Starts async user code inside the simulation: its awaits resume as simulation events.
    /// Drive it with the network's Run methods until the returned task completes.
    /// </summary>
    public Task Start(Func<Task> work)
    {
        Task? task = null;
        RunInContext(() => task = work());
        return task!;
    }

    /// <inheritdoc cref="Start(Func{Task})"/>
    public Task<T> Start<T>(Func<Task<T>> work)
    {
        Task<T>? task = null;
        RunInContext(() => task = work());
        return task!;
    }

    /// <summary>Runs the simulation until <paramref name="task"/> completes or <paramref name="limit"/> passes; returns whether it completed.</summary>
    public bool RunUntilComplete(Task task, TimeSpan limit)
    {
        Network.RunWhile(() => !task.IsCompleted, Network.Now + limit);
        return task.IsCompleted;
    }

    private void RunInContext(Action action)
    {
        var previous = SynchronizationContext.Current;
        SynchronizationContext.SetSynchronizationContext(_context);
        try
        {
            action();
        }
        finally
        {
            SynchronizationContext.SetSynchronizationContext(previous);
        }
    }

    private sealed class Timer(SimTimer timer) : ILoopTimer
    {
        public void Set(Instant deadline)
        {
            if (deadline == Instant.Never)
            {
                timer.Cancel();
            }
            else
            {
                timer.Set(deadline);
            }
        }

        public void Cancel() => timer.Cancel();
    }

    private sealed class LoopContext(SimulatedEventLoop loop) : SynchronizationContext
    {
        public override void Post(SendOrPostCallback d, object? state)
        {
            ArgumentNullException.ThrowIfNull(d);
            loop.Enqueue(d, state);
        }

        public override void Send(SendOrPostCallback d, object? state) => d(state);

        public override SynchronizationContext CreateCopy() => this;
    }
}
