using TcpKit.Analysis.Conversations;
using TcpKit.Wire;
using TcpKit.Wire.Ip;

namespace TcpKit.Analysis.Fields;

/// <summary>Everything known about one frame while its fields are printed or filtered.</summary>
public readonly ref struct FieldContext
{
    public FieldContext(ReadOnlySpan<byte> frame, LinkType link, long number, long originalLength, long relativeNs, long deltaNs, DecodeStatus status, scoped in DecodedPacket decoded, scoped in SegmentAnalysis analysis)
    {
        Frame = frame;
        Link = link;
        Number = number;
        OriginalLength = originalLength;
        RelativeNs = relativeNs;
        DeltaNs = deltaNs;
        Status = status;
        Decoded = decoded;
        Analysis = analysis;
    }

    /// <summary>A frame that is an ICMP error quoting a TCP header.</summary>
    public FieldContext(ReadOnlySpan<byte> frame, LinkType link, long number, long originalLength, long relativeNs, long deltaNs, DecodeStatus status, scoped in DecodedPacket decoded, scoped in SegmentAnalysis analysis, scoped in IcmpQuote quote, scoped in QuoteAnalysis quoteAnalysis)
        : this(frame, link, number, originalLength, relativeNs, deltaNs, status, decoded, analysis)
    {
        Quote = quote;
        QuoteAnalysis = quoteAnalysis;
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

    public DecodedPacket Decoded { get; }

    /// <summary>Valid when <see cref="HasTcp"/>.</summary>
    public SegmentAnalysis Analysis { get; }

    /// <summary>
    /// The IP header was decoded: also when the capture cut the TCP header's fixed part, after a whole IP header
    /// (the decoder sets the protocol only once the IP header has parsed), as Wireshark still shows ip.*.
    /// </summary>
    public bool HasIp => Status is DecodeStatus.Ok or DecodeStatus.NotTcp or DecodeStatus.Fragment
        || (Status == DecodeStatus.Truncated && Decoded.Protocol == TcpKit.Wire.IpProtocol.Tcp);

    public bool HasTcp => Status == DecodeStatus.Ok;

    /// <summary>The TCP header (or its first 8 bytes) an ICMP error message quotes, when <see cref="HasQuotedTcp"/>.</summary>
    public IcmpQuote Quote { get; }

    /// <summary>The quoted segment's conversation and clock, when the quote holds a whole TCP header.</summary>
    public QuoteAnalysis QuoteAnalysis { get; }

    /// <summary>An ICMP error quoting at least the ports and sequence number of a TCP segment.</summary>
    public bool HasQuotedTcp => Quote.HasPorts;

    /// <summary>The quote holds a whole TCP header, so it belongs to a tcp.stream.</summary>
    public bool HasQuotedTcpHeader => Quote.HasTcpHeader;

    /// <summary>The quoted IP packet's bytes (offsets in <see cref="IcmpQuote.Inner"/> are relative to them).</summary>
    public ReadOnlySpan<byte> QuotedBytes => Frame[Quote.Offset..];
}
