using CsCheck;
using TcpKit.Wire.Checksums;
using TcpKit.Wire.Ip;
using TcpKit.Wire.Tcp;

namespace TcpKit.Wire.Tests.Packets;

public class TcpRoundTripTests
{
    private static readonly Gen<TcpOptions> GenOptions =
        Gen.Select(
            Gen.Select(Gen.Bool, Gen.UShort, (has, v) => has ? v : (ushort?)null),
            Gen.Select(Gen.Bool, Gen.Byte[0, 14], (has, v) => has ? v : (byte?)null),
            Gen.Bool,
            Gen.Select(Gen.Bool, Gen.UInt, Gen.UInt, (has, v, e) => has ? new TcpTimestamp(v, e) : (TcpTimestamp?)null),
            Gen.Select(Gen.UInt, Gen.Int[1, 1 << 20]).Array[0, 4],
            (mss, ws, sackPermitted, ts, sacks) =>
            {
                var o = new TcpOptions { Mss = mss, WindowScale = ws, SackPermitted = sackPermitted, Timestamp = ts };
                foreach (var (left, length) in sacks)
                {
                    o.TryAddSack(new SackBlock(new SeqNum(left), new SeqNum(left) + length));
                }

                return o;
            });

    private static readonly Gen<TcpHeader> GenHeader =
        Gen.Select(
            Gen.Select(Gen.UShort, Gen.UShort, Gen.UInt, Gen.UInt),
            Gen.Select(Gen.UShort[0, 0xFFF], Gen.UShort, Gen.UShort),
            GenOptions,
            (a, b, options) => new TcpHeader
            {
                SourcePort = a.Item1,
                DestinationPort = a.Item2,
                Seq = new SeqNum(a.Item3),
                Ack = new SeqNum(a.Item4),
                Flags = (TcpFlags)b.Item1,
                Window = b.Item2,
                UrgentPointer = b.Item3,
                Options = options,
            });

    private static readonly Gen<IpAddress> GenV4 = Gen.UInt.Select(IpAddress.FromIPv4);
    private static readonly Gen<IpAddress> GenV6 = Gen.Select(Gen.ULong, Gen.ULong, IpAddress.FromIPv6);

    [Fact]
    public void Built_segments_parse_back_to_the_same_header_options_and_payload()
    {
        var addresses = Gen.Bool.SelectMany(v6 => v6 ? Gen.Select(GenV6, GenV6) : Gen.Select(GenV4, GenV4));
        Gen.Select(GenHeader, Gen.Byte.Array[0, 1500], addresses).Sample((header, payload, ips) =>
        {
            var (src, dst) = ips;
            var buffer = new byte[header.HeaderLength + payload.Length + 7];
            int n = header.Emit(buffer, payload, src, dst);
            Assert.Equal(header.HeaderLength + payload.Length, n);
            Assert.True(header.HeaderLength <= TcpSegment.MaxHeaderLength);

            Assert.True(TcpSegment.TryParse(buffer.AsSpan(0, n), out var s));
            Assert.Equal(ChecksumVerdict.Good, s.VerifyChecksum(src, dst));
            Assert.True(s.Payload.SequenceEqual(payload));
            var back = s.ToHeader();
            Assert.Equal(header.SourcePort, back.SourcePort);
            Assert.Equal(header.DestinationPort, back.DestinationPort);
            Assert.Equal(header.Seq, back.Seq);
            Assert.Equal(header.Ack, back.Ack);
            Assert.Equal(header.Flags, back.Flags);
            Assert.Equal(header.Window, back.Window);
            Assert.Equal(header.UrgentPointer, back.UrgentPointer);
            Assert.Equal(header.Options.Mss, back.Options.Mss);
            Assert.Equal(header.Options.WindowScale, back.Options.WindowScale);
            Assert.Equal(header.Options.SackPermitted, back.Options.SackPermitted);
            Assert.Equal(header.Options.Timestamp, back.Options.Timestamp);
            Assert.Equal(header.EmittedSackCount, back.Options.SackCount);
            for (int i = 0; i < back.Options.SackCount; i++)
            {
                Assert.Equal(header.Options.GetSack(i), back.Options.GetSack(i));
            }

            foreach (var option in s.Options)
            {
                Assert.Equal(TcpOptionStatus.Ok, option.Status);
            }

            // Emitting the parsed representation gives the same bytes: the layout is canonical.
            var again = new byte[n];
            back.Emit(again, s.Payload, src, dst);
            Assert.Equal(buffer.AsSpan(0, n).ToArray(), again);
        }, iter: 500);
    }

