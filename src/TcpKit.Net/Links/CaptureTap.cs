using TcpKit.Wire;

namespace TcpKit.Net.Links;

/// <summary>Sees every frame crossing a link, in both directions, with its timestamp.</summary>
public interface ILinkObserver
{
    /// <summary><paramref name="frame"/> is only valid during the call.</summary>
    void OnFrame(LinkDirection direction, ReadOnlySpan<byte> frame, Instant timestamp);
}

/// <summary>
/// A link wrapper that shows every frame to an observer and otherwise changes nothing, in the manner
/// of gVisor's sniffer link endpoint. Outbound frames are observed when the host sends them (stamped
/// with <see cref="IClock.Now"/>), before the inner link may drop them, as tcpdump sees egress
/// traffic; inbound frames are observed on arrival with the time the inner link reports.
/// The tap makes itself the inner link's receiver when constructed; hosts then use the tap, not the
/// inner link.
/// </summary>
/// <remarks>
/// The observer runs on the caller's thread: the sender's for outbound frames, the inner link's
/// delivery thread for inbound ones. An observer shared by both directions of a threaded link must
/// synchronise itself.
/// </remarks>
public sealed class CaptureTap : ILink, ILinkReceiver
{
    private readonly ILink _inner;
    private readonly IClock _clock;
    private readonly ILinkObserver _observer;
    private ILinkReceiver? _receiver;

    public CaptureTap(ILink inner, IClock clock, ILinkObserver observer)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(clock);
        ArgumentNullException.ThrowIfNull(observer);
        _inner = inner;
        _clock = clock;
        _observer = observer;
        // Interpose at once: a capture records arriving frames even while no host listens.
        _inner.SetReceiver(this);
    }

    public CaptureTap(ILink inner, IClock clock, Action<LinkDirection, ReadOnlySpan<byte>, Instant> observer)
        : this(inner, clock, new DelegateObserver(observer ?? throw new ArgumentNullException(nameof(observer))))
    {
    }

    /// <summary>The wrapped link.</summary>
    public ILink Inner => _inner;

    public int Mtu => _inner.Mtu;

    public LinkType LinkType => _inner.LinkType;

    public void Send(ReadOnlySpan<byte> ipPacket)
    {
        _observer.OnFrame(LinkDirection.Outbound, ipPacket, _clock.Now);
        _inner.Send(ipPacket);
    }

    /// <summary>Inbound frames that were observed but found no receiver behind the tap.</summary>
    public long DroppedNoReceiver { get; private set; }

    public void SetReceiver(ILinkReceiver? receiver) => _receiver = receiver;

    void ILinkReceiver.OnPacket(ReadOnlySpan<byte> packet, Instant now)
    {
        _observer.OnFrame(LinkDirection.Inbound, packet, now);
        if (_receiver is null)
        {
            DroppedNoReceiver++;
            return;
        }

        _receiver.OnPacket(packet, now);
    }

    private sealed class DelegateObserver(Action<LinkDirection, ReadOnlySpan<byte>, Instant> callback) : ILinkObserver
    {
        public void OnFrame(LinkDirection direction, ReadOnlySpan<byte> frame, Instant timestamp) => callback(direction, frame, timestamp);
    }
}
