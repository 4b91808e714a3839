using TcpKit.Wire;

namespace TcpKit.Analysis.Conversations;

/// <summary>
/// A TCP 4-tuple in canonical order (the lower address/port pair first), so both directions of a
/// connection map to the same key.
/// </summary>
public readonly record struct ConversationKey(IpAddress AddressA, ushort PortA, IpAddress AddressB, ushort PortB)
{
    /// <summary>Builds the canonical key; <paramref name="fromA"/> says whether the packet was sent by side A.</summary>
    public static ConversationKey Create(IpAddress source, ushort sourcePort, IpAddress destination, ushort destinationPort, out bool fromA)
    {
        int c = source.CompareTo(destination);
        fromA = c < 0 || (c == 0 && sourcePort <= destinationPort);
        return fromA
            ? new ConversationKey(source, sourcePort, destination, destinationPort)
            : new ConversationKey(destination, destinationPort, source, sourcePort);
    }
}
