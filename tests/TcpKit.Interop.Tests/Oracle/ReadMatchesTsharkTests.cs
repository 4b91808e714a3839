using System.Text;
using TcpKit.Analysis.Fields;
using TcpKit.Interop.Tests.Infrastructure;

namespace TcpKit.Interop.Tests.Oracle;

/// <summary>
/// <c>tcpkit read</c> against tshark on real Linux captures made in namespaces: every field TcpKit
/// parses, and the summary line of every TCP packet.
/// </summary>
[Collection(KernelCaptureCollection.Name)]
public class ReadMatchesTsharkTests(KernelCaptures captures)
{
    private static readonly string[] ChecksumPrefs = ["-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE"];

    public static TheoryData<string> Formats => ["pcap", "pcapng"];

    [SkippableTheory]
    [MemberData(nameof(Formats))]
    public void Every_field_TcpKit_parses_equals_tsharks_value_on_every_frame(string format)
    {
        Skip.If(captures.SkipReason is not null, captures.SkipReason);
        var path = format == "pcap" ? captures.PcapPath : captures.PcapngPath;
        // tcpkit.* fields (endpoint states) are TcpKit's own; tshark has no such fields.
        var fields = FieldCatalog.Names.Where(f => !f.StartsWith("tcpkit.", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToArray();
        var fieldArgs = fields.SelectMany(f => new[] { "-e", f }).ToArray();

        var expected = Tshark.Lines(["-r", path, .. ChecksumPrefs, "-T", "fields", .. fieldArgs]);
        var (exit, stdout, stderr) = TcpKitCli.Run(["read", "-r", path, "-T", "fields", .. fieldArgs]);
        Assert.True(exit == 0, stderr);
        var actual = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);

        Assert.Equal(expected.Length, actual.Length);
        var disagreements = new Dictionary<string, int>();
        var examples = new StringBuilder();
        for (int row = 0; row < expected.Length; row++)
        {
            var e = expected[row].Split('\t');
            var a = actual[row].Split('\t');
            for (int col = 0; col < fields.Length; col++)
            {
                if (e[col] != a[col])
                {
                    disagreements[fields[col]] = disagreements.GetValueOrDefault(fields[col]) + 1;
                    if (examples.Length < 2000)
                    {
                        examples.AppendLine($"frame {row + 1} {fields[col]}: tshark '{e[col]}' tcpkit '{a[col]}'");
                    }
                }
            }
        }

        Assert.True(disagreements.Count == 0,
            $"{fields.Length} fields x {expected.Length} frames; disagreeing fields: " +
            string.Join(", ", disagreements.Select(kv => $"{kv.Key} ({kv.Value} frames, agreement {100.0 * (expected.Length - kv.Value) / expected.Length:F1}%)")) +
            "\n" + examples);
    }

    [SkippableTheory]
    [MemberData(nameof(Formats))]
    public void Summary_lines_of_TCP_packets_equal_tsharks(string format)
    {
        Skip.If(captures.SkipReason is not null, captures.SkipReason);
        var path = format == "pcap" ? captures.PcapPath : captures.PcapngPath;

        // Expert-analysis prefixes ("[TCP Window Update] ", "[TCP Dup ACK 7#1] ") included.
        var expected = Tshark.Lines("-r", path).Where(IsTcpLine).ToArray();
        var (exit, stdout, stderr) = TcpKitCli.Run("read", "-r", path);
        Assert.True(exit == 0, stderr);
        var actual = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(IsTcpLine).ToArray();

        Assert.NotEmpty(expected);
        Assert.Equal(expected, actual);
    }

    [SkippableFact]
    public void Count_limits_the_packets_printed()
    {
        Skip.If(captures.SkipReason is not null, captures.SkipReason);
        var (exit, stdout, _) = TcpKitCli.Run("read", "-r", captures.PcapPath, "-c", "3");
        Assert.Equal(0, exit);
        Assert.Equal(Tshark.Lines("-r", captures.PcapPath, "-c", "3").Where(IsTcpLine), stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(IsTcpLine));
        Assert.Equal(3, stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }

    private static bool IsTcpLine(string line) => line.Contains(" TCP ", StringComparison.Ordinal);
}
