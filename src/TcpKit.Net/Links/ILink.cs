using TcpKit.Wire;

namespace TcpKit.Net.Links;

/// <summary>
/// A network as a host stack sees it: raw IP packets out, raw IP packets in.
/// Implementations: the simulated network's NIC, a Linux TUN device, and <see cref="CaptureTap"/>
/// which wraps any other link.
/// </summary>
/// <remarks>
/// Received packets are pushed to the <see cref="ILinkReceiver"/> set with <see cref="SetReceiver"/>.
/// Push suits every implementation: the simulator calls it from its event loop in virtual time, a TUN
/// link calls it once per packet of each batch it reads on the event loop's thread, and a wrapper such as
/// <see cref="CaptureTap"/> only has to interpose itself as the receiver. Which thread calls the
/// receiver is documented by each implementation.
/// </remarks>
public interface ILink
{
    /// <summary>Largest IP packet, in bytes, the link accepts; larger packets are dropped and counted.</summary>
    int Mtu { get; }

    /// <summary>What the packets on this link start with; <see cref="LinkType.Raw"/> for the simulator and TUN.</summary>
    LinkType LinkType { get; }

    /// <summary>
    /// Transmits one packet. The link copies what it needs before returning, so the caller may reuse
    /// <paramref name="ipPacket"/> immediately. Never throws for a packet the network would drop
    /// (too large, no route, queue full); such packets are counted by the implementation.
    /// </summary>
    void Send(ReadOnlySpan<byte> ipPacket);

    /// <summary>Sets (or with null, removes) the receiver of incoming packets. Packets arriving without a receiver are dropped and counted.</summary>
    void SetReceiver(ILinkReceiver? receiver);
}

/// <summary>Consumer of packets arriving on an <see cref="ILink"/>.</summary>
public interface ILinkReceiver
{
    /// <summary>
    /// One received packet. <paramref name="packet"/> is only valid during the call (the link reuses its
    /// buffer afterwards); copy what must outlive it. <paramref name="now"/> is the arrival time on the
    /// link's clock.
    /// </summary>
    void OnPacket(ReadOnlySpan<byte> packet, Instant now);
}

/// <summary>
/// A receiver that wants to know where a link's batch of packets (those read in one wake-up) ends, so it can
/// answer the batch as a whole: a host sends one cumulative ACK for in-order data that arrived together, as
/// Linux does for a GRO-merged run of segments, instead of one per second segment.
/// </summary>
public interface ILinkBatchReceiver : ILinkReceiver
{
    /// <summary>Packets that follow, until <see cref="OnBatchEnd"/>, arrived together.</summary>
    void OnBatchStart();

    /// <summary>The batch is over: the receiver answers what it deferred.</summary>
    void OnBatchEnd(Instant now);
}
