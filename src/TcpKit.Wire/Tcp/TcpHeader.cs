namespace TcpKit.Wire.Tcp;

/// <summary>
/// The parsed representation of a TCP header (smoltcp's "Repr"): what the engine consumes and
/// produces. Bytes on the wire are read through <see cref="TcpSegment"/> and written by
/// <see cref="TcpHeader.Emit"/>.
/// </summary>
public struct TcpHeader
{
    public ushort SourcePort;
    public ushort DestinationPort;
    public SeqNum Seq;
    public SeqNum Ack;
    public TcpFlags Flags;
    /// <summary>The raw 16-bit window field, before any window-scale shift.</summary>
    public ushort Window;
    public ushort UrgentPointer;
    public TcpOptions Options;

    public readonly bool Has(TcpFlags flag) => (Flags & flag) == flag;
}
