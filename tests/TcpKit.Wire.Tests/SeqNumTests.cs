using CsCheck;
using TcpKit.Wire.Tcp;

namespace TcpKit.Wire.Tests;

public class SeqNumTests
{
    [Fact]
    public void Comparison_wraps_around_the_top_of_the_sequence_space()
    {
        var before = new SeqNum(0xFFFF_FFF0);
        var after = before + 0x20;
        Assert.Equal(0x10u, after.Value);
        Assert.True(before < after);
        Assert.True(after > before);
        Assert.Equal(0x20, after - before);
    }

    [Fact]
    public void Adding_then_subtracting_returns_the_original_number()
    {
        Gen.Select(Gen.UInt, Gen.Int).Sample((v, n) => new SeqNum(v) + n - n == new SeqNum(v));
    }

    [Fact]
    public void Distance_is_antisymmetric_and_ordering_follows_it()
    {
        Gen.Select(Gen.UInt, Gen.UInt).Sample((x, y) =>
        {
            var a = new SeqNum(x);
            var b = new SeqNum(y);
            int d = a - b;
            return (d == int.MinValue || -(b - a) == d) && (a < b) == (d < 0) && (a == b) == (d == 0);
        });
    }

    [Fact]
    public void Half_open_range_contains_its_start_but_not_its_end()
    {
        Gen.Select(Gen.UInt, Gen.Int[1, int.MaxValue]).Sample((v, len) =>
        {
            var lo = new SeqNum(v);
            var hi = lo + len;
            return lo.InHalfOpen(lo, hi) && !hi.InHalfOpen(lo, hi) && (hi - 1).InHalfOpen(lo, hi) && hi.InClosed(lo, hi);
        });
    }
}

public class InstantTests
{
    [Fact]
    public void Adding_a_timespan_advances_by_its_ticks_and_never_stays_never()
    {
        var t = Instant.FromMilliseconds(1500) + TimeSpan.FromMilliseconds(40);
        Assert.Equal(1_540_000_000, t.Nanoseconds);
        Assert.Equal(TimeSpan.FromMilliseconds(40), t - Instant.FromMilliseconds(1500));
        Assert.Equal(Instant.Never, Instant.Never + TimeSpan.FromSeconds(1));
    }
}
