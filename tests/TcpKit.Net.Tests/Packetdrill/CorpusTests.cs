using TcpKit.Net.Packetdrill;

namespace TcpKit.Net.Tests.Packetdrill;

/// <summary>
/// Runs TcpKit's own packetdrill corpus (tests/packetdrill/*.pkt) against the engine with the Linux profile:
/// every script is a test case that must pass. Scripts in tests/packetdrill/pending/ document engine bugs
/// (first line "// pending: reason"); they are reported as skipped while they still fail.
/// </summary>
public class CorpusTests
{
    public static TheoryData<string> Scripts() => Names(CorpusDirectory());

    public static TheoryData<string> PendingScripts()
    {
        var names = Names(Path.Combine(CorpusDirectory(), "pending"));
        if (names.Count == 0)
        {
            names.Add(""); // xunit needs one case; it is skipped below.
        }

        return names;
    }

    [Theory]
    [MemberData(nameof(Scripts))]
    public void Corpus_script_passes_against_the_engine(string name)
    {
        var result = ScriptRunner.RunFile(Path.Combine(CorpusDirectory(), name));

        Assert.True(result.Verdict == ScriptVerdict.Pass, $"{name}: {result}");
    }

    [SkippableTheory]
    [MemberData(nameof(PendingScripts))]
    public void Pending_script_still_shows_its_engine_bug(string name)
    {
        Skip.If(name.Length == 0, "no pending scripts");
        string path = Path.Combine(CorpusDirectory(), "pending", name);
        string firstLine = File.ReadLines(path).First();
        Assert.StartsWith("// pending: ", firstLine, StringComparison.Ordinal);

        var result = ScriptRunner.RunFile(path);

        Assert.True(result.Verdict != ScriptVerdict.Pass, $"{name} passes now: move it to tests/packetdrill/");
        Assert.Equal(ScriptVerdict.Fail, result.Verdict);
        Skip.If(true, $"{firstLine["// pending: ".Length..]} ({result})");
    }

    [Fact]
    public void Corpus_has_at_least_sixty_scripts()
    {
        Assert.True(Scripts().Count >= 60, $"only {Scripts().Count} scripts");
    }

    private static TheoryData<string> Names(string directory)
    {
        var data = new TheoryData<string>();
        if (!Directory.Exists(directory))
        {
            return data;
        }

        var files = Directory.GetFiles(directory, "*.pkt");
        Array.Sort(files, StringComparer.Ordinal);
        foreach (var f in files)
        {
            data.Add(Path.GetFileName(f));
        }

        return data;
    }

    internal static string CorpusDirectory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "tests", "packetdrill");
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new DirectoryNotFoundException("tests/packetdrill not found above " + AppContext.BaseDirectory);
    }
}