    [Fact]
    public void Built_ip_packets_decode_to_the_fields_they_were_built_from()
    {
        var addresses = Gen.Bool.SelectMany(v6 => v6 ? Gen.Select(GenV6, GenV6) : Gen.Select(GenV4, GenV4));
        Gen.Select(GenHeader, Gen.Byte.Array[0, 1400], addresses, Gen.Byte[1, 255], Gen.UShort).Sample((header, payload, ips, ttl, id) =>
        {
            var (src, dst) = ips;
            var packet = TestFrames.IpPacket(header, payload, src, dst, ttl, id);
            var frame = TestFrames.Ethernet(packet, src.IsIPv4 ? Link.EtherType.Ipv4 : Link.EtherType.Ipv6);
            Assert.Equal(DecodeStatus.Ok, PacketDecoder.Decode(LinkType.Ethernet, frame, out var d));
            Assert.Equal(src, d.Source);
            Assert.Equal(dst, d.Destination);
            Assert.Equal(ttl, d.Ttl);
            Assert.Equal(src.IsIPv4 ? id : 0u, d.IpIdentification);
            Assert.Equal(packet.Length, d.IpTotalLength);
            Assert.Equal((header.SourcePort, header.DestinationPort, header.Seq, header.Ack, header.Flags, header.Window),
                (d.SourcePort, d.DestinationPort, d.Seq, d.Ack, d.Flags, d.Window));
            Assert.Equal(header.HeaderLength, d.TcpHeaderLength);
            Assert.Equal(payload.Length, d.TcpPayloadLength);
            Assert.True(d.GetTcpPayload(frame).SequenceEqual(payload));
            Assert.Equal(ChecksumVerdict.Good, d.VerifyTcpChecksum(frame));
            if (src.IsIPv4)
            {
                Assert.Equal(ChecksumVerdict.Good, d.VerifyIpv4HeaderChecksum(frame));
            }
        }, iter: 300);
    }

    [Fact]
    public void Syn_options_are_laid_out_byte_for_byte_as_linux_does()
    {
        var syn = TestFrames.LinuxSyn();
        var bytes = TestFrames.Segment(syn, [], TestFrames.ClientV4, TestFrames.ServerV4);
        Assert.Equal(40, bytes.Length);
        Assert.Equal(0xA0, bytes[12]);
        Assert.Equal(Convert.FromHexString("020405b4" + "0402080a000003e800000000" + "01030307"), bytes[20..]);
    }

    [Fact]
    public void Options_without_timestamps_use_nop_padding_like_linux()
    {
        var h = new TcpHeader { Flags = TcpFlags.Syn };
        h.Options.Mss = 536;
        h.Options.SackPermitted = true;
        h.Options.WindowScale = 2;
        var bytes = TestFrames.Segment(h, [], TestFrames.ClientV4, TestFrames.ServerV4);
        Assert.Equal(Convert.FromHexString("02040218" + "01010402" + "01030302"), bytes[20..]);

        var ack = new TcpHeader { Flags = TcpFlags.Ack };
        ack.Options.Timestamp = new TcpTimestamp(7, 9);
        ack.Options.TryAddSack(new SackBlock(new SeqNum(100), new SeqNum(200)));
        bytes = TestFrames.Segment(ack, [], TestFrames.ClientV4, TestFrames.ServerV4);
        Assert.Equal(Convert.FromHexString("0101080a0000000700000009" + "0101050a" + "00000064000000c8"), bytes[20..]);
    }

    [Fact]
    public void Sack_blocks_that_do_not_fit_beside_timestamps_are_left_out()
    {
        var h = new TcpHeader { Flags = TcpFlags.Ack };
        h.Options.Timestamp = new TcpTimestamp(1, 2);
        for (uint i = 0; i < 4; i++)
        {
            h.Options.TryAddSack(new SackBlock(new SeqNum(i * 100), new SeqNum((i * 100) + 50)));
        }

        Assert.Equal(3, h.EmittedSackCount);
        Assert.Equal(60, h.HeaderLength);
        h.Options.Timestamp = null;
        Assert.Equal(4, h.EmittedSackCount);
        Assert.Equal(56, h.HeaderLength);
    }

    [Fact]
    public void Emitting_into_a_short_buffer_is_refused()
    {
        var syn = TestFrames.LinuxSyn();
        Assert.Throws<ArgumentException>(() => syn.Emit(new byte[39], [], TestFrames.ClientV4, TestFrames.ServerV4));
        Assert.Throws<ArgumentException>(() => syn.Emit(new byte[45], new byte[10], TestFrames.ClientV4, TestFrames.ServerV4));
    }

    [Fact]
    public void Ipv6_header_builder_round_trips()
    {
        Gen.Select(Gen.Byte, Gen.UInt[0, 0xFFFFF], Gen.Byte, GenV6, GenV6).Sample((tc, flow, hop, src, dst) =>
        {
            var bytes = new byte[60];
            new Ipv6Header { TrafficClass = tc, FlowLabel = flow, NextHeader = IpProtocol.NoNextHeader, HopLimit = hop, Source = src, Destination = dst }.Emit(bytes, 20);
            Assert.True(Ipv6Packet.TryParse(bytes, out var p));
            Assert.Equal((tc, flow, hop, src, dst, 60), (p.TrafficClass, p.FlowLabel, p.HopLimit, p.Source, p.Destination, p.TotalLength));
        });
    }
}
