using System.Diagnostics;

namespace TcpKit.Benchmarks.SideBySide;

/// <summary>
/// How fast this machine's memory answers right now. The shared 2-core machine the benchmarks run on slows
/// down for seconds at a time: a random walk that stays in a 1 MiB array (each step one L2 access when the
/// machine is quiet) then runs two to four times slower, and a pure Python loop about 1.8 times slower, while
/// the kernel reports no steal time. The open+close workload is dominated by cache misses, so its rate falls
/// with it; printing the walk's speed beside each round shows which rounds ran on a slowed machine.
/// </summary>
internal static class MachineSpeed
{
    private const int Steps = 2_000_000;

    private static readonly int[] Ring = MakeRing(1 << 18);

    /// <summary>Steps of the walk per microsecond, the best of three walks of about 15 ms each on a quiet machine.</summary>
    public static double MeasureMemory()
    {
        double best = 0;
        for (int t = 0; t < 3; t++)
        {
            var sw = Stopwatch.StartNew();
            int i = 0;
            for (int k = 0; k < Steps; k++)
            {
                i = Ring[i]; // each step waits for the last: latency, not bandwidth
            }

            sw.Stop();
            GC.KeepAlive(i);
            best = Math.Max(best, Steps / sw.Elapsed.TotalMicroseconds);
        }

        return best;
    }

    /// <summary>
    /// Steps per nanosecond of a chain of dependent multiply-adds (each step waits for the one before, about four
    /// cycles on a quiet core), the best of three runs of about 10 ms. It needs no memory at all, so when it slows
    /// down it is the core itself that runs slower (a lower clock, or its time shared below the scheduler's view).
    /// </summary>
    public static double MeasureCompute()
    {
        const int steps = 10_000_000;
        double best = 0;
        ulong x = 1;
        for (int t = 0; t < 3; t++)
        {
            var sw = Stopwatch.StartNew();
            for (int k = 0; k < steps; k++)
            {
                x = (x * 6364136223846793005UL) + 1442695040888963407UL;
            }

            sw.Stop();
            best = Math.Max(best, steps / (sw.Elapsed.TotalMicroseconds * 1000));
        }

        GC.KeepAlive(x);
        return best;
    }

    /// <summary>One cycle through all <paramref name="n"/> slots in a random order, so the prefetcher cannot guess the next step.</summary>
    private static int[] MakeRing(int n)
    {
        var order = Enumerable.Range(0, n).ToArray();
        new Random(1).Shuffle(order);
        var ring = new int[n];
        for (int k = 0; k < n; k++)
        {
            ring[order[k]] = order[(k + 1) % n];
        }

        return ring;
    }
}
