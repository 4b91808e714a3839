using System.Buffers.Binary;
using TcpKit.Wire.Checksums;
using TcpKit.Wire.Ip;
using TcpKit.Wire.Link;
using TcpKit.Wire.Tcp;

namespace TcpKit.Wire.Tests.Packets;

/// <summary>TCP headers quoted by ICMP (RFC 792) and ICMPv6 (RFC 4443) error messages.</summary>
public class IcmpQuoteTests
{
    private static readonly IpAddress Router = IpAddress.FromIPv4(192, 0, 2, 254);
    private static readonly IpAddress Router6 = IpAddress.Parse("2001:db8::fe");

    private static byte[] DataSegment(IpAddress src, IpAddress dst)
    {
        var tcp = new TcpHeader { SourcePort = 40000, DestinationPort = 80, Seq = new SeqNum(1001), Ack = new SeqNum(5001), Flags = TcpFlags.Ack | TcpFlags.Psh, Window = 1000 };
        return TestFrames.IpPacket(tcp, "hello"u8, src, dst);
    }

    /// <summary>An Ethernet frame carrying an ICMP(v6) message of <paramref name="type"/>/<paramref name="code"/> quoting <paramref name="quoted"/>.</summary>
    private static byte[] IcmpError(byte type, byte code, ReadOnlySpan<byte> quoted, bool v6 = false)
    {
        var icmp = new byte[8 + quoted.Length];
        icmp[0] = type;
        icmp[1] = code;
        quoted.CopyTo(icmp.AsSpan(8));
        IpAddress src = v6 ? Router6 : Router, dst = v6 ? TestFrames.ClientV6 : TestFrames.ClientV4;
        int ipLength = v6 ? Ipv6Packet.HeaderLength : Ipv4Packet.MinHeaderLength;
        var ip = new byte[ipLength + icmp.Length];
        if (v6)
        {
            new Ipv6Header { NextHeader = IpProtocol.Icmpv6, HopLimit = 64, Source = src, Destination = dst }.Emit(ip, icmp.Length);
            ushort sum = InternetChecksum.Add(InternetChecksum.PseudoHeaderSum(src, dst, IpProtocol.Icmpv6, icmp.Length), InternetChecksum.Sum(icmp));
            BinaryPrimitives.WriteUInt16BigEndian(icmp.AsSpan(2), InternetChecksum.Finish(sum));
        }
        else
        {
            new Ipv4Header { TimeToLive = 64, Protocol = IpProtocol.Icmp, Source = src, Destination = dst }.Emit(ip, icmp.Length);
            BinaryPrimitives.WriteUInt16BigEndian(icmp.AsSpan(2), InternetChecksum.Compute(icmp));
        }

        icmp.CopyTo(ip.AsSpan(ipLength));
        return TestFrames.Ethernet(ip, v6 ? EtherType.Ipv6 : EtherType.Ipv4);
    }

    private static bool Decode(byte[] frame, out IcmpQuote quote)
    {
        Assert.Equal(DecodeStatus.NotTcp, PacketDecoder.Decode(LinkType.Ethernet, frame, out var outer));
        return IcmpQuote.TryDecode(outer, frame, out quote);
    }

    [Fact]
    public void A_port_unreachable_that_quotes_a_whole_TCP_header_gives_the_segments_endpoints_and_every_header_field()
    {
        var segment = DataSegment(TestFrames.ClientV4, TestFrames.ServerV4);
        Assert.True(Decode(IcmpError(3, 3, segment), out var q));
        Assert.Equal((3, 3), (q.Type, q.Code));
        Assert.True(q.HasPorts);
        Assert.True(q.HasTcpHeader);
        Assert.Equal(TestFrames.ClientV4, q.Inner.Source);
        Assert.Equal(TestFrames.ServerV4, q.Inner.Destination);
        Assert.Equal((40000, 80), (q.Inner.SourcePort, q.Inner.DestinationPort));
        Assert.Equal((1001u, 5001u), (q.Inner.Seq.Value, q.Inner.Ack.Value));
        Assert.Equal(TcpFlags.Ack | TcpFlags.Psh, q.Inner.Flags);
        Assert.Equal(1000, q.Inner.Window);
    }

    [Fact]
    public void The_minimum_quote_of_RFC_792_names_ports_and_sequence_number_only()
    {
        var segment = DataSegment(TestFrames.ClientV4, TestFrames.ServerV4);
        Assert.True(Decode(IcmpError(3, 4, segment.AsSpan(0, 28)), out var q));
        Assert.True(q.HasPorts);
        Assert.False(q.HasTcpHeader);
        Assert.Equal((40000, 80), (q.Inner.SourcePort, q.Inner.DestinationPort));
        Assert.Equal(1001u, q.Inner.Seq.Value);
        Assert.Equal(default, q.Inner.Flags);
    }

    [Fact]
    public void An_ICMPv6_error_quoting_an_IPv6_TCP_segment_is_read_after_its_8_byte_header()
    {
        var segment = DataSegment(TestFrames.ClientV6, TestFrames.ServerV6);
        Assert.True(Decode(IcmpError(1, 4, segment, v6: true), out var q));
        Assert.Equal(6, q.Inner.IpVersion);
        Assert.True(q.HasTcpHeader);
        Assert.Equal(TestFrames.ServerV6, q.Inner.Destination);
        Assert.Equal(5001u, q.Inner.Ack.Value);
    }

    [Theory]
    [InlineData(0)] // echo reply
    [InlineData(8)] // echo request
    [InlineData(13)] // timestamp
    public void ICMP_messages_that_are_not_errors_quote_nothing(byte type)
    {
        var segment = DataSegment(TestFrames.ClientV4, TestFrames.ServerV4);
        Assert.False(Decode(IcmpError(type, 0, segment), out _));
    }

    [Fact]
    public void A_quote_too_short_for_the_ports_or_of_another_protocol_is_no_TCP_quote()
    {
        var segment = DataSegment(TestFrames.ClientV4, TestFrames.ServerV4);
        Assert.False(Decode(IcmpError(3, 3, segment.AsSpan(0, 23)), out _));
        Assert.False(Decode(IcmpError(3, 3, segment.AsSpan(0, 12)), out _));

        var udp = (byte[])segment.Clone();
        udp[9] = IpProtocol.Udp;
        Assert.False(Decode(IcmpError(3, 3, udp), out _));
    }

    [Fact]
    public void A_redirect_shows_only_the_first_8_bytes_of_the_quoted_header_as_Wireshark_does()
    {
        var segment = DataSegment(TestFrames.ClientV4, TestFrames.ServerV4);
        Assert.True(Decode(IcmpError(5, 1, segment), out var q));
        Assert.True(q.HasPorts);
        Assert.False(q.HasTcpHeader);
        Assert.Equal(1001u, q.Inner.Seq.Value);
    }
}
