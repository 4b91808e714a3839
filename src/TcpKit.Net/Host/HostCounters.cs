namespace TcpKit.Net.Host;

/// <summary>Why a host dropped an incoming packet.</summary>
public enum HostDropReason : byte
{
    /// <summary>Not a parsable IPv4/IPv6 packet.</summary>
    MalformedIp,
    /// <summary>Addressed to an address this host does not have.</summary>
    NotForUs,
    /// <summary>An upper-layer protocol other than TCP.</summary>
    NotTcp,
    /// <summary>An IP fragment: TcpKit does not reassemble IP fragments.</summary>
    Fragment,
    /// <summary>A TCP header that does not parse (bad data offset, truncated).</summary>
    MalformedTcp,
    /// <summary>The TCP checksum is wrong (for example a bit flipped on the way).</summary>
    BadChecksum,
    /// <summary>A SYN to a listener whose SYN and accept queues are full.</summary>
    ListenQueueFull,
    /// <summary>A segment for no connection and no listener; answered with RST unless it was one.</summary>
    NoConnection,
    /// <summary>The IPv4 header checksum is wrong (RFC 1122 3.2.1.2: verified on every datagram, a bad one silently discarded).</summary>
    BadIpChecksum,
}

/// <summary>Counters of a host: packets in and out, drops by reason, RSTs sent for unknown connections.</summary>
public sealed class HostCounters
{
    private readonly long[] _drops = new long[Enum.GetValues<HostDropReason>().Length];

    public long PacketsReceived { get; internal set; }

    public long PacketsSent { get; internal set; }

    public long ResetsSent { get; internal set; }

    public long Drops(HostDropReason reason) => _drops[(int)reason];

    public long TotalDrops => _drops.Sum();

    internal void Drop(HostDropReason reason) => _drops[(int)reason]++;
}
