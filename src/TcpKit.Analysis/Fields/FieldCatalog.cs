using System.Globalization;
using System.Text;
using TcpKit.Analysis.Conversations;
using TcpKit.Wire;
using TcpKit.Wire.Checksums;
using TcpKit.Wire.Link;
using TcpKit.Wire.Tcp;

namespace TcpKit.Analysis.Fields;

/// <summary>Writes a field's value(s) in tshark's -T fields text form; returns false when the field is absent.</summary>
public delegate bool FieldWriter(in FieldContext context, StringBuilder output);

/// <summary>
/// The fields TcpKit produces, named and printed as Wireshark names and prints them, so
/// <c>-T fields -e NAME</c> output can be compared with tshark's byte for byte.
/// </summary>
public static class FieldCatalog
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
    private static readonly Dictionary<string, FieldWriter> Writers = Build();

    public static IEnumerable<string> Names => Writers.Keys;

    public static bool TryGet(string name, out FieldWriter writer) => Writers.TryGetValue(name, out writer!);

    /// <summary>The known field closest to a misspelt name, for "did you mean" messages.</summary>
    public static string? Suggest(string name)
    {
        string? best = null;
        int bestDistance = int.MaxValue;
        foreach (var candidate in Writers.Keys)
        {
            int d = Levenshtein(name, candidate);
            if (d < bestDistance)
            {
                bestDistance = d;
                best = candidate;
            }
        }

        return bestDistance <= Math.Max(2, name.Length / 4) ? best : null;
    }

    private static Dictionary<string, FieldWriter> Build()
    {
        var d = new Dictionary<string, FieldWriter>(StringComparer.Ordinal)
        {
            ["frame.number"] = (in FieldContext c, StringBuilder o) => Dec(o, c.Number),
            ["frame.len"] = (in FieldContext c, StringBuilder o) => Dec(o, c.OriginalLength),
            ["frame.cap_len"] = (in FieldContext c, StringBuilder o) => Dec(o, c.Frame.Length),
            ["frame.time_relative"] = (in FieldContext c, StringBuilder o) => Time(o, c.RelativeNs),
            ["frame.time_delta"] = (in FieldContext c, StringBuilder o) => Time(o, c.DeltaNs),

            ["eth.src"] = (in FieldContext c, StringBuilder o) => Eth(c, o, source: true),
            ["eth.dst"] = (in FieldContext c, StringBuilder o) => Eth(c, o, source: false),
            ["eth.type"] = (in FieldContext c, StringBuilder o) => EthType(c, o),
            ["vlan.id"] = (in FieldContext c, StringBuilder o) => Vlan(c, o),

            // Both IP dissectors register ip.version, so an IPv6 packet (and the header an ICMPv6 error quotes) has it too.
            // A tunnel's layers of both versions count, so 6in4 gives "4,6".
            ["ip.version"] = (in FieldContext c, StringBuilder o) => c.HasIp && (c.Decoded.TunnelDepth != 0
                ? AnyIp(c, o, static (in DecodedPacket d, ReadOnlySpan<byte> f, StringBuilder o) => Dec(o, d.IpVersion))
                : c.Decoded.IpVersion == 4
                ? Ip4(c, o, static (in DecodedPacket d, ReadOnlySpan<byte> f, StringBuilder o) => Dec(o, d.IpVersion))
                : Ip6(c, o, static (in DecodedPacket d, ReadOnlySpan<byte> f, StringBuilder o) => Dec(o, d.IpVersion))),
            ["ip.hdr_len"] = (in FieldContext c, StringBuilder o) => Ip4(c, o, static (in DecodedPacket d, ReadOnlySpan<byte> f, StringBuilder o) => Dec(o, d.IpHeaderLength)),
            ["ip.dsfield"] = (in FieldContext c, StringBuilder o) => Ip4(c, o, static (in DecodedPacket d, ReadOnlySpan<byte> f, StringBuilder o) => Hex(o, d.TrafficClass, 2)),
            // The header's own value, even when it claims more than the frame (or a PPPoE length) holds.
            ["ip.len"] = (in FieldContext c, StringBuilder o) => Ip4(c, o, static (in DecodedPacket d, ReadOnlySpan<byte> f, StringBuilder o) => Dec(o, d.IpLengthExceedsFrame ? d.GetIpv4(f).TotalLengthField : d.IpTotalLength)),
            ["ip.id"] = (in FieldContext c, StringBuilder o) => Ip4(c, o, static (in DecodedPacket d, ReadOnlySpan<byte> f, StringBuilder o) => Hex(o, d.IpIdentification, 4)),
            ["ip.flags.df"] = (in FieldContext c, StringBuilder o) => Ip4(c, o, static (in DecodedPacket d, ReadOnlySpan<byte> f, StringBuilder o) => Bool(o, d.DontFragment)),
            ["ip.flags.mf"] = (in FieldContext c, StringBuilder o) => Ip4(c, o, static (in DecodedPacket d, ReadOnlySpan<byte> f, StringBuilder o) => Bool(o, d.MoreFragments)),
            ["ip.frag_offset"] = (in FieldContext c, StringBuilder o) => Ip4(c, o, static (in DecodedPacket d, ReadOnlySpan<byte> f, StringBuilder o) => Dec(o, d.FragmentOffset)),
            ["ip.ttl"] = (in FieldContext c, StringBuilder o) => Ip4(c, o, static (in DecodedPacket d, ReadOnlySpan<byte> f, StringBuilder o) => Dec(o, d.Ttl)),
            ["ip.proto"] = (in FieldContext c, StringBuilder o) => Ip4(c, o, static (in DecodedPacket d, ReadOnlySpan<byte> f, StringBuilder o) => Dec(o, d.Protocol)),
            ["ip.checksum"] = (in FieldContext c, StringBuilder o) => Ip4(c, o, static (in DecodedPacket d, ReadOnlySpan<byte> f, StringBuilder o) => Hex(o, d.GetIpv4(f).HeaderChecksum, 4)),
            ["ip.checksum.status"] = (in FieldContext c, StringBuilder o) => Ip4(c, o, static (in DecodedPacket d, ReadOnlySpan<byte> f, StringBuilder o) => Dec(o, Status(d.VerifyIpv4HeaderChecksum(f)))),
            ["ip.src"] = (in FieldContext c, StringBuilder o) => Ip4(c, o, static (in DecodedPacket d, ReadOnlySpan<byte> f, StringBuilder o) => Text(o, d.Source.ToString())),
            ["ip.dst"] = (in FieldContext c, StringBuilder o) => Ip4(c, o, static (in DecodedPacket d, ReadOnlySpan<byte> f, StringBuilder o) => Text(o, d.Destination.ToString())),

            ["ipv6.tclass"] = (in FieldContext c, StringBuilder o) => Ip6(c, o, static (in DecodedPacket d, ReadOnlySpan<byte> f, StringBuilder o) => Hex(o, d.TrafficClass, 8)),
            ["ipv6.flow"] = (in FieldContext c, StringBuilder o) => Ip6(c, o, static (in DecodedPacket d, ReadOnlySpan<byte> f, StringBuilder o) => Hex(o, d.GetIpv6(f).FlowLabel, 6)),
            ["ipv6.plen"] = (in FieldContext c, StringBuilder o) => Ip6(c, o, static (in DecodedPacket d, ReadOnlySpan<byte> f, StringBuilder o) => Dec(o, d.GetIpv6(f).PayloadLengthField)),
            ["ipv6.nxt"] = (in FieldContext c, StringBuilder o) => Ip6(c, o, static (in DecodedPacket d, ReadOnlySpan<byte> f, StringBuilder o) => Dec(o, d.GetIpv6(f).NextHeader)),
            ["ipv6.hlim"] = (in FieldContext c, StringBuilder o) => Ip6(c, o, static (in DecodedPacket d, ReadOnlySpan<byte> f, StringBuilder o) => Dec(o, d.Ttl)),
            ["ipv6.src"] = (in FieldContext c, StringBuilder o) => Ip6(c, o, static (in DecodedPacket d, ReadOnlySpan<byte> f, StringBuilder o) => Text(o, d.Source.ToString())),
            ["ipv6.dst"] = (in FieldContext c, StringBuilder o) => Ip6(c, o, static (in DecodedPacket d, ReadOnlySpan<byte> f, StringBuilder o) => Text(o, d.Destination.ToString())),

            ["tcp.srcport"] = (in FieldContext c, StringBuilder o) => TcpHeader(c, whole: false, out var t) && Dec(o, t.SourcePort),
            ["tcp.dstport"] = (in FieldContext c, StringBuilder o) => TcpHeader(c, whole: false, out var t) && Dec(o, t.DestinationPort),
            ["tcp.stream"] = (in FieldContext c, StringBuilder o) => c.HasTcp ? Dec(o, c.Analysis.Conversation.StreamIndex) : c.QuoteAnalysis.Conversation is { } q && Dec(o, q.StreamIndex),
            ["tcp.len"] = (in FieldContext c, StringBuilder o) => c.HasTcp && Dec(o, c.Analysis.Length),
            // A quoted header is not analysed: Wireshark shows its sequence numbers as they are.
            ["tcp.seq"] = (in FieldContext c, StringBuilder o) => c.HasTcp ? Dec(o, c.Analysis.RelativeSeq) : c.HasQuotedTcp && Dec(o, c.Quote.Inner.Seq.Value),
            // Wireshark puts an IPv4 quote's sequence number in early (an ICMP error may quote only 8 bytes) and
            // never its raw twin; an IPv6 quote goes the regular way, so it has both (with the same raw value).
            ["tcp.seq_raw"] = (in FieldContext c, StringBuilder o) => c.HasTcp ? Dec(o, c.Decoded.Seq.Value) : c.HasQuotedTcpHeader && c.Quote.Inner.IpVersion == 6 && Dec(o, c.Quote.Inner.Seq.Value),
            ["tcp.nxtseq"] = (in FieldContext c, StringBuilder o) => c.HasTcp && Dec(o, c.Analysis.NextSeq),
            ["tcp.ack"] = (in FieldContext c, StringBuilder o) => c.HasTcp ? Dec(o, c.Analysis.RelativeAck) : c.HasQuotedTcpHeader && Dec(o, c.Quote.Inner.Ack.Value),
            ["tcp.ack_raw"] = (in FieldContext c, StringBuilder o) => TcpHeader(c, whole: true, out var t) && Dec(o, t.Ack.Value),
            ["tcp.hdr_len"] = (in FieldContext c, StringBuilder o) => TcpHeader(c, whole: true, out var t) && Dec(o, t.TcpHeaderLength),
            ["tcp.flags"] = (in FieldContext c, StringBuilder o) => TcpHeader(c, whole: true, out var t) && Hex(o, (ushort)t.Flags, 4),
            ["tcp.flags.res"] = (in FieldContext c, StringBuilder o) => TcpHeader(c, whole: true, out var t) && Bool(o, (t.Flags & TcpFlags.Reserved) != 0),
            ["tcp.flags.ae"] = (in FieldContext c, StringBuilder o) => Flag(c, o, TcpFlags.Ae),
            ["tcp.flags.cwr"] = (in FieldContext c, StringBuilder o) => Flag(c, o, TcpFlags.Cwr),
            ["tcp.flags.ece"] = (in FieldContext c, StringBuilder o) => Flag(c, o, TcpFlags.Ece),
            ["tcp.flags.urg"] = (in FieldContext c, StringBuilder o) => Flag(c, o, TcpFlags.Urg),
            ["tcp.flags.ack"] = (in FieldContext c, StringBuilder o) => Flag(c, o, TcpFlags.Ack),
            ["tcp.flags.push"] = (in FieldContext c, StringBuilder o) => Flag(c, o, TcpFlags.Psh),
            ["tcp.flags.reset"] = (in FieldContext c, StringBuilder o) => Flag(c, o, TcpFlags.Rst),
            ["tcp.flags.syn"] = (in FieldContext c, StringBuilder o) => Flag(c, o, TcpFlags.Syn),
            ["tcp.flags.fin"] = (in FieldContext c, StringBuilder o) => Flag(c, o, TcpFlags.Fin),
            ["tcp.window_size_value"] = (in FieldContext c, StringBuilder o) => TcpHeader(c, whole: true, out var t) && Dec(o, t.Window),
            ["tcp.window_size"] = (in FieldContext c, StringBuilder o) => c.HasTcp ? Dec(o, c.Analysis.Window) : c.HasQuotedTcpHeader && Dec(o, c.QuoteAnalysis.Window),
            ["tcp.window_size_scalefactor"] = (in FieldContext c, StringBuilder o) => c.HasTcp ? (c.Decoded.Flags & TcpFlags.Syn) == 0 && Dec(o, c.Analysis.ScaleFactor) : c.HasQuotedTcpHeader && (c.Quote.Inner.Flags & TcpFlags.Syn) == 0 && Dec(o, c.QuoteAnalysis.ScaleFactor),
            ["tcp.checksum"] = (in FieldContext c, StringBuilder o) => TcpHeader(c, whole: true, out var t) && Hex(o, t.TcpChecksum, 4),
            ["tcp.checksum.status"] = (in FieldContext c, StringBuilder o) => c.HasTcp ? Dec(o, Status(c.Decoded.VerifyTcpChecksum(c.Frame))) : c.HasQuotedTcpHeader && Dec(o, Status(QuotedTcpChecksum(c.Quote.Inner, c.QuotedBytes))),
            ["tcp.urgent_pointer"] = (in FieldContext c, StringBuilder o) => TcpHeader(c, whole: true, out var t) && Dec(o, t.UrgentPointer),
            ["tcp.time_relative"] = (in FieldContext c, StringBuilder o) => c.HasTcp ? Time(o, c.Analysis.TimeRelativeNs) : c.HasQuotedTcpHeader && Time(o, c.QuoteAnalysis.TimeRelativeNs),
            ["tcp.time_delta"] = (in FieldContext c, StringBuilder o) => c.HasTcp ? Time(o, c.Analysis.TimeDeltaNs) : c.HasQuotedTcpHeader && Time(o, c.QuoteAnalysis.TimeDeltaNs),

            ["tcp.options.mss_val"] = (in FieldContext c, StringBuilder o) => Options(c, o, TcpOptionKind.Mss, static (opt, b) => b.Append(opt.Mss.ToString(Inv))),
            ["tcp.options.wscale.shift"] = (in FieldContext c, StringBuilder o) => Options(c, o, TcpOptionKind.WindowScale, static (opt, b) => b.Append(opt.WindowScaleShift.ToString(Inv))),
            ["tcp.options.wscale.multiplier"] = (in FieldContext c, StringBuilder o) => Options(c, o, TcpOptionKind.WindowScale, static (opt, b) => b.Append((1 << Math.Min((int)opt.WindowScaleShift, 14)).ToString(Inv))),
            ["tcp.options.sack_perm"] = (in FieldContext c, StringBuilder o) => Options(c, o, TcpOptionKind.SackPermitted, static (opt, b) => b.Append(Convert.ToHexStringLower(opt.Raw))),
            ["tcp.options.timestamp.tsval"] = (in FieldContext c, StringBuilder o) => Options(c, o, TcpOptionKind.Timestamps, static (opt, b) => b.Append(opt.TimestampValue.ToString(Inv))) || CutTimestampValue(c, o),
            ["tcp.options.timestamp.tsecr"] = (in FieldContext c, StringBuilder o) => Options(c, o, TcpOptionKind.Timestamps, static (opt, b) => b.Append(opt.TimestampEchoReply.ToString(Inv))),
            ["tcp.options.sack.count"] = (in FieldContext c, StringBuilder o) => Options(c, o, TcpOptionKind.Sack, static (opt, b) => b.Append(opt.SackBlockCount.ToString(Inv))),
            ["tcp.options.sack_le"] = (in FieldContext c, StringBuilder o) => SackEdges(c, o, left: true),
            ["tcp.options.sack_re"] = (in FieldContext c, StringBuilder o) => SackEdges(c, o, left: false),

            ["tcp.completeness"] = (in FieldContext c, StringBuilder o) => c.HasTcp ? Dec(o, c.Analysis.Completeness) : c.HasQuotedTcpHeader && Dec(o, c.QuoteAnalysis.Completeness),
            ["tcp.analysis"] = (in FieldContext c, StringBuilder o) => (c.HasTcp ? c.Analysis.HasAnalysis : c.QuoteAnalysis.HasAnalysis) && Bool(o, true),
            ["tcp.analysis.flags"] = (in FieldContext c, StringBuilder o) => c.HasTcp && c.Analysis.Flags != AnalysisFlags.None && Bool(o, true),
            ["tcp.analysis.acks_frame"] = (in FieldContext c, StringBuilder o) => c.HasTcp && c.Analysis.AcksFrame != 0 && Dec(o, c.Analysis.AcksFrame),
            ["tcp.analysis.ack_rtt"] = (in FieldContext c, StringBuilder o) => c.HasTcp && c.Analysis.AcksFrame != 0 && c.Analysis.AckRttNs != 0 && Time(o, c.Analysis.AckRttNs),
            ["tcp.analysis.initial_rtt"] = (in FieldContext c, StringBuilder o) => c.HasTcp && c.Analysis.HasAnalysis && c.Analysis.InitialRttNs != 0 && Time(o, c.Analysis.InitialRttNs),
            ["tcp.analysis.bytes_in_flight"] = (in FieldContext c, StringBuilder o) => c.HasTcp && c.Analysis.BytesInFlight != 0 && Dec(o, c.Analysis.BytesInFlight),
            ["tcp.analysis.push_bytes_sent"] = (in FieldContext c, StringBuilder o) => c.HasTcp && c.Analysis.BytesInFlight != 0 && Dec(o, c.Analysis.PushBytesSent),
            ["tcp.analysis.rto"] = (in FieldContext c, StringBuilder o) => Has(c, AnalysisFlags.Retransmission) && c.Analysis.RtoNs != 0 && Time(o, c.Analysis.RtoNs),
            ["tcp.analysis.rto_frame"] = (in FieldContext c, StringBuilder o) => Has(c, AnalysisFlags.Retransmission) && c.Analysis.RtoNs != 0 && Dec(o, c.Analysis.RtoFrame),
            ["tcp.analysis.duplicate_ack_num"] = (in FieldContext c, StringBuilder o) => c.HasTcp && c.Analysis.DupAckNum != 0 && Dec(o, c.Analysis.DupAckNum),
            ["tcp.analysis.duplicate_ack_frame"] = (in FieldContext c, StringBuilder o) => c.HasTcp && c.Analysis.DupAckNum != 0 && Dec(o, c.Analysis.DupAckFrame),

            // The retransmission expert is also attached to fast and spurious retransmissions; a duplicate
            // ACK has both a tree item and an expert item with the same name, so tshark prints "1,1".
            ["tcp.analysis.retransmission"] = (in FieldContext c, StringBuilder o) => Has(c, AnalysisFlags.Retransmission | AnalysisFlags.FastRetransmission | AnalysisFlags.SpuriousRetransmission) && Bool(o, true),
            ["tcp.analysis.fast_retransmission"] = (in FieldContext c, StringBuilder o) => Has(c, AnalysisFlags.FastRetransmission) && Bool(o, true),
            ["tcp.analysis.spurious_retransmission"] = (in FieldContext c, StringBuilder o) => Has(c, AnalysisFlags.SpuriousRetransmission) && Bool(o, true),
            ["tcp.analysis.out_of_order"] = (in FieldContext c, StringBuilder o) => Has(c, AnalysisFlags.OutOfOrder) && Bool(o, true),
            ["tcp.analysis.lost_segment"] = (in FieldContext c, StringBuilder o) => Has(c, AnalysisFlags.LostSegment) && Bool(o, true),
            ["tcp.analysis.ack_lost_segment"] = (in FieldContext c, StringBuilder o) => Has(c, AnalysisFlags.AckLostSegment) && Bool(o, true),
            ["tcp.analysis.duplicate_ack"] = (in FieldContext c, StringBuilder o) => Has(c, AnalysisFlags.DuplicateAck) && c.Analysis.DupAckNum != 0 && Text(o, "1,1"),
            ["tcp.analysis.zero_window"] = (in FieldContext c, StringBuilder o) => Has(c, AnalysisFlags.ZeroWindow) && Bool(o, true),
            ["tcp.analysis.zero_window_probe"] = (in FieldContext c, StringBuilder o) => Has(c, AnalysisFlags.ZeroWindowProbe) && Bool(o, true),
            ["tcp.analysis.zero_window_probe_ack"] = (in FieldContext c, StringBuilder o) => Has(c, AnalysisFlags.ZeroWindowProbeAck) && Bool(o, true),
            ["tcp.analysis.window_full"] = (in FieldContext c, StringBuilder o) => Has(c, AnalysisFlags.WindowFull) && Bool(o, true),
            ["tcp.analysis.window_update"] = (in FieldContext c, StringBuilder o) => Has(c, AnalysisFlags.WindowUpdate) && Bool(o, true),
            ["tcp.analysis.keep_alive"] = (in FieldContext c, StringBuilder o) => Has(c, AnalysisFlags.KeepAlive) && Bool(o, true),
            ["tcp.analysis.keep_alive_ack"] = (in FieldContext c, StringBuilder o) => Has(c, AnalysisFlags.KeepAliveAck) && Bool(o, true),
            ["tcp.analysis.reused_ports"] = (in FieldContext c, StringBuilder o) => Has(c, AnalysisFlags.ReusedPorts) && Bool(o, true),

            // TcpKit's own: each endpoint's inferred RFC 9293 state around this segment, and Zeek's summary so far.
            ["tcpkit.state.client"] = (in FieldContext c, StringBuilder o) => c.HasTcp && Text(o, c.Analysis.ClientAfter.ToString()),
            ["tcpkit.state.server"] = (in FieldContext c, StringBuilder o) => c.HasTcp && Text(o, c.Analysis.ServerAfter.ToString()),
            ["tcpkit.state.client.before"] = (in FieldContext c, StringBuilder o) => c.HasTcp && Text(o, c.Analysis.ClientBefore.ToString()),
            ["tcpkit.state.server.before"] = (in FieldContext c, StringBuilder o) => c.HasTcp && Text(o, c.Analysis.ServerBefore.ToString()),
            ["tcpkit.state.client.after"] = (in FieldContext c, StringBuilder o) => c.HasTcp && Text(o, c.Analysis.ClientAfter.ToString()),
            ["tcpkit.state.server.after"] = (in FieldContext c, StringBuilder o) => c.HasTcp && Text(o, c.Analysis.ServerAfter.ToString()),
            ["tcpkit.state.sender"] = (in FieldContext c, StringBuilder o) => c.HasTcp && Text(o, c.Analysis.FromClient ? "client" : "server"),
            ["tcpkit.conn_state"] = (in FieldContext c, StringBuilder o) => c.HasTcp && Text(o, c.Analysis.Conversation.States.ConnState),
            ["tcpkit.history"] = (in FieldContext c, StringBuilder o) => c.HasTcp && Text(o, c.Analysis.Conversation.States.History),
        };
        d["tcp.port"] = (in FieldContext c, StringBuilder o) => TcpHeader(c, whole: false, out var t) && Text(o, $"{t.SourcePort},{t.DestinationPort}");
        return d;
    }

    private delegate void OptionAppender(TcpOption option, StringBuilder output);

    private static bool Options(in FieldContext c, StringBuilder o, TcpOptionKind kind, OptionAppender append)
    {
        if (!c.HasTcp && !c.HasQuotedTcpHeader)
        {
            return false;
        }

        bool any = false;
        var options = c.HasTcp ? c.Decoded.GetTcpOptions(c.Frame) : c.Quote.Inner.GetTcpOptions(c.QuotedBytes);
        foreach (var opt in options)
        {
            if (opt.Kind != kind || opt.IsMalformed)
            {
                continue;
            }

            if (any)
            {
                o.Append(',');
            }

            append(opt, o);
            any = true;
        }

        return any;
    }

    /// <summary>
    /// A header cut by the snaplen inside the timestamps option: Wireshark adds TSval once its 4 bytes are
    /// there and stops at the missing TSecr (a SYN's options cut at snaplen 68 often end just so).
    /// </summary>
    private static bool CutTimestampValue(in FieldContext c, StringBuilder o)
    {
        if (!c.HasTcp || !c.Decoded.TcpHeaderCut)
        {
            return false;
        }

        int at = c.Decoded.TcpOffset + 20 + c.Decoded.GetTcpOptionBytes(c.Frame).Length;
        var rest = c.Frame[Math.Min(at, c.Frame.Length)..];
        if (rest.Length < 6 || rest[0] != (byte)TcpOptionKind.Timestamps || rest[1] != 10)
        {
            return false;
        }

        o.Append(System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(rest[2..]).ToString(Inv));
        return true;
    }

    private static bool SackEdges(in FieldContext c, StringBuilder o, bool left)
    {
        if (!c.HasTcp)
        {
            return false;
        }

        var baseSeq = c.Analysis.Conversation.Directions[1 - c.Analysis.Direction].BaseSeq;
        bool any = false;
        foreach (var opt in c.Decoded.GetTcpOptions(c.Frame))
        {
            for (int i = 0; i < opt.SackBlockCount; i++)
            {
                var block = opt.GetSackBlock(i);
                if (any)
                {
                    o.Append(',');
                }

                o.Append((left ? block.Left : block.Right).RelativeTo(baseSeq).ToString(Inv));
                any = true;
            }
        }

        return any;
    }

    private static bool Has(in FieldContext c, AnalysisFlags flags) => c.HasTcp && (c.Analysis.Flags & flags) != 0;

    private static bool V4(in FieldContext c) => c.HasIp && c.Decoded.IpVersion == 4;

    private static bool V6(in FieldContext c) => c.HasIp && c.Decoded.IpVersion == 6;

    private static bool Flag(in FieldContext c, StringBuilder o, TcpFlags flag) => TcpHeader(c, whole: true, out var t) && Bool(o, (t.Flags & flag) != 0);

    /// <summary>
    /// The TCP header a field reads: the frame's own segment, or the one an ICMP error quotes (Wireshark
    /// dissects it as TCP too). <paramref name="whole"/>: the field needs more than the first 8 bytes.
    /// </summary>
    private static bool TcpHeader(in FieldContext c, bool whole, out DecodedPacket tcp)
    {
        if (c.HasTcp)
        {
            tcp = c.Decoded;
            return true;
        }

        tcp = c.Quote.Inner;
        return whole ? c.HasQuotedTcpHeader : c.HasQuotedTcp;
    }

    private delegate bool IpWriter(in DecodedPacket ip, ReadOnlySpan<byte> ipFrame, StringBuilder output);

    private static bool Ip4(in FieldContext c, StringBuilder o, IpWriter write) => Ip(c, o, 4, write);

    private static bool Ip6(in FieldContext c, StringBuilder o, IpWriter write) => Ip(c, o, 6, write);

    /// <summary>
    /// An IP field: the headers of the tunnels around the packet, outer first, then the frame's innermost
    /// header, then the header an ICMP error quotes (comma-separated, as tshark prints a repeated field).
    /// </summary>
    private static bool Ip(in FieldContext c, StringBuilder o, byte version, IpWriter write)
    {
        bool outer = c.HasIp && c.Decoded.TunnelDepth != 0 && OuterIp(c, o, version, write);
        if (!c.HasIp || c.Decoded.IpVersion != version)
        {
            return outer;
        }

        if (outer)
        {
            o.Append(',');
        }

        if (!write(c.Decoded, c.Frame, o))
        {
            return outer;
        }

        if (c.HasQuotedTcp && c.Quote.Inner.IpVersion == version)
        {
            o.Append(',');
            write(c.Quote.Inner, c.QuotedBytes, o);
        }

        return true;
    }

    /// <summary>An IP field both IP dissectors have, for a tunnelled packet: every layer of either version, then the quote.</summary>
    private static bool AnyIp(in FieldContext c, StringBuilder o, IpWriter write)
    {
        OuterIp(c, o, 4, write, anyVersion: true);
        o.Append(',');
        write(c.Decoded, c.Frame, o);
        if (c.HasQuotedTcp)
        {
            o.Append(',');
            write(c.Quote.Inner, c.QuotedBytes, o);
        }

        return true;
    }

    /// <summary>The enclosing IP headers of a tunnelled packet that have <paramref name="version"/>, outer first.</summary>
    private static bool OuterIp(in FieldContext c, StringBuilder o, byte version, IpWriter write, bool anyVersion = false)
    {
        bool any = false;
        int originalLength = c.OriginalLength > int.MaxValue ? -1 : (int)c.OriginalLength;
        for (int layer = 0; layer < c.Decoded.TunnelDepth; layer++)
        {
            if (PacketDecoder.TryDecodeIpLayer(c.Link, c.Frame, originalLength, layer, out var outer) && (anyVersion || outer.IpVersion == version))
            {
                if (any)
                {
                    o.Append(',');
                }

                any |= write(outer, c.Frame, o);
            }
        }

        return any;
    }

    private static bool Eth(in FieldContext c, StringBuilder o, bool source)
    {
        bool any = false;
        if (c.Link == LinkType.Ethernet && EthernetFrame.TryParse(c.Frame, out var eth))
        {
            o.Append((source ? eth.Source : eth.Destination).ToString());
            any = true;
        }

        return TunnelEthernet(c, o, any, source ? 0 : 1);
    }

    private static bool EthType(in FieldContext c, StringBuilder o)
    {
        // An IEEE 802.3 frame has a length there, which Wireshark shows as eth.len, not eth.type.
        bool any = c.Link == LinkType.Ethernet && c.Frame.Length >= 14 && (c.Frame[12] << 8 | c.Frame[13]) >= EtherType.MinEtherType
            && Hex(o, (ushort)(c.Frame[12] << 8 | c.Frame[13]), 4);
        return TunnelEthernet(c, o, any, 2);
    }

    /// <summary>The Ethernet headers tunnels carry (VXLAN, Geneve, GRE bridging, ERSPAN), outer first; part 0 source, 1 destination, 2 type.</summary>
    private static bool TunnelEthernet(in FieldContext c, StringBuilder o, bool any, int part)
    {
        if (!c.HasIp || c.Decoded.TunnelDepth == 0)
        {
            return any;
        }

        int originalLength = c.OriginalLength > int.MaxValue ? -1 : (int)c.OriginalLength;
        for (int layer = 1; layer <= c.Decoded.TunnelDepth; layer++)
        {
            if (!PacketDecoder.TryDecodeIpLayer(c.Link, c.Frame, originalLength, layer, out var ip) || ip.TunnelEthernetOffset == 0
                || !EthernetFrame.TryParse(c.Frame[ip.TunnelEthernetOffset..], out var eth))
            {
                continue;
            }

            if (any)
            {
                o.Append(',');
            }

            if (part == 2)
            {
                Hex(o, (ushort)(c.Frame[ip.TunnelEthernetOffset + 12] << 8 | c.Frame[ip.TunnelEthernetOffset + 13]), 4);
            }
            else
            {
                o.Append((part == 0 ? eth.Source : eth.Destination).ToString());
            }

            any = true;
        }

        return any;
    }

    private static bool Vlan(in FieldContext c, StringBuilder o)
    {
        if (c.Decoded.VlanCount == 0)
        {
            return false;
        }

        if (c.Link != LinkType.Ethernet)
        {
            o.Append(c.Decoded.OuterVlanId.ToString(Inv));
            if (c.Decoded.VlanCount > 1)
            {
                o.Append(',').Append(c.Decoded.InnerVlanId.ToString(Inv));
            }

            return true;
        }

        // Every tag of the stack, outermost first (the decoder keeps only the outer two), also past VN-Tags
        // and 802.1ah backbone tags, which carry more VLAN tags behind them.
        var frame = c.Frame;
        for (int at = 12, n = 0, walked = 0; n < c.Decoded.VlanCount && at + 4 <= frame.Length && walked < LinkLayer.MaxBridgingTags + c.Decoded.VlanCount; walked++)
        {
            ushort type = (ushort)(frame[at] << 8 | frame[at + 1]);
            if (type == EtherType.VnTag)
            {
                at += 6;
                continue;
            }

            if (type == EtherType.Pbb)
            {
                at += 18;
                continue;
            }

            if (!EtherType.IsVlanTag(type))
            {
                break;
            }

            if (n++ > 0)
            {
                o.Append(',');
            }

            o.Append(((frame[at + 2] << 8 | frame[at + 3]) & 0x0FFF).ToString(Inv));
            at += 4;
        }

        return true;
    }

    /// <summary>
    /// Wireshark dissects an ICMP error's quote in a buffer whose length is what was quoted, so a quoted TCP
    /// segment cut short by the quote is checked over the quoted bytes alone, pseudo-header length included,
    /// and fails ("Bad checksum" on frame 26 of Zeek's smtp.pcap, a fragmentation-needed error quoting 548 of
    /// 1,500 bytes). A quoted fragment stays unverified.
    /// </summary>
    private static ChecksumVerdict QuotedTcpChecksum(in DecodedPacket inner, ReadOnlySpan<byte> quoted)
    {
        if (!inner.IsTruncated || inner.IsFragment)
        {
            return inner.VerifyTcpChecksum(quoted);
        }

        return InternetChecksum.VerifyTcp(inner.Source, inner.PseudoHeaderDestination, quoted[inner.TcpOffset..]) ? ChecksumVerdict.Good : ChecksumVerdict.Bad;
    }

    /// <summary>Wireshark's checksum status values: 0 bad, 1 good, 2 unverified.</summary>
    private static int Status(ChecksumVerdict v) => v switch
    {
        ChecksumVerdict.Bad => 0,
        ChecksumVerdict.Good => 1,
        _ => 2,
    };

    private static bool Dec(StringBuilder o, long value)
    {
        o.Append(value.ToString(Inv));
        return true;
    }

    private static bool Hex(StringBuilder o, long value, int digits)
    {
        o.Append("0x").Append(value.ToString("x" + digits.ToString(Inv), Inv));
        return true;
    }

    private static bool Bool(StringBuilder o, bool value)
    {
        o.Append(value ? '1' : '0');
        return true;
    }

    private static bool Text(StringBuilder o, string value)
    {
        o.Append(value);
        return true;
    }

    private static bool Time(StringBuilder o, long ns)
    {
        o.Append(Output.SummaryFormatter.FormatSeconds(ns, 9));
        return true;
    }

    private static int Levenshtein(string a, string b)
    {
        var prev = new int[b.Length + 1];
        var cur = new int[b.Length + 1];
        for (int j = 0; j <= b.Length; j++)
        {
            prev[j] = j;
        }

        for (int i = 1; i <= a.Length; i++)
        {
            cur[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                cur[j] = Math.Min(Math.Min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
            }

            (prev, cur) = (cur, prev);
        }

        return prev[b.Length];
    }
}
