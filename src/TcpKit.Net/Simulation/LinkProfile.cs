namespace TcpKit.Net.Simulation;

/// <summary>How delay jitter is distributed around <see cref="LinkProfile.Delay"/>.</summary>
public enum JitterDistribution
{
    /// <summary>Uniform in [-Jitter, +Jitter] (netem's default).</summary>
    Uniform,

    /// <summary>Normal with standard deviation Jitter, truncated at 6 standard deviations.</summary>
    Normal,
}

/// <summary>
/// Gilbert-Elliott two-state burst loss (Gilbert 1960, Elliott 1963, as in netem "loss gemodel").
/// Each packet is first lost or kept according to the current state's loss probability; then the
/// state moves Good to Bad with <paramref name="P"/> or Bad to Good with <paramref name="R"/>.
/// With <paramref name="LossInBad"/> = 1 and <paramref name="LossInGood"/> = 0, loss bursts have a
/// mean length of 1/R packets and the long-run loss rate is P/(P+R).
/// </summary>
public sealed record GilbertElliott(double P, double R, double LossInGood = 0, double LossInBad = 1)
{
    internal void Validate()
    {
        LinkProfile.CheckProbability(P, nameof(P));
        LinkProfile.CheckProbability(R, nameof(R));
        LinkProfile.CheckProbability(LossInGood, nameof(LossInGood));
        LinkProfile.CheckProbability(LossInBad, nameof(LossInBad));
    }
}

/// <summary>
/// Impairments of one direction of a simulated link, applied to each packet in this order:
/// MTU check, drop-tail queue and serialization at <see cref="BandwidthBitsPerSecond"/>, burst loss,
/// random loss, propagation delay and jitter, reordering, corruption, duplication.
/// The default profile is an ideal link: no limit, no delay, no randomness.
/// </summary>
public sealed record LinkProfile
{
    /// <summary>An ideal link: everything arrives, in order, at the instant it was sent.</summary>
    public static LinkProfile Ideal { get; } = new();

    /// <summary>Largest packet the path carries; larger ones are dropped and counted (a PMTU black hole). Null: unlimited.</summary>
    public int? Mtu { get; init; }

    /// <summary>One-way propagation delay.</summary>
    public TimeSpan Delay { get; init; }

    /// <summary>
    /// Delay variation. Jitter never reorders packets: a packet never arrives before one sent
    /// earlier in the same direction, except one chosen for reordering.
    /// </summary>
    public TimeSpan Jitter { get; init; }

    public JitterDistribution JitterDistribution { get; init; }

    /// <summary>Independent (Bernoulli) loss probability per packet.</summary>
    public double LossRate { get; init; }

    /// <summary>Burst loss model; null for none.</summary>
    public GilbertElliott? BurstLoss { get; init; }

    /// <summary>Probability that a packet is held back by <see cref="ReorderDelay"/> so later packets overtake it.</summary>
    public double ReorderProbability { get; init; }

    /// <summary>Extra delay of a packet chosen for reordering.</summary>
    public TimeSpan ReorderDelay { get; init; } = TimeSpan.FromMilliseconds(1);

    /// <summary>
    /// Probability that a packet is delivered twice. The copy arrives right after the original with
    /// the same bytes (including any corruption) and uses no extra bandwidth, as in netem.
    /// </summary>
    public double DuplicateProbability { get; init; }

    /// <summary>Probability that a packet has bits flipped in transit.</summary>
    public double CorruptProbability { get; init; }

    /// <summary>
    /// A corrupted packet gets between 1 and this many bits flipped (at most 15). The flipped bits
    /// sit at distinct positions within 16-bit words, which guarantees the Internet checksum
    /// (RFC 1071) of the covering header changes, so a correct receiver always detects the damage.
    /// </summary>
    public int MaxCorruptBits { get; init; } = 1;

    /// <summary>Serialization rate in bits per second; 0 for infinitely fast (no queue).</summary>
    public long BandwidthBitsPerSecond { get; init; }

    /// <summary>
    /// Drop-tail queue size in packets waiting behind the one being serialized (so at most
    /// QueueLimitPackets + 1 packets are accepted back to back). Only meaningful with a bandwidth.
    /// </summary>
    public int QueueLimitPackets { get; init; } = 1000;

    internal const int MaxCorruptBitsLimit = 15;

    /// <summary>Upper bound for every delay setting; keeps nanosecond arithmetic far from overflow.</summary>
    public static TimeSpan MaxDelay { get; } = TimeSpan.FromDays(1);

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        if (Mtu is int mtu && mtu <= 0)
        {
            throw new ArgumentException($"Mtu must be positive, was {mtu}.", nameof(Mtu));
        }

        CheckNonNegative(Delay, nameof(Delay));
        CheckNonNegative(Jitter, nameof(Jitter));
        CheckNonNegative(ReorderDelay, nameof(ReorderDelay));
        CheckProbability(LossRate, nameof(LossRate));
        CheckProbability(ReorderProbability, nameof(ReorderProbability));
        CheckProbability(DuplicateProbability, nameof(DuplicateProbability));
        CheckProbability(CorruptProbability, nameof(CorruptProbability));
        BurstLoss?.Validate();
        if (MaxCorruptBits is < 1 or > MaxCorruptBitsLimit)
        {
            throw new ArgumentException($"MaxCorruptBits must be 1..{MaxCorruptBitsLimit}, was {MaxCorruptBits}.", nameof(MaxCorruptBits));
        }

        if (BandwidthBitsPerSecond < 0)
        {
            throw new ArgumentException($"BandwidthBitsPerSecond must not be negative, was {BandwidthBitsPerSecond}.", nameof(BandwidthBitsPerSecond));
        }

        if (QueueLimitPackets < 0)
        {
            throw new ArgumentException($"QueueLimitPackets must not be negative, was {QueueLimitPackets}.", nameof(QueueLimitPackets));
        }
    }

    internal static void CheckProbability(double p, string name)
    {
        // Written so that NaN fails too.
        if (!(p >= 0 && p <= 1))
        {
            throw new ArgumentException($"{name} must be a probability in [0, 1], was {p}.", name);
        }
    }

    private static void CheckNonNegative(TimeSpan t, string name)
    {
        if (t < TimeSpan.Zero || t > MaxDelay)
        {
            throw new ArgumentException($"{name} must be between zero and {MaxDelay}, was {t}.", name);
        }
    }
}
