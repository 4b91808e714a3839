using System.Runtime.ExceptionServices;
using System.Threading.Tasks.Sources;

namespace TcpKit.Net.Host;

/// <summary>
/// One reusable wait of a connection or listener (a read, a write, a connect, an accept), awaited as a
/// <see cref="ValueTask{TResult}"/>: completing it resumes the awaiting code through the loop's context
/// without a Task, TaskCompletionSource, continuation object or delegate per wait, as Kestrel's socket
/// transport reuses its awaitable operations. Everything runs on the loop (single-threaded, so no locks):
/// a cancellation requested on another thread is posted to the loop first, and the awaiting code always
/// resumes on the loop, whatever context it asked for, so a simulation stays deterministic.
/// </summary>
internal sealed class LoopWaiter<T> : IValueTaskSource<T>, IValueTaskSource
{
    private static readonly SendOrPostCallback ResumeCallback = static state => ((LoopWaiter<T>)state!).Resume();
    private static readonly ContextCallback RunContinuation = static state =>
    {
        var (continuation, continuationState) = ((Action<object?>, object?))state!;
        continuation(continuationState);
    };

    private readonly IEventLoop _loop;
    private short _version;
    private bool _completed;
    private bool _resultPending;
    private T? _result;
    private ExceptionDispatchInfo? _error;
    private Action<object?>? _continuation;
    private object? _continuationState;
    private ExecutionContext? _executionContext;
    private CancellationTokenRegistration _cancellation;
    private CancellationToken _token;
    private Action? _onCancel;
    private LoopWaiterPool<T>? _returnTo; // a one-shot wait goes back here once its awaiter took the result

    public LoopWaiter(IEventLoop loop) => _loop = loop;

    /// <summary>True between <see cref="WaitAsync"/> and the completion of that wait.</summary>
    public bool IsWaiting { get; private set; }

    /// <summary>
    /// No wait is pending and the last one's result was taken by its awaiter, so a new wait may start (a
    /// completed wait whose awaiter has not resumed yet still owns the waiter).
    /// </summary>
    public bool IsFree => !IsWaiting && !_resultPending;

    /// <summary>
    /// Starts a wait that <see cref="TrySetResult"/> or <see cref="TrySetException"/> completes;
    /// <paramref name="ct"/> ends it with an <see cref="OperationCanceledException"/>.
    /// </summary>
    public ValueTask<T> WaitAsync(CancellationToken ct) => new(this, Start(null, ct));

    /// <summary>Starts a wait as <see cref="WaitAsync"/> does and returns its token, for a caller that builds its own ValueTask over this source.</summary>
    public short Start(CancellationToken ct) => Start(null, ct);

    /// <summary>An object a caller keeps with this waiter (an adapter that converts its result), made once and reused with it.</summary>
    public object? Companion { get; set; }

    /// <summary>As <see cref="WaitAsync"/>, for a caller that needs no result; a cancelled wait also runs <paramref name="onCancel"/>.</summary>
    public ValueTask WaitWithoutResultAsync(Action? onCancel, CancellationToken ct) => new(this, Start(onCancel, ct));

    private short Start(Action? onCancel, CancellationToken ct)
    {
        if (!IsFree)
        {
            throw new InvalidOperationException("Another operation of the same kind is already waiting on this connection.");
        }

        _version++;
        _completed = false;
        _result = default;
        _error = null;
        IsWaiting = true;
        _resultPending = true;
        if (ct.CanBeCanceled)
        {
            _token = ct;
            _onCancel = onCancel;
            // The callback may run on any thread: the waiter is only touched on the loop.
            _cancellation = ct.UnsafeRegister(static (state, token) =>
            {
                var waiter = (LoopWaiter<T>)state!;
                waiter._loop.Post(() => waiter.Cancel(token));
            }, this);
        }

        return _version;
    }

    /// <summary>
    /// For a wait that will not recur (a connect): the waiter goes back to <paramref name="pool"/> as soon as
    /// its awaiter has taken the result (at once when it already has), and its owner forgets it now.
    /// </summary>
    public void ReleaseTo(LoopWaiterPool<T> pool)
    {
        if (IsFree)
        {
            pool.Return(this);
        }
        else
        {
            _returnTo = pool;
        }
    }

    public bool TrySetResult(T result)
    {
        if (!Finish())
        {
            return false;
        }

        _result = result;
        Complete();
        return true;
    }

