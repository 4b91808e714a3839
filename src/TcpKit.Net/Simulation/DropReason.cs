namespace TcpKit.Net.Simulation;

/// <summary>Why the simulated network discarded a packet; each has a counter in <see cref="LinkCounters"/>.</summary>
public enum DropReason
{
    /// <summary>The channel's <see cref="SimulatedChannel.DropFilter"/> chose it.</summary>
    Filter,

    /// <summary>Larger than the path MTU.</summary>
    Mtu,

    /// <summary>Arrived at a full drop-tail queue.</summary>
    QueueOverflow,

    /// <summary>Gilbert-Elliott burst loss.</summary>
    BurstLoss,

    /// <summary>Independent random loss.</summary>
    Loss,

    /// <summary>A switch knew no port for its destination.</summary>
    NoRoute,

    /// <summary>The destination host had no receiver.</summary>
    NoReceiver,
}
