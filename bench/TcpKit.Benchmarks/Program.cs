using BenchmarkDotNet.Running;
using TcpKit.Benchmarks.SideBySide;

namespace TcpKit.Benchmarks;

public static class Program
{
    /// <summary>
    /// <c>parse FILE [RUNS]</c> (bench/parse-vs-tcpdump.sh), <c>sim-bulk [BYTES] [RUNS]</c>, <c>sim-open-close [N] [ROUNDS]</c>, <c>sim-open-close-callbacks [N] [ROUNDS]</c> and
    /// <c>sim-idle [N]</c> (bench/sim-vs-kernel.sh) are the side-by-side measurements; <c>machine-speed [N]</c> prints how fast
    /// the shared machine's memory answers right now (see MachineSpeed);
    /// anything else goes to BenchmarkDotNet's switcher.
    /// </summary>
    public static int Main(string[] args)
    {
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        switch (args.Length > 0 ? args[0] : "")
        {
            case "parse" when args.Length >= 2:
                return ParseCapture.Run(args[1], args.Length >= 3 ? int.Parse(args[2], inv) : 5);
            case "machine-speed":
                // The memory walk's speed, every 200 ms: steps per microsecond (see MachineSpeed).
                for (int i = 0; i < (args.Length >= 2 ? int.Parse(args[1], inv) : 20); i++)
                {
                    Console.Write(string.Create(inv, $"{MachineSpeed.MeasureMemory():F0} "));
                    Thread.Sleep(200);
                }

                Console.WriteLine();
                return 0;
            case "sim-bulk":
                return SimulatedStack.Bulk(args.Length >= 2 ? long.Parse(args[1], inv) : 1L << 30, args.Length >= 3 ? int.Parse(args[2], inv) : 3);
            case "sim-open-close-allocations":
                {
                    // Which types the open+close workload allocates, from the runtime's sampled allocation events.
                    using var probe = new AllocProbe();
                    SimulatedStack.OpenClose(args.Length >= 2 ? int.Parse(args[1], inv) : 100_000);
                    lock (probe.Bytes)
                    {
                        foreach (var kv in probe.Bytes.OrderByDescending(kv => kv.Value).Take(30))
                        {
                            Console.WriteLine($"{kv.Value / 1_000_000.0,10:F1} MB {kv.Key}");
                        }
                    }

                    return 0;
                }
            case "sim-open-close":
                return SimulatedStack.OpenClose(args.Length >= 2 ? int.Parse(args[1], inv) : 100_000, args.Length >= 3 ? int.Parse(args[2], inv) : 1);
            case "sim-open-close-callbacks":
                return SimulatedStack.OpenCloseCallbacks(args.Length >= 2 ? int.Parse(args[1], inv) : 100_000, args.Length >= 3 ? int.Parse(args[2], inv) : 1);
            case "fuzz-packets":
                return PacketFuzz.Run(args.Length >= 2 ? long.Parse(args[1], inv) : 1_000_000, args.Length >= 3 ? ulong.Parse(args[2], inv) : 1);
            case "sim-idle":
                return SimulatedStack.Idle(args.Length >= 2 ? int.Parse(args[1], inv) : 100_000);
        }

        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }
}
