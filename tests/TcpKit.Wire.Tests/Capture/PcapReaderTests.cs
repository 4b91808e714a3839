using TcpKit.Wire.Capture;

namespace TcpKit.Wire.Tests.Capture;

public class PcapReaderTests
{
    private static readonly byte[] A = [0xDE, 0xAD, 0xBE, 0xEF, 0x01];
    private static readonly byte[] B = [0x45, 0x00, 0x00, 0x14, 0xAA, 0xBB, 0xCC];

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public void Pcap_in_either_byte_order_and_precision_yields_exact_packets_and_timestamps(bool bigEndian, bool nano)
    {
        var file = new PcapBuilder(bigEndian, nano, snapLength: 1500)
            .Record(1_700_000_000, nano ? 123_456_789u : 123_456u, A, originalLength: 60)
            .Record(1_700_000_001, nano ? 999_999_999u : 999_999u, B)
            .ToArray();

        var r = CaptureKit.ReadAll(file);

        Assert.Equal(CaptureFormat.Pcap, r.Format);
        Assert.Equal(2, r.Packets.Count);
        var p = r.Packets[0];
        Assert.Equal(A, p.Data);
        Assert.Equal(5, p.CapturedLength);
        Assert.Equal(60, p.OriginalLength);
        Assert.Equal(nano ? 1_700_000_000_123_456_789L : 1_700_000_000_123_456_000L, p.TimestampNs);
        Assert.Equal(24, p.FileOffset);
        Assert.Equal(0, p.Ordinal);
        Assert.Equal(LinkType.Ethernet, p.LinkType);
        Assert.Null(p.Comment);
        var q = r.Packets[1];
        Assert.Equal(B, q.Data);
        Assert.Equal(nano ? 1_700_000_001_999_999_999L : 1_700_000_001_999_999_000L, q.TimestampNs);
        Assert.Equal(24 + 16 + 5, q.FileOffset);
        Assert.Equal(1, q.Ordinal);
        var iface = Assert.Single(r.Interfaces);
        Assert.Equal(1500u, iface.SnapLength);
        Assert.Equal(nano ? 9 : 6, iface.TimestampResolution);
        Assert.Equal(bigEndian, r.Section.BigEndian);
        Assert.Equal((ushort)2, r.Section.MajorVersion);
        Assert.Equal((ushort)4, r.Section.MinorVersion);
        Assert.Equal(2, r.Counters.PacketsRead);
    }

    [Fact]
    public void Fcs_bits_in_the_link_type_field_are_not_part_of_the_link_type()
    {
        // Bit 26 says an FCS length is present; bits 28-31 hold it in 16-bit words (here 2 = 4 bytes).
        uint field = (2u << 28) | 0x0400_0000u | 1u;
        var file = new PcapBuilder(bigEndian: true, nano: false, linkTypeField: field).Record(1, 0, A).ToArray();

        var r = CaptureKit.ReadAll(file);

        Assert.Equal(LinkType.Ethernet, r.Interfaces[0].LinkType);
        Assert.Equal(4, r.Interfaces[0].FcsLength);
        Assert.Equal(LinkType.Ethernet, r.Packets[0].LinkType);
    }

    [Fact]
    public void Fcs_length_without_its_present_bit_is_ignored()
    {
        var file = new PcapBuilder(false, false, linkTypeField: (3u << 28) | 101u).Record(1, 0, A).ToArray();

        var r = CaptureKit.ReadAll(file);

        Assert.Equal(LinkType.Raw, r.Interfaces[0].LinkType);
        Assert.Null(r.Interfaces[0].FcsLength);
    }

    [Fact]
    public void Unknown_link_type_is_carried_through_and_only_rejected_when_decoding_is_asked_for()
    {
        var file = new PcapBuilder(false, false, linkTypeField: 147).Record(1, 0, A).ToArray();

        var r = CaptureKit.ReadAll(file);

        Assert.Equal((LinkType)147, r.Packets[0].LinkType);
        Assert.False(r.Interfaces[0].IsKnownLinkType);
        var e = Assert.Throws<CaptureFormatException>(() => CaptureLinkTypes.EnsureDecodable(r.Packets[0].LinkType, r.Packets[0].FileOffset));
        Assert.Equal(CaptureErrorKind.UnknownLinkType, e.Kind);
        Assert.Equal("offset 24: link type 147 is not one TcpKit can decode", e.Message);
        CaptureLinkTypes.EnsureDecodable(LinkType.Ethernet, 0);
    }

    [Fact]
    public void Captured_length_above_the_snap_length_is_delivered_whole_and_counted()
    {
        var data = new byte[100];
        Random.Shared.NextBytes(data);
        var file = new PcapBuilder(false, false, snapLength: 64).Record(1, 0, data).Record(2, 0, A).ToArray();

        var r = CaptureKit.ReadAll(file);

        Assert.Equal(data, r.Packets[0].Data);
        Assert.Equal(1, r.Counters.CapturedLengthAboveSnapLength);
        Assert.Equal(0, r.Counters.TotalSkipped);
    }

    [Fact]
    public void A_header_only_pcap_has_no_packets()
    {
        var r = CaptureKit.ReadAll(new PcapBuilder(false, true).ToArray());

        Assert.Empty(r.Packets);
        Assert.Single(r.Interfaces);
    }

    [Fact]
    public void Packets_of_a_maximal_captured_length_are_read_on_every_path()
    {
        var big = new byte[CaptureReadOptions.MaxCapturedLength];
        new Random(7).NextBytes(big);
        var file = new PcapBuilder(false, false, snapLength: 262144).Record(1, 0, A).Record(2, 0, big).Record(3, 0, B).ToArray();

        var r = CaptureKit.ReadAll(file);

        Assert.Equal(3, r.Packets.Count);
        Assert.Equal(big, r.Packets[1].Data);
        Assert.Equal(B, r.Packets[2].Data);
    }
}
