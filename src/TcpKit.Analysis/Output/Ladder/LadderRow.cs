using TcpKit.Wire;
using TcpKit.Wire.Tcp;

namespace TcpKit.Analysis.Output.Ladder;

/// <summary>Which column of the ladder a segment leaves from.</summary>
public enum LadderSide : byte
{
    /// <summary>The connection's initiator, drawn on the left.</summary>
    Client = 0,

    /// <summary>The responder, drawn on the right.</summary>
    Server = 1,
}

/// <summary>
/// An endpoint's RFC 9293 state as the analyzer knows it. <see cref="Inferred"/> is true when it was
/// not observed from the start (a capture that begins mid-connection), so it prints "ESTABLISHED (inferred)".
/// </summary>
public readonly record struct EndpointState(TcpState State, bool Inferred = false)
{
    public override string ToString() => Inferred ? State.ToRfcName() + " (inferred)" : State.ToRfcName();
}

/// <summary>One segment of a ladder (sequence) diagram: an arrow between the client and server columns.</summary>
public sealed record LadderRow
{
    /// <summary>Frame number in the capture (1-based), or the segment's ordinal in a live demo.</summary>
    public long Frame { get; init; }

    /// <summary>Time of the segment in nanoseconds (relative to the start of the ladder, or absolute: the renderer prints it as seconds).</summary>
    public long TimeNs { get; init; }

    /// <summary>The same time as an <see cref="Instant"/> (for the engine's virtual clock).</summary>
    public Instant Time
    {
        get => new(TimeNs);
        init => TimeNs = value.Nanoseconds;
    }

    public LadderSide Sender { get; init; }

    public TcpFlags Flags { get; init; }

    /// <summary>Relative sequence number (tcp.seq).</summary>
    public uint Seq { get; init; }

    /// <summary>Relative acknowledgment number; null when the ACK flag is clear.</summary>
    public uint? Ack { get; init; }

    /// <summary>Payload length (tcp.len).</summary>
    public int Length { get; init; }

    /// <summary>The advertised window (scaled when the scale is known).</summary>
    public long Window { get; init; }

    /// <summary>A short printable preview of the payload, e.g. "GET / HTTP/1.1", or null.</summary>
    public string? Payload { get; init; }

    public EndpointState? ClientBefore { get; init; }

    public EndpointState? ClientAfter { get; init; }

    public EndpointState? ServerBefore { get; init; }

    public EndpointState? ServerAfter { get; init; }

    /// <summary>One line saying why the segment was sent or what it did, printed under the arrow.</summary>
    public string? Explanation { get; init; }

    /// <summary>Expert tags as tshark prints them, e.g. "TCP Retransmission" (shown in brackets before the flags).</summary>
    public IReadOnlyList<string> Expert { get; init; } = [];
}
