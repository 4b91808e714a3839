using TcpKit.Analysis.Conversations;
using TcpKit.Wire;
using TcpKit.Wire.Ip;

namespace TcpKit.Analysis.Fields;

/// <summary>
/// Everything known about one frame while its fields are printed or filtered. The decoded headers and the
/// analysis are referenced, not copied: a context is a few words however large those structs grow, and it
/// is valid until its producer handles the next frame.
/// </summary>
public readonly ref struct FieldContext
{
    private readonly ref readonly DecodedPacket _decoded;
    private readonly ref readonly SegmentAnalysis _analysis;
    private readonly ref readonly IcmpQuote _quote;
    private readonly ref readonly QuoteAnalysis _quoteAnalysis;

    /// <summary>
    /// A context over copies of <paramref name="decoded"/> and <paramref name="analysis"/> kept in storage this
    /// thread's contexts built this way share: valid until the next one is built on the same thread.
    /// </summary>
    public FieldContext(ReadOnlySpan<byte> frame, LinkType link, long number, long originalLength, long relativeNs, long deltaNs, DecodeStatus status, scoped in DecodedPacket decoded, scoped in SegmentAnalysis analysis)
        : this(frame, link, number, originalLength, relativeNs, deltaNs, status, Copy(decoded, analysis), hasQuote: false)
    {
    }

    /// <summary>A frame that is an ICMP error quoting a TCP header (copied like the constructor above).</summary>
    public FieldContext(ReadOnlySpan<byte> frame, LinkType link, long number, long originalLength, long relativeNs, long deltaNs, DecodeStatus status, scoped in DecodedPacket decoded, scoped in SegmentAnalysis analysis, scoped in IcmpQuote quote, scoped in QuoteAnalysis quoteAnalysis)
        : this(frame, link, number, originalLength, relativeNs, deltaNs, status, Copy(decoded, analysis, quote, quoteAnalysis), hasQuote: true)
    {
    }

    /// <summary>A context over <paramref name="slots"/>, which the caller overwrites for the next frame.</summary>
    internal FieldContext(ReadOnlySpan<byte> frame, LinkType link, long number, long originalLength, long relativeNs, long deltaNs, DecodeStatus status, FrameSlots slots, bool hasQuote)
    {
        Frame = frame;
        Link = link;
        Number = number;
        OriginalLength = originalLength;
        RelativeNs = relativeNs;
        DeltaNs = deltaNs;
        Status = status;
        _decoded = ref slots.Decoded;
        _analysis = ref slots.Analysis;
        // Frames without a quote (nearly all) see the empty one instead of a slot that would need clearing.
        var quoteSlots = hasQuote ? slots : FrameSlots.Empty;
        _quote = ref quoteSlots.Quote;
        _quoteAnalysis = ref quoteSlots.QuoteAnalysis;
    }

    public ReadOnlySpan<byte> Frame { get; }

    public LinkType Link { get; }

    public long Number { get; }

    public long OriginalLength { get; }

    /// <summary>frame.time_relative: since the first frame of the capture.</summary>
    public long RelativeNs { get; }

    /// <summary>frame.time_delta: since the previous frame.</summary>
    public long DeltaNs { get; }

    public DecodeStatus Status { get; }

    public ref readonly DecodedPacket Decoded => ref _decoded;

    /// <summary>Valid when <see cref="HasTcp"/>.</summary>
    public ref readonly SegmentAnalysis Analysis => ref _analysis;

    /// <summary>
    /// The IP header was decoded: also when the capture cut the TCP header's fixed part, after a whole IP header
    /// (the decoder sets the protocol only once the IP header has parsed), as Wireshark still shows ip.*.
    /// </summary>
    public bool HasIp => Status is DecodeStatus.Ok or DecodeStatus.NotTcp or DecodeStatus.Fragment
        || (Status == DecodeStatus.Truncated && Decoded.Protocol == TcpKit.Wire.IpProtocol.Tcp);

    public bool HasTcp => Status == DecodeStatus.Ok;

    /// <summary>The TCP header (or its first 8 bytes) an ICMP error message quotes, when <see cref="HasQuotedTcp"/>.</summary>
    public ref readonly IcmpQuote Quote => ref _quote;

    /// <summary>The quoted segment's conversation and clock, when the quote holds a whole TCP header.</summary>
    public ref readonly QuoteAnalysis QuoteAnalysis => ref _quoteAnalysis;

    /// <summary>An ICMP error quoting at least the ports and sequence number of a TCP segment.</summary>
    public bool HasQuotedTcp => _quote.HasPorts;

    /// <summary>The quote holds a whole TCP header, so it belongs to a tcp.stream.</summary>
    public bool HasQuotedTcpHeader => _quote.HasTcpHeader;

    /// <summary>The quoted IP packet's bytes (offsets in <see cref="IcmpQuote.Inner"/> are relative to them).</summary>
    public ReadOnlySpan<byte> QuotedBytes => Frame[_quote.Offset..];

    [ThreadStatic]
    private static FrameSlots? t_copies;

    private static FrameSlots Copy(scoped in DecodedPacket decoded, scoped in SegmentAnalysis analysis)
    {
        var slots = t_copies ??= new FrameSlots();
        slots.Decoded = decoded;
        slots.Analysis = analysis;
        return slots;
    }

    private static FrameSlots Copy(scoped in DecodedPacket decoded, scoped in SegmentAnalysis analysis, scoped in IcmpQuote quote, scoped in QuoteAnalysis quoteAnalysis)
    {
        var slots = Copy(decoded, analysis);
        slots.Quote = quote;
        slots.QuoteAnalysis = quoteAnalysis;
        return slots;
    }
}

/// <summary>The per-frame values a <see cref="FieldContext"/> refers to, owned by whoever produces the contexts.</summary>
internal sealed class FrameSlots
{
    /// <summary>Never written: what a frame without an ICMP quote shows.</summary>
    public static readonly FrameSlots Empty = new();

    public DecodedPacket Decoded;
    public SegmentAnalysis Analysis;
    public IcmpQuote Quote;
    public QuoteAnalysis QuoteAnalysis;
}
