using System.Diagnostics;

namespace TcpKit.Interop.Tests.Infrastructure;

/// <summary>Runs external programs (ip, tshark, tcpdump...) for the oracle tests.</summary>
internal static class Tool
{
    public static bool IsRoot => Environment.UserName == "root" || GetEuid() == 0;

    public static bool Exists(string name)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/usr/sbin").Split(':'))
        {
            if (File.Exists(Path.Combine(dir, name)))
            {
                return true;
            }
        }

        return File.Exists(Path.Combine("/usr/sbin", name)) || File.Exists(Path.Combine("/sbin", name));
    }

    /// <summary>Runs a program to completion and returns its stdout; throws with stderr when it fails.</summary>
    public static string Run(string file, params string[] args) => RunFull(file, args, check: true).Stdout;

    public static (int ExitCode, string Stdout, string Stderr) RunFull(string file, string[] args, bool check = false, TimeSpan? timeout = null)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {file}");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout ?? TimeSpan.FromMinutes(2)))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish");
        }

        var result = (p.ExitCode, stdout.Result, stderr.Result);
        if (check && p.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed ({p.ExitCode}): {result.Item3}");
        }

        return result;
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "geteuid")]
    private static extern uint GetEuid();
}
