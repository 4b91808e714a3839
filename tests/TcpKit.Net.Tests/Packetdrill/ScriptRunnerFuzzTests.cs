using CsCheck;
using TcpKit.Net.Packetdrill;

namespace TcpKit.Net.Tests.Packetdrill;

/// <summary>Damaged scripts (lines dropped, repeated, swapped, numbers changed) always end in a verdict, never an exception or a hang.</summary>
public class ScriptRunnerFuzzTests
{
    private static readonly string[] Corpus = Directory.GetFiles(CorpusTests.CorpusDirectory(), "*.pkt");

    private static readonly Gen<long> Numbers = Gen.OneOf(Gen.Long[-5, 5], Gen.Long[0, 70000], Gen.Long, Gen.Const(4294967295L), Gen.Const(-1L));

    [Fact]
    public void Mutated_corpus_scripts_always_end_in_a_verdict()
    {
        Gen.Select(Gen.Int[0, Corpus.Length - 1], Gen.Int[0, 3].Array[1, 4], Gen.Int[0, 1000].Array[8], Numbers.Array[4])
            .Sample((file, edits, positions, numbers) =>
            {
                var lines = File.ReadAllLines(Corpus[file]).ToList();
                for (int i = 0; i < edits.Length && lines.Count > 1; i++)
                {
                    int a = positions[(2 * i) % positions.Length] % lines.Count;
                    int b = positions[((2 * i) + 1) % positions.Length] % lines.Count;
                    switch (edits[i])
                    {
                        case 0:
                            lines.RemoveAt(a);
                            break;
                        case 1:
                            lines.Insert(b, lines[a]);
                            break;
                        case 2:
                            (lines[a], lines[b]) = (lines[b], lines[a]);
                            break;
                        default:
                            lines[a] = ReplaceFirstNumber(lines[a], numbers[i]);
                            break;
                    }
                }

                var result = ScriptRunner.Run(string.Join('\n', lines));
                return result.Verdict == ScriptVerdict.Pass || result.Message.Length > 0;
            }, iter: 400);
    }

    private static string ReplaceFirstNumber(string line, long value)
    {
        int i = 0;
        while (i < line.Length && !char.IsAsciiDigit(line[i]))
        {
            i++;
        }

        int j = i;
        while (j < line.Length && char.IsAsciiDigit(line[j]))
        {
            j++;
        }

        return i == line.Length ? line : string.Concat(line.AsSpan(0, i), value.ToString(System.Globalization.CultureInfo.InvariantCulture), line.AsSpan(j));
    }
}
