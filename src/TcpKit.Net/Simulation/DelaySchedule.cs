namespace TcpKit.Net.Simulation;

/// <summary>
/// When a packet that a link takes in at some instant comes out, under a <see cref="LinkProfile"/>'s delay,
/// jitter and reordering: one per direction, shared by the simulated links and the real-time impairment link.
/// Jitter alone never reorders (packets stay in order behind the latest in-order one); only the reorder
/// probability holds a packet back so that later ones overtake it.
/// </summary>
internal sealed class DelaySchedule(SimRandom random)
{
    private long _lastInOrder;

    /// <summary>The instant (ns) the packet taken in at <paramref name="start"/> comes out; <paramref name="reordered"/> when it is held back.</summary>
    public long Next(long start, LinkProfile p, out bool reordered)
    {
        long due = start + (p.Delay.Ticks * 100);
        if (p.Jitter > TimeSpan.Zero)
        {
            due = Math.Max(start, due + JitterNanoseconds(p));
        }

        reordered = p.ReorderProbability > 0 && random.NextBernoulli(p.ReorderProbability);
        if (reordered)
        {
            // Held back and exempt from the in-order clamp, so packets taken in later overtake it.
            due += p.ReorderDelay.Ticks * 100;
        }
        else
        {
            due = Math.Max(due, _lastInOrder);
            _lastInOrder = due;
        }

        return due;
    }

    private long JitterNanoseconds(LinkProfile p)
    {
        long jitter = p.Jitter.Ticks * 100;
        return p.JitterDistribution switch
        {
            JitterDistribution.Normal => (long)Math.Round(random.NextStandardNormal() * jitter),
            _ => (long)random.NextBounded((ulong)((2 * jitter) + 1)) - jitter,
        };
    }
}
