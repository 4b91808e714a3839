using TcpKit.Net.Links;
using TcpKit.Wire;

namespace TcpKit.Net.Host;

/// <summary>
/// An <see cref="IEventLoop"/> on real time: one thread runs posted work and fires timers from a heap
/// keyed by deadline (no <c>Task.Delay</c> per connection). A <see cref="TcpHost"/> and every API object
/// on it (<see cref="TcpKitListener"/>, <see cref="TcpKitClient"/>, <see cref="TcpKitStream"/>) must only
/// be used on this thread: run user code there with <see cref="InvokeAsync(Func{Task})"/>. Awaits inside
/// such code resume on the loop through <see cref="Context"/>, so a whole async program runs on the loop.
/// </summary>
/// <remarks>
/// Timers keep at most one live heap entry each: re-arming to a later deadline (the common case, as every
/// ACK pushes the retransmission timer out) only records the new deadline, and the entry is re-queued
/// when it comes due. Only moving a deadline earlier adds an entry; the superseded one is skipped when popped.
/// </remarks>
public sealed class RealTimeEventLoop : IEventLoop, IDisposable
{
    private readonly IClock _clock;
    private readonly LoopContext _context;
    private readonly object _gate = new();
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly PriorityQueue<Timer, long> _timers = new();
    private Queue<Action> _incoming = new();
    private Queue<Action> _running = new();
    private Thread? _ownThread;
    private Thread? _loopThread;
    private bool _stopRequested;
    private bool _finished;
    private bool _started;

    public RealTimeEventLoop(IClock? clock = null)
    {
        _clock = clock ?? SystemClock.Instance;
        _context = new LoopContext(this);
    }

    public Instant Now => _clock.Now;

    public SynchronizationContext Context => _context;

    /// <summary>True on the thread running the loop.</summary>
    public bool IsLoopThread => Thread.CurrentThread == _loopThread;

    /// <summary>Timers whose heap entries are pending (live and superseded), for tests and diagnostics.</summary>
    public int TimerHeapCount => _timers.Count;

    /// <summary>Completes when the loop has exited; faults when posted work threw and no <see cref="UnhandledException"/> handler was set.</summary>
    public Task Completion => _completion.Task;

    /// <summary>
    /// Receives exceptions thrown by posted work or timer callbacks (including async void code on the loop).
    /// Without a handler the first such exception stops the loop and faults <see cref="Completion"/>.
    /// </summary>
    public event Action<Exception>? UnhandledException;

