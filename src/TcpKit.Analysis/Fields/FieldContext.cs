using TcpKit.Analysis.Conversations;
using TcpKit.Wire;

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

    public bool HasIp => Status is DecodeStatus.Ok or DecodeStatus.NotTcp or DecodeStatus.Fragment;

    public bool HasTcp => Status == DecodeStatus.Ok;
}
