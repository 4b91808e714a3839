using TcpKit.Wire.Checksums;
using TcpKit.Wire.Tcp;

namespace TcpKit.Wire.Tests.Packets;

/// <summary>A snaplen that ends inside the TCP options: the fixed header is decoded, options as far as they are whole.</summary>
public class CutHeaderTests
{
    /// <summary>A Linux SYN (40-byte header: MSS, SACK-permitted, timestamps, NOP, window scale) in Ethernet.</summary>
    private static byte[] SynFrame() => TestFrames.Ethernet(TestFrames.IpPacket(TestFrames.LinuxSyn(), [], TestFrames.ClientV4, TestFrames.ServerV4), Link.EtherType.Ipv4);

    [Theory]
    [InlineData(54, 0)]
    [InlineData(62, 6)]
    [InlineData(68, 6)]
    [InlineData(70, 16)]
    [InlineData(73, 17)]
    public void The_fixed_header_is_decoded_and_only_whole_options_are_read(int snaplen, int wholeOptionBytes)
    {
        var full = SynFrame();
        Assert.Equal(74, full.Length);
        var frame = full.AsSpan(0, snaplen);
        Assert.Equal(DecodeStatus.Ok, PacketDecoder.Decode(LinkType.Ethernet, frame, full.Length, out var p));
        Assert.True(p.TcpHeaderCut);
        Assert.True(p.IsTruncated);
        Assert.Equal(40, p.TcpHeaderLength);
        Assert.Equal(0, p.TcpPayloadLength);
        Assert.Equal(0, p.TcpPayloadCaptured);
        Assert.Equal(TcpFlags.Syn, p.Flags);
        Assert.Equal(80, p.DestinationPort);
        Assert.Equal(wholeOptionBytes, p.GetTcpOptionBytes(frame).Length);
        foreach (var option in p.GetTcpOptions(frame))
        {
            Assert.False(option.IsMalformed);
        }

        Assert.Equal(ChecksumVerdict.Unverifiable, p.VerifyTcpChecksum(frame));
    }

    [Fact]
    public void A_whole_header_is_not_cut_and_a_fixed_header_cut_short_is_still_truncated()
    {
        var full = SynFrame();
        Assert.Equal(DecodeStatus.Ok, PacketDecoder.Decode(LinkType.Ethernet, full, out var whole));
        Assert.False(whole.TcpHeaderCut);
        Assert.Equal(DecodeStatus.Truncated, PacketDecoder.Decode(LinkType.Ethernet, full.AsSpan(0, 53), full.Length, out _));
    }

    [Fact]
    public void Whole_options_stop_before_the_one_the_capture_cuts()
    {
        byte[] options = [2, 4, 5, 180, 4, 2, 8, 10, 0, 0, 0, 1];
        Assert.Equal(6, TcpOptionReader.WholeOptions(options).Length);
        Assert.Equal(5, TcpOptionReader.WholeOptions([2, 4, 5, 180, 1]).Length);
        Assert.Equal(7, TcpOptionReader.WholeOptions([1, 1, 1, 3, 3, 7, 0]).Length);
        Assert.Empty(TcpOptionReader.WholeOptions([2]).ToArray());
    }
}
