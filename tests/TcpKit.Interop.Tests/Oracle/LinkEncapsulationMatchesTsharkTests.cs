using System.Buffers.Binary;
using TcpKit.Interop.Tests.Analysis;
using TcpKit.Interop.Tests.Infrastructure;
using TcpKit.Wire;
using TcpKit.Wire.Capture;
using TcpKit.Wire.Ip;
using TcpKit.Wire.Link;
using TcpKit.Wire.Tcp;

namespace TcpKit.Interop.Tests.Oracle;

/// <summary>
/// Every catalog field equals tshark's on a connection carried over the link layers besides Ethernet II:
/// IEEE 802.3 + LLC/SNAP (with padding), VN-Tag and 802.1ah between VLAN tags, FDDI, Linux NFLOG, PPP and Cisco HDLC.
/// </summary>
public class LinkEncapsulationMatchesTsharkTests
{
    private static readonly IpAddress Client = IpAddress.FromIPv4(192, 0, 2, 1);
    private static readonly IpAddress Server = IpAddress.FromIPv4(192, 0, 2, 2);

    private static readonly string[] Fields = FieldAgreement.TsharkComparableFields;

    /// <summary>A handshake, 10 bytes each way and a close, as IP packets.</summary>
    private static List<byte[]> Connection()
    {
        var packets = new List<byte[]>();
        void Add(bool fromClient, uint seq, uint ack, TcpFlags flags, int length)
        {
            var tcp = new TcpHeader
            {
                SourcePort = fromClient ? (ushort)40000 : (ushort)5001,
                DestinationPort = fromClient ? (ushort)5001 : (ushort)40000,
                Seq = new SeqNum(seq),
                Ack = new SeqNum(ack),
                Flags = flags,
                Window = 1000,
                Options = flags.HasFlag(TcpFlags.Syn) ? new TcpOptions { Mss = 1460 } : default,
            };
            var ip = new byte[20 + tcp.HeaderLength + length];
            var (src, dst) = fromClient ? (Client, Server) : (Server, Client);
            new Ipv4Header { TimeToLive = 64, Protocol = IpProtocol.Tcp, Source = src, Destination = dst, DontFragment = true }.Emit(ip, tcp.HeaderLength + length);
            tcp.Emit(ip.AsSpan(20), new byte[length], src, dst);
            packets.Add(ip);
        }

        Add(true, 100, 0, TcpFlags.Syn, 0);
        Add(false, 500, 101, TcpFlags.Syn | TcpFlags.Ack, 0);
        Add(true, 101, 501, TcpFlags.Ack, 0);
        Add(true, 101, 501, TcpFlags.Psh | TcpFlags.Ack, 10);
        Add(false, 501, 111, TcpFlags.Psh | TcpFlags.Ack, 10);
        Add(true, 111, 511, TcpFlags.Fin | TcpFlags.Ack, 0);
        Add(false, 511, 112, TcpFlags.Fin | TcpFlags.Ack, 0);
        Add(true, 112, 512, TcpFlags.Ack, 0);
        return packets;
    }

    private static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();

    private static byte[] Type(ushort t) => [(byte)(t >> 8), (byte)t];

    private static byte[] Macs(bool fromClient) =>
        fromClient ? [2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1] : [2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2];

    private static bool FromClient(byte[] ip) => ip[15] == 1;

    public static TheoryData<string> Encapsulations => ["802.3-snap", "vn-tag", "pbb", "fddi", "nflog", "ppp", "ppp-hdlc", "cisco-hdlc"];

    private static (LinkType Link, byte[] Frame) Frame(string kind, byte[] ip) => kind switch
    {
        // 802.3: the length field covers LLC/SNAP and the packet; a short frame is padded to 60 bytes.
        "802.3-snap" => (LinkType.Ethernet, Concat(Macs(FromClient(ip)), Type((ushort)(8 + ip.Length)), [0xAA, 0xAA, 0x03, 0, 0, 0], Type(EtherType.Ipv4), ip, new byte[Math.Max(0, 60 - 22 - ip.Length)])),
        "vn-tag" => (LinkType.Ethernet, Concat(Macs(FromClient(ip)), Type(EtherType.Vlan), [0x00, 0xFA], Type(EtherType.VnTag), [0, 0, 0, 0x33], Type(EtherType.Vlan), [0x00, 0xFB], Type(EtherType.Ipv4), ip)),
        "pbb" => (LinkType.Ethernet, Concat(Macs(FromClient(ip)), Type(EtherType.Vlan), [0x0F, 0xD3], Type(EtherType.Pbb), [0, 1, 0, 1], Macs(!FromClient(ip)), Type(EtherType.Vlan), [0x0F, 0xB4], Type(EtherType.Ipv4), ip)),
        "fddi" => (LinkType.Fddi, Concat([0x50], Macs(FromClient(ip)), [0xAA, 0xAA, 0x03, 0, 0, 0], Type(EtherType.Ipv4), ip)),
        "nflog" => (LinkType.Nflog, Concat([2, 0, 0, 1], NflogPayload(ip))),
        "ppp" => (LinkType.Ppp, Concat([0x00, 0x21], ip)),
        "ppp-hdlc" => (LinkType.PppHdlc, Concat([0xFF, 0x03, 0x00, 0x21], ip)),
        "cisco-hdlc" => (LinkType.CiscoHdlc, Concat([0x0F, 0x00], Type(EtherType.Ipv4), ip)),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    private static byte[] NflogPayload(byte[] ip)
    {
        var tlv = new byte[(ip.Length + 4 + 3) & ~3];
        BinaryPrimitives.WriteUInt16LittleEndian(tlv, (ushort)(ip.Length + 4));
        BinaryPrimitives.WriteUInt16LittleEndian(tlv.AsSpan(2), 9);
        ip.CopyTo(tlv, 4);
        return tlv;
    }

    [SkippableTheory]
    [MemberData(nameof(Encapsulations))]
    public void Every_field_agrees_with_tshark(string kind)
    {
        Skip.IfNot(Tool.Exists("tshark"), "needs tshark");
        var path = Path.Combine(Path.GetTempPath(), $"tcpkit-link-{kind}-{Guid.NewGuid():N}.pcap");
        try
        {
            var packets = Connection();
            using (var w = PcapWriter.Create(path, Frame(kind, packets[0]).Link))
            {
                for (int i = 0; i < packets.Count; i++)
                {
                    w.WritePacket(1_000_000_000L + (i * 1_000_000L), Frame(kind, packets[i]).Frame);
                }
            }

            var agreement = FieldAgreement.Measure(path, Fields);
            Assert.Equal(packets.Count, agreement.Frames);
            Assert.True(agreement.AllAgree, agreement.Report(kind) + agreement.Examples);
            Assert.True(agreement.PresentInTshark["tcp.stream"] == packets.Count, "tshark did not see TCP in every frame");
        }
        finally
        {
            File.Delete(path);
        }
    }
}
