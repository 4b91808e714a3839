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
/// On Linux the loop sleeps in poll(2) rather than on a monitor, so it can also watch file descriptors
/// (<see cref="WatchReadable"/>): a TUN device is read on the loop thread itself, with no hand-over between
/// threads. Work posted from other threads wakes the poll through an eventfd, written only while the loop
/// sleeps, so a busy loop pays no system call per post.
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

    // poll(2) wait (Linux): the eventfd that wakes it, and the descriptors being watched.
    private readonly bool _usePoll;
    private int _wakeFd = -1; // closed under _gate when the loop finishes
    private readonly List<Watch> _watches = [];
    private TunNative.PollFd[] _pollFds = [];
    private Watch[] _polled = [];
    private bool _watchesChanged;
    private bool _sleeping;      // the loop is in (or about to enter) poll with nothing to do; under _gate
    private bool _wakeSignalled; // an eventfd write is pending for this sleep; under _gate

    public RealTimeEventLoop(IClock? clock = null)
    {
        _clock = clock ?? SystemClock.Instance;
        _context = new LoopContext(this);
        if (OperatingSystem.IsLinux())
        {
            _wakeFd = TunNative.EventFd(0, TunNative.EfdNonBlock | TunNative.EfdCloExec);
            _usePoll = _wakeFd >= 0;
            _watchesChanged = _usePoll;
        }
    }

    /// <summary>Whether the loop sleeps in poll(2) and so can watch file descriptors (Linux).</summary>
    public bool CanWatchDescriptors => _usePoll;

    /// <summary>Wake-ups of the sleeping loop by work posted from other threads (eventfd writes).</summary>
    public long CrossThreadWakeups { get; private set; }

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
            SignalWake();
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
                CloseWakeFd();
            }
        }
    }

    /// <summary>Under _gate, once nothing polls or signals any more.</summary>
    private void CloseWakeFd()
    {
        if (_wakeFd >= 0)
        {
            _ = TunNative.Close(_wakeFd);
            _wakeFd = -1;
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
            if (!_usePoll)
            {
                if (_incoming.Count == 1)
                {
                    Monitor.Pulse(_gate);
                }

                return;
            }

            if (!_sleeping || _wakeSignalled)
            {
                return; // the loop is running (it looks at _incoming before sleeping) or already being woken
            }

            _wakeSignalled = true;
            CrossThreadWakeups++;
            SignalWake();
        }
    }

    /// <summary>
    /// Calls <paramref name="onReadable"/> on the loop whenever <paramref name="fd"/> is readable (or has an
    /// error or hang-up, which the callback finds out by reading). The callback should read what is ready,
    /// up to a bound so timers and posted work keep their turn; the loop polls again straight after.
    /// Disposing the returned registration stops the watch; once Dispose returns the loop no longer polls
    /// <paramref name="fd"/>, so it may be closed. Linux only (<see cref="CanWatchDescriptors"/>).
    /// </summary>
    public IDisposable WatchReadable(int fd, Action onReadable)
    {
        ArgumentNullException.ThrowIfNull(onReadable);
        if (!_usePoll)
        {
            throw new PlatformNotSupportedException("Watching file descriptors needs poll(2) and eventfd (Linux).");
        }

        var watch = new Watch(this, fd, onReadable);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_finished, this);
            _watches.Add(watch);
            _watchesChanged = true;
            if (_sleeping && !_wakeSignalled)
            {
                _wakeSignalled = true;
                SignalWake();
            }
        }

        return watch;
    }

    private void Unwatch(Watch watch)
    {
        lock (_gate)
        {
            if (!_watches.Remove(watch))
            {
                return;
            }

            _watchesChanged = true;
            if (_finished || !_started || IsLoopThread)
            {
                return; // nobody is polling, or the loop rebuilds its poll set before it polls again
            }
        }

        // The loop may be inside poll with the old set: wait until it has been round once, after which
        // it polls only the new set. Dropped work (the loop stopping) means nobody polls any more either.
        try
        {
            InvokeAsync(static () => { }).Wait();
        }
        catch (AggregateException)
        {
        }
    }

    /// <summary>Under _gate (so the eventfd cannot be closed meanwhile): makes the loop's poll return.</summary>
    private unsafe void SignalWake()
    {
        if (_wakeFd < 0)
        {
            return;
        }

        ulong one = 1;
        _ = TunNative.Write(_wakeFd, (byte*)&one, sizeof(ulong));
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
                int sleepMs = 0;
                lock (_gate)
                {
                    while (!_usePoll && !_stopRequested && _incoming.Count == 0 && !TimerDue(out int waitMs))
                    {
                        Monitor.Wait(_gate, waitMs);
                    }

                    if (_stopRequested)
                    {
                        break;
                    }

                    if (_usePoll && _incoming.Count == 0 && !TimerDue(out sleepMs))
                    {
                        _sleeping = true; // from here on a post from another thread writes the eventfd
                    }
                    else
                    {
                        sleepMs = 0;
                    }

                    if (_watchesChanged)
                    {
                        RebuildPollSet();
                    }

                    // Swap queues so producers never wait for the work we are about to run.
                    (_incoming, _running) = (_running, _incoming);
                }

                if (_usePoll)
                {
                    fault = PollOnce(sleepMs);
                    if (fault is not null)
                    {
                        break;
                    }
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
                CloseWakeFd();
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

    /// <summary>
    /// One poll(2) over the wake eventfd and the watched descriptors: sleeps up to <paramref name="timeoutMs"/>
    /// (0 when there is work, so ready descriptors are serviced between batches of posted work), then
    /// calls the callback of each ready descriptor.
    /// </summary>
    private unsafe Exception? PollOnce(int timeoutMs)
    {
        var fds = _pollFds;
        fixed (TunNative.PollFd* p = fds)
        {
            for (int i = 0; i < fds.Length; i++)
            {
                p[i].Revents = 0;
            }

            int ready = TunNative.Poll(p, (nuint)fds.Length, timeoutMs);
            if (timeoutMs != 0)
            {
                lock (_gate)
                {
                    _sleeping = false;
                    _wakeSignalled = false;
                }
            }

            if (ready <= 0)
            {
                return null; // timeout, or EINTR: the loop simply goes round again
            }

            if (p[0].Revents != 0)
            {
                ulong count;
                _ = TunNative.Read(_wakeFd, (byte*)&count, sizeof(ulong));
            }

            var watches = _polled;
            for (int i = 1; i < fds.Length; i++)
            {
                if (p[i].Revents != 0 && !watches[i - 1].Removed && Invoke(watches[i - 1].OnReadable) is { } fault)
                {
                    return fault;
                }
            }
        }

        return null;
    }

    /// <summary>Under _gate: the poll set is the eventfd followed by every watched descriptor.</summary>
    private void RebuildPollSet()
    {
        _watchesChanged = false;
        _polled = [.. _watches];
        _pollFds = new TunNative.PollFd[_polled.Length + 1];
        _pollFds[0] = new TunNative.PollFd { Fd = _wakeFd, Events = TunNative.PollIn };
        for (int i = 0; i < _polled.Length; i++)
        {
            _pollFds[i + 1] = new TunNative.PollFd { Fd = _polled[i].Fd, Events = TunNative.PollIn };
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

    private sealed class Watch(RealTimeEventLoop loop, int fd, Action onReadable) : IDisposable
    {
        public int Fd { get; } = fd;

        public Action OnReadable { get; } = onReadable;

        public bool Removed { get; private set; }

        public void Dispose()
        {
            Removed = true;
            loop.Unwatch(this);
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
