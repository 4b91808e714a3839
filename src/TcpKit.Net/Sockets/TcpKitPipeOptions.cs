using System.Buffers;

namespace TcpKit.Net;

/// <summary>Buffers and back-pressure thresholds of a connection's pipe (<see cref="TcpKitClient.GetPipe"/>).</summary>
public sealed record TcpKitPipeOptions
{
    public static TcpKitPipeOptions Default { get; } = new();

    /// <summary>Where both pipes rent their buffer segments; segments go back as they are consumed.</summary>
    public MemoryPool<byte> Pool { get; init; } = MemoryPool<byte>.Shared;

    /// <summary>
    /// Size of the segments rented, and the most each read from TCP into Input takes. 16 KiB rather than Pipe's
    /// 4 KiB: a 16 MiB one-way transfer in the simulator (Release) took 11.6 ms instead of 19.7 ms (a Stream: 10.7 ms).
    /// </summary>
    public int MinimumSegmentSize { get; init; } = 16 * 1024;

    /// <summary>Unread bytes in Input at which it stops taking data from TCP (TCP's receive window then closes).</summary>
    public long InputPauseThreshold { get; init; } = 64 * 1024;

    /// <summary>Unread bytes in Input below which it takes data from TCP again.</summary>
    public long InputResumeThreshold { get; init; } = 32 * 1024;

    /// <summary>Bytes waiting in Output for TCP's send buffer at which Output's FlushAsync waits.</summary>
    public long OutputPauseThreshold { get; init; } = 64 * 1024;

    /// <summary>Bytes waiting in Output below which a waiting FlushAsync resumes.</summary>
    public long OutputResumeThreshold { get; init; } = 32 * 1024;

    internal void Validate()
    {
        ArgumentNullException.ThrowIfNull(Pool);
        ArgumentOutOfRangeException.ThrowIfLessThan(MinimumSegmentSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(InputPauseThreshold, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(OutputPauseThreshold, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(InputResumeThreshold);
        ArgumentOutOfRangeException.ThrowIfNegative(OutputResumeThreshold);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(InputResumeThreshold, InputPauseThreshold);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(OutputResumeThreshold, OutputPauseThreshold);
    }
}
