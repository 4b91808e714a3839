using TcpKit.Wire.Capture;

namespace TcpKit.Wire.Tests.Capture;

/// <summary>An input on which the reader crashed, or read paths disagreed.</summary>
internal sealed class FuzzFailure(string message, byte[] input, Exception? inner = null) : Exception(message, inner)
{
    public byte[] Input { get; } = input;
}

/// <summary>
/// Mutation fuzzing of <see cref="CaptureReader"/>, shared by the short CI test and the long
/// campaign in bench/fuzz (which links this file). Seeds are valid files of every shape; mutations
/// are bit flips, interesting 32-bit values at aligned positions (where lengths live), truncation,
/// chunk insertion/deletion/duplication and splices of two seeds.
/// </summary>
internal static class CaptureFuzzer
{
    private static readonly uint[] Interesting =
    [
        0, 1, 3, 4, 8, 11, 12, 16, 20, 24, 28, 32, 0x7F, 0x80, 0xFF, 0xFFFF, 65535, 65536, 262_143, 262_144, 262_145,
        327_744, 327_748, 400_000, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFF8, 0xFFFF_FFFC, 0xFFFF_FFFF,
        0x0A0D0D0A, 0x1A2B3C4D, 0x4D3C2B1A, 0xA1B2C3D4, 0xD4C3B2A1, 0xA1B23C4D, 1, 2, 3, 4, 5, 6, 0x0BAD,
    ];

    public static List<byte[]> Seeds()
    {
        byte[] a = [0x45, 0, 0, 20, 1, 2, 3, 4, 5], b = [1, 2, 3];
        var seeds = new List<byte[]>();
        foreach (bool big in new[] { false, true })
        {
            foreach (bool nano in new[] { false, true })
            {
                seeds.Add(new PcapBuilder(big, nano, snapLength: 64).Record(1, 2, a).Record(3, 4, b, 60).Record(5, 6, new byte[70]).ToArray());
            }

            seeds.Add(new PcapngBuilder()
                .Shb(big, 1, 0, Opt.Str(4, "fuzz"), Opt.Comment("seed"))
                .Idb(1, 64, Opt.Str(2, "eth0"), Opt.Byte(9, 9), Opt.U64(14, 5))
                .Idb(101, 0, Opt.Byte(9, 0x80 | 20))
                .Epb(0, 123, a, options: [Opt.Comment("ESTABLISHED"), Opt.U32(2, 1)])
                .Epb(1, 456, b)
                .Spb(9, a)
                .Pb(1, 0, 789, b, Opt.Comment("pb"))
                .Nrb((1, PcapngBuilder.Nrb4("10.0.0.1", "x")), (2, new byte[17]))
                .Isb(0, 1000, Opt.Ts(2, 1), Opt.U64(4, 10))
                .Block(0x0BAD, [1, 2, 3, 4, 5])
                .Shb(!big).Idb(228, 0).Epb(0, 1, a)
                .ToArray());
        }

        var ms = new MemoryStream();
        using (var w = new PcapngWriter(ms, leaveOpen: true))
        {
            w.AddInterface(LinkType.Ethernet, 128, "sim0");
            w.AddInterface(LinkType.Raw, 0, "tun0", 6);
            for (int i = 0; i < 6; i++)
            {
                w.WritePacket(i % 2, 1_700_000_000_000_000_000 + i, a, comment: i % 2 == 0 ? "SYN-SENT" : null, flags: (uint)i);
            }
        }

        seeds.Add(ms.ToArray());
        return seeds;
    }

