using System.Runtime.CompilerServices;

namespace TcpKit.Wire.Tcp;

/// <summary>One SACK block (RFC 2018): bytes [Left, Right) have been received.</summary>
public readonly record struct SackBlock(SeqNum Left, SeqNum Right);

/// <summary>The RFC 7323 timestamps option.</summary>
public readonly record struct TcpTimestamp(uint Value, uint EchoReply);

/// <summary>Fixed room for the at most four SACK blocks a 40-byte option space can hold.</summary>
[InlineArray(MaxBlocks)]
public struct SackBlockArray
{
    public const int MaxBlocks = 4;
    private SackBlock _first;
}

/// <summary>
/// The parsed (representation) form of the TCP options TcpKit understands, used by the engine
/// and by the builder. The zero-copy view over raw option bytes lives in <see cref="TcpOptionReader"/>.
/// </summary>
public struct TcpOptions
{
    private SackBlockArray _sack;

    /// <summary>Maximum segment size (kind 2), or null when absent.</summary>
    public ushort? Mss { get; set; }

    /// <summary>Window scale shift count (kind 3), or null when absent.</summary>
    public byte? WindowScale { get; set; }

    /// <summary>SACK-permitted (kind 4).</summary>
    public bool SackPermitted { get; set; }

    /// <summary>Timestamps (kind 8), or null when absent.</summary>
    public TcpTimestamp? Timestamp { get; set; }

    /// <summary>Number of SACK blocks (kind 5) present, 0..4.</summary>
    public int SackCount { get; private set; }

    public readonly SackBlock GetSack(int index)
    {
        if ((uint)index >= (uint)SackCount)
        {
            throw new ArgumentOutOfRangeException(nameof(index));
        }

        return _sack[index];
    }

    /// <summary>Adds a SACK block; returns false when four are already present.</summary>
    public bool TryAddSack(SackBlock block)
    {
        if (SackCount == SackBlockArray.MaxBlocks)
        {
            return false;
        }

        _sack[SackCount++] = block;
        return true;
    }

    public void ClearSack() => SackCount = 0;

    public readonly bool IsEmpty => Mss is null && WindowScale is null && !SackPermitted && Timestamp is null && SackCount == 0;
}