    public bool TrySetException(Exception error)
    {
        if (!Finish())
        {
            return false;
        }

        _error = ExceptionDispatchInfo.Capture(error);
        Complete();
        return true;
    }

    private void Cancel(CancellationToken token)
    {
        // Only the wait the token was registered for: a later wait with another token is left alone.
        if (!IsWaiting || _token != token)
        {
            return;
        }

        // The wait ends as cancelled first, so what onCancel causes (an abort's error) does not replace it.
        var onCancel = _onCancel;
        TrySetException(new OperationCanceledException(token));
        onCancel?.Invoke();
    }

    private bool Finish()
    {
        if (!IsWaiting)
        {
            return false;
        }

        IsWaiting = false;
        _token = default;
        _onCancel = null;
        _cancellation.Dispose();
        _cancellation = default;
        return true;
    }

    private void Complete()
    {
        _completed = true;
        if (_continuation is not null)
        {
            _loop.Context.Post(ResumeCallback, this); // never inline: the engine may be in the middle of its events
        }
    }

    private void Resume()
    {
        var continuation = _continuation!;
        var state = _continuationState;
        var executionContext = _executionContext;
        _continuation = null;
        _continuationState = null;
        _executionContext = null;
        if (executionContext is null)
        {
            continuation(state);
        }
        else
        {
            ExecutionContext.Run(executionContext, RunContinuation, (continuation, state));
        }
    }

    private void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
    {
        CheckToken(token);
        if (_continuation is not null)
        {
            throw new InvalidOperationException("A wait can be awaited only once.");
        }

        _continuation = continuation;
        _continuationState = state;
        if ((flags & ValueTaskSourceOnCompletedFlags.FlowExecutionContext) != 0)
        {
            _executionContext = ExecutionContext.Capture();
        }

        if (_completed)
        {
            _loop.Context.Post(ResumeCallback, this);
        }
    }

    private ValueTaskSourceStatus GetStatus(short token)
    {
        CheckToken(token);
        return !_completed ? ValueTaskSourceStatus.Pending
            : _error is null ? ValueTaskSourceStatus.Succeeded
            : _error.SourceException is OperationCanceledException ? ValueTaskSourceStatus.Canceled
            : ValueTaskSourceStatus.Faulted;
    }

    private T GetResult(short token)
    {
        CheckToken(token);
        if (!_completed)
        {
            throw new InvalidOperationException("The wait has not completed yet.");
        }

        if (!_resultPending)
        {
            // A ValueTask may be awaited once: its result (or error) was already taken.
            throw new InvalidOperationException("The wait was already consumed: a ValueTask may be awaited only once.");
        }

        _resultPending = false;
        var error = _error;
        var result = _result;
        _error = null;
        _result = default;
        if (_returnTo is { } pool)
        {
            _returnTo = null;
            pool.Return(this);
        }

        error?.Throw();
        return result!;
    }

    private void CheckToken(short token)
    {
        if (token != _version)
        {
            throw new InvalidOperationException("The wait was already consumed: a ValueTask may be awaited only once.");
        }
    }

    T IValueTaskSource<T>.GetResult(short token) => GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<T>.GetStatus(short token) => GetStatus(token);

    void IValueTaskSource<T>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        OnCompleted(continuation, state, token, flags);

    void IValueTaskSource.GetResult(short token) => GetResult(token);

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        OnCompleted(continuation, state, token, flags);
}

/// <summary>
/// Waiters of connections that ended, kept by their host for the next connections (a connection that
/// reached CLOSED or sleeps in TIME-WAIT never waits again), so opening and closing connections does not
/// allocate them each time. Bounded: beyond <see cref="Capacity"/> they are left to the collector.
/// </summary>
internal sealed class LoopWaiterPool<T>(IEventLoop loop)
{
    public const int Capacity = 1024;

    private readonly Stack<LoopWaiter<T>> _free = new();

    public LoopWaiter<T> Rent() => _free.TryPop(out var waiter) ? waiter : new LoopWaiter<T>(loop);

    /// <summary>Takes <paramref name="waiter"/> back when nobody can still await it.</summary>
    public void Return(LoopWaiter<T>? waiter)
    {
        if (waiter is { IsFree: true } && _free.Count < Capacity)
        {
            _free.Push(waiter);
        }
    }
}
