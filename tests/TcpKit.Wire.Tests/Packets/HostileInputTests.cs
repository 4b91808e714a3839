using CsCheck;
using TcpKit.Wire.Link;
using TcpKit.Wire.Tcp;

namespace TcpKit.Wire.Tests.Packets;

/// <summary>Bad input gets a status, never an exception: random and mutated frames through every entry point.</summary>
public class HostileInputTests
{
    private static readonly LinkType[] Links = [LinkType.Null, LinkType.Ethernet, LinkType.Raw, LinkType.Loop, LinkType.LinuxSll, LinkType.Ipv4, LinkType.Ipv6, LinkType.LinuxSll2];

    private static readonly byte[][] Seeds =
    [
        TestFrames.Ethernet(TestFrames.IpPacket(TestFrames.LinuxSyn(), "payload"u8, TestFrames.ClientV4, TestFrames.ServerV4), EtherType.Ipv4, 2, 5, 6),
        TestFrames.Ethernet(TestFrames.IpPacket(TestFrames.LinuxSyn(), "payload"u8, TestFrames.ClientV6, TestFrames.ServerV6), EtherType.Ipv6, 1, 9),
    ];

    /// <summary>Touches everything a consumer of a decoded packet may call.</summary>
    private static void UseEverything(LinkType link, byte[] frame, int originalLength = -1)
    {
        var status = PacketDecoder.Decode(link, frame, originalLength, out var p);
        Assert.True(Enum.IsDefined(status));
        if (status != DecodeStatus.Ok && !(status == DecodeStatus.Fragment && p.HasTcp))
        {
            Assert.False(p.HasTcp);
            return;
        }

        Assert.Equal(WireError.None, p.Error);
        Assert.True(p.TcpPayloadCaptured <= p.TcpPayloadLength);
        _ = p.GetTcpPayload(frame).Length + p.GetIpBytes(frame).Length;
        _ = p.VerifyTcpChecksum(frame);
        if (p.TcpHeaderCut)
        {
            // Options cut by the capture: no segment view, only the options captured whole.
            Assert.Equal(0, p.TcpPayloadCaptured);
            Assert.Throws<InvalidOperationException>(() => p.GetTcp(frame));
        }
        else
        {
            Assert.Equal(p.TcpPayloadCaptured, p.GetTcp(frame).Payload.Length);
        }

        foreach (var option in p.GetTcpOptions(frame))
        {
            _ = option.Kind == TcpOptionKind.Sack && !option.IsMalformed ? option.GetSackBlock(option.SackBlockCount - 1).Left.Value : 0u;
            _ = option.Kind == TcpOptionKind.Mss && !option.IsMalformed ? option.Mss : 0;
            _ = option.Kind == TcpOptionKind.Timestamps && !option.IsMalformed ? option.TimestampValue : 0u;
            _ = option.FastOpenCookie.Length + option.Md5Digest.Length + option.AoMac.Length + option.ExperimentId + option.Length;
        }

        _ = TcpOptionReader.Parse(p.GetTcpOptionBytes(frame), out _);
        if (p.IpVersion == 4)
        {
            _ = p.GetIpv4(frame).Options.Length + (int)p.VerifyIpv4HeaderChecksum(frame);
        }
        else
        {
            _ = p.GetIpv6(frame).UpperLayerPayload.Length;
        }
    }

    [Fact]
    public void Random_bytes_on_every_link_type_never_throw()
    {
        Gen.Select(Gen.Int[0, Links.Length - 1], Gen.Byte.Array[0, 200]).Sample((l, frame) => UseEverything(Links[l], frame), iter: 20000);
    }

    [Fact]
    public void Valid_frames_with_random_bytes_overwritten_or_cut_never_throw()
    {
        Gen.Select(Gen.Int[0, Seeds.Length - 1], Gen.Select(Gen.Int[0, 120], Gen.Byte).Array[1, 6], Gen.Int[0, 130]).Sample((s, edits, cut) =>
        {
            var frame = (byte[])Seeds[s].Clone();
            foreach (var (at, value) in edits)
            {
                frame[at % frame.Length] = value;
            }

            UseEverything(LinkType.Ethernet, frame);
            UseEverything(LinkType.Ethernet, frame[..Math.Min(cut, frame.Length)]);
            UseEverything(LinkType.Ethernet, frame[..Math.Min(cut, frame.Length)], frame.Length);
            UseEverything(LinkType.Ethernet, frame, cut + frame.Length - 65);
        }, iter: 20000);
    }

    [Fact]
    public void Random_option_bytes_never_throw_and_always_end()
    {
        Gen.Byte.Array[0, 40].Sample(bytes =>
        {
            int count = 0;
            foreach (var option in new TcpOptionReader(bytes))
            {
                Assert.True(option.Raw.Length >= 1);
                count++;
            }

            Assert.True(count <= bytes.Length);
            _ = TcpOptionReader.Parse(bytes, out _);
        }, iter: 20000);
    }
}
