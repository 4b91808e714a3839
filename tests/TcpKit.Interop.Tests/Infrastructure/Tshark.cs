namespace TcpKit.Interop.Tests.Infrastructure;

/// <summary>tshark as the oracle. Payload dissectors are kept out of the comparison: TcpKit stops at TCP.</summary>
internal static class Tshark
{
    private static readonly Lazy<string[]> TcpHeuristics = new(() =>
        Tool.Run("tshark", "-G", "heuristic-decodes").Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split('\t'))
            .Where(p => p.Length >= 2 && p[0] == "tcp")
            .Select(p => p[1])
            .ToArray());

    /// <summary>Arguments that stop tshark from dissecting TCP payloads (the protocols behind TCP heuristics, such as JXTA, would otherwise claim them).</summary>
    public static string[] NoPayloadDissection => TcpHeuristics.Value.SelectMany(h => new[] { "--disable-protocol", h }).ToArray();

    public static string[] Lines(params string[] args) =>
        Tool.Run("tshark", [.. args, .. NoPayloadDissection]).Split('\n', StringSplitOptions.RemoveEmptyEntries);
}
