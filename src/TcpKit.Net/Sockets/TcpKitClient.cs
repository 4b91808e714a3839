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
    private TcpConfig _config;

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
    /// With <c>Enabled</c> and a zero <c>LingerTime</c>, Close and Dispose reset the connection (abortive close:
    /// RST, queued data discarded); settable before or after connecting. A non-zero linger time closes in order.
    /// </summary>
    public LingerOption? LingerState { get; set; }

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

    public TcpKitStream GetStream()
    {
        var conn = _connection ?? throw new InvalidOperationException("The operation is not allowed on non-connected sockets.");
        return _stream ??= new TcpKitStream(conn);
    }

    /// <summary>Half-close: no more sending (a FIN follows queued data); reading goes on.</summary>
    public void Shutdown(SocketShutdown how)
    {
        var conn = _connection ?? throw new InvalidOperationException("The operation is not allowed on non-connected sockets.");
        if (how is SocketShutdown.Send or SocketShutdown.Both)
        {
            conn.Shutdown();
        }
    }

    /// <summary>Closes the connection: FIN after queued data, or RST when LingerState asks for an abortive close.</summary>
    public void Close()
    {
        if (_connection is null)
        {
            return;
        }

        if (LingerState is { Enabled: true, LingerTime: 0 })
        {
            _connection.Abort();
        }
        else
        {
            _connection.Close();
        }
    }

    public void Dispose() => Close();

    private void Configure(TcpConfig config)
    {
        if (_connection is not null)
        {
            throw new InvalidOperationException("Config applies when the connection is created: set it before ConnectAsync (or on the listener's Config for accepted connections); NoDelay, buffer sizes and keep-alive can be changed afterwards.");
        }

        config.Validate();
        _config = config;
    }
}
