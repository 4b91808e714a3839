using System.Numerics;

namespace TcpKit.Net.Simulation;

/// <summary>
/// xoshiro256** (Blackman and Vigna, 2018) seeded through SplitMix64: a small, fast generator whose
/// output for a given seed is fixed by its definition, so simulations replay identically on every
/// .NET version and platform (unlike <see cref="System.Random"/>, whose algorithm is unspecified).
/// Only integer operations and exactly rounded double arithmetic are used.
/// </summary>
public sealed class SimRandom
{
    private ulong _s0, _s1, _s2, _s3;

    public SimRandom(ulong seed)
    {
        // SplitMix64 expands the seed; it never yields the all-zero state xoshiro must avoid
        // (four consecutive SplitMix64 outputs cannot all be zero).
        ulong x = seed;
        _s0 = SplitMix64(ref x);
        _s1 = SplitMix64(ref x);
        _s2 = SplitMix64(ref x);
        _s3 = SplitMix64(ref x);
    }

    /// <summary>How many 64-bit values have been drawn; lets tests prove a path consumes no randomness.</summary>
    public long Draws { get; private set; }

    /// <summary>One step of SplitMix64 (Steele, Lea and Flood 2014), also used to derive independent seeds.</summary>
    public static ulong SplitMix64(ref ulong state)
    {
        state += 0x9E3779B97F4A7C15UL;
        ulong z = state;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    public ulong NextUInt64()
    {
        Draws++;
        ulong result = BitOperations.RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = BitOperations.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>Uniform in [0, 1) with 53 random bits; exact, so identical everywhere.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform in [0, <paramref name="bound"/>) without modulo bias (Lemire 2019, nearly divisionless).</summary>
    public ulong NextBounded(ulong bound)
    {
        ArgumentOutOfRangeException.ThrowIfZero(bound);
        ulong high = Math.BigMul(NextUInt64(), bound, out ulong low);
        if (low < bound)
        {
            ulong threshold = (0 - bound) % bound;
            while (low < threshold)
            {
                high = Math.BigMul(NextUInt64(), bound, out low);
            }
        }

        return high;
    }

    /// <summary>Uniform in [0, <paramref name="bound"/>).</summary>
    public int NextInt32(int bound)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bound);
        return (int)NextBounded((ulong)bound);
    }

    /// <summary>True with probability <paramref name="probability"/>; always draws exactly one value.</summary>
    public bool NextBernoulli(double probability) => NextDouble() < probability;

    /// <summary>
    /// Approximately standard normal: the Irwin-Hall sum of 12 uniforms minus 6. Uses no
    /// transcendental functions (whose last bit may differ between runtimes) and is bounded to
    /// +-6 standard deviations, which suits delay jitter.
    /// </summary>
    public double NextStandardNormal()
    {
        double sum = 0;
        for (int i = 0; i < 12; i++)
        {
            sum += NextDouble();
        }

        return sum - 6.0;
    }
}
