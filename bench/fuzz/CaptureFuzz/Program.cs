using System.Diagnostics;
using System.Globalization;
using TcpKit.Wire.Tests.Capture;

namespace TcpKit.Fuzz;

/// <summary>
/// Mutation fuzzing campaign for the capture reader: N inputs derived from valid seeds, each read
/// strictly and leniently from memory, a stream and a trickling stream. A crash (any exception other
/// than CaptureFormatException), a disagreement between paths, or an input running over 30 s (hang)
/// is saved to the findings directory. Usage: CaptureFuzz [inputs] [seed] [findings-dir].
/// </summary>
public static class Program
{
    private static long _done;

    public static int Main(string[] args)
    {
        long inputs = args.Length > 0 ? long.Parse(args[0], CultureInfo.InvariantCulture) : 1_000_000;
        int seed = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : Environment.TickCount;
        string findings = args.Length > 2 ? args[2] : Path.Combine(Path.GetTempPath(), "tcpkit-capture-fuzz");
        Directory.CreateDirectory(findings);
        Console.WriteLine($"capture fuzz: {inputs} inputs, seed {seed}, findings in {findings}");

        var seeds = CaptureFuzzer.Seeds();
        var rng = new Random(seed);
        byte[] current = [];
        var watchdog = new Thread(() =>
        {
            long last = -1;
            while (true)
            {
                Thread.Sleep(30_000);
                long now = Interlocked.Read(ref _done);
                if (now == last)
                {
                    string path = Path.Combine(findings, $"hang-{seed}-{now}.bin");
                    File.WriteAllBytes(path, Volatile.Read(ref current));
                    Console.WriteLine($"HANG: input {now} ran over 30 s, saved to {path}");
                    Environment.Exit(2);
                }

                last = now;
            }
        }) { IsBackground = true };
        watchdog.Start();

        int failures = 0;
        long errors = 0;
        var sw = Stopwatch.StartNew();
        for (long i = 0; i < inputs; i++)
        {
            var input = CaptureFuzzer.Mutate(seeds[rng.Next(seeds.Count)], rng, seeds);
            Volatile.Write(ref current, input);
            try
            {
                if (CaptureFuzzer.Check(input).Contains("error", StringComparison.Ordinal))
                {
                    errors++;
                }
            }
            catch (FuzzFailure f)
            {
                failures++;
                string path = Path.Combine(findings, $"crash-{seed}-{i}.bin");
                File.WriteAllBytes(path, f.Input);
                Console.WriteLine($"FAILURE at input {i}: {f.Message}\n  {f.InnerException?.StackTrace?.Split('\n').FirstOrDefault()}\n  saved to {path}");
                if (failures >= 20)
                {
                    break;
                }
            }

            Interlocked.Increment(ref _done);
            if ((i + 1) % 100_000 == 0)
            {
                Console.WriteLine($"  {i + 1} inputs, {(i + 1) / sw.Elapsed.TotalSeconds:F0}/s, {errors} rejected with CaptureFormatException, {failures} failures");
            }
        }

        long total = Interlocked.Read(ref _done);
        Console.WriteLine($"done: {total} inputs in {sw.Elapsed.TotalSeconds:F1} s = {total / sw.Elapsed.TotalSeconds:F0} inputs/s; " +
            $"{errors} gave CaptureFormatException (strict or lenient), {failures} failures");
        return failures == 0 ? 0 : 1;
    }
}
