using System.Diagnostics;
using TcpKit.Wire;

namespace TcpKit.Net.Links;

/// <summary>A source of the current time: virtual in the simulator, real for TUN links.</summary>
public interface IClock
{
    Instant Now { get; }
}

/// <summary>
/// Real time in nanoseconds since the Unix epoch (the unit capture files use), advancing with the
/// monotonic <see cref="Stopwatch"/> so it never runs backwards when the wall clock is adjusted.
/// </summary>
public sealed class SystemClock : IClock
{
    public static SystemClock Instance { get; } = new();

    private readonly long _epochNanosecondsAtStart;
    private readonly long _stopwatchAtStart;

    public SystemClock()
    {
        _stopwatchAtStart = Stopwatch.GetTimestamp();
        _epochNanosecondsAtStart = (DateTime.UtcNow - DateTime.UnixEpoch).Ticks * 100;
    }

    public Instant Now
    {
        get
        {
            long elapsed = Stopwatch.GetTimestamp() - _stopwatchAtStart;
            // Split into whole seconds and remainder so the conversion cannot overflow for long uptimes.
            long seconds = elapsed / Stopwatch.Frequency;
            long rest = elapsed % Stopwatch.Frequency;
            long nanos = (seconds * 1_000_000_000) + (rest * 1_000_000_000 / Stopwatch.Frequency);
            return new Instant(_epochNanosecondsAtStart + nanos);
        }
    }
}
