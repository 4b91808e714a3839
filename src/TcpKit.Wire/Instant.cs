using System.Diagnostics;
using System.Globalization;

namespace TcpKit.Wire;

/// <summary>
/// A point in time in nanoseconds on some clock: virtual (simulation, packetdrill, tests) or real.
/// The engine never reads a clock itself; time is always passed in as an Instant.
/// Capture timestamps use the same unit (nanoseconds since the Unix epoch).
/// </summary>
[DebuggerDisplay("{ToString()}")]
public readonly record struct Instant(long Nanoseconds) : IComparable<Instant>
{
    public static readonly Instant Zero = new(0);

    /// <summary>A deadline that never comes; useful as "no timer armed".</summary>
    public static readonly Instant Never = new(long.MaxValue);

    public static Instant FromMicroseconds(long us) => new(checked(us * 1_000));

    public static Instant FromMilliseconds(long ms) => new(checked(ms * 1_000_000));

    public static Instant FromSeconds(double seconds) => new(checked((long)Math.Round(seconds * 1e9)));

    public long Microseconds => Nanoseconds / 1_000;

    public long Milliseconds => Nanoseconds / 1_000_000;

    public double TotalSeconds => Nanoseconds / 1e9;

    public static Instant operator +(Instant t, TimeSpan d) => t == Never ? Never : new(checked(t.Nanoseconds + (d.Ticks * 100)));

    public static Instant operator -(Instant t, TimeSpan d) => new(checked(t.Nanoseconds - (d.Ticks * 100)));

    /// <summary>Elapsed time between two instants, at 100 ns resolution (TimeSpan ticks).</summary>
    public static TimeSpan operator -(Instant a, Instant b) => TimeSpan.FromTicks((a.Nanoseconds - b.Nanoseconds) / 100);

    public static bool operator <(Instant a, Instant b) => a.Nanoseconds < b.Nanoseconds;

    public static bool operator >(Instant a, Instant b) => a.Nanoseconds > b.Nanoseconds;

    public static bool operator <=(Instant a, Instant b) => a.Nanoseconds <= b.Nanoseconds;

    public static bool operator >=(Instant a, Instant b) => a.Nanoseconds >= b.Nanoseconds;

    public static Instant Min(Instant a, Instant b) => a <= b ? a : b;

    public static Instant Max(Instant a, Instant b) => a >= b ? a : b;

    public int CompareTo(Instant other) => Nanoseconds.CompareTo(other.Nanoseconds);

    public override string ToString() => this == Never ? "never" : (Nanoseconds / 1e9).ToString("0.000000000", CultureInfo.InvariantCulture) + "s";
}
