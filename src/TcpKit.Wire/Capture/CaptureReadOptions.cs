namespace TcpKit.Wire.Capture;

/// <summary>How a <see cref="CaptureReader"/> gets at the bytes of the file.</summary>
public enum CaptureAccess
{
    /// <summary>Memory-map regular files opened by path; stream everything else.</summary>
    Auto,
    /// <summary>Large buffered reads into one reusable buffer (constant memory, any stream).</summary>
    Streaming,
    /// <summary>Map the whole file and parse in place (paths and <see cref="FileStream"/>s only).</summary>
    MemoryMapped,
    /// <summary>Parse in place in caller-supplied memory (chosen by <see cref="CaptureReader.Open(ReadOnlyMemory{byte}, CaptureReadOptions?)"/>).</summary>
    InMemory,
}

/// <summary>Options for <see cref="CaptureReader.Open(string, CaptureReadOptions?)"/>.</summary>
public sealed record CaptureReadOptions
{
    /// <summary>
    /// Largest captured length accepted in any record or block (256 KiB, Wireshark's own maximum
    /// for most link types). It also bounds every buffer the reader allocates.
    /// </summary>
    public const int MaxCapturedLength = 262_144;

    /// <summary>
    /// Largest pcapng block the reader buffers: a maximal packet plus 64 KiB of options and headers.
    /// Longer blocks of types that need parsing are rejected; longer blocks of other types are skipped
    /// by their length without being read.
    /// </summary>
    public const int MaxBlockLength = MaxCapturedLength + 65_536 + 64;

    public static CaptureReadOptions Default { get; } = new();

    /// <summary>
    /// Skip a bad record or block (counted in <see cref="CaptureCounters"/> by reason) instead of
    /// throwing <see cref="CaptureFormatException"/>. After damage to the framing itself the reader
    /// searches forward for the next plausible record/block, and stops if it finds none.
    /// File-level damage (unknown magic, truncated file header) always throws.
    /// </summary>
    public bool Lenient { get; init; }

    public CaptureAccess Access { get; init; } = CaptureAccess.Auto;
}
