namespace TcpKit.Analysis.Conversations;

/// <summary>
/// Wireshark's tcp.analysis.* flags, one bit each. A frame can carry several (for example a zero-window
/// probe ACK is also a zero-window segment); which combinations occur follows tcp_analyze_sequence_number.
/// </summary>
[Flags]
public enum AnalysisFlags : ushort
{
    None = 0,
    Retransmission = 0x0001,
    LostSegment = 0x0002,
    AckLostSegment = 0x0004,
    KeepAlive = 0x0008,
    DuplicateAck = 0x0010,
    ZeroWindow = 0x0020,
    ZeroWindowProbe = 0x0040,
    ZeroWindowProbeAck = 0x0080,
    KeepAliveAck = 0x0100,
    OutOfOrder = 0x0200,
    FastRetransmission = 0x0400,
    WindowUpdate = 0x0800,
    WindowFull = 0x1000,
    ReusedPorts = 0x2000,
    SpuriousRetransmission = 0x4000,
}
