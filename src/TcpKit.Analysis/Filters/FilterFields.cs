using System.Text;
using TcpKit.Analysis.Conversations;
using TcpKit.Analysis.Fields;
using TcpKit.Wire;
using TcpKit.Wire.Link;
using TcpKit.Wire.Tcp;

namespace TcpKit.Analysis.Filters;

/// <summary>Writes a field's integer values into <c>values</c>; returns how many (0: the field is absent).</summary>
internal delegate int NumericGetter(in FieldContext c, Span<long> values);

/// <summary>
/// The fields a display filter can name: every field of <see cref="FieldCatalog"/> (read as text), protocol
/// names (tcp, ip, ...), ip.addr/ipv6.addr/eth.addr, plus typed fast paths that read integers without
/// formatting text, for the fields filters use most.
/// </summary>
internal static class FilterFields
{
    public static readonly Dictionary<string, NumericGetter> Numeric = BuildNumeric();

    private static readonly HashSet<string> Protocols = ["frame", "eth", "vlan", "ip", "ipv6", "tcp"];
    private static readonly HashSet<string> Combined = ["ip.addr", "ipv6.addr", "eth.addr"];

    public static bool IsKnown(string name) =>
        Numeric.ContainsKey(name) || Protocols.Contains(name) || Combined.Contains(name) || FieldCatalog.TryGet(name, out _);

    public static string? Suggest(string name)
    {
        var best = FieldCatalog.Suggest(name);
        return best;
    }

    /// <summary>Whether the field (or protocol) is present in the frame.</summary>
    public static bool Exists(string name, in FieldContext c, StringBuilder scratch)
    {
        if (Protocols.Contains(name))
        {
            return name switch
            {
                "frame" => true,
                "eth" => c.Link == LinkType.Ethernet && c.Frame.Length >= 14,
                "vlan" => c.Decoded.VlanCount > 0,
                "ip" => c.HasIp && c.Decoded.IpVersion == 4,
                "ipv6" => c.HasIp && c.Decoded.IpVersion == 6,
                _ => c.HasTcp || c.HasQuotedTcp,
            };
        }

        if (Numeric.TryGetValue(name, out var numeric))
        {
            Span<long> one = stackalloc long[8];
            return numeric(c, one) > 0;
        }

        var values = new List<string>(2);
        return Text(name, c, scratch, values) > 0;
    }

    /// <summary>The field's values as tshark prints them with -T fields (multi-valued fields give several).</summary>
    public static int Text(string name, in FieldContext c, StringBuilder scratch, List<string> values)
    {
        values.Clear();
        if (Combined.Contains(name))
        {
            string prefix = name[..name.IndexOf('.', StringComparison.Ordinal)];
            Text(prefix + ".src", c, scratch, values);
            var second = new List<string>(1);
            Text(prefix + ".dst", c, scratch, second);
            values.AddRange(second);
            return values.Count;
        }

        if (!FieldCatalog.TryGet(name, out var writer))
        {
            return 0;
        }

        scratch.Clear();
        if (!writer(c, scratch))
        {
            return 0;
        }

        var text = scratch.ToString();
        if (text.Contains(',', StringComparison.Ordinal))
        {
            values.AddRange(text.Split(','));
        }
        else
        {
            values.Add(text);
        }

        return values.Count;
    }

