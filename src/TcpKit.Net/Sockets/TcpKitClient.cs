using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using TcpKit.Net.Host;
using TcpKit.Tcp;
using TcpKit.Wire;
using TcpKit.Wire.Tcp;

namespace TcpKit.Net;

/// <summary>
/// A TCP connection on a <see cref="TcpHost"/>, shaped like <see cref="TcpClient"/>: <c>ConnectAsync</c>,
/// <c>GetStream</c>, options, half-close and abortive close. Errors are <see cref="SocketException"/>s
/// with the usual <see cref="SocketError"/> codes.
/// </summary>
public sealed class TcpKitClient : IDisposable
{
    private readonly TcpHost _host;
    private HostConnection? _connection;
    private TcpKitStream? _stream;
    private TcpKitPipe? _pipe;
    private TcpConfig _config;
    private LingerOption? _linger;
    private bool _closeCalled;
    private CloseWatch? _closeWatch; // follows a lingering close or one awaited with CloseAsync

    public TcpKitClient(TcpHost host)
    {
        _host = host;
        _config = host.Config;
    }

    internal TcpKitClient(TcpHost host, HostConnection connection)
    {
        _host = host;
        _connection = connection;
        _config = connection.Engine.Config;
    }

    /// <summary>The host-side connection (engine state, 4-tuple, statistics); null before ConnectAsync.</summary>
    public HostConnection? Connection => _connection;

    public bool Connected => _connection?.State is TcpState.Established or TcpState.CloseWait or TcpState.FinWait1 or TcpState.FinWait2;

    public TcpState State => _connection?.State ?? TcpState.Closed;

    /// <summary>Disables Nagle's algorithm (RFC 9293 section 3.7.4). On a connected client it applies at once: held data is sent.</summary>
    public bool NoDelay
    {
        get => _connection?.Engine.NoDelay ?? _config.NoDelay;
        set => ApplyOption(static (c, v) => c.SetNoDelay(v), value, static (config, v) => config with { NoDelay = v });
    }

