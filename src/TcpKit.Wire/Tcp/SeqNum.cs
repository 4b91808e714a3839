using System.Diagnostics;

namespace TcpKit.Wire.Tcp;

/// <summary>
/// A TCP sequence number: a point on the 2^32 circle (RFC 9293 section 3.4).
/// Comparison is modular (RFC 1982 serial number arithmetic), so a &lt; b means
/// "a comes before b within half the sequence space". Differences are signed ints.
/// There is no raw uint arithmetic on sequence numbers anywhere else in TcpKit.
/// </summary>
[DebuggerDisplay("{Value}")]
public readonly record struct SeqNum(uint Value)
{
    public static SeqNum operator +(SeqNum s, int n) => new(unchecked(s.Value + (uint)n));

    public static SeqNum operator -(SeqNum s, int n) => new(unchecked(s.Value - (uint)n));

    /// <summary>Signed distance from <paramref name="b"/> to <paramref name="a"/> (a - b), in (-2^31, 2^31].</summary>
    public static int operator -(SeqNum a, SeqNum b) => unchecked((int)(a.Value - b.Value));

    public static bool operator <(SeqNum a, SeqNum b) => (a - b) < 0;

    public static bool operator >(SeqNum a, SeqNum b) => (a - b) > 0;

    public static bool operator <=(SeqNum a, SeqNum b) => (a - b) <= 0;

    public static bool operator >=(SeqNum a, SeqNum b) => (a - b) >= 0;

    public static SeqNum Max(SeqNum a, SeqNum b) => a >= b ? a : b;

    public static SeqNum Min(SeqNum a, SeqNum b) => a <= b ? a : b;

    /// <summary>True when <paramref name="lo"/> &lt;= this &lt; <paramref name="hi"/> on the circle.</summary>
    public bool InHalfOpen(SeqNum lo, SeqNum hi) => unchecked(Value - lo.Value) < unchecked(hi.Value - lo.Value);

    /// <summary>True when <paramref name="lo"/> &lt;= this &lt;= <paramref name="hi"/> on the circle.</summary>
    public bool InClosed(SeqNum lo, SeqNum hi) => unchecked(Value - lo.Value) <= unchecked(hi.Value - lo.Value);

    /// <summary>Offset of this number relative to a base (e.g. ISN), as the unsigned distance used for relative sequence numbers.</summary>
    public uint RelativeTo(SeqNum isn) => unchecked(Value - isn.Value);

    public override string ToString() => Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
