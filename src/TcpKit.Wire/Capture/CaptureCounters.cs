namespace TcpKit.Wire.Capture;

/// <summary>What a <see cref="CaptureReader"/> has read and (in lenient mode) skipped so far.</summary>
public sealed class CaptureCounters
{
    private readonly long[] _skipped = new long[Enum.GetValues<CaptureErrorKind>().Length];

    /// <summary>Packets delivered by TryRead.</summary>
    public long PacketsRead { get; internal set; }

    /// <summary>Well-formed pcapng blocks of types the reader does not use (custom, DSB, unknown ...), skipped by length.</summary>
    public long OtherBlocksSkipped { get; internal set; }

    /// <summary>
    /// Packets whose captured length exceeds their interface's snapshot length (but not 256 KiB).
    /// They are delivered whole, as Wireshark does; this only counts them.
    /// </summary>
    public long CapturedLengthAboveSnapLength { get; internal set; }

    /// <summary>Name resolution records beyond the 65536 the reader keeps.</summary>
    public long NameRecordsDropped { get; internal set; }

    /// <summary>Bad records/blocks skipped in lenient mode (including the one that stopped the reader, if any).</summary>
    public long TotalSkipped
    {
        get
        {
            long sum = 0;
            foreach (var n in _skipped)
            {
                sum += n;
            }

            return sum;
        }
    }

    /// <summary>The message (as the strict reader would have thrown it) of the last skipped record, or null.</summary>
    public string? LastSkipMessage { get; private set; }

    public long Skipped(CaptureErrorKind kind) => _skipped[(int)kind];

    internal void CountSkip(CaptureErrorKind kind, string message)
    {
        _skipped[(int)kind]++;
        LastSkipMessage = message;
    }
}
