using System.Globalization;
using System.Text;
using TcpKit.Interop.Tests.Infrastructure;

namespace TcpKit.Interop.Tests.Analysis;

/// <summary>Field-by-field comparison of <c>tcpkit read -T fields</c> with <c>tshark -T fields</c> on one capture.</summary>
internal sealed class FieldAgreement
{
    private FieldAgreement(string[] fields, int frames, Dictionary<string, int> disagreements, Dictionary<string, int> presentInTshark, string examples)
    {
        Fields = fields;
        Frames = frames;
        Disagreements = disagreements;
        PresentInTshark = presentInTshark;
        Examples = examples;
    }

    public string[] Fields { get; }

    public int Frames { get; }

    /// <summary>Frames on which the field's text differs.</summary>
    public Dictionary<string, int> Disagreements { get; }

    /// <summary>Frames on which tshark prints the field at all.</summary>
    public Dictionary<string, int> PresentInTshark { get; }

    public string Examples { get; }

    /// <summary>
    /// Every catalog field tshark also has, without the checksum statuses (tshark verifies no checksum by
    /// default; TcpKit always does): what a whole-frame comparison with a default tshark checks.
    /// </summary>
    public static readonly string[] TsharkComparableFields = TcpKit.Analysis.Fields.FieldCatalog.Names
        .Where(n => !n.StartsWith("tcpkit.", StringComparison.Ordinal) && !n.EndsWith(".checksum.status", StringComparison.Ordinal)).ToArray();

    public static FieldAgreement Measure(string path, string[] fields)
    {
        var args = fields.SelectMany(f => new[] { "-e", f }).ToArray();
        var expected = Tshark.Lines(["-r", path, "-T", "fields", .. args]);
        var (exit, stdout, stderr) = TcpKitCli.Run(["read", "-r", path, "-T", "fields", .. args]);
        Assert.True(exit == 0, stderr);
        var actual = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(expected.Length, actual.Length);

        var disagreements = fields.ToDictionary(f => f, _ => 0);
        var present = fields.ToDictionary(f => f, _ => 0);
        var examples = new StringBuilder();
        for (int row = 0; row < expected.Length; row++)
        {
            var e = expected[row].Split('\t');
            var a = actual[row].Split('\t');
            for (int col = 0; col < fields.Length; col++)
            {
                if (e[col].Length > 0)
                {
                    present[fields[col]]++;
                }

                if (e[col] != a[col])
                {
                    disagreements[fields[col]]++;
                    if (examples.Length < 3000)
                    {
                        examples.AppendLine(CultureInfo.InvariantCulture, $"  frame {row + 1} {fields[col]}: tshark '{e[col]}' tcpkit '{a[col]}'");
                    }
                }
            }
        }

        return new FieldAgreement(fields, expected.Length, disagreements, present, examples.ToString());
    }

    public bool AllAgree => Disagreements.Values.All(v => v == 0);

    /// <summary>One line per field: agreement rate over all frames and how often tshark sets it.</summary>
    public string Report(string title)
    {
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"{title}: {Frames} frames");
        foreach (var f in Fields)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"  {f,-40} agreement {100.0 * (Frames - Disagreements[f]) / Math.Max(1, Frames),7:F3}%  (tshark sets it on {PresentInTshark[f]} frames, {Disagreements[f]} differ)");
        }

        if (Examples.Length > 0)
        {
            sb.AppendLine("first differences:").Append(Examples);
        }

        return sb.ToString();
    }
}
