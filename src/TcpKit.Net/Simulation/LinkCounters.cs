namespace TcpKit.Net.Simulation;

/// <summary>What happened to the packets offered to one direction of a simulated link.</summary>
public sealed class LinkCounters
{
    /// <summary>Packets offered to this direction (duplicates not included).</summary>
    public long Sent { get; internal set; }

    public long SentBytes { get; internal set; }

    /// <summary>Packets handed to the receiving host (or forwarded by the switch), duplicates included.</summary>
    public long Delivered { get; internal set; }

    public long DeliveredBytes { get; internal set; }

    /// <summary>Chosen by the channel's <see cref="SimulatedChannel.DropFilter"/>.</summary>
    public long DroppedByFilter { get; internal set; }

    /// <summary>Lost to <see cref="LinkProfile.LossRate"/>.</summary>
    public long DroppedLoss { get; internal set; }

    /// <summary>Lost to the Gilbert-Elliott model of <see cref="LinkProfile.BurstLoss"/>.</summary>
    public long DroppedBurstLoss { get; internal set; }

    /// <summary>Arrived at a full drop-tail queue.</summary>
    public long DroppedQueueOverflow { get; internal set; }

    /// <summary>Larger than <see cref="LinkProfile.Mtu"/>.</summary>
    public long DroppedMtu { get; internal set; }

    /// <summary>Reached a switch that knows no port for the destination address (or could not read it).</summary>
    public long DroppedNoRoute { get; internal set; }

    /// <summary>Reached a host NIC that had no receiver set.</summary>
    public long DroppedNoReceiver { get; internal set; }

    /// <summary>Extra copies created.</summary>
    public long Duplicated { get; internal set; }

    /// <summary>Packets that had bits flipped.</summary>
    public long Corrupted { get; internal set; }

    /// <summary>Packets held back by the reorder delay.</summary>
    public long Reordered { get; internal set; }

    public long Dropped => DroppedByFilter + DroppedLoss + DroppedBurstLoss + DroppedQueueOverflow + DroppedMtu + DroppedNoRoute + DroppedNoReceiver;

    /// <summary>Packets (including duplicates) scheduled for arrival but not yet arrived.</summary>
    public long InFlight => Sent + Duplicated - Delivered - Dropped;

    internal void CountDrop(DropReason reason)
    {
        switch (reason)
        {
            case DropReason.Filter: DroppedByFilter++; break;
            case DropReason.Mtu: DroppedMtu++; break;
            case DropReason.QueueOverflow: DroppedQueueOverflow++; break;
            case DropReason.BurstLoss: DroppedBurstLoss++; break;
            case DropReason.Loss: DroppedLoss++; break;
            case DropReason.NoRoute: DroppedNoRoute++; break;
            case DropReason.NoReceiver: DroppedNoReceiver++; break;
            default: throw new ArgumentOutOfRangeException(nameof(reason), reason, null);
        }
    }

    public override string ToString() =>
        $"sent {Sent}, delivered {Delivered}, dropped {Dropped} (filter {DroppedByFilter}, loss {DroppedLoss}, burst {DroppedBurstLoss}, queue {DroppedQueueOverflow}, mtu {DroppedMtu}, no route {DroppedNoRoute}, no receiver {DroppedNoReceiver}), duplicated {Duplicated}, corrupted {Corrupted}, reordered {Reordered}";
}
