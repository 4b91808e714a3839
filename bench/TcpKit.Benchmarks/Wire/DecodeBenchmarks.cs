using BenchmarkDotNet.Attributes;
using TcpKit.Wire;
using TcpKit.Wire.Checksums;
using TcpKit.Wire.Ip;
using TcpKit.Wire.Link;
using TcpKit.Wire.Tcp;

namespace TcpKit.Benchmarks.Wire;

/// <summary>Per-frame cost of the decoder the analyzer runs on every captured packet, and of the checksum.</summary>
[MemoryDiagnoser]
public class DecodeBenchmarks
{
    private byte[] _ipv4Frame = [];
    private byte[] _ipv6Frame = [];
    private byte[] _mss = [];
    private IpAddress _src;
    private IpAddress _dst;

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(42);
        _mss = new byte[1460];
        random.NextBytes(_mss);
        _src = IpAddress.FromIPv4(192, 0, 2, 1);
        _dst = IpAddress.FromIPv4(198, 51, 100, 7);

        var tcp = new TcpHeader
        {
            SourcePort = 443,
            DestinationPort = 51000,
            Seq = new SeqNum(1_000_000),
            Ack = new SeqNum(2_000_000),
            Flags = TcpFlags.Ack | TcpFlags.Psh,
            Window = 501,
        };
        tcp.Options.Timestamp = new TcpTimestamp(123456, 654321);
        _ipv4Frame = BuildFrame(tcp, _src, _dst);
        _ipv6Frame = BuildFrame(tcp, IpAddress.Parse("2001:db8::1"), IpAddress.Parse("2001:db8:0:1::80"));
    }

    private byte[] BuildFrame(TcpHeader tcp, IpAddress src, IpAddress dst)
    {
        int ipHeader = src.IsIPv4 ? 20 : 40;
        int segment = tcp.HeaderLength + _mss.Length;
        var frame = new byte[14 + ipHeader + segment];
        var eth = new EthernetHeader
        {
            Destination = new MacAddress(0x0200_0000_0002),
            Source = new MacAddress(0x0200_0000_0001),
            EtherType = src.IsIPv4 ? EtherType.Ipv4 : EtherType.Ipv6,
        };
        int at = eth.Emit(frame);
        at += src.IsIPv4
            ? new Ipv4Header { TimeToLive = 64, Protocol = IpProtocol.Tcp, DontFragment = true, Source = src, Destination = dst }.Emit(frame.AsSpan(at), segment)
            : new Ipv6Header { HopLimit = 64, NextHeader = IpProtocol.Tcp, Source = src, Destination = dst }.Emit(frame.AsSpan(at), segment);
        tcp.Emit(frame.AsSpan(at), _mss, src, dst);
        return frame;
    }

    [Benchmark]
    public int DecodeEthernetIpv4TcpWithTimestamps()
    {
        PacketDecoder.Decode(LinkType.Ethernet, _ipv4Frame, out var p);
        return p.TcpPayloadLength;
    }

    [Benchmark]
    public int DecodeEthernetIpv6Tcp()
    {
        PacketDecoder.Decode(LinkType.Ethernet, _ipv6Frame, out var p);
        return p.TcpPayloadLength;
    }

    [Benchmark]
    public int DecodeAndParseOptions()
    {
        PacketDecoder.Decode(LinkType.Ethernet, _ipv4Frame, out var p);
        return (int)(p.GetTcp(_ipv4Frame).ParseOptions().Timestamp?.Value ?? 0);
    }

    [Benchmark]
    public ChecksumVerdict DecodeAndVerifyTcpChecksum()
    {
        PacketDecoder.Decode(LinkType.Ethernet, _ipv4Frame, out var p);
        return p.VerifyTcpChecksum(_ipv4Frame);
    }

    [Benchmark]
    public ushort Checksum1460Bytes() => InternetChecksum.Sum(_mss);

    /// <summary>Baseline for the vectorised sum: RFC 1071 word by word.</summary>
    [Benchmark]
    public ushort ScalarChecksum1460Bytes()
    {
        uint sum = 0;
        var data = _mss;
        for (int i = 0; i + 1 < data.Length; i += 2)
        {
            sum += (uint)((data[i] << 8) | data[i + 1]);
        }

        sum = (sum & 0xFFFF) + (sum >> 16);
        return (ushort)((sum & 0xFFFF) + (sum >> 16));
    }

    [Benchmark]
    public ushort TcpChecksumWithPseudoHeader() => InternetChecksum.ComputeTcp(_src, _dst, _ipv4Frame.AsSpan(34));
}
