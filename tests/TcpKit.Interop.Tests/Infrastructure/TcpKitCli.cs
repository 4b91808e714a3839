namespace TcpKit.Interop.Tests.Infrastructure;

/// <summary>Runs the real <c>tcpkit</c> command (the built CLI next to the test assembly) as a process.</summary>
internal static class TcpKitCli
{
    public static string Path => System.IO.Path.Combine(AppContext.BaseDirectory, "tcpkit.dll");

    public static (int ExitCode, string Stdout, string Stderr) Run(params string[] args) =>
        Tool.RunFull("dotnet", [Path, .. args], timeout: TimeSpan.FromMinutes(5));
}
