using System.Globalization;
using TcpKit.Wire.Capture;

namespace TcpKit.Wire.Tests.Capture;

/// <summary>
/// Wireshark's own tools are the oracle for what we write: capinfos and tshark must read our files
/// without a single warning and see the same packets, timestamps and comments.
/// </summary>
public class TsharkOracleTests
{
    private static readonly string[] States = ["SYN-SENT", "SYN-RECEIVED", "ESTABLISHED", "FIN-WAIT-1", "CLOSE-WAIT", "TIME-WAIT"];

    /// <summary>An IPv4/TCP packet (no checksum care needed; tshark does not verify by default).</summary>
    private static byte[] Ipv4Tcp(int payload, int seq)
    {
        var p = new byte[40 + payload];
        p[0] = 0x45;
        p[2] = (byte)(p.Length >> 8);
        p[3] = (byte)p.Length;
        p[8] = 64;
        p[9] = 6;
        p[12] = 127; p[15] = 1;
        p[16] = 127; p[19] = 1;
        p[20] = 0x30; p[21] = 0x39; // 12345
        p[22] = 0x00; p[23] = 0x50; // 80
        p[24] = (byte)(seq >> 24); p[25] = (byte)(seq >> 16); p[26] = (byte)(seq >> 8); p[27] = (byte)seq;
        p[32] = 0x50; p[33] = 0x18;
        p[34] = 0xFF; p[35] = 0xFF;
        for (int i = 0; i < payload; i++)
        {
            p[40 + i] = (byte)('a' + (i % 26));
        }

        return p;
    }

    private static byte[] Ethernet(byte[] ip)
    {
        var f = new byte[14 + ip.Length];
        f[0] = 2; f[6] = 2; f[11] = 1;
        f[12] = 0x08;
        ip.CopyTo(f, 14);
        return f;
    }

    private static void AssertToolsReadCleanly(string path, IReadOnlyList<(long Ns, string? Comment, int Len, int CapLen)> expected)
    {
        var info = ExternalTool.Run("capinfos", path);
        Assert.True(info.ExitCode == 0, $"capinfos exit {info.ExitCode}: {info.Stderr}");
        Assert.Equal("", info.Stderr);
        Assert.Contains($"Number of packets:   {expected.Count}", info.Stdout.Replace("Number of packets:    ", "Number of packets:   ", StringComparison.Ordinal), StringComparison.Ordinal);

        var plain = ExternalTool.Run("tshark", "-r", path);
        Assert.True(plain.ExitCode == 0, $"tshark exit {plain.ExitCode}: {plain.Stderr}");
        Assert.Equal("", plain.Stderr);
        Assert.Equal(expected.Count, plain.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);

        var fields = ExternalTool.Run("tshark", "-r", path, "-T", "fields", "-E", "separator=|", "-e", "frame.time_epoch", "-e", "frame.comment", "-e", "frame.len", "-e", "frame.cap_len");
        Assert.Equal("", fields.Stderr);
        var lines = fields.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(expected.Count, lines.Length);
        for (int i = 0; i < lines.Length; i++)
        {
            var f = lines[i].Split('|');
            Assert.Equal(expected[i].Ns, ExternalTool.EpochToNs(f[0]));
            Assert.Equal(expected[i].Comment ?? "", f[1]);
            Assert.Equal(expected[i].Len, int.Parse(f[2], CultureInfo.InvariantCulture));
            Assert.Equal(expected[i].CapLen, int.Parse(f[3], CultureInfo.InvariantCulture));
        }
    }

