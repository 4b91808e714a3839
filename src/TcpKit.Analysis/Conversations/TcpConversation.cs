using TcpKit.Analysis.States;
using TcpKit.Wire;
using TcpKit.Wire.Tcp;

namespace TcpKit.Analysis.Conversations;

/// <summary>A segment of one direction that the other side has not acknowledged yet (kept to match ACKs to it).</summary>
internal struct UnackedSegment
{
    public long Frame;
    public SeqNum Seq;
    public SeqNum NextSeq;
    public long TimeNs;
}

/// <summary>What the analyzer knows about one direction of a conversation (the data one endpoint sends).</summary>
public sealed class FlowDirection
{
    /// <summary>Window-scale shift not yet known (no SYN of this direction seen).</summary>
    public const int ScaleUnknown = -1;

    /// <summary>The handshake was seen and window scaling is not in use.</summary>
    public const int ScaleNone = -2;

    /// <summary>Unacked segments kept per direction at most (as Wireshark does), so memory per conversation is bounded.</summary>
    internal const int MaxUnacked = 10_000;

    /// <summary>The sequence number relative numbers count from (the ISN when the SYN was seen).</summary>
    public SeqNum BaseSeq { get; internal set; }

    public bool BaseSeqSet { get; internal set; }

    /// <summary>The window-scale shift this side announced, or <see cref="ScaleUnknown"/>/<see cref="ScaleNone"/>.</summary>
    public int WindowScale { get; internal set; } = ScaleUnknown;

    public bool SynSeen { get; internal set; }

    public bool FinSeen { get; internal set; }

    public bool RstSeen { get; internal set; }

    /// <summary>Frames and bytes (frame.len) this side sent, for the conversation table.</summary>
    public long Frames { get; internal set; }

    public long Bytes { get; internal set; }

    // Sequence analysis state (Wireshark's tcp_analyze_seq_flow_info_t). Absolute numbers; value 0 means "unknown".
    internal uint LastWindow = uint.MaxValue;
    internal bool ValidBif = true;
    internal long PushBytesSent;
    internal bool PushSetLast;
    internal bool IsFirstAck;
    internal bool ClosingInitiator;
    internal AnalysisFlags LastSegmentFlags;
    internal SeqNum NextSeq;
    internal SeqNum MaxSeqToBeAcked;
    internal long NextSeqFrame;
    internal long NextSeqTimeNs;
    internal SeqNum LastAck;
    internal long LastAckTimeNs;
    internal long LastNonDupAck;
    internal uint DupAckNum;
    internal int SackCount;
    internal SackEdges Sacks;

    /// <summary>Oldest first; only segments with data, SYN or FIN that the peer has not fully acknowledged.</summary>
    internal readonly UnackedSegments Unacked = new();

    [System.Runtime.CompilerServices.InlineArray(6)]
    internal struct SackEdges
    {
        private uint _element;
    }
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

    /// <summary>Time of the first and latest frame relative to the capture's first frame (frame.time_relative), for the conversation table.</summary>
    public long StartRelativeNs { get; internal set; }

    public long StopRelativeNs { get; internal set; }

    /// <summary>Direction 0 is initiator to responder, 1 the reverse.</summary>
    public FlowDirection[] Directions { get; } = [new(), new()];

    /// <summary>tcp.completeness bits so far: 1 SYN, 2 SYN-ACK, 4 ACK, 8 data, 16 FIN, 32 RST.</summary>
    public int Completeness { get; internal set; }

    /// <summary>tcp.analysis.initial_rtt: from the last SYN to the first ACK that is not a SYN; 0 until known.</summary>
    public long InitialRttNs { get; internal set; }

    internal long MostRecentSynNs;
    internal bool MostRecentSynSet;

    /// <summary>Each endpoint's inferred RFC 9293 state and the Zeek-style summary.</summary>
    public ConnectionStates States { get; } = new();

    public int DirectionOf(IpAddress source, ushort sourcePort) =>
        source == InitiatorAddress && sourcePort == InitiatorPort ? 0 : 1;
}
