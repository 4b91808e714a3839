using System.Runtime.CompilerServices;
using TcpKit.Net.Host;
using TcpKit.Tcp;
using TcpKit.Wire.Tcp;

namespace TcpKit.Net;

/// <summary>
/// Follows one closing connection until its send side has finished: every queued byte and the FIN
/// acknowledged by the peer (FIN-WAIT-2, TIME-WAIT, or CLOSED after LAST-ACK), or the connection ended
/// without that. With a linger time it holds one loop timer that aborts the connection when the time
/// runs out first (Windows' SO_LINGER). Runs on the host's loop.
/// </summary>
internal sealed class CloseWatch
{
    private readonly HostConnection _connection;
    private ILoopTimer? _linger;
    private TaskCompletionSource<bool>? _done; // created only when someone awaits
    private bool _finished;
    private bool _acknowledged;
    private bool _watching; // registered for the host's connection events

    private CloseWatch(HostConnection connection) => _connection = connection;

    /// <summary>True while the linger timer is armed (tests check that it is released).</summary>
    internal bool LingerArmed => _linger is not null;

    internal bool Finished => _finished;

    /// <summary>Starts following <paramref name="connection"/>; a non-zero <paramref name="linger"/> arms the abort timer.</summary>
    public static CloseWatch Start(HostConnection connection, TimeSpan linger)
    {
        var watch = new CloseWatch(connection);
        if (watch.TryFinish())
        {
            return watch;
        }

        HostWatches.For(connection.Host).Add(connection, watch);
        watch._watching = true;
        if (linger > TimeSpan.Zero)
        {
            var loop = connection.Host.Loop;
            watch._linger = loop.CreateTimer(watch.OnLingerExpired);
            watch._linger.Set(loop.Now + linger);
        }

        return watch;
    }

    /// <summary>Completes with true when the peer acknowledged everything (FIN included), false when the connection ended otherwise.</summary>
    public Task<bool> Completion
    {
        get
        {
            if (_finished)
            {
                return _acknowledged ? TrueTask : FalseTask;
            }

            _done ??= new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            return _done.Task;
        }
    }

    private static readonly Task<bool> TrueTask = Task.FromResult(true);
    private static readonly Task<bool> FalseTask = Task.FromResult(false);

    private void OnLingerExpired()
    {
        _linger = null; // fired: nothing left to cancel
        if (!_finished)
        {
            // The linger time ran out with data or the FIN unacknowledged: abortive close (RST), the queue is discarded.
            // The CLOSED event this causes finishes the watch.
            _connection.Abort();
            TryFinish();
        }
    }

    private void OnStateChanged() => TryFinish();

    private bool TryFinish()
    {
        if (_finished)
        {
            return true;
        }

        bool acknowledged;
        switch (_connection.State)
        {
            case TcpState.FinWait2 or TcpState.TimeWait:
                acknowledged = true; // our FIN, hence everything before it, is acknowledged (RFC 9293 3.10.7.4)
                break;
            case TcpState.Closed:
                acknowledged = _connection.Engine.Error == TcpError.None; // LAST-ACK's FIN acknowledged, or nothing was ever sent
                break;
            default:
                return false;
        }

        _finished = true;
        _acknowledged = acknowledged;
        if (_linger is { } timer)
        {
            _linger = null;
            timer.Cancel();
        }

        if (_watching)
        {
            _watching = false;
            HostWatches.For(_connection.Host).Remove(_connection);
        }

        _done?.TrySetResult(acknowledged);
        return true;
    }

    /// <summary>
    /// The closing connections of one host being watched. It listens to the host's events only while it
    /// watches one, so a host with no lingering close pays nothing, and one with many pays a lookup per
    /// state change rather than a call per watcher.
    /// </summary>
    private sealed class HostWatches
    {
        private static readonly ConditionalWeakTable<TcpHost, HostWatches> ByHost = [];

        private readonly TcpHost _host;
        private readonly Dictionary<HostConnection, CloseWatch> _watches = new(ReferenceEqualityComparer.Instance);
        private readonly Action<HostConnection, TcpEvent> _onEvent;

        private HostWatches(TcpHost host)
        {
            _host = host;
            _onEvent = OnEvent;
        }

        public static HostWatches For(TcpHost host) => ByHost.GetValue(host, static h => new HostWatches(h));

        public void Add(HostConnection connection, CloseWatch watch)
        {
            if (_watches.Count == 0)
            {
                _host.ConnectionEvent += _onEvent;
            }

            _watches[connection] = watch;
        }

        public void Remove(HostConnection connection)
        {
            if (_watches.Remove(connection) && _watches.Count == 0)
            {
                _host.ConnectionEvent -= _onEvent;
            }
        }

        private void OnEvent(HostConnection connection, TcpEvent e)
        {
            if (e.Kind is TcpEventKind.StateChanged or TcpEventKind.Closed && _watches.TryGetValue(connection, out var watch))
            {
                watch.OnStateChanged();
            }
        }
    }
}
