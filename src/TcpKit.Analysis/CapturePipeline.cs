using System.Runtime.CompilerServices;
using TcpKit.Analysis.Conversations;
using TcpKit.Analysis.Fields;
using TcpKit.Wire;
using TcpKit.Wire.Capture;
using TcpKit.Wire.Ip;

namespace TcpKit.Analysis;

/// <summary>
/// The per-packet path every analysis command shares: decode the frame down to TCP, assign it to its
/// conversation, and keep the capture-relative clock. Allocates nothing per packet.
/// </summary>
public sealed class CapturePipeline
{
    private long _firstNs = long.MinValue;
    private long _previousNs;
    private long _number;
    private readonly FrameSlots _slots = new();

    public ConversationTracker Tracker { get; } = new();

    /// <summary>Frames seen so far.</summary>
    public long Count => _number;

    /// <summary>Processes the next frame and returns its context (valid until the next call or until the packet's data is released).</summary>
    // Runs once per frame in a process that usually lives for one capture: compile it optimized at once
    // rather than through tier-0 and PGO-instrumented code first.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public FieldContext Next(in CapturedPacket packet)
    {
        long delta = Clock(packet.TimestampNs);
        var frame = packet.Data;
        // The frame's values are written into the slots in place and the context refers to them: no copy of
        // the decoded headers or the analysis per frame (they are hundreds of bytes).
        var slots = _slots;
        var status = PacketDecoder.Decode(packet.LinkType, frame, (int)Math.Min(packet.OriginalLength, int.MaxValue), out slots.Decoded);
        slots.Analysis = default;
        bool hasQuote = false;
        if (status == DecodeStatus.Ok)
        {
            Tracker.Observe(slots.Decoded, frame, _number, packet.TimestampNs, packet.OriginalLength, ref slots.Analysis);
        }
        else if (IsIcmpError(status, slots.Decoded) && IcmpQuote.TryDecode(slots.Decoded, frame, out slots.Quote))
        {
            slots.QuoteAnalysis = Tracker.ObserveQuote(slots.Quote, frame, _number, packet.TimestampNs);
            hasQuote = true;
        }

        return new FieldContext(frame, packet.LinkType, _number, packet.OriginalLength, packet.TimestampNs - _firstNs, delta, status, slots, hasQuote);
    }

    /// <summary>ICMP or ICMPv6 that may quote a TCP header (which takes a stream number like Wireshark's).</summary>
    private static bool IsIcmpError(DecodeStatus status, in DecodedPacket decoded)
        => status == DecodeStatus.NotTcp && decoded.Protocol is IpProtocol.Icmp or IpProtocol.Icmpv6;

    /// <summary>
    /// Processes the next frame for its effect on the conversations only (the conversation table, a summary
    /// at the end): the same analysis as <see cref="Next"/> without building a per-frame context.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Advance(in CapturedPacket packet)
    {
        Clock(packet.TimestampNs);
        var frame = packet.Data;
        var slots = _slots;
        var status = PacketDecoder.Decode(packet.LinkType, frame, (int)Math.Min(packet.OriginalLength, int.MaxValue), out slots.Decoded);
        if (status == DecodeStatus.Ok)
        {
            slots.Analysis = default;
            Tracker.Observe(slots.Decoded, frame, _number, packet.TimestampNs, packet.OriginalLength, ref slots.Analysis);
        }
        else if (IsIcmpError(status, slots.Decoded) && IcmpQuote.TryDecode(slots.Decoded, frame, out slots.Quote))
        {
            // Streams numbered as in Next, so a conversation a quote opened first keeps its place.
            Tracker.ObserveQuote(slots.Quote, frame, _number, packet.TimestampNs);
        }
    }

    /// <summary>Counts the frame and moves the capture clock; returns frame.time_delta.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private long Clock(long timestampNs)
    {
        _number++;
        if (_firstNs == long.MinValue)
        {
            _firstNs = timestampNs;
            _previousNs = timestampNs;
            Tracker.CaptureStartNs = timestampNs;
        }

        long delta = timestampNs - _previousNs;
        _previousNs = timestampNs;
        return delta;
    }
}
