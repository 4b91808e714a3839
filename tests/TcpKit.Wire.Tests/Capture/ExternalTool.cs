using System.Diagnostics;

namespace TcpKit.Wire.Tests.Capture;

/// <summary>Runs a third-party oracle (tshark, capinfos, dumpcap) and collects its output.</summary>
internal static class ExternalTool
{
    public static bool Exists(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(d => File.Exists(Path.Combine(d, name)));

    public static (int ExitCode, string Stdout, string Stderr) Run(string tool, params string[] args)
    {
        var psi = new ProcessStartInfo(tool)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(120_000))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{tool} did not finish in 120 s");
        }

        return (p.ExitCode, stdout.Result, WithoutRootNotice(stderr.Result));
    }

    /// <summary>
    /// Wireshark tools print a notice when run as root; it concerns the machine, not the file, so it
    /// is not a warning about what we wrote.
    /// </summary>
    private static string WithoutRootNotice(string stderr) => string.Join("\n",
        stderr.Split('\n').Where(l => !l.StartsWith("Running as user \"root\"", StringComparison.Ordinal) && l.Length > 0));

    /// <summary>Parses tshark's frame.time_epoch ("1700000000.123456789") to nanoseconds exactly.</summary>
    public static long EpochToNs(string s)
    {
        var parts = s.Split('.');
        long seconds = long.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture);
        string frac = parts.Length > 1 ? parts[1].PadRight(9, '0')[..9] : "0";
        long ns = long.Parse(frac, System.Globalization.CultureInfo.InvariantCulture);
        return s.StartsWith('-') ? seconds * 1_000_000_000 - ns : seconds * 1_000_000_000 + ns;
    }
}
