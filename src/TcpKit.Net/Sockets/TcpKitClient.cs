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
        _config = connection.Tcb.Config;
    }

    /// <summary>The host-side connection (engine state, 4-tuple, statistics); null before ConnectAsync.</summary>
    public HostConnection? Connection => _connection;

    public bool Connected => _connection?.State is TcpState.Established or TcpState.CloseWait or TcpState.FinWait1 or TcpState.FinWait2;

    public TcpState State => _connection?.State ?? TcpState.Closed;

    /// <summary>Disables Nagle's algorithm (RFC 9293 section 3.7.4). Set before connecting.</summary>
    public bool NoDelay
    {
        get => _config.NoDelay;
        set => Configure(_config with { NoDelay = value });
    }

    public int SendBufferSize
    {
        get => _config.SendBufferSize;
        set => Configure(_config with { SendBufferSize = value });
    }

    public int ReceiveBufferSize
    {
        get => _config.ReceiveBufferSize;
        set => Configure(_config with { ReceiveBufferSize = value });
    }

    /// <summary>Keep-alive probes (RFC 1122 section 4.2.3.6) with the engine's idle/interval/count settings.</summary>
    public bool KeepAlive
    {
        get => _config.Keepalive.Enabled;
        set => Configure(_config with { Keepalive = _config.Keepalive with { Enabled = value } });
    }

    /// <summary>Every engine setting at once, for what the properties above do not cover. Set before connecting.</summary>
    public TcpConfig Config
    {
        get => _config;
        set => Configure(value);
    }

    /// <summary>With <c>Enabled</c> and a zero <c>LingerTime</c>, Close and Dispose reset the connection (abortive close).</summary>
    public LingerOption? LingerState { get; set; }

    public async Task ConnectAsync(IPAddress address, int port, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(address);
        await ConnectAsync(IpAddress.FromIPAddress(address), port, cancellationToken).ConfigureAwait(true);
    }

    /// <remarks>
    /// Not an async method, so a connect costs no state machine; every error still arrives through the
    /// returned task, as it would from an async method.
    /// </remarks>
    public Task ConnectAsync(IpAddress address, int port, CancellationToken cancellationToken = default)
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
            return Task.FromException(e);
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
            throw new InvalidOperationException("TcpKit applies connection options when the connection is created: set them before ConnectAsync (or on the listener's Config for accepted connections).");
        }

        config.Validate();
        _config = config;
    }
}
