using System.CommandLine;
using System.Globalization;
using TcpKit.Net.Packetdrill;
using TcpKit.Tcp;

namespace TcpKit.Cli.Commands;

/// <summary><c>tcpkit script</c>: runs packetdrill scripts against the TcpKit engine in virtual time, or the Linux kernel over TUN.</summary>
internal static class ScriptCommand
{
    public static Command Create()
    {
        var path = new Argument<string>("path") { Description = "A .pkt script, or a directory whose *.pkt scripts are all run" };
        var profile = new Option<string>("--profile") { Description = "Engine defaults: linux (initial RTO 1 s, min RTO 200 ms, delayed ACK 40 ms, ...) or rfc", DefaultValueFactory = _ => "linux" };
        profile.AcceptOnlyFromAmong("linux", "rfc");
        var tolerance = new Option<long?>("--tolerance_usecs") { Description = "Timing tolerance for outbound packets and returns (overrides the script; packetdrill's default is 4000)" };
        var targetKind = new Option<string>("--target") { Description = "engine (TcpKit in virtual time) or kernel (the Linux kernel over TUN in a fresh network namespace, real time; needs root)", DefaultValueFactory = _ => "engine" };
        targetKind.AcceptOnlyFromAmong("engine", "kernel");
        var maxDuration = new Option<double?>("--max-duration") { Description = "Kernel target: the longest script (in seconds of real time) to run; longer ones are reported unsupported [default: 30]" };

        var command = new Command("script", "Run packetdrill scripts against the engine or the kernel: pass, fail (with the line, expected and actual), unsupported, or (kernel) differs from Linux where a // tcpkit-kernel: differs mark says so")
        {
            path, profile, tolerance, targetKind, maxDuration,
        };
        command.SetAction(parse =>
        {
            var options = new ScriptRunOptions
            {
                Profile = parse.GetValue(profile) == "rfc" ? TcpConfig.Rfc : TcpConfig.Linux,
                ToleranceMicros = parse.GetValue(tolerance),
            };
            string target = parse.GetValue(path)!;
            Func<string, ScriptResult> run = file => ScriptRunner.RunFile(file, options);
            if (parse.GetValue(targetKind) == "kernel")
            {
                if (KernelTarget.UnavailableReason() is { } reason)
                {
                    return Cli.Fail($"cannot run against the kernel: {reason}");
                }

                // Real time: the tolerance is at least the given one (or 25 ms), never below the script's.
                var kernelOptions = new KernelTargetOptions();
                if (parse.GetValue(tolerance) is long t)
                {
                    kernelOptions = kernelOptions with { MinimumToleranceMicros = t };
                }

                if (parse.GetValue(maxDuration) is double seconds)
                {
                    if (!(seconds > 0))
                    {
                        return Cli.Fail("--max-duration must be a positive number of seconds");
                    }

                    kernelOptions = kernelOptions with { MaximumScriptDuration = TimeSpan.FromSeconds(seconds) };
                }

                run = file => KernelTarget.RunFile(file, kernelOptions);
            }

            if (Directory.Exists(target))
            {
                return RunDirectory(target, run);
            }

            if (!File.Exists(target))
            {
                return Cli.Fail($"no such script or directory: {target}");
            }

            var result = run(target);
            Console.WriteLine(result.ToString());
            return result.ExitCode;
        });
        return command;
    }

    private static int RunDirectory(string directory, Func<string, ScriptResult> run)
    {
        var files = Directory.GetFiles(directory, "*.pkt");
        Array.Sort(files, StringComparer.Ordinal);
        int pass = 0, fail = 0, unsupported = 0, differs = 0;
        int width = Math.Max(6, files.Length == 0 ? 0 : files.Max(f => Path.GetFileName(f).Length));
        Console.WriteLine($"{"script".PadRight(width)}  result");
        foreach (var file in files)
        {
            var result = run(file);
            switch (result.Verdict)
            {
                case ScriptVerdict.Pass: pass++; break;
                case ScriptVerdict.Fail: fail++; break;
                case ScriptVerdict.Differs: differs++; break;
                default: unsupported++; break;
            }

            Console.WriteLine($"{Path.GetFileName(file).PadRight(width)}  {result}");
        }

        // Differences from Linux are documented in the scripts themselves, so they neither pass nor fail.
        string differ = differs > 0 ? $", {differs} differ from Linux" : "";
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{files.Length} scripts: {pass} pass, {fail} fail, {unsupported} unsupported{differ}"));
        return fail > 0 ? 1 : unsupported > 0 ? 2 : 0;
    }
}
