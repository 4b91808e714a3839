using CsCheck;

namespace TcpKit.Wire.Tests.Capture;

/// <summary>
/// Short fuzzing for CI (the long campaign is bench/fuzz/run-capture-fuzz.sh): mutated and
/// truncated files give packets or a CaptureFormatException, never another exception or a hang,
/// and every read path agrees.
/// </summary>
public class FuzzTests
{
    [Fact]
    public async Task Thousands_of_mutated_files_give_packets_or_a_capture_format_error_and_never_hang()
    {
        var seeds = CaptureFuzzer.Seeds();
        foreach (var seed in seeds)
        {
            Assert.StartsWith("ok", CaptureFuzzer.Check(seed)); // seeds themselves are valid
        }

        var rng = new Random(20_261_126);
        int errors = 0, inputs = 4000;
        var run = Task.Run(() =>
        {
            for (int i = 0; i < inputs; i++)
            {
                var input = CaptureFuzzer.Mutate(seeds[rng.Next(seeds.Count)], rng, seeds);
                if (CaptureFuzzer.Check(input).Contains("error", StringComparison.Ordinal))
                {
                    errors++;
                }
            }
        });

        // A hang shows as a TimeoutException here instead of a stuck test run.
        await run.WaitAsync(TimeSpan.FromMinutes(3));
        Assert.InRange(errors, 1, inputs); // the mutations do reach the error paths
    }

    [Fact]
    public void Every_truncation_of_every_seed_gives_packets_or_a_capture_format_error()
    {
        foreach (var seed in CaptureFuzzer.Seeds())
        {
            for (int cut = 0; cut < seed.Length; cut++)
            {
                CaptureFuzzer.Check(seed[..cut]);
            }
        }
    }

    [Fact]
    public void CsCheck_generated_byte_strings_with_a_capture_magic_never_crash_the_reader()
    {
        var magic = Gen.OneOf(new[]
        {
            new byte[] { 0xD4, 0xC3, 0xB2, 0xA1 }, new byte[] { 0xA1, 0xB2, 0xC3, 0xD4 },
            new byte[] { 0x4D, 0x3C, 0xB2, 0xA1 }, new byte[] { 0x0A, 0x0D, 0x0D, 0x0A },
        });
        Gen.Select(magic, Gen.Byte.Array[0, 300]).Sample((m, rest) =>
        {
            CaptureFuzzer.Check([.. m, .. rest]);
        }, iter: 2000);
    }
}
