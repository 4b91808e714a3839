using System.Net;
using System.Net.Sockets;
using System.Threading.Tasks.Sources;
using TcpKit.Net.Host;
using TcpKit.Tcp;
using TcpKit.Wire;

namespace TcpKit.Net;

/// <summary>
/// Listens for connections on a <see cref="TcpHost"/>, shaped like <see cref="TcpListener"/>:
/// <c>Start</c>, <c>AcceptTcpClientAsync</c>, <c>Stop</c>.
/// </summary>
public sealed class TcpKitListener
{
    private readonly TcpHost _host;
    private HostListener? _listener;

    public TcpKitListener(TcpHost host, int port)
        : this(host, null, port)
    {
    }

    public TcpKitListener(TcpHost host, IPAddress? localAddress, int port)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(port, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, 65535);
        _host = host;
        Config = host.Config;
        LocalAddress = localAddress is null || localAddress.Equals(IPAddress.Any) || localAddress.Equals(IPAddress.IPv6Any) ? null : IpAddress.FromIPAddress(localAddress);
        Port = (ushort)port;
    }

    public ushort Port { get; }

    /// <summary>The address listened on, or null for every address of the host.</summary>
    public IpAddress? LocalAddress { get; }

    /// <summary>Engine settings for accepted connections (NoDelay, buffers, keep-alive...); the host's by default. Set before Start.</summary>
    public TcpConfig Config { get; set; }

    public bool Active => _listener is not null;

    public void Start(int backlog = 128)
    {
        if (_listener is not null)
        {
            return;
        }

        _listener = _host.Listen(LocalAddress, Port, backlog, Config);
    }

    public void Stop()
    {
        if (_listener is not null)
        {
            _host.StopListening(_listener);
            _listener = null;
        }
    }

    /// <summary>Waits for the next connection whose handshake has completed.</summary>
    public Task<TcpKitClient> AcceptTcpClientAsync() => AcceptTcpClientAsync(CancellationToken.None).AsTask();

    /// <summary>
    /// Waits for the next connection whose handshake has completed; a ValueTask as in
    /// <see cref="TcpListener.AcceptTcpClientAsync(CancellationToken)"/>, so an accept that waits costs no Task.
    /// </summary>
    /// <remarks>
    /// Not an async method: a wait that has to wait is the host's accept wait itself, seen through an adapter that
    /// wraps its connection in a <see cref="TcpKitClient"/> when the result is taken, so an accept costs no state
    /// machine and no second trip through the event loop. Errors still arrive through the returned ValueTask.
    /// </remarks>
    public ValueTask<TcpKitClient> AcceptTcpClientAsync(CancellationToken cancellationToken)
    {
        try
        {
            var listener = _listener ?? throw new InvalidOperationException("Not listening. You must call Start() before calling this method.");
            if (_host.TryAccept(listener, cancellationToken, out var ready, out var waiter, out short token))
            {
                return new ValueTask<TcpKitClient>(new TcpKitClient(_host, ready));
            }

            var accepted = (AcceptedClient?)waiter.Companion ?? (AcceptedClient)(waiter.Companion = new AcceptedClient(_host, waiter));
            return new ValueTask<TcpKitClient>(accepted, token);
        }
        catch (Exception e)
        {
            return ValueTask.FromException<TcpKitClient>(e);
        }
    }

    /// <summary>The host's accept wait, with its connection handed out as a <see cref="TcpKitClient"/>.</summary>
    private sealed class AcceptedClient(TcpHost host, IValueTaskSource<HostConnection> wait) : IValueTaskSource<TcpKitClient>
    {
        public TcpKitClient GetResult(short token) => new(host, wait.GetResult(token));

        public ValueTaskSourceStatus GetStatus(short token) => wait.GetStatus(token);

        public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            wait.OnCompleted(continuation, state, token, flags);
    }
}
