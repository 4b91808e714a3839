using BenchmarkDotNet.Running;
using TcpKit.Benchmarks.SideBySide;

namespace TcpKit.Benchmarks;

public static class Program
{
    /// <summary>
    /// <c>parse FILE [RUNS]</c> runs the side-by-side parse benchmark (see bench/parse-vs-tcpdump.sh);
    /// anything else goes to BenchmarkDotNet's switcher.
    /// </summary>
    public static int Main(string[] args)
    {
        if (args.Length >= 2 && args[0] == "parse")
        {
            return ParseCapture.Run(args[1], args.Length >= 3 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 5);
        }

        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }
}
