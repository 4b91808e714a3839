namespace TcpKit.Cli;

internal static class Cli
{
    /// <summary>Prints an error the way tshark does (program name, then the reason) and returns exit code 1.</summary>
    public static int Fail(string message)
    {
        Console.Error.WriteLine($"tcpkit: {message}");
        return 1;
    }
}
