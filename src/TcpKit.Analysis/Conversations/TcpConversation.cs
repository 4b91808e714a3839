using TcpKit.Wire;
using TcpKit.Wire.Tcp;

namespace TcpKit.Analysis.Conversations;

/// <summary>What the analyzer knows about one direction of a conversation.</summary>
public sealed class FlowDirection
{
    /// <summary>Window-scale shift not yet known (no SYN of this direction seen).</summary>
    public const int ScaleUnknown = -1;

    /// <summary>The handshake was seen and window scaling is not in use.</summary>
    public const int ScaleNone = -2;

    /// <summary>The sequence number relative numbers count from (the ISN when the SYN was seen).</summary>
    public SeqNum BaseSeq { get; internal set; }

    public bool BaseSeqSet { get; internal set; }

    /// <summary>The window-scale shift from this side's SYN, or <see cref="ScaleUnknown"/>/<see cref="ScaleNone"/>.</summary>
    public int WindowScale { get; internal set; } = ScaleUnknown;

    public bool SynSeen { get; internal set; }

    public bool FinSeen { get; internal set; }

    public bool RstSeen { get; internal set; }
}

/// <summary>One TCP conversation (Wireshark's tcp.stream): its index, endpoints and both directions.</summary>
public sealed class TcpConversation
{
    internal TcpConversation(int streamIndex, IpAddress source, ushort sourcePort, IpAddress destination, ushort destinationPort, long firstFrame)
    {
        StreamIndex = streamIndex;
        InitiatorAddress = source;
        InitiatorPort = sourcePort;
        ResponderAddress = destination;
        ResponderPort = destinationPort;
        FirstFrame = firstFrame;
    }

    public int StreamIndex { get; }

    /// <summary>The sender of the first packet seen (the client when the SYN was captured).</summary>
    public IpAddress InitiatorAddress { get; }

    public ushort InitiatorPort { get; }

    public IpAddress ResponderAddress { get; }

    public ushort ResponderPort { get; }

    public long FirstFrame { get; }

    /// <summary>Timestamp of the first segment (ns since the epoch).</summary>
    public long FirstTimeNs { get; internal set; } = long.MinValue;

    /// <summary>Timestamp of the latest segment.</summary>
    public long LastTimeNs { get; internal set; }

    /// <summary>Direction 0 is initiator to responder, 1 the reverse.</summary>
    public FlowDirection[] Directions { get; } = [new(), new()];

    public int DirectionOf(IpAddress source, ushort sourcePort) =>
        source == InitiatorAddress && sourcePort == InitiatorPort ? 0 : 1;
}