    /// <summary>The send buffer size; on a connected client the live buffer is resized (queued data is kept).</summary>
    public int SendBufferSize
    {
        get => _connection?.Engine.SendBufferSize ?? _config.SendBufferSize;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            ApplyOption(static (c, v) => c.SetSendBufferSize(v), value, static (config, v) => config with { SendBufferSize = v });
        }
    }

    /// <summary>
    /// The receive buffer size; on a connected client a larger size opens the window (with a window update), a
    /// smaller one never takes back window already offered.
    /// </summary>
    public int ReceiveBufferSize
    {
        get => _connection?.Engine.ReceiveBufferSize ?? _config.ReceiveBufferSize;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            ApplyOption(static (c, v) => c.SetReceiveBufferSize(v), value, static (config, v) => config with { ReceiveBufferSize = v });
        }
    }

    /// <summary>Keep-alive probes (RFC 1122 section 4.2.3.6), like SO_KEEPALIVE; settable before or after connecting.</summary>
    public bool KeepAlive
    {
        get => KeepaliveSettings.Enabled;
        set => SetKeepalive(KeepaliveSettings with { Enabled = value });
    }

    /// <summary>Idle time before the first probe (TCP_KEEPIDLE / SocketOptionName.TcpKeepAliveTime).</summary>
    public TimeSpan KeepAliveTime
    {
        get => KeepaliveSettings.Idle;
        set => SetKeepalive(KeepaliveSettings with { Idle = value });
    }

    /// <summary>Time between unanswered probes (TCP_KEEPINTVL / SocketOptionName.TcpKeepAliveInterval).</summary>
    public TimeSpan KeepAliveInterval
    {
        get => KeepaliveSettings.Interval;
        set => SetKeepalive(KeepaliveSettings with { Interval = value });
    }

    /// <summary>Unanswered probes before the peer is declared dead (TCP_KEEPCNT / SocketOptionName.TcpKeepAliveRetryCount).</summary>
    public int KeepAliveRetryCount
    {
        get => KeepaliveSettings.Count;
        set => SetKeepalive(KeepaliveSettings with { Count = value });
    }

    private KeepaliveConfig KeepaliveSettings => _connection?.Engine.Keepalive ?? _config.Keepalive;

    private void SetKeepalive(KeepaliveConfig keepalive)
        => ApplyOption(static (c, v) => c.SetKeepalive(v), keepalive, static (config, v) => config with { Keepalive = v });

    /// <summary>
    /// A socket option: applied to the live connection when there is one (the engine acts on it at once),
    /// otherwise kept in the configuration the connection will be created with.
    /// </summary>
    private void ApplyOption<T>(Action<HostConnection, T> onConnection, T value, Func<TcpConfig, T, TcpConfig> beforeConnect)
    {
        if (_connection is { } c)
        {
            onConnection(c, value);
        }
        else
        {
            Configure(beforeConnect(_config, value));
        }
    }

    /// <summary>Every engine setting at once, for what the properties above do not cover. Set before connecting (the properties above also work afterwards).</summary>
    public TcpConfig Config
    {
        get => _config;
        set => Configure(value);
    }

    /// <summary>
    /// What Close and Dispose do with data not yet delivered (SO_LINGER); settable before or after connecting,
    /// read when Close is called. The meaning is Windows' and .NET's documented <see cref="LingerOption"/> one:
    /// <list type="bullet">
    /// <item>null or not <c>Enabled</c>: Close returns at once; queued data and then the FIN are sent in the background.</item>
    /// <item><c>Enabled</c> with <c>LingerTime</c> 0: abortive close, a RST at once and queued data discarded.</item>
    /// <item><c>Enabled</c> with <c>LingerTime</c> n &gt; 0: the FIN follows queued data as usual, and if the peer has not
    /// acknowledged all of it and the FIN within n seconds of the Close, the connection is aborted (RST, rest
    /// discarded). Finished in time, nothing more happens (FIN-WAIT-2, TIME-WAIT as usual).</item>
    /// </list>
    /// Close never blocks the event loop: the linger runs on a loop timer, and <see cref="CloseAsync"/> awaits its
    /// outcome. Linux differs for n &gt; 0: its close() blocks up to n seconds and then returns, leaving the
    /// connection to finish closing in the background instead of resetting it.
    /// </summary>
    public LingerOption? LingerState
    {
        get => _linger;
        set
        {
            if (value is { LingerTime: < 0 })
            {
                throw new ArgumentOutOfRangeException(nameof(value), value.LingerTime, "LingerTime must not be negative.");
            }

            _linger = value;
        }
    }

    public Task ConnectAsync(IPAddress address, int port) => ConnectAsync(address, port, CancellationToken.None).AsTask();

    /// <summary>Connects; a ValueTask as in <see cref="TcpClient.ConnectAsync(IPAddress, int, CancellationToken)"/>, so a connect costs no Task.</summary>
    public ValueTask ConnectAsync(IPAddress address, int port, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(address);
        return ConnectAsync(IpAddress.FromIPAddress(address), port, cancellationToken);
    }

    public Task ConnectAsync(IpAddress address, int port) => ConnectAsync(address, port, CancellationToken.None).AsTask();

    /// <remarks>
    /// Not an async method, so a connect costs no state machine; every error still arrives through the
    /// returned task, as it would from an async method.
    /// </remarks>
    public ValueTask ConnectAsync(IpAddress address, int port, CancellationToken cancellationToken)
    {
        try
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(port, 1);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(port, 65535);
            if (_connection is not null)
            {
                throw new SocketException((int)SocketError.IsConnected);
            }

            _connection = _host.Connect(address, (ushort)port, _config);
            return _connection.WaitConnectedAsync(cancellationToken);
        }
        catch (Exception e) when (e is SocketException or ArgumentException)
        {
            return ValueTask.FromException(e);
        }
    }

    /// <summary>The connection as a <see cref="Stream"/>. A connection is used through its stream or its pipe (<see cref="GetPipe"/>), not both.</summary>
    public TcpKitStream GetStream()
    {
        var conn = _connection ?? throw new InvalidOperationException("The operation is not allowed on non-connected sockets.");
        if (_pipe is not null)
        {
            throw new InvalidOperationException("The connection is used through its pipe (GetPipe); it cannot also be read or written as a stream.");
        }

        return _stream ??= new TcpKitStream(conn);
    }

    /// <summary>
    /// The connection as an <see cref="IDuplexPipe"/> (System.IO.Pipelines), the same one on every call; call it on the
    /// host's loop. <c>Input</c> yields the bytes received, completes at the peer's FIN and throws the
    /// <see cref="SocketException"/> when the connection is reset; <c>Output</c> hands flushed data to TCP,
    /// <c>Output.Complete()</c> sends a FIN after it (half-close, Input keeps reading) and
    /// <c>Output.Complete(exception)</c> aborts the connection (RST). Buffers are rented from
    /// <see cref="TcpKitPipeOptions.Pool"/>. Back-pressure: Input stops taking bytes from TCP once
    /// <see cref="TcpKitPipeOptions.InputPauseThreshold"/> bytes wait unread, so TCP's receive window closes; Output's
    /// FlushAsync waits once <see cref="TcpKitPipeOptions.OutputPauseThreshold"/> bytes wait for a full send buffer.
    /// After the connection was aborted locally, Input completes and Output's FlushAsync reports IsCompleted, without
    /// exceptions. <see cref="Close"/> sends the FIN after what was flushed to Output; Input then still delivers what
    /// arrives until the peer's FIN. Completing Input stops reading from TCP: later data stays in the TCB (its window
    /// closes), and a Close with such data unread resets the connection (RFC 1122 section 4.2.2.13). Complete both
    /// Input and Output when done, so their segments go back to the pool.
    /// A connection is used through its pipe or its stream (<see cref="GetStream"/>), not both.
    /// </summary>
    public IDuplexPipe GetPipe(TcpKitPipeOptions? options = null)
    {
        var conn = _connection ?? throw new InvalidOperationException("The operation is not allowed on non-connected sockets.");
        if (_stream is not null)
        {
            throw new InvalidOperationException("The connection is used through its stream (GetStream); it cannot also be read or written through a pipe.");
        }

        return _pipe ??= new TcpKitPipe(conn, options ?? TcpKitPipeOptions.Default);
    }

    /// <summary>Half-close: no more sending (a FIN follows queued data); reading goes on.</summary>
    public void Shutdown(SocketShutdown how)
    {
        var conn = _connection ?? throw new InvalidOperationException("The operation is not allowed on non-connected sockets.");
        if (how is SocketShutdown.Send or SocketShutdown.Both)
        {
            if (_pipe is { } pipe)
            {
                pipe.Shutdown(); // the FIN follows what the application already flushed to the pipe
            }
            else
            {
                conn.Shutdown();
            }
        }
    }

    /// <summary>
    /// Closes the connection as <see cref="LingerState"/> says: FIN after queued data (data flushed to the pipe's
    /// Output included), an immediate RST, or a FIN with a deadline after which the connection is reset. Returns
    /// at once; later calls do nothing.
    /// </summary>
    public void Close()
    {
        var conn = _connection;
        if (conn is null || _closeCalled)
        {
            return;
        }

        _closeCalled = true;
        var linger = _linger;
        if (linger is { Enabled: true, LingerTime: 0 })
        {
            conn.Abort();
            _pipe?.OnAborted();
            return;
        }

        if (_pipe is { } pipe)
        {
            pipe.Close(); // the FIN follows what the application already flushed to the pipe
        }
        else
        {
            conn.Close();
        }

        if (linger is { Enabled: true, LingerTime: > 0 })
        {
            _closeWatch = CloseWatch.Start(conn, TimeSpan.FromSeconds(linger.LingerTime));
        }
    }

    /// <summary>
    /// <see cref="Close"/>, then waits until the send side has finished: true once the peer has acknowledged all
    /// data and the FIN, false when the connection ended otherwise (reset by either side, the linger time expired,
    /// retransmissions gave up). Cancelling stops the wait only; the close goes on. Without a linger time it can
    /// wait as long as the peer keeps its window closed.
    /// </summary>
    public Task<bool> CloseAsync(CancellationToken cancellationToken = default)
    {
        var conn = _connection;
        if (conn is null)
        {
            return Task.FromResult(true);
        }

        Close();
        _closeWatch ??= CloseWatch.Start(conn, TimeSpan.Zero);
        var completion = _closeWatch.Completion;
        return cancellationToken.CanBeCanceled && !completion.IsCompleted ? completion.WaitAsync(cancellationToken) : completion;
    }

    /// <summary>Same as <see cref="Close"/>, LingerState included.</summary>
    public void Dispose() => Close();

    /// <summary>The close being followed, if any (tests check its linger timer is released).</summary>
    internal CloseWatch? PendingClose => _closeWatch;

    private void Configure(TcpConfig config)
    {
        if (_connection is not null)
        {
            throw new InvalidOperationException("Config applies when the connection is created: set it before ConnectAsync (or on the listener's Config for accepted connections); NoDelay, buffer sizes and keep-alive can be changed afterwards.");
        }

        if (!ReferenceEquals(config, _config))
        {
            config.Validate(); // the host checked its own settings when it was made
        }

        _config = config;
    }
}
