using TcpKit.Interop.Tests.Infrastructure;

namespace TcpKit.Interop.Tests.Demo;

/// <summary>The README's example output is what the commands really print.</summary>
public class ReadmeExampleTests
{
    [Fact]
    public void Every_line_of_the_README_example_is_printed_by_the_demo_and_read_commands()
    {
        var readme = File.ReadAllLines(FindRepositoryFile("README.md"));
        int start = Array.FindIndex(readme, l => l.StartsWith("$ tcpkit demo", StringComparison.Ordinal));
        int end = Array.FindIndex(readme, start, l => l.StartsWith("```", StringComparison.Ordinal));
        Assert.True(start >= 0 && end > start, "README has no example block starting with '$ tcpkit demo'");

        var dir = Directory.CreateTempSubdirectory("tcpkit-readme-").FullName;
        try
        {
            var pcap = Path.Combine(dir, "demo.pcapng");
            var demo = TcpKitCli.Run("demo", "--color", "never", "--pcap", pcap);
            Assert.True(demo.ExitCode == 0, demo.Stderr);
            var read = TcpKitCli.Run("read", "-r", pcap);
            var printed = (demo.Stdout + read.Stdout).Split('\n').Select(l => l.TrimEnd()).ToHashSet();
            foreach (var line in readme[(start + 1)..end])
            {
                if (line.Length == 0 || line == "..." || line.StartsWith('$'))
                {
                    continue;
                }

                Assert.Contains(line.TrimEnd(), printed);
            }
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    private static string FindRepositoryFile(string name)
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            var path = Path.Combine(d.FullName, name);
            if (File.Exists(path) && File.Exists(Path.Combine(d.FullName, "TcpKit.slnx")))
            {
                return path;
            }
        }

        throw new FileNotFoundException($"{name} not found above {AppContext.BaseDirectory}");
    }
}
