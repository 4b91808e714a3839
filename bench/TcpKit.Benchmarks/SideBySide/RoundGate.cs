namespace TcpKit.Benchmarks.SideBySide;

/// <summary>
/// Lets a script outside the process count exactly one measured round (bench/open-close-instructions-tiered.sh):
/// with TCPKIT_BENCH_GATE_DIR set, the benchmark writes <c>ready.R</c> there before round R and waits for
/// <c>go.R</c>, then writes <c>done.R</c> after it and waits for <c>resume.R</c>. In between, the script
/// switches valgrind's instruction counting on and off, so the count is that of the round alone, after a
/// warm-up in which the runtime compiled the hot methods at their final tier (with PGO) as in a normal run.
/// </summary>
internal static class RoundGate
{
    private static readonly string? Directory = Environment.GetEnvironmentVariable("TCPKIT_BENCH_GATE_DIR");

    public static void Enter(int round) => Signal($"ready.{round}", $"go.{round}");

    public static void Leave(int round) => Signal($"done.{round}", $"resume.{round}");

    private static void Signal(string mine, string theirs)
    {
        if (Directory is null)
        {
            return;
        }

        File.WriteAllText(Path.Combine(Directory, mine), "");
        var wait = Path.Combine(Directory, theirs);
        var giveUp = DateTime.UtcNow + TimeSpan.FromMinutes(10);
        while (!File.Exists(wait))
        {
            if (DateTime.UtcNow > giveUp)
            {
                throw new TimeoutException($"nobody created {wait}");
            }

            Thread.Sleep(20);
        }
    }
}