    private static Dictionary<string, NumericGetter> BuildNumeric()
    {
        var d = new Dictionary<string, NumericGetter>(StringComparer.Ordinal)
        {
            ["frame.number"] = (in FieldContext c, Span<long> v) => One(v, c.Number),
            ["frame.len"] = (in FieldContext c, Span<long> v) => One(v, c.OriginalLength),
            ["frame.cap_len"] = (in FieldContext c, Span<long> v) => One(v, c.Frame.Length),
            ["tcp.srcport"] = (in FieldContext c, Span<long> v) => c.HasTcp ? One(v, c.Decoded.SourcePort) : c.HasQuotedTcp ? One(v, c.Quote.Inner.SourcePort) : 0,
            ["tcp.dstport"] = (in FieldContext c, Span<long> v) => c.HasTcp ? One(v, c.Decoded.DestinationPort) : c.HasQuotedTcp ? One(v, c.Quote.Inner.DestinationPort) : 0,
            ["tcp.port"] = (in FieldContext c, Span<long> v) =>
            {
                if (c.HasTcp)
                {
                    v[0] = c.Decoded.SourcePort;
                    v[1] = c.Decoded.DestinationPort;
                    return 2;
                }

                if (c.HasQuotedTcp)
                {
                    v[0] = c.Quote.Inner.SourcePort;
                    v[1] = c.Quote.Inner.DestinationPort;
                    return 2;
                }

                return 0;
            },
            ["tcp.stream"] = (in FieldContext c, Span<long> v) => c.HasTcp ? One(v, c.Analysis.Conversation.StreamIndex) : c.QuoteAnalysis.Conversation is { } q ? One(v, q.StreamIndex) : 0,
            ["tcp.len"] = (in FieldContext c, Span<long> v) => c.HasTcp ? One(v, c.Analysis.Length) : 0,
            ["tcp.seq"] = (in FieldContext c, Span<long> v) => c.HasTcp ? One(v, c.Analysis.RelativeSeq) : c.HasQuotedTcp ? One(v, c.Quote.Inner.Seq.Value) : 0,
            ["tcp.ack"] = (in FieldContext c, Span<long> v) => c.HasTcp ? One(v, c.Analysis.RelativeAck) : c.HasQuotedTcpHeader ? One(v, c.Quote.Inner.Ack.Value) : 0,
            ["tcp.nxtseq"] = (in FieldContext c, Span<long> v) => c.HasTcp ? One(v, c.Analysis.NextSeq) : 0,
            ["tcp.hdr_len"] = (in FieldContext c, Span<long> v) => c.HasTcp ? One(v, c.Decoded.TcpHeaderLength) : c.HasQuotedTcpHeader ? One(v, c.Quote.Inner.TcpHeaderLength) : 0,
            ["tcp.flags"] = (in FieldContext c, Span<long> v) => c.HasTcp ? One(v, (long)c.Decoded.Flags) : c.HasQuotedTcpHeader ? One(v, (long)c.Quote.Inner.Flags) : 0,
            ["tcp.window_size"] = (in FieldContext c, Span<long> v) => c.HasTcp ? One(v, c.Analysis.Window) : c.HasQuotedTcpHeader ? One(v, c.QuoteAnalysis.Window) : 0,
            ["tcp.window_size_value"] = (in FieldContext c, Span<long> v) => c.HasTcp ? One(v, c.Decoded.Window) : c.HasQuotedTcpHeader ? One(v, c.Quote.Inner.Window) : 0,
            ["tcp.completeness"] = (in FieldContext c, Span<long> v) => c.HasTcp ? One(v, c.Analysis.Completeness) : c.HasQuotedTcpHeader ? One(v, c.QuoteAnalysis.Completeness) : 0,
            ["tcp.analysis.duplicate_ack_num"] = (in FieldContext c, Span<long> v) => c.HasTcp && c.Analysis.DupAckNum != 0 ? One(v, c.Analysis.DupAckNum) : 0,
            ["tcp.analysis.acks_frame"] = (in FieldContext c, Span<long> v) => c.HasTcp && c.Analysis.AcksFrame != 0 ? One(v, c.Analysis.AcksFrame) : 0,
            ["tcp.analysis.bytes_in_flight"] = (in FieldContext c, Span<long> v) => c.HasTcp && c.Analysis.BytesInFlight != 0 ? One(v, c.Analysis.BytesInFlight) : 0,
            ["tcp.analysis.flags"] = (in FieldContext c, Span<long> v) => c.HasTcp && c.Analysis.Flags != AnalysisFlags.None ? One(v, 1) : 0,
            ["tcp.analysis.retransmission"] = Flag(AnalysisFlags.Retransmission | AnalysisFlags.FastRetransmission | AnalysisFlags.SpuriousRetransmission),
            ["tcp.analysis.fast_retransmission"] = Flag(AnalysisFlags.FastRetransmission),
            ["tcp.analysis.spurious_retransmission"] = Flag(AnalysisFlags.SpuriousRetransmission),
            ["tcp.analysis.out_of_order"] = Flag(AnalysisFlags.OutOfOrder),
            ["tcp.analysis.lost_segment"] = Flag(AnalysisFlags.LostSegment),
            ["tcp.analysis.ack_lost_segment"] = Flag(AnalysisFlags.AckLostSegment),
            ["tcp.analysis.zero_window"] = Flag(AnalysisFlags.ZeroWindow),
            ["tcp.analysis.zero_window_probe"] = Flag(AnalysisFlags.ZeroWindowProbe),
            ["tcp.analysis.zero_window_probe_ack"] = Flag(AnalysisFlags.ZeroWindowProbeAck),
            ["tcp.analysis.window_full"] = Flag(AnalysisFlags.WindowFull),
            ["tcp.analysis.window_update"] = Flag(AnalysisFlags.WindowUpdate),
            ["tcp.analysis.keep_alive"] = Flag(AnalysisFlags.KeepAlive),
            ["tcp.analysis.keep_alive_ack"] = Flag(AnalysisFlags.KeepAliveAck),
            ["tcp.analysis.reused_ports"] = Flag(AnalysisFlags.ReusedPorts),
            ["tcp.flags.fin"] = Bit(TcpFlags.Fin),
            ["tcp.flags.syn"] = Bit(TcpFlags.Syn),
            ["tcp.flags.reset"] = Bit(TcpFlags.Rst),
            ["tcp.flags.push"] = Bit(TcpFlags.Psh),
            ["tcp.flags.ack"] = Bit(TcpFlags.Ack),
            ["tcp.flags.urg"] = Bit(TcpFlags.Urg),
            ["tcp.flags.ece"] = Bit(TcpFlags.Ece),
            ["tcp.flags.cwr"] = Bit(TcpFlags.Cwr),
            ["tcp.flags.ae"] = Bit(TcpFlags.Ae),
            ["ip.ttl"] = (in FieldContext c, Span<long> v) => Ip4(c, v, static (in DecodedPacket d) => d.Ttl),
            ["ip.proto"] = (in FieldContext c, Span<long> v) => Ip4(c, v, static (in DecodedPacket d) => d.Protocol),
            ["ip.len"] = (in FieldContext c, Span<long> v) => Ip4(c, v, static (in DecodedPacket d) => d.IpTotalLength),
            ["ip.version"] = (in FieldContext c, Span<long> v) => c.HasIp ? Ip(c, v, static (in DecodedPacket d) => d.IpVersion) : 0,
        };
        return d;
    }