    [SkippableFact]
    public void Tshark_and_capinfos_read_our_pcapng_with_comments_without_warnings()
    {
        Skip.IfNot(ExternalTool.Exists("tshark") && ExternalTool.Exists("capinfos"), "tshark/capinfos not installed");
        string path = Path.Combine(Path.GetTempPath(), $"tcpkit-oracle-{Guid.NewGuid():N}.pcapng");
        try
        {
            var expected = new List<(long, string?, int, int)>();
            using (var w = PcapngWriter.Create(path))
            {
                int eth = w.AddInterface(LinkType.Ethernet, 65535, "sim0", description: "simulated");
                int raw = w.AddInterface(LinkType.Raw, 96, "tun0", timestampResolution: 6);
                long t = 1_700_000_000_123_456_789;
                for (int i = 0; i < 30; i++)
                {
                    bool onRaw = i % 3 == 2;
                    var ip = Ipv4Tcp(i * 7, 1000 + i);
                    var data = onRaw ? ip : Ethernet(ip);
                    string? comment = i % 2 == 0 ? $"{States[i % States.Length]} ✓ #{i}" : null;
                    long ts = t + i * 1_000_001L;
                    w.WritePacket(onRaw ? raw : eth, ts, data, comment: comment, flags: i % 4 == 0 ? 1u : 0u);
                    expected.Add((onRaw ? ts / 1000 * 1000 : ts, comment, data.Length, onRaw ? Math.Min(96, data.Length) : data.Length));
                }
            }

            AssertToolsReadCleanly(path, expected);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [SkippableTheory]
    [InlineData(PcapTimestampPrecision.Microseconds)]
    [InlineData(PcapTimestampPrecision.Nanoseconds)]
    public void Tshark_and_capinfos_read_our_pcap_without_warnings(PcapTimestampPrecision precision)
    {
        Skip.IfNot(ExternalTool.Exists("tshark") && ExternalTool.Exists("capinfos"), "tshark/capinfos not installed");
        string path = Path.Combine(Path.GetTempPath(), $"tcpkit-oracle-{Guid.NewGuid():N}.pcap");
        try
        {
            var expected = new List<(long, string?, int, int)>();
            using (var w = PcapWriter.Create(path, LinkType.Ethernet, 128, precision))
            {
                for (int i = 0; i < 25; i++)
                {
                    var data = Ethernet(Ipv4Tcp(i * 11, i));
                    long ts = 1_600_000_000_987_654_321 + i * 333_333_333L;
                    w.WritePacket(ts, data);
                    expected.Add((precision == PcapTimestampPrecision.Nanoseconds ? ts : ts / 1000 * 1000, null, data.Length, Math.Min(128, data.Length)));
                }
            }

            AssertToolsReadCleanly(path, expected);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [SkippableFact]
    public void Our_reader_reads_what_tshark_reads_from_its_own_rewrite_of_our_file()
    {
        // editcap converts our pcapng to a pcap in Wireshark's own writer; both must agree with us.
        Skip.IfNot(ExternalTool.Exists("editcap") && ExternalTool.Exists("tshark"), "editcap/tshark not installed");
        string ng = Path.Combine(Path.GetTempPath(), $"tcpkit-oracle-{Guid.NewGuid():N}.pcapng");
        string pc = Path.ChangeExtension(ng, ".pcap");
        try
        {
            using (var w = PcapngWriter.Create(ng))
            {
                w.AddInterface(LinkType.Ethernet);
                for (int i = 0; i < 10; i++)
                {
                    w.WritePacket(0, 1_650_000_000_000_000_000 + i * 1_234_567L, Ethernet(Ipv4Tcp(i, i)));
                }
            }

            var r = ExternalTool.Run("editcap", "-F", "nsecpcap", ng, pc);
            Assert.True(r.ExitCode == 0, r.Stderr);
            var ours = CaptureKit.ReadAll(File.ReadAllBytes(ng));
            var theirs = CaptureKit.ReadAll(File.ReadAllBytes(pc));
            Assert.Equal(CaptureFormat.Pcap, theirs.Format);
            Assert.Equal(ours.Packets.Select(p => (p.DataHex, p.TimestampNs, p.OriginalLength)), theirs.Packets.Select(p => (p.DataHex, p.TimestampNs, p.OriginalLength)));
        }
        finally
        {
            File.Delete(ng);
            File.Delete(pc);
        }
    }
}
