using TcpKit.Interop.Tests.Analysis;
using TcpKit.Interop.Tests.Infrastructure;
using TcpKit.Wire;
using TcpKit.Wire.Capture;
using TcpKit.Wire.Ip;
using TcpKit.Wire.Link;
using TcpKit.Wire.Tcp;

namespace TcpKit.Interop.Tests.Oracle;

/// <summary>
/// Captures whose snaplen ends inside the TCP options (tcpdump's old default of 68 bytes cuts every SYN that
/// carries MSS, SACK-permitted, timestamps and window scale): every field and every summary line equals tshark's.
/// </summary>
public class SnaplenCutHeaderMatchesTsharkTests
{
    private static readonly IpAddress Client = IpAddress.FromIPv4(192, 0, 2, 1);
    private static readonly IpAddress Server = IpAddress.FromIPv4(192, 0, 2, 2);

    private static readonly string[] Fields = FieldAgreement.TsharkComparableFields;

    /// <summary>A Linux-style connection: SYNs with 20 bytes of options, then timestamps on every segment, a retransmission.</summary>
    private static List<byte[]> Frames()
    {
        var frames = new List<byte[]>();
        void Add(bool fromClient, uint seq, uint ack, TcpFlags flags, int length, uint tsval)
        {
            bool syn = (flags & TcpFlags.Syn) != 0;
            var tcp = new TcpHeader
            {
                SourcePort = fromClient ? (ushort)40000 : (ushort)5001,
                DestinationPort = fromClient ? (ushort)5001 : (ushort)40000,
                Seq = new SeqNum(seq),
                Ack = new SeqNum(ack),
                Flags = flags,
                Window = 1000,
                Options = syn
                    ? new TcpOptions { Mss = 1460, SackPermitted = true, Timestamp = new TcpTimestamp(tsval, 0), WindowScale = 7 }
                    : new TcpOptions { Timestamp = new TcpTimestamp(tsval, 1) },
            };
            var frame = new byte[14 + 20 + tcp.HeaderLength + length];
            new EthernetHeader { Source = new MacAddress(fromClient ? 1UL : 2UL), Destination = new MacAddress(fromClient ? 2UL : 1UL), EtherType = 0x0800 }.Emit(frame);
            var (src, dst) = fromClient ? (Client, Server) : (Server, Client);
            new Ipv4Header { TimeToLive = 64, Protocol = IpProtocol.Tcp, Source = src, Destination = dst, DontFragment = true }.Emit(frame.AsSpan(14), tcp.HeaderLength + length);
            tcp.Emit(frame.AsSpan(34), new byte[length], src, dst);
            frames.Add(frame);
        }

        Add(true, 100, 0, TcpFlags.Syn, 0, 1);
        Add(false, 500, 101, TcpFlags.Syn | TcpFlags.Ack, 0, 2);
        Add(true, 101, 501, TcpFlags.Ack, 0, 3);
        Add(true, 101, 501, TcpFlags.Psh | TcpFlags.Ack, 100, 4);
        Add(true, 101, 501, TcpFlags.Psh | TcpFlags.Ack, 100, 5);
        Add(false, 501, 201, TcpFlags.Ack, 0, 6);
        Add(true, 201, 501, TcpFlags.Fin | TcpFlags.Ack, 0, 7);
        Add(false, 501, 202, TcpFlags.Fin | TcpFlags.Ack, 0, 8);
        Add(true, 202, 502, TcpFlags.Ack, 0, 9);
        return frames;
    }

    public static TheoryData<int> Snaplens => [54, 58, 62, 64, 66, 68, 72, 74, 80];

    [SkippableTheory]
    [MemberData(nameof(Snaplens))]
    public void Every_field_and_summary_line_agrees_with_tshark(int snaplen)
    {
        Skip.IfNot(Tool.Exists("tshark"), "needs tshark");
        var path = Path.Combine(Path.GetTempPath(), $"tcpkit-snap{snaplen}-{Guid.NewGuid():N}.pcap");
        try
        {
            var frames = Frames();
            using (var w = PcapWriter.Create(path, LinkType.Ethernet, snaplen))
            {
                for (int i = 0; i < frames.Count; i++)
                {
                    w.WritePacket(1_000_000_000L + (i * 1_000_000L), frames[i].AsSpan(0, Math.Min(snaplen, frames[i].Length)), frames[i].Length);
                }
            }

            var agreement = FieldAgreement.Measure(path, Fields);
            Assert.True(agreement.AllAgree, agreement.Report($"snaplen {snaplen}") + agreement.Examples);
            Assert.Equal(frames.Count, agreement.PresentInTshark["tcp.stream"]);

            foreach (var filter in new[] { "len(tcp) >= 40", "len(tcp.options) >= 12", "tcp.options.timestamp.tsval", "tcp.analysis.retransmission", "tcp.options.wscale.shift == 7" })
            {
                var (_, selected, _) = TcpKitCli.Run(["read", "-r", path, "-Y", filter, "-T", "fields", "-e", "frame.number"]);
                Assert.Equal(string.Join(",", Tshark.Lines(["-r", path, "-Y", filter, "-T", "fields", "-e", "frame.number"])), string.Join(",", selected.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
            }

            var expected = Tshark.Lines(["-r", path]);
            var (exit, stdout, stderr) = TcpKitCli.Run(["read", "-r", path]);
            Assert.True(exit == 0, stderr);
            Assert.Equal(expected.Select(l => l.TrimEnd()), stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd()));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [SkippableTheory]
    [InlineData(36)]
    [InlineData(40)]
    [InlineData(50)]
    public void A_capture_cut_inside_the_fixed_TCP_header_still_shows_the_IP_header(int snaplen)
    {
        Skip.IfNot(Tool.Exists("tshark"), "needs tshark");
        var path = Path.Combine(Path.GetTempPath(), $"tcpkit-snap{snaplen}-{Guid.NewGuid():N}.pcap");
        try
        {
            var frames = Frames();
            using (var w = PcapWriter.Create(path, LinkType.Ethernet, snaplen))
            {
                for (int i = 0; i < frames.Count; i++)
                {
                    w.WritePacket(1_000_000_000L + (i * 1_000_000L), frames[i].AsSpan(0, snaplen), frames[i].Length);
                }
            }

            var ipFields = Fields.Where(f => f.StartsWith("ip.", StringComparison.Ordinal) && f != "ip.checksum.status").ToArray();
            var agreement = FieldAgreement.Measure(path, ipFields);
            Assert.True(agreement.AllAgree, agreement.Report($"snaplen {snaplen}") + agreement.Examples);
            Assert.Equal(frames.Count, agreement.PresentInTshark["ip.src"]);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