    /// <summary>Starts the loop on a dedicated background thread.</summary>
    public void Start(string threadName = "tcpkit-loop")
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_finished, this);
            if (_started)
            {
                throw new InvalidOperationException("The loop is already running.");
            }

            _started = true;
        }

        _ownThread = new Thread(RunLoop) { IsBackground = true, Name = threadName };
        _ownThread.Start();
    }

    /// <summary>Runs the loop on the calling thread until <see cref="Stop"/>.</summary>
    public void Run()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_finished, this);
            if (_started)
            {
                throw new InvalidOperationException("The loop is already running.");
            }

            _started = true;
        }

        RunLoop();
        Completion.GetAwaiter().GetResult();
    }

    /// <summary>Asks the loop to exit after the work it is running; work still queued is dropped (awaiting callers see cancellation).</summary>
    public void Stop()
    {
        lock (_gate)
        {
            _stopRequested = true;
            Monitor.Pulse(_gate);
        }
    }

    /// <summary>Stops the loop and waits for its thread (unless called on it).</summary>
    public void Dispose()
    {
        Stop();
        var thread = _ownThread;
        if (thread is not null && thread != Thread.CurrentThread)
        {
            thread.Join();
        }

        lock (_gate)
        {
            if (!_started)
            {
                _finished = true;
                _completion.TrySetResult();
            }
        }
    }

    public ILoopTimer CreateTimer(Action callback)
    {
        ArgumentNullException.ThrowIfNull(callback);
        return new Timer(this, callback);
    }

    /// <summary>Queues <paramref name="action"/> to run on the loop; safe from any thread. Dropped once the loop has stopped.</summary>
    public void Post(Action action)
    {
        ArgumentNullException.ThrowIfNull(action);
        lock (_gate)
        {
            if (_finished)
            {
                DropOne(action);
                return;
            }

            _incoming.Enqueue(action);
            if (_incoming.Count == 1)
            {
                Monitor.Pulse(_gate);
            }
        }
    }

    /// <summary>Runs <paramref name="work"/> on the loop and completes with its result.</summary>
    public Task<T> InvokeAsync<T>(Func<T> work)
    {
        ArgumentNullException.ThrowIfNull(work);
        var item = new Invocation<T>(() => Task.FromResult(work()));
        Post(item.Run);
        return item.Task;
    }

    /// <summary>Runs <paramref name="work"/> on the loop and completes when it has.</summary>
    public Task InvokeAsync(Action work)
    {
        ArgumentNullException.ThrowIfNull(work);
        return InvokeAsync(() =>
        {
            work();
            return true;
        });
    }

    /// <summary>
    /// Starts async user code on the loop: the code and every continuation of its awaits run on the loop
    /// thread, so it may use the host's API objects. Completes when the code has.
    /// </summary>
    public Task InvokeAsync(Func<Task> work)
    {
        ArgumentNullException.ThrowIfNull(work);
        var item = new Invocation<bool>(async () =>
        {
            await work().ConfigureAwait(true);
            return true;
        });
        Post(item.Run);
        return item.Task;
    }

    /// <inheritdoc cref="InvokeAsync(Func{Task})"/>
    public Task<T> InvokeAsync<T>(Func<Task<T>> work)
    {
        ArgumentNullException.ThrowIfNull(work);
        var item = new Invocation<T>(work);
        Post(item.Run);
        return item.Task;
    }

    private void RunLoop()
    {
        _loopThread = Thread.CurrentThread;
        var previous = SynchronizationContext.Current;
        SynchronizationContext.SetSynchronizationContext(_context);
        Exception? fault = null;
        try
        {
            while (true)
            {
                lock (_gate)
                {
                    while (!_stopRequested && _incoming.Count == 0 && !TimerDue(out int waitMs))
                    {
                        Monitor.Wait(_gate, waitMs);
                    }

                    if (_stopRequested)
                    {
                        break;
                    }

                    // Swap queues so producers never wait for the work we are about to run.
                    (_incoming, _running) = (_running, _incoming);
                }

                fault = RunBatch();
                if (fault is not null)
                {
                    break;
                }

                fault = FireDueTimers();
                if (fault is not null)
                {
                    break;
                }
            }
        }
        finally
        {
            List<Action> dropped;
            lock (_gate)
            {
                _finished = true;
                dropped = [.. _running, .. _incoming];
                _running.Clear();
                _incoming.Clear();
            }

            foreach (var action in dropped)
            {
                DropOne(action);
            }

            SynchronizationContext.SetSynchronizationContext(previous);
            _loopThread = null;
            if (fault is null)
            {
                _completion.TrySetResult();
            }
            else
            {
                _completion.TrySetException(fault);
            }
        }
    }

    private Exception? RunBatch()
    {
        while (_running.TryDequeue(out var action))
        {
            if (Invoke(action) is { } fault)
            {
                return fault;
            }
        }

        return null;
    }

    private Exception? FireDueTimers()
    {
        long now = _clock.Now.Nanoseconds;
        while (_timers.TryPeek(out var timer, out long queuedAt) && queuedAt <= now)
        {
            _timers.Dequeue();
            if (!timer.InHeap || timer.QueuedAt != queuedAt)
            {
                continue; // superseded by an earlier entry for the same timer
            }

            timer.InHeap = false;
            if (timer.Deadline == long.MaxValue)
            {
                continue; // cancelled
            }

            if (timer.Deadline > now)
            {
                Enqueue(timer, timer.Deadline); // pushed out since it was queued
                continue;
            }

            timer.Deadline = long.MaxValue;
            if (Invoke(timer.Callback) is { } fault)
            {
                return fault;
            }
        }

        return null;
    }

    /// <summary>Whether a timer is due now; otherwise how long to sleep (-1: until work arrives).</summary>
    private bool TimerDue(out int waitMs)
    {
        if (!_timers.TryPeek(out _, out long next))
        {
            waitMs = Timeout.Infinite;
            return false;
        }

        long remaining = next - _clock.Now.Nanoseconds;
        if (remaining <= 0)
        {
            waitMs = 0;
            return true;
        }

        // Round up so we never wake just before the deadline and spin.
        waitMs = (int)Math.Min(int.MaxValue, (remaining + 999_999) / 1_000_000);
        return false;
    }

    private Exception? Invoke(Action action)
    {
        try
        {
            action();
            return null;
        }
        catch (Exception e)
        {
            var handler = UnhandledException;
            if (handler is null)
            {
                return e;
            }

            handler(e);
            return null;
        }
    }

    private static void DropOne(Action action)
    {
        if (action.Target is IDroppable droppable)
        {
            droppable.Drop();
        }
    }

    private void Enqueue(Timer timer, long deadline)
    {
        timer.QueuedAt = deadline;
        timer.InHeap = true;
        _timers.Enqueue(timer, deadline);
    }

    private void SetTimer(Timer timer, Instant deadline)
    {
        if (!IsLoopThread)
        {
            // The host only arms timers on the loop; from elsewhere hand the change over rather than race the heap.
            Post(() => SetTimer(timer, deadline));
            return;
        }

        timer.Deadline = deadline.Nanoseconds;
        if (deadline == Instant.Never)
        {
            return;
        }

        if (!timer.InHeap || deadline.Nanoseconds < timer.QueuedAt)
        {
            Enqueue(timer, deadline.Nanoseconds);
        }
    }

    private interface IDroppable
    {
        void Drop();
    }

    private sealed class Timer(RealTimeEventLoop loop, Action callback) : ILoopTimer
    {
        public Action Callback { get; } = callback;

        /// <summary>When the timer should fire; long.MaxValue when not armed.</summary>
        public long Deadline { get; set; } = long.MaxValue;

        /// <summary>The priority of this timer's live heap entry.</summary>
        public long QueuedAt { get; set; } = long.MaxValue;

        public bool InHeap { get; set; }

        public void Set(Instant deadline) => loop.SetTimer(this, deadline);

        public void Cancel() => loop.SetTimer(this, Instant.Never);
    }

    private sealed class Invocation<T>(Func<Task<T>> work) : IDroppable
    {
        private readonly TaskCompletionSource<T> _tcs = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<T> Task => _tcs.Task;

        public void Run()
        {
            Task<T> task;
            try
            {
                task = work();
            }
            catch (Exception e)
            {
                _tcs.TrySetException(e);
                return;
            }

            if (task.IsCompleted)
            {
                Complete(task);
            }
            else
            {
                // Complete from the loop too, so the caller's task never runs user continuations inline here.
                task.ContinueWith(static (t, s) => ((Invocation<T>)s!).Complete(t), this, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }
        }

        public void Drop() => _tcs.TrySetCanceled();

        private void Complete(Task<T> task)
        {
            if (task.IsCanceled)
            {
                _tcs.TrySetCanceled();
            }
            else if (task.IsFaulted)
            {
                _tcs.TrySetException(task.Exception!.InnerExceptions);
            }
            else
            {
                _tcs.TrySetResult(task.Result);
            }
        }
    }

    private sealed class LoopContext(RealTimeEventLoop loop) : SynchronizationContext
    {
        public override void Post(SendOrPostCallback d, object? state) => loop.Post(() => d(state));

        public override void Send(SendOrPostCallback d, object? state)
        {
            if (loop.IsLoopThread)
            {
                d(state);
            }
            else
            {
                loop.InvokeAsync(() => d(state)).GetAwaiter().GetResult();
            }
        }

        public override SynchronizationContext CreateCopy() => this;
    }
}
