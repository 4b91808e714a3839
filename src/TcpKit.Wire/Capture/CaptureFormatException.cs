namespace TcpKit.Wire.Capture;

/// <summary>Why a capture file (or one record/block in it) could not be read.</summary>
public enum CaptureErrorKind
{
    /// <summary>The first four bytes are neither a pcap nor a pcapng magic number.</summary>
    UnknownMagic,
    /// <summary>The file ends inside the pcap file header or the first section header block.</summary>
    TruncatedFileHeader,
    /// <summary>A pcap major version other than 2, or a pcapng section major version other than 1.</summary>
    UnsupportedVersion,
    /// <summary>The file ends inside a pcap record (header or data).</summary>
    TruncatedRecord,
    /// <summary>The file ends inside a pcapng block.</summary>
    TruncatedBlock,
    /// <summary>A captured length above <see cref="CaptureReadOptions.MaxCapturedLength"/> (256 KiB).</summary>
    CapturedLengthTooLarge,
    /// <summary>A pcapng packet block whose captured length does not fit inside the block.</summary>
    CapturedLengthBeyondBlock,
    /// <summary>A pcapng block whose leading and trailing total lengths differ.</summary>
    BlockLengthMismatch,
    /// <summary>A pcapng block total length that is not a multiple of 4.</summary>
    BlockLengthNotMultipleOf4,
    /// <summary>A pcapng block total length below the minimum (12, or more for the block type).</summary>
    BlockLengthTooSmall,
    /// <summary>A pcapng block that must be parsed but is longer than the reader's bound.</summary>
    BlockTooLarge,
    /// <summary>A section header block whose byte-order magic is not 0x1A2B3C4D in either order.</summary>
    BadByteOrderMagic,
    /// <summary>A packet or statistics block naming an interface the section has not described.</summary>
    UnknownInterface,
    /// <summary>An option or name-resolution record that runs past the end of its block.</summary>
    MalformedOptions,
    /// <summary>More interface description blocks than the reader keeps (65536).</summary>
    TooManyInterfaces,
    /// <summary>A link type that the caller asked to decode but TcpKit has no decoder for.</summary>
    UnknownLinkType,
}

/// <summary>
/// A capture file is malformed. <see cref="Offset"/> is the file offset of the record or block
/// (or header) at fault; the message reads "offset N: reason".
/// </summary>
public sealed class CaptureFormatException : Exception
{
    public CaptureFormatException(CaptureErrorKind kind, long offset, string reason)
        : base($"offset {offset}: {reason}")
    {
        Kind = kind;
        Offset = offset;
        Reason = reason;
    }

    public CaptureErrorKind Kind { get; }

    /// <summary>File offset (from the start of the stream) of the record, block or header at fault.</summary>
    public long Offset { get; }

    /// <summary>The reason without the offset prefix.</summary>
    public string Reason { get; }
}