    public static byte[] Mutate(byte[] seed, Random rng, IReadOnlyList<byte[]> seeds)
    {
        var data = new List<byte>(seed);
        // Mostly one mutation, so inputs stay close to valid files and reach the deeper paths.
        int rounds = rng.Next(3) == 0 ? 1 + rng.Next(4) : 1;
        for (int r = 0; r < rounds; r++)
        {
            switch (rng.Next(8))
            {
                case 0 when data.Count > 0:
                    for (int i = rng.Next(1, 9); i > 0; i--)
                    {
                        int at = rng.Next(data.Count);
                        data[at] ^= (byte)(1 << rng.Next(8));
                    }

                    break;
                case 1 when data.Count > 0:
                    data[rng.Next(data.Count)] = (byte)rng.Next(256);
                    break;
                case 2 when data.Count >= 4:
                case 3 when data.Count >= 4:
                {
                    int at = rng.Next(data.Count / 4) * 4;
                    uint v = Interesting[rng.Next(Interesting.Length)];
                    if (rng.Next(3) == 0)
                    {
                        v = (uint)(BitConverter.ToUInt32([data[at], data[at + 1], data[at + 2], data[at + 3]]) + rng.Next(-8, 9));
                    }

                    var bytes = rng.Next(2) == 0 ? BitConverter.GetBytes(v) : BitConverter.GetBytes(v).Reverse().ToArray();
                    for (int i = 0; i < 4 && at + i < data.Count; i++)
                    {
                        data[at + i] = bytes[i];
                    }

                    break;
                }

                case 4 when data.Count > 0:
                {
                    int cut = rng.Next(data.Count); // truncate
                    data.RemoveRange(cut, data.Count - cut);
                    break;
                }

                case 5 when data.Count > 0:
                {
                    int at = rng.Next(data.Count);
                    data.RemoveRange(at, Math.Min(rng.Next(1, 64), data.Count - at));
                    break;
                }

                case 6:
                {
                    int at = rng.Next(data.Count + 1);
                    var chunk = new byte[rng.Next(1, 64)];
                    if (data.Count > 0 && rng.Next(2) == 0)
                    {
                        int from = rng.Next(data.Count);
                        for (int i = 0; i < chunk.Length; i++)
                        {
                            chunk[i] = data[(from + i) % data.Count];
                        }
                    }
                    else
                    {
                        rng.NextBytes(chunk);
                    }

                    data.InsertRange(at, chunk);
                    break;
                }

                default:
                {
                    var other = seeds[rng.Next(seeds.Count)];
                    int keep = rng.Next(data.Count + 1);
                    int from = rng.Next(other.Length);
                    data.RemoveRange(keep, data.Count - keep);
                    data.AddRange(other.Skip(from));
                    break;
                }
            }
        }

        return data.ToArray();
    }

    /// <summary>
    /// Reads the input strictly and leniently, from memory, a seekable stream and a trickling
    /// non-seekable stream. Only <see cref="CaptureFormatException"/> may escape, and every path must
    /// give the same packets, counters and error. Returns a short outcome description.
    /// </summary>
    public static string Check(byte[] input)
    {
        string strict = Compare(input, lenient: false);
        string lenient = Compare(input, lenient: true);
        return strict + " | " + lenient;
    }

    private static string Compare(byte[] input, bool lenient)
    {
        var options = new CaptureReadOptions { Lenient = lenient, Access = CaptureAccess.Streaming };
        string memory = Outcome(input, () => CaptureReader.Open(input.AsMemory(), options with { Access = CaptureAccess.Auto }));
        string stream = Outcome(input, () => CaptureReader.Open(new MemoryStream(input), options));
        if (stream != memory)
        {
            throw new FuzzFailure($"memory and stream paths disagree (lenient={lenient}):\n{memory}\n{stream}", input);
        }

        if (input.Length <= 64 * 1024)
        {
            string trickle = Outcome(input, () => CaptureReader.Open(new TrickleStream(input), options));
            if (trickle != memory)
            {
                throw new FuzzFailure($"memory and trickle paths disagree (lenient={lenient}):\n{memory}\n{trickle}", input);
            }
        }

        return memory;
    }

    private static string Outcome(byte[] input, Func<CaptureReader> open)
    {
        var hash = new HashCode();
        long packets = 0;
        CaptureCounters? counters = null;
        try
        {
            using var reader = open();
            counters = reader.Counters;
            while (reader.TryRead(out var p))
            {
                packets++;
                hash.AddBytes(p.Data);
                hash.Add(p.OriginalLength);
                hash.Add(p.TimestampNs);
                hash.Add(p.InterfaceIndex);
                hash.Add(p.FileOffset);
                hash.Add(p.Flags);
                hash.AddBytes(p.CommentUtf8);
                hash.Add(p.HasComment);
                if (p.Ordinal != packets - 1)
                {
                    throw new FuzzFailure($"ordinal {p.Ordinal} for packet {packets}", input);
                }
            }

            return $"ok packets={packets} hash={hash.ToHashCode()} interfaces={reader.Interfaces.Count} skipped={counters.TotalSkipped} last={counters.LastSkipMessage} other={counters.OtherBlocksSkipped}";
        }
        catch (CaptureFormatException e)
        {
            return $"error after {packets} packets hash={hash.ToHashCode()}: {e.Message}";
        }
        catch (FuzzFailure)
        {
            throw;
        }
        catch (Exception e)
        {
            throw new FuzzFailure($"unexpected {e.GetType().Name}: {e.Message}", input, e);
        }
    }
}
