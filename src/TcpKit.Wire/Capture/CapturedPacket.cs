using System.Text;

namespace TcpKit.Wire.Capture;

/// <summary>
/// One packet from a capture file. <see cref="Data"/> (and the comment bytes) point into the
/// reader's buffer or the mapped file and are valid only until the reader's next
/// <see cref="CaptureReader.TryRead"/>; copy what must outlive that.
/// </summary>
public readonly ref struct CapturedPacket
{
    private readonly ReadOnlySpan<byte> _comment;

    internal CapturedPacket(
        ReadOnlySpan<byte> data,
        long originalLength,
        long timestampNs,
        bool hasTimestamp,
        int interfaceIndex,
        LinkType linkType,
        long fileOffset,
        long ordinal,
        uint flags,
        bool hasComment,
        ReadOnlySpan<byte> comment)
    {
        Data = data;
        OriginalLength = originalLength;
        TimestampNs = timestampNs;
        HasTimestamp = hasTimestamp;
        InterfaceIndex = interfaceIndex;
        LinkType = linkType;
        FileOffset = fileOffset;
        Ordinal = ordinal;
        Flags = flags;
        HasComment = hasComment;
        _comment = comment;
    }

    /// <summary>The captured bytes, starting with the link-layer header.</summary>
    public ReadOnlySpan<byte> Data { get; }

    public int CapturedLength => Data.Length;

    /// <summary>Length of the packet on the wire (may exceed <see cref="CapturedLength"/>).</summary>
    public long OriginalLength { get; }

    /// <summary>Nanoseconds since 1970-01-01T00:00:00Z, after if_tsresol and if_tsoffset.</summary>
    public long TimestampNs { get; }

    /// <summary>False for pcapng simple packet blocks, which carry no timestamp (then <see cref="TimestampNs"/> is 0).</summary>
    public bool HasTimestamp { get; }

    /// <summary>Index into <see cref="CaptureReader.Interfaces"/> (file-wide, across sections; always 0 for pcap).</summary>
    public int InterfaceIndex { get; }

    /// <summary>The interface's link type, carried through even when TcpKit has no decoder for it.</summary>
    public LinkType LinkType { get; }

    /// <summary>Offset of the pcap record header or pcapng block in the file.</summary>
    public long FileOffset { get; }

    /// <summary>0 for the first packet delivered by the reader, then 1, 2, ...</summary>
    public long Ordinal { get; }

    /// <summary>The pcapng epb_flags option (direction, reception type, FCS length, errors), or 0.</summary>
    public uint Flags { get; }

    /// <summary>True when the block carries an opt_comment.</summary>
    public bool HasComment { get; }

    /// <summary>The first opt_comment as raw UTF-8 (empty when none); no allocation.</summary>
    public ReadOnlySpan<byte> CommentUtf8 => _comment;

    /// <summary>The first opt_comment decoded from UTF-8, or null. Allocates; call only when wanted.</summary>
    public string? GetComment() => HasComment ? Encoding.UTF8.GetString(_comment) : null;
}