    private static int One(Span<long> v, long value)
    {
        v[0] = value;
        return 1;
    }

    private static NumericGetter Flag(AnalysisFlags flags) => (in FieldContext c, Span<long> v) => c.HasTcp && (c.Analysis.Flags & flags) != 0 ? One(v, 1) : 0;

    private static NumericGetter Bit(TcpFlags flag) => (in FieldContext c, Span<long> v) =>
        c.HasTcp ? One(v, (c.Decoded.Flags & flag) != 0 ? 1 : 0) : c.HasQuotedTcpHeader ? One(v, (c.Quote.Inner.Flags & flag) != 0 ? 1 : 0) : 0;

    private delegate long IpValue(in DecodedPacket ip);

    /// <summary>An IPv4 field of the frame's header and, in an ICMP error, of the header it quotes (two occurrences, as in tshark).</summary>
    private static int Ip4(in FieldContext c, Span<long> v, IpValue value) => c.HasIp && c.Decoded.IpVersion == 4 ? Ip(c, v, value) : 0;

    private static int Ip(in FieldContext c, Span<long> v, IpValue value)
    {
        v[0] = value(c.Decoded);
        if (c.HasQuotedTcp)
        {
            v[1] = value(c.Quote.Inner);
            return 2;
        }

        return 1;
    }
}
