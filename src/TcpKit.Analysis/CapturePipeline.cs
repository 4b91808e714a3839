using System.Runtime.CompilerServices;
using TcpKit.Analysis.Conversations;
using TcpKit.Analysis.Fields;
using TcpKit.Wire;
using TcpKit.Wire.Capture;

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

    public ConversationTracker Tracker { get; } = new();

    /// <summary>Frames seen so far.</summary>
    public long Count => _number;

    /// <summary>Processes the next frame and returns its context (valid until the packet's data is released).</summary>
    // Runs once per frame in a process that usually lives for one capture: compile it optimized at once
    // rather than through tier-0 and PGO-instrumented code first.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public FieldContext Next(in CapturedPacket packet)
    {
        long delta = Clock(packet.TimestampNs);
        var frame = packet.Data;
        var status = PacketDecoder.Decode(packet.LinkType, frame, (int)Math.Min(packet.OriginalLength, int.MaxValue), out var decoded);
        var analysis = default(SegmentAnalysis);
        if (status == DecodeStatus.Ok)
        {
            Tracker.Observe(decoded, frame, _number, packet.TimestampNs, packet.OriginalLength, ref analysis);
        }

        return new FieldContext(frame, packet.LinkType, _number, packet.OriginalLength, packet.TimestampNs - _firstNs, delta, status, decoded, analysis);
    }

    /// <summary>
    /// Processes the next frame for its effect on the conversations only (the conversation table, a summary
    /// at the end): the same analysis as <see cref="Next"/> without building a per-frame context.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Advance(in CapturedPacket packet)
    {
        Clock(packet.TimestampNs);
        var frame = packet.Data;
        if (PacketDecoder.Decode(packet.LinkType, frame, (int)Math.Min(packet.OriginalLength, int.MaxValue), out var decoded) == DecodeStatus.Ok)
        {
            var analysis = default(SegmentAnalysis);
            Tracker.Observe(decoded, frame, _number, packet.TimestampNs, packet.OriginalLength, ref analysis);
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
