using System.Globalization;
using TcpKit.Wire.Capture;

namespace TcpKit.Wire.Tests.Capture;

/// <summary>
/// tshark as the oracle for our reading: hand-built files exercising the less common corners
/// (big-endian sections, power-of-two resolutions, offsets, simple and obsolete packet blocks,
/// several sections, skipped blocks, Wireshark-written comments) must give the same packets,
/// timestamps, lengths and comments in tshark and in our reader.
/// </summary>
public class TsharkReadsHandBuiltTests
{
    private static readonly byte[] A = [0xDE, 0xAD, 0xBE, 0xEF, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x08, 0x00];
    private static readonly byte[] B = [0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x86, 0xDD, 0x60, 0, 0, 0];

    private static List<(long Ns, int Len, int CapLen, string Comment)> Tshark(string path)
    {
        var r = ExternalTool.Run("tshark", "-r", path, "-T", "fields", "-E", "separator=|",
            "-e", "frame.time_epoch", "-e", "frame.len", "-e", "frame.cap_len", "-e", "frame.comment");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal("", r.Stderr);
        return r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('|')).Select(f =>
            (f[0].Length == 0 ? 0 : ExternalTool.EpochToNs(f[0]), int.Parse(f[1], CultureInfo.InvariantCulture), int.Parse(f[2], CultureInfo.InvariantCulture), f[3])).ToList();
    }

    private static void AssertSameAsTshark(byte[] file)
    {
        string path = Path.Combine(Path.GetTempPath(), $"tcpkit-hand-{Guid.NewGuid():N}.pcapng");
        try
        {
            File.WriteAllBytes(path, file);
            var theirs = Tshark(path);
            var ours = CaptureKit.ReadAll(file).Packets;
            Assert.Equal(theirs.Count, ours.Count);
            for (int i = 0; i < ours.Count; i++)
            {
                Assert.Equal(theirs[i].Ns, ours[i].TimestampNs); // no timestamp (SPB): tshark shows none, we say 0

                Assert.Equal(theirs[i].Len, ours[i].OriginalLength);
                Assert.Equal(theirs[i].CapLen, ours[i].CapturedLength);
                Assert.Equal(theirs[i].Comment, ours[i].Comment ?? "");
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    [SkippableTheory]
    [InlineData(false)]
    [InlineData(true)]
    public void Tshark_agrees_on_sections_resolutions_offsets_and_comments(bool bigEndian)
    {
        Skip.IfNot(ExternalTool.Exists("tshark"), "tshark not installed");
        var file = new PcapngBuilder()
            .Shb(bigEndian, 1, 0, Opt.Str(4, "hand"))
            .Idb(1, 0, Opt.Str(2, "eth0"), Opt.Byte(9, 9))
            .Idb(1, 0, Opt.Byte(9, 3), Opt.U64(14, 1_600_000_000))
            .Epb(0, 1_700_000_000_123_456_789, A, options: [Opt.Comment("ESTABLISHED"), Opt.U32(2, 1)])
            .Epb(1, 1_500, A, originalLength: 100)
            // (No custom block here: tshark lists those as records of their own, we skip them.)
            .Isb(0, 1, Opt.U64(4, 2))
            .Shb(!bigEndian)
            .Idb(1, 0, Opt.Byte(9, 6))
            .Epb(0, 1_650_000_000_000_001, B, options: [Opt.Comment("second section")])
            .ToArray();

        AssertSameAsTshark(file);
    }

    [SkippableTheory]
    [InlineData((byte)(0x80 | 10))]
    [InlineData((byte)(0x80 | 20))]
    [InlineData((byte)(0x80 | 30))]
    [InlineData((byte)0x80)]
    [InlineData((byte)0)]
    [InlineData((byte)1)]
    [InlineData((byte)12)]
    public void Tshark_agrees_on_timestamps_at_power_of_two_and_decimal_resolutions(byte tsresol)
    {
        Skip.IfNot(ExternalTool.Exists("tshark"), "tshark not installed");
        // Whole-step values and values that fall between nanoseconds: both floor the same way.
        // (For resolutions finer than 1 ns Wireshark 4.0 overflows once the sub-second remainder
        // times 10^9 exceeds 64 bits; we stay exact, so large picosecond values are not compared.)
        bool binary = (tsresol & 0x80) != 0;
        ulong perSecond = binary ? 1UL << (tsresol & 0x7F) : (ulong)Math.Pow(10, tsresol);
        var b = new PcapngBuilder().Shb(false).Idb(1, 0, Opt.Byte(9, tsresol));
        var units = tsresol == 12
            ? new ulong[] { 1, 1_999, 1_234_567, 15_000_000_001 }
            : new ulong[] { 0, 1, 3, perSecond + 1, (perSecond * 1_700_000_000) + (perSecond / 3), (perSecond * 1_700_000_000) + 7 };
        foreach (ulong u in units)
        {
            b.Epb(0, u, A);
        }

        AssertSameAsTshark(b.ToArray());
    }

    [SkippableFact]
    public void Tshark_agrees_on_simple_and_obsolete_packet_blocks()
    {
        Skip.IfNot(ExternalTool.Exists("tshark"), "tshark not installed");
        var file = new PcapngBuilder().Shb(true).Idb(1, 12)
            .Spb(60, A[..12])
            .Spb(14, A[..12]) // data is min(original length, snap length); tshark insists the block says so
            .Pb(0, 0, 5_000_000, B, Opt.Comment("obsolete"))
            .Nrb((1, PcapngBuilder.Nrb4("127.0.0.1", "localhost")))
            .ToArray();

        AssertSameAsTshark(file);
    }

    [SkippableFact]
    public void Comments_written_by_editcap_are_read_as_tshark_reads_them()
    {
        Skip.IfNot(ExternalTool.Exists("tshark") && ExternalTool.Exists("editcap"), "tshark/editcap not installed");
        string pcap = Path.Combine(Path.GetTempPath(), $"tcpkit-edit-{Guid.NewGuid():N}.pcap");
        string ng = Path.ChangeExtension(pcap, ".pcapng");
        try
        {
            using (var w = PcapWriter.Create(pcap, LinkType.Ethernet, precision: PcapTimestampPrecision.Nanoseconds))
            {
                for (int i = 0; i < 4; i++)
                {
                    w.WritePacket(1_700_000_000_000_000_007 + i, A);
                }
            }

            var r = ExternalTool.Run("editcap", "-F", "pcapng", "-a", "2:FIN-WAIT-1", "-a", "4:TIME-WAIT ✓", pcap, ng);
            Assert.True(r.ExitCode == 0, r.Stderr);
            var ours = CaptureKit.ReadAll(File.ReadAllBytes(ng)).Packets;
            Assert.Equal([null, "FIN-WAIT-1", null, "TIME-WAIT ✓"], ours.Select(p => p.Comment));
            AssertSameAsTshark(File.ReadAllBytes(ng));
        }
        finally
        {
            File.Delete(pcap);
            File.Delete(ng);
        }
    }
}
