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

    public ConversationTracker Tracker { get; } = new();

    /// <summary>Frames seen so far.</summary>
    public long Count => _number;

    /// <summary>Processes the next frame and returns its context (valid until the packet's data is released).</summary>
    // Runs once per frame in a process that usually lives for one capture: compile it optimized at once
    // rather than through tier-0 and PGO-instrumented code first.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public FieldContext Next(in CapturedPacket packet)
    {
        _number++;
        if (_firstNs == long.MinValue)
        {
            _firstNs = packet.TimestampNs;
            _previousNs = packet.TimestampNs;
            Tracker.CaptureStartNs = packet.TimestampNs;
        }

        var frame = packet.Data;
        var status = PacketDecoder.Decode(packet.LinkType, frame, (int)Math.Min(packet.OriginalLength, int.MaxValue), out var decoded);
        var analysis = status == DecodeStatus.Ok ? Tracker.Observe(decoded, frame, _number, packet.TimestampNs, packet.OriginalLength) : default;
        long delta = packet.TimestampNs - _previousNs;
        _previousNs = packet.TimestampNs;
        if (status == DecodeStatus.NotTcp && (decoded.Protocol is IpProtocol.Icmp or IpProtocol.Icmpv6) && IcmpQuote.TryDecode(decoded, frame, out var quote))
        {
            var quoteAnalysis = Tracker.ObserveQuote(quote, frame, _number, packet.TimestampNs);
            return new FieldContext(frame, packet.LinkType, _number, packet.OriginalLength, packet.TimestampNs - _firstNs, delta, status, decoded, analysis, quote, quoteAnalysis);
        }

        return new FieldContext(frame, packet.LinkType, _number, packet.OriginalLength, packet.TimestampNs - _firstNs, delta, status, decoded, analysis);
    }
}
