using CsCheck;
using TcpKit.Wire.Capture;

namespace TcpKit.Wire.Tests.Capture;

public class RoundTripTests
{
    private sealed record Spec(int Interface, long TimestampNs, byte[] Data, int Extra, string? Comment, uint Flags);

    private static readonly (LinkType Link, byte Resolution)[] Interfaces =
        [(LinkType.Ethernet, 9), (LinkType.Raw, 6), ((LinkType)147, 0x80 | 20)];

    private static readonly Gen<Spec> GenSpec = Gen.Select(
        Gen.Int[0, 2],
        Gen.Long[0, 4_000_000_000_000_000_000L],
        Gen.Byte.Array[0, 1600],
        Gen.Int[0, 100],
        Gen.OneOf<string?>(new string?[] { null, null, "ESTABLISHED", "état ✓ CLOSE-WAIT", "", "a\nb" }),
        Gen.OneOf(new[] { 0u, 0u, 1u, 2u, 0x0100_0003u }),
        (i, t, d, e, c, f) => new Spec(i, t, d, e, c, f));

    /// <summary>What a reader must report for a timestamp written at a resolution (floored, exact integers).</summary>
    private static long Expected(long ns, byte resolution) => resolution switch
    {
        9 => ns,
        6 => ns / 1000 * 1000,
        _ => (long)((Int128)(((Int128)ns << (resolution & 0x7F)) / 1_000_000_000) * 1_000_000_000 >> (resolution & 0x7F)),
    };

    private static byte[] WritePcapng(IEnumerable<(int Interface, long Ns, byte[] Data, long Original, string? Comment, uint Flags)> packets,
        IEnumerable<(LinkType Link, byte Resolution)> interfaces)
    {
        var ms = new MemoryStream();
        using (var w = new PcapngWriter(ms, leaveOpen: true))
        {
            foreach (var (link, res) in interfaces)
            {
                w.AddInterface(link, 0, $"if{w.InterfaceCount}", res);
            }

            foreach (var p in packets)
            {
                w.WritePacket(p.Interface, p.Ns, p.Data, p.Original, p.Comment, p.Flags);
            }
        }

        return ms.ToArray();
    }

    /// <summary>Read -> write (ns resolution) -> read must give the same packets.</summary>
    private static ReadResult Rewrite(ReadResult first)
    {
        var file = WritePcapng(
            first.Packets.Select(p => (p.InterfaceIndex, p.TimestampNs, p.Data, p.OriginalLength, p.Comment, p.Flags)),
            first.Interfaces.Select(i => (i.LinkType, (byte)9)));
        return CaptureKit.ReadAll(file);
    }

    private static void AssertSamePackets(ReadResult a, ReadResult b) =>
        Assert.Equal(
            a.Packets.Select(p => (p.DataHex, p.OriginalLength, p.TimestampNs, p.Comment, p.Flags, p.InterfaceIndex, p.LinkType)),
            b.Packets.Select(p => (p.DataHex, p.OriginalLength, p.TimestampNs, p.Comment, p.Flags, p.InterfaceIndex, p.LinkType)));

    [Fact]
    public void Random_packet_lists_round_trip_through_the_pcapng_writer_and_every_reader_path()
    {
        GenSpec.List[0, 25].Sample(specs =>
        {
            var file = WritePcapng(specs.Select(s => (s.Interface, s.TimestampNs, s.Data, (long)s.Data.Length + s.Extra, s.Comment, s.Flags)), Interfaces);
            var r = CaptureKit.ReadAll(file);

            Assert.Equal(specs.Count, r.Packets.Count);
            for (int i = 0; i < specs.Count; i++)
            {
                var (s, p) = (specs[i], r.Packets[i]);
                Assert.Equal(s.Data, p.Data);
                Assert.Equal(s.Data.Length + s.Extra, p.OriginalLength);
                Assert.Equal(Expected(s.TimestampNs, Interfaces[s.Interface].Resolution), p.TimestampNs);
                Assert.Equal(s.Comment, p.Comment);
                Assert.Equal(s.Flags, p.Flags);
                Assert.Equal(Interfaces[s.Interface].Link, p.LinkType);
            }

            AssertSamePackets(r, Rewrite(r));
        }, iter: 60);
    }

    [Fact]
    public void Random_packet_lists_round_trip_through_the_pcap_writer_in_both_precisions()
    {
        Gen.Select(GenSpec.List[0, 25], Gen.Bool).Sample((specs, nano) =>
        {
            var ms = new MemoryStream();
            using (var w = new PcapWriter(ms, LinkType.Ethernet, precision: nano ? PcapTimestampPrecision.Nanoseconds : PcapTimestampPrecision.Microseconds, leaveOpen: true))
            {
                foreach (var s in specs)
                {
                    w.WritePacket(s.TimestampNs % (4_294_967_296L * 1_000_000_000), s.Data, s.Data.Length + s.Extra);
                }
            }

            var r = CaptureKit.ReadAll(ms.ToArray());

            Assert.Equal(specs.Count, r.Packets.Count);
            for (int i = 0; i < specs.Count; i++)
            {
                long ns = specs[i].TimestampNs % (4_294_967_296L * 1_000_000_000);
                Assert.Equal(specs[i].Data, r.Packets[i].Data);
                Assert.Equal(specs[i].Data.Length + specs[i].Extra, r.Packets[i].OriginalLength);
                Assert.Equal(nano ? ns : ns / 1000 * 1000, r.Packets[i].TimestampNs);
            }

            // pcap -> pcap in the same precision is exact.
            var again = new MemoryStream();
            using (var w = new PcapWriter(again, LinkType.Ethernet, precision: nano ? PcapTimestampPrecision.Nanoseconds : PcapTimestampPrecision.Microseconds, leaveOpen: true))
            {
                foreach (var p in r.Packets)
                {
                    w.WritePacket(p.TimestampNs, p.Data, p.OriginalLength);
                }
            }

            Assert.Equal(ms.ToArray(), again.ToArray());
        }, iter: 60);
    }

    [Fact]
    public void Hand_built_multi_section_file_survives_read_write_read()
    {
        byte[] a = [1, 2, 3], b = [4, 5, 6, 7, 8, 9];
        var file = new PcapngBuilder()
            .Shb(true).Idb(1, 0, Opt.Byte(9, 0x80 | 16), Opt.U64(14, 1_000)).Idb(101, 0)
            .Epb(0, 65_536 * 3 + 1, a, options: [Opt.Comment("one")])
            .Pb(1, 0, 77, b, Opt.U32(2, 3))
            .Shb(false).Idb(228, 0, Opt.Byte(9, 9))
            .Epb(0, 1_700_000_000_000_000_001, b, originalLength: 900, options: [Opt.Comment("three ✓")])
            .ToArray();

        var first = CaptureKit.ReadAll(file);
        var second = Rewrite(first);

        Assert.Equal(3, first.Packets.Count);
        Assert.Equal(1_000_000_000_000L + 3_000_000_000L + 15_258L, first.Packets[0].TimestampNs); // 1/65536 s = 15258.78 ns
        AssertSamePackets(first, second);
    }
}
