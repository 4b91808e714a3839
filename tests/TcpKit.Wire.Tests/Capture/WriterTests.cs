using System.Buffers.Binary;
using TcpKit.Wire.Capture;

namespace TcpKit.Wire.Tests.Capture;

public class WriterTests
{
    private static readonly byte[] A = [0xDE, 0xAD, 0xBE, 0xEF, 0x01];

    [Fact]
    public void Pcapng_writer_names_the_application_and_describes_each_interface()
    {
        var ms = new MemoryStream();
        using (var w = new PcapngWriter(ms, leaveOpen: true))
        {
            Assert.Equal(0, w.AddInterface(LinkType.Ethernet, 1500, "eth0", description: "sim link"));
            Assert.Equal(1, w.AddInterface(LinkType.Raw, 0, "tun0", timestampResolution: 6));
            Assert.Equal(2, w.AddInterface((LinkType)147, name: null, timestampResolution: 0x80 | 24));
            w.WritePacket(1, 1_700_000_000_000_001_000, A, comment: "LISTEN", flags: 1);
        }

        var r = CaptureKit.ReadAll(ms.ToArray());

        Assert.Equal("TcpKit", r.Section.UserApplication);
        Assert.Equal(3, r.Interfaces.Count);
        Assert.Equal(("eth0", "sim link", LinkType.Ethernet, 1500u, (byte)9), (r.Interfaces[0].Name, r.Interfaces[0].Description, r.Interfaces[0].LinkType, r.Interfaces[0].SnapLength, r.Interfaces[0].TimestampResolution));
        Assert.Equal(("tun0", LinkType.Raw, 0u, (byte)6), (r.Interfaces[1].Name, r.Interfaces[1].LinkType, r.Interfaces[1].SnapLength, r.Interfaces[1].TimestampResolution));
        Assert.Equal((byte)(0x80 | 24), r.Interfaces[2].TimestampResolution);
        var p = Assert.Single(r.Packets);
        Assert.Equal(("LISTEN", 1u, 1, 1_700_000_000_000_001_000L), (p.Comment, p.Flags, p.InterfaceIndex, p.TimestampNs));
    }

    [Fact]
    public void Writers_cut_data_at_the_snap_length_and_keep_the_original_length()
    {
        var data = Enumerable.Range(0, 100).Select(i => (byte)i).ToArray();
        var ng = new MemoryStream();
        using (var w = new PcapngWriter(ng, leaveOpen: true))
        {
            w.AddInterface(LinkType.Ethernet, 64);
            w.WritePacket(0, 5, data);
        }

        var pc = new MemoryStream();
        using (var w = new PcapWriter(pc, LinkType.Ethernet, 64, PcapTimestampPrecision.Nanoseconds, leaveOpen: true))
        {
            w.WritePacket(5, data, originalLength: 1500);
        }

        var a = CaptureKit.ReadAll(ng.ToArray()).Packets[0];
        var b = CaptureKit.ReadAll(pc.ToArray()).Packets[0];
        Assert.Equal(data[..64], a.Data);
        Assert.Equal(100, a.OriginalLength);
        Assert.Equal(data[..64], b.Data);
        Assert.Equal(1500, b.OriginalLength);
    }

    [Fact]
    public void Pcap_writer_writes_a_version_2_4_header_with_the_chosen_magic()
    {
        foreach (var (precision, magic) in new[] { (PcapTimestampPrecision.Microseconds, 0xA1B2C3D4u), (PcapTimestampPrecision.Nanoseconds, 0xA1B23C4Du) })
        {
            var ms = new MemoryStream();
            using (new PcapWriter(ms, LinkType.LinuxSll2, 9000, precision, leaveOpen: true))
            {
            }

            var h = ms.ToArray();
            Assert.Equal(24, h.Length);
            Assert.Equal(magic, BinaryPrimitives.ReadUInt32LittleEndian(h));
            Assert.Equal((ushort)2, BinaryPrimitives.ReadUInt16LittleEndian(h.AsSpan(4)));
            Assert.Equal((ushort)4, BinaryPrimitives.ReadUInt16LittleEndian(h.AsSpan(6)));
            Assert.Equal(9000u, BinaryPrimitives.ReadUInt32LittleEndian(h.AsSpan(16)));
            Assert.Equal(276u, BinaryPrimitives.ReadUInt32LittleEndian(h.AsSpan(20)));
        }
    }

    [Fact]
    public void Writers_buffer_until_flushed_or_disposed()
    {
        var ms = new MemoryStream();
        var w = new PcapWriter(ms, LinkType.Raw, leaveOpen: true);
        w.WritePacket(1, A);
        Assert.Equal(0, ms.Length);
        w.Flush();
        Assert.Equal(24 + 16 + 5, ms.Length);
        w.WritePacket(2, A);
        w.Dispose();
        Assert.Equal(2 * (16 + 5) + 24, ms.Length);
        Assert.True(ms.CanRead); // leaveOpen honoured
    }

    [Fact]
    public void Timestamps_a_format_cannot_hold_are_refused()
    {
        using var pc = new PcapWriter(new MemoryStream(), LinkType.Raw);
        Assert.Throws<ArgumentOutOfRangeException>(() => pc.WritePacket(-1, A));
        Assert.Throws<ArgumentOutOfRangeException>(() => pc.WritePacket((uint.MaxValue + 1L) * 1_000_000_000, A));
        using var ng = new PcapngWriter(new MemoryStream());
        ng.AddInterface(LinkType.Raw);
        Assert.Throws<ArgumentOutOfRangeException>(() => ng.WritePacket(0, -5, A));
        Assert.Throws<ArgumentOutOfRangeException>(() => ng.WritePacket(1, 0, A));
        Assert.Throws<ArgumentOutOfRangeException>(() => ng.WritePacket(0, 0, A, originalLength: 2));
    }

    [Fact]
    public void Comments_longer_than_an_option_can_hold_are_refused()
    {
        using var ng = new PcapngWriter(new MemoryStream());
        ng.AddInterface(LinkType.Raw);
        Assert.Throws<ArgumentException>(() => ng.WritePacket(0, 0, A, comment: new string('x', 70_000)));
    }

    [Fact]
    public void Many_packets_larger_than_the_write_buffer_come_back_intact()
    {
        var rng = new Random(3);
        var packets = Enumerable.Range(0, 40).Select(i => { var d = new byte[rng.Next(0, 262_145)]; rng.NextBytes(d); return d; }).ToList();
        var ms = new MemoryStream();
        using (var w = new PcapngWriter(ms, leaveOpen: true))
        {
            w.AddInterface(LinkType.Ethernet, 0);
            for (int i = 0; i < packets.Count; i++)
            {
                w.WritePacket(0, i, packets[i], comment: i % 3 == 0 ? $"#{i}" : null);
            }
        }

        var r = CaptureKit.ReadAll(ms.ToArray());

        Assert.Equal(packets.Select(Convert.ToHexString), r.Packets.Select(p => p.DataHex));
        Assert.Equal(Enumerable.Range(0, 40).Select(i => i % 3 == 0 ? $"#{i}" : null), r.Packets.Select(p => p.Comment));
    }
}
