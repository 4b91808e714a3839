using TcpKit.Wire.Capture;

namespace TcpKit.Wire.Tests.Capture;

internal sealed record PacketRecord(
    string DataHex, int CapturedLength, long OriginalLength, long TimestampNs, bool HasTimestamp,
    int InterfaceIndex, LinkType LinkType, long FileOffset, long Ordinal, uint Flags, string? Comment)
{
    public byte[] Data => Convert.FromHexString(DataHex);
}

internal sealed record ReadResult(
    CaptureFormat Format,
    IReadOnlyList<PacketRecord> Packets,
    IReadOnlyList<CaptureInterface> Interfaces,
    IReadOnlyList<NameResolutionRecord> Names,
    CaptureCounters Counters,
    CaptureSection Section,
    int SectionCount,
    string Summary);

/// <summary>
/// Reads a capture every way the reader can (in memory, seekable stream, a non-seekable stream that
/// hands out a few bytes per read, memory-mapped file) and checks that all ways agree exactly.
/// </summary>
internal static class CaptureKit
{
    public static ReadResult ReadAll(byte[] file, bool lenient = false)
    {
        var outcomes = Outcomes(file, lenient);
        foreach (var o in outcomes)
        {
            if (o.Error is not null)
            {
                throw new Xunit.Sdk.XunitException($"{o.Way} threw: {o.Error}");
            }
        }

        foreach (var o in outcomes.Skip(1))
        {
            Assert.Equal(outcomes[0].Result!.Summary, o.Result!.Summary);
        }

        return outcomes[0].Result!;
    }

    public static CaptureFormatException ReadFails(byte[] file)
    {
        var outcomes = Outcomes(file, lenient: false);
        foreach (var o in outcomes)
        {
            if (o.Error is not CaptureFormatException)
            {
                throw new Xunit.Sdk.XunitException($"{o.Way} did not throw CaptureFormatException but {o.Error?.GetType().Name ?? "nothing"}");
            }

            Assert.Equal(outcomes[0].Error!.Message, o.Error.Message);
        }

        return (CaptureFormatException)outcomes[0].Error!;
    }

    /// <summary>One read, for fuzzing: memory and trickle-stream agree, and only CaptureFormatException escapes.</summary>
    public static string ReadSummaryOrError(byte[] file, bool lenient, bool allWays)
    {
        var ways = allWays ? Outcomes(file, lenient) : Outcomes(file, lenient, includeMapped: false);
        string Describe((string Way, ReadResult? Result, Exception? Error) o) =>
            o.Error is null ? o.Result!.Summary
            : o.Error is CaptureFormatException ? "error: " + o.Error.Message
            : throw new Xunit.Sdk.XunitException($"{o.Way} threw {o.Error}");
        string first = Describe(ways[0]);
        foreach (var o in ways.Skip(1))
        {
            string d = Describe(o);
            if (d != first)
            {
                throw new Xunit.Sdk.XunitException($"{o.Way} disagrees with {ways[0].Way}:\n{d}\nvs\n{first}");
            }
        }

        return first;
    }

    private static List<(string Way, ReadResult? Result, Exception? Error)> Outcomes(byte[] file, bool lenient, bool includeMapped = true)
    {
        var options = new CaptureReadOptions { Lenient = lenient };
        var list = new List<(string, ReadResult?, Exception?)>
        {
            Run("memory", () => CaptureReader.Open(file.AsMemory(), options)),
            Run("stream", () => CaptureReader.Open(new MemoryStream(file), options with { Access = CaptureAccess.Streaming })),
            Run("trickle", () => CaptureReader.Open(new TrickleStream(file), options with { Access = CaptureAccess.Streaming })),
        };
        if (includeMapped)
        {
            string path = Path.GetTempFileName();
            try
            {
                File.WriteAllBytes(path, file);
                list.Add(Run("mapped", () =>
                {
                    var r = CaptureReader.Open(path, options with { Access = CaptureAccess.MemoryMapped });
                    if (file.Length > 0)
                    {
                        Assert.Equal(CaptureAccess.MemoryMapped, r.Access);
                    }

                    return r;
                }));
            }
            finally
            {
                File.Delete(path);
            }
        }

        return list;
    }

    private static (string, ReadResult?, Exception?) Run(string way, Func<CaptureReader> open)
    {
        try
        {
            using var reader = open();
            var packets = new List<PacketRecord>();
            while (reader.TryRead(out var p))
            {
                packets.Add(new PacketRecord(Convert.ToHexString(p.Data), p.CapturedLength, p.OriginalLength, p.TimestampNs,
                    p.HasTimestamp, p.InterfaceIndex, p.LinkType, p.FileOffset, p.Ordinal, p.Flags, p.GetComment()));
            }

            var sb = new System.Text.StringBuilder();
            sb.AppendLine($"{reader.Format} sections={reader.SectionCount}");
            foreach (var i in reader.Interfaces)
            {
                sb.AppendLine($"if {i.Index} s{i.SectionIndex}/{i.IdInSection} {(int)i.LinkType} snap={i.SnapLength} res={i.TimestampResolution} off={i.TimestampOffsetSeconds} name={i.Name} desc={i.Description} fcs={i.FcsLength} stats={i.Statistics}");
            }

            foreach (var n in reader.NameRecords)
            {
                sb.AppendLine($"name {n.Address} {string.Join(",", n.Names)}");
            }

            foreach (var p in packets)
            {
                sb.AppendLine(p.ToString());
            }

            var c = reader.Counters;
            sb.Append($"read={c.PacketsRead} other={c.OtherBlocksSkipped} abovesnap={c.CapturedLengthAboveSnapLength} skipped={c.TotalSkipped}");
            foreach (var kind in Enum.GetValues<CaptureErrorKind>())
            {
                if (c.Skipped(kind) > 0)
                {
                    sb.Append($" {kind}={c.Skipped(kind)}");
                }
            }

            sb.Append($" last={c.LastSkipMessage}");
            return (way, new ReadResult(reader.Format, packets, reader.Interfaces.ToList(), reader.NameRecords.ToList(), c,
                reader.CurrentSection, reader.SectionCount, sb.ToString()), null);
        }
        catch (Exception e)
        {
            return (way, null, e);
        }
    }
}
