using System.Globalization;
using System.Text;
using TcpKit.Analysis.Conversations;
using TcpKit.Analysis.Fields;
using TcpKit.Wire;
using TcpKit.Wire.Link;
using TcpKit.Wire.Tcp;

namespace TcpKit.Analysis.Filters;

/// <summary>Writes a field's integer values into <c>values</c>; returns how many (0: the field is absent).</summary>
internal delegate int NumericGetter(in FieldContext c, Span<long> values);

/// <summary>Adds a field's values for one frame to <c>into</c> (nothing when the field is absent).</summary>
internal delegate void ValueGetter(in FieldContext c, ValueList into);

/// <summary>A field a filter can name: its Wireshark type and how to read its values.</summary>
internal sealed record FilterField(string Name, FieldType Type, ValueGetter Get)
{
    public ValueKind Kind => FieldTypes.KindOf(Type);

    /// <summary>
    /// Not None for a tcp.analysis.* flag: the field is present exactly when the frame is TCP and its analysis
    /// has one of these bits, so a bare test of it needs no value list (<see cref="ExistsNode"/>).
    /// </summary>
    public AnalysisFlags AnalysisMask { get; init; }
}

/// <summary>
/// The fields a display filter can name: every field of <see cref="FieldCatalog"/>, protocol names (frame, eth,
/// ip, ...) whose value is the bytes of their header, ip.addr/ipv6.addr/eth.addr, tcp.payload and tcp.options.
/// Each has its Wireshark type (from <c>tshark -G fields</c>, 4.0) so literals are read as Wireshark reads them.
/// Numbers, addresses and bytes are read straight from the frame; other fields are parsed from their text.
/// </summary>
internal static class FilterFields
{
    /// <summary>The tcp.analysis.* flag fields and the bits that set them (declared before <see cref="Numeric"/>, which reads it).</summary>
    private static readonly Dictionary<string, AnalysisFlags> AnalysisFlagFields = new(StringComparer.Ordinal)
    {
        ["tcp.analysis.retransmission"] = AnalysisFlags.Retransmission | AnalysisFlags.FastRetransmission | AnalysisFlags.SpuriousRetransmission,
        ["tcp.analysis.fast_retransmission"] = AnalysisFlags.FastRetransmission,
        ["tcp.analysis.spurious_retransmission"] = AnalysisFlags.SpuriousRetransmission,
        ["tcp.analysis.out_of_order"] = AnalysisFlags.OutOfOrder,
        ["tcp.analysis.lost_segment"] = AnalysisFlags.LostSegment,
        ["tcp.analysis.ack_lost_segment"] = AnalysisFlags.AckLostSegment,
        ["tcp.analysis.zero_window"] = AnalysisFlags.ZeroWindow,
        ["tcp.analysis.zero_window_probe"] = AnalysisFlags.ZeroWindowProbe,
        ["tcp.analysis.zero_window_probe_ack"] = AnalysisFlags.ZeroWindowProbeAck,
        ["tcp.analysis.window_full"] = AnalysisFlags.WindowFull,
        ["tcp.analysis.window_update"] = AnalysisFlags.WindowUpdate,
        ["tcp.analysis.keep_alive"] = AnalysisFlags.KeepAlive,
        ["tcp.analysis.keep_alive_ack"] = AnalysisFlags.KeepAliveAck,
        ["tcp.analysis.reused_ports"] = AnalysisFlags.ReusedPorts,
    };

    public static readonly Dictionary<string, NumericGetter> Numeric = BuildNumeric();

    private static readonly Dictionary<string, FieldType> Types = BuildTypes();

    public static bool IsKnown(string name) => Types.ContainsKey(name) || FieldCatalog.TryGet(name, out _);

    public static string? Suggest(string name) => FieldCatalog.Suggest(name);

    /// <summary>
    /// The field named <paramref name="name"/>, or null when there is none. Each call gives a new reader (some
    /// keep a text buffer), so filters compiled separately can run on different threads.
    /// </summary>
    public static FilterField? Get(string name)
    {
        if (!IsKnown(name))
        {
            return null;
        }

        var type = Types.GetValueOrDefault(name, FieldType.String);
        return new FilterField(name, type, Getter(name, type)) { AnalysisMask = AnalysisFlagFields.GetValueOrDefault(name) };
    }

    private static ValueGetter Getter(string name, FieldType type)
    {
        if (BytesGetter(name) is { } bytes)
        {
            return bytes;
        }

        switch (FieldTypes.KindOf(type))
        {
            case ValueKind.Integer when Numeric.TryGetValue(name, out var numeric):
                return (in FieldContext c, ValueList into) =>
                {
                    Span<long> v = stackalloc long[8];
                    int n = numeric(c, v);
                    for (int i = 0; i < n; i++)
                    {
                        into.AddInteger(v[i]);
                    }
                };
            case ValueKind.None when Numeric.TryGetValue(name, out var flag):
                return (in FieldContext c, ValueList into) =>
                {
                    Span<long> v = stackalloc long[8];
                    if (flag(c, v) > 0)
                    {
                        into.AddPresence();
                    }
                };
            case ValueKind.Real when name == "frame.time_relative":
                return (in FieldContext c, ValueList into) => into.AddReal(c.RelativeNs / 1e9);
            case ValueKind.Real when name == "frame.time_delta":
                return (in FieldContext c, ValueList into) => into.AddReal(c.DeltaNs / 1e9);
        }

        if (!FieldCatalog.TryGet(name, out var writer))
        {
            throw new InvalidOperationException($"no source for field {name}");
        }

        var scratch = new StringBuilder(32);
        return (in FieldContext c, ValueList into) =>
        {
            scratch.Clear();
            if (!writer(c, scratch))
            {
                return;
            }

            // -T fields separates occurrences with commas; no field of ours has a comma in a value.
            int start = 0;
            for (int i = 0; i <= scratch.Length; i++)
            {
                if (i == scratch.Length || scratch[i] == ',')
                {
                    AddParsed(type, scratch, start, i - start, into);
                    start = i + 1;
                }
            }
        };
    }

    private static void AddParsed(FieldType type, StringBuilder text, int start, int length, ValueList into)
    {
        Span<char> buffer = stackalloc char[64];
        if (type == FieldType.String || length > buffer.Length)
        {
            into.AddText(text.ToString(start, length));
            return;
        }

        text.CopyTo(start, buffer, length);
        var s = buffer[..length];
        switch (FieldTypes.KindOf(type))
        {
            case ValueKind.None:
                into.AddPresence();
                break;
            case ValueKind.Integer:
                if (s.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
                    ? long.TryParse(s[2..], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out long h)
                    : long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out h))
                {
                    into.AddInteger(h);
                }

                break;
            case ValueKind.Real:
                if (double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double d))
                {
                    into.AddReal(d);
                }

                break;
            default:
                into.AddText(s.ToString());
                break;
        }
    }

    /// <summary>Fields whose value is bytes of the frame: protocols (their header), addresses, the payload, options.</summary>
    private static ValueGetter? BytesGetter(string name) => name switch
    {
        "frame" => (in FieldContext c, ValueList into) => into.AddFrameBytes(0, c.Frame.Length),
        "eth" => (in FieldContext c, ValueList into) =>
        {
            if (IsEthernet(c))
            {
                into.AddFrameBytes(0, 14);
            }
        },
        "eth.dst" => (in FieldContext c, ValueList into) => Ether(c, into, 0),
        "eth.src" => (in FieldContext c, ValueList into) => Ether(c, into, 6),
        "eth.addr" => (in FieldContext c, ValueList into) =>
        {
            // Wireshark adds eth.addr after eth.dst and again after eth.src.
            Ether(c, into, 0);
            Ether(c, into, 6);
        },
        "vlan" => (in FieldContext c, ValueList into) =>
        {
            // Each 802.1Q tag is one vlan protocol item: its TCI and the next EtherType.
            for (int i = 0; i < c.Decoded.VlanCount && IsEthernet(c) && 14 + (4 * i) + 4 <= c.Frame.Length; i++)
            {
                into.AddFrameBytes(14 + (4 * i), 4);
            }
        },
        "ip" => (in FieldContext c, ValueList into) =>
        {
            OuterHeaders(c, into, 4);
            if (IsV4(c))
            {
                into.AddFrameBytes(c.Decoded.IpOffset, c.Decoded.IpHeaderLength);
                if (c.HasQuotedTcp && c.Quote.Inner.IpVersion == 4)
                {
                    // An ICMP error's quoted header is a second ip layer.
                    into.AddFrameBytes(c.Quote.Offset, c.Quote.Inner.IpHeaderLength);
                }
            }
        },
        "ip.src" => (in FieldContext c, ValueList into) => Address(c, into, 4, 12),
        "ip.dst" => (in FieldContext c, ValueList into) => Address(c, into, 4, 16),
        "ip.addr" => (in FieldContext c, ValueList into) =>
        {
            Addresses(c, into, 4, 12, 16);
        },
        "ipv6" => (in FieldContext c, ValueList into) =>
        {
            OuterHeaders(c, into, 6);
            if (c.HasIp && c.Decoded.IpVersion == 6)
            {
                into.AddFrameBytes(c.Decoded.IpOffset, 40);
                if (c.HasQuotedTcp && c.Quote.Inner.IpVersion == 6)
                {
                    into.AddFrameBytes(c.Quote.Offset, 40);
                }
            }
        },
        "ipv6.src" => (in FieldContext c, ValueList into) => Address(c, into, 6, 8),
        "ipv6.dst" => (in FieldContext c, ValueList into) => Address(c, into, 6, 24),
        "ipv6.addr" => (in FieldContext c, ValueList into) =>
        {
            Addresses(c, into, 6, 8, 24);
        },
        "tcp" => (in FieldContext c, ValueList into) =>
        {
            // The tcp protocol item spans the TCP header (its length is set to the data offset), or as much of
            // it as was captured when the snaplen cut the options.
            if (c.HasTcp)
            {
                into.AddFrameBytes(c.Decoded.TcpOffset, Math.Min(c.Decoded.TcpHeaderLength, c.Frame.Length - c.Decoded.TcpOffset));
            }
            else if (c.HasQuotedTcpHeader)
            {
                into.AddFrameBytes(c.Quote.Offset + c.Quote.Inner.TcpOffset, c.Quote.Inner.TcpHeaderLength);
            }
            else if (c.HasQuotedTcp)
            {
                // Only the first 8 bytes (ports and sequence number) are quoted.
                into.AddFrameBytes(c.Quote.Offset + c.Quote.Inner.IpHeaderLength, 8);
            }
        },
        "tcp.options" => (in FieldContext c, ValueList into) =>
        {
            if (c.HasTcp && c.Decoded.TcpHeaderLength > 20)
            {
                into.AddFrameBytes(c.Decoded.TcpOffset + 20, Math.Min(c.Decoded.TcpHeaderLength, c.Frame.Length - c.Decoded.TcpOffset) - 20);
            }
        },
        "tcp.options.sack_perm" => (in FieldContext c, ValueList into) =>
        {
            if (!c.HasTcp)
            {
                return;
            }

            int offset = c.Decoded.TcpOffset + 20;
            foreach (var o in c.Decoded.GetTcpOptions(c.Frame))
            {
                if (o.Kind == TcpOptionKind.SackPermitted && !o.IsMalformed)
                {
                    into.AddFrameBytes(offset, o.Raw.Length);
                }

                offset += o.Raw.Length;
            }
        },
        "tcp.payload" => (in FieldContext c, ValueList into) =>
        {
            if (c.HasTcp && c.Decoded.TcpPayloadCaptured > 0)
            {
                into.AddFrameBytes(c.Decoded.TcpOffset + c.Decoded.TcpHeaderLength, c.Decoded.TcpPayloadCaptured);
            }
        },
        _ => null,
    };

    private static bool IsEthernet(in FieldContext c) => c.Link == LinkType.Ethernet && c.Frame.Length >= 14;

    private static void OuterHeaders(in FieldContext c, ValueList into, int version)
    {
        for (int layer = 0; c.HasIp && layer < c.Decoded.TunnelDepth; layer++)
        {
            if (OuterLayer(c, layer, out var outer) && outer.IpVersion == version)
            {
                into.AddFrameBytes(outer.IpOffset, outer.IpHeaderLength);
            }
        }
    }

    private static bool IsV4(in FieldContext c) => c.HasIp && c.Decoded.IpVersion == 4;

    private static void Ether(in FieldContext c, ValueList into, int offset)
    {
        if (IsEthernet(c))
        {
            into.AddFrameBytes(offset, 6);
        }
    }

    /// <summary>Source and destination of every IP layer of <paramref name="version"/>, layer by layer (so ip.addr#N is layer N's pair).</summary>
    private static void Addresses(in FieldContext c, ValueList into, int version, int source, int destination)
    {
        int length = version == 4 ? 4 : 16;
        for (int layer = 0; c.HasIp && layer < c.Decoded.TunnelDepth; layer++)
        {
            if (OuterLayer(c, layer, out var outer) && outer.IpVersion == version)
            {
                into.AddFrameBytes(outer.IpOffset + source, length);
                into.AddFrameBytes(outer.IpOffset + destination, length);
            }
        }

        if (c.HasIp && c.Decoded.IpVersion == version && c.Decoded.IpOffset + destination + length <= c.Frame.Length)
        {
            into.AddFrameBytes(c.Decoded.IpOffset + source, length);
            into.AddFrameBytes(c.Decoded.IpOffset + destination, length);
            if (c.HasQuotedTcp && c.Quote.Inner.IpVersion == version)
            {
                into.AddFrameBytes(c.Quote.Offset + source, length);
                into.AddFrameBytes(c.Quote.Offset + destination, length);
            }
        }
    }

    /// <summary>An address of every IP layer of <paramref name="version"/>: tunnels' outer headers first (tshark's layer order).</summary>
    private static void Address(in FieldContext c, ValueList into, int version, int offset)
    {
        int length = version == 4 ? 4 : 16;
        for (int layer = 0; c.HasIp && layer < c.Decoded.TunnelDepth; layer++)
        {
            if (OuterLayer(c, layer, out var outer) && outer.IpVersion == version)
            {
                into.AddFrameBytes(outer.IpOffset + offset, length);
            }
        }

        if (c.HasIp && c.Decoded.IpVersion == version && c.Decoded.IpOffset + offset + length <= c.Frame.Length)
        {
            into.AddFrameBytes(c.Decoded.IpOffset + offset, length);

            // The header an ICMP error quotes has its own addresses (tshark: two ip.src values).
            if (c.HasQuotedTcp && c.Quote.Inner.IpVersion == version)
            {
                into.AddFrameBytes(c.Quote.Offset + offset, length);
            }
        }
    }

    /// <summary>Wireshark 4.0 types of every field we produce (tshark -G fields); tcpkit.* fields are strings.</summary>
    private static Dictionary<string, FieldType> BuildTypes()
    {
        var d = new Dictionary<string, FieldType>(StringComparer.Ordinal);
        void Set(FieldType t, params string[] names)
        {
            foreach (var n in names)
            {
                d[n] = t;
            }
        }

        Set(FieldType.Protocol, "frame", "eth", "vlan", "ip", "ipv6", "tcp", "tcp.options.sack_perm");
        Set(FieldType.Bytes, "tcp.payload", "tcp.options");
        Set(FieldType.Ether, "eth.src", "eth.dst", "eth.addr");
        Set(FieldType.IPv4, "ip.src", "ip.dst", "ip.addr");
        Set(FieldType.IPv6, "ipv6.src", "ipv6.dst", "ipv6.addr");
        Set(FieldType.UInt8, "ip.checksum.status", "ip.dsfield", "ip.hdr_len", "ip.proto", "ip.ttl", "ip.version", "ipv6.hlim", "ipv6.nxt",
            "tcp.checksum.status", "tcp.completeness", "tcp.hdr_len", "tcp.options.sack.count", "tcp.options.wscale.shift");
        Set(FieldType.UInt16, "eth.type", "ip.checksum", "ip.frag_offset", "ip.id", "ip.len", "ipv6.plen", "tcp.checksum", "tcp.dstport", "tcp.flags",
            "tcp.options.mss_val", "tcp.options.wscale.multiplier", "tcp.port", "tcp.srcport", "tcp.urgent_pointer", "tcp.window_size_value", "vlan.id");
        Set(FieldType.UInt24, "ipv6.flow");
        Set(FieldType.UInt32, "frame.cap_len", "frame.len", "frame.number", "ipv6.tclass", "tcp.ack", "tcp.ack_raw", "tcp.analysis.bytes_in_flight",
            "tcp.analysis.duplicate_ack_num", "tcp.analysis.push_bytes_sent", "tcp.len", "tcp.nxtseq", "tcp.options.sack_le", "tcp.options.sack_re",
            "tcp.options.timestamp.tsecr", "tcp.options.timestamp.tsval", "tcp.seq", "tcp.seq_raw", "tcp.stream", "tcp.window_size");
        Set(FieldType.Int32, "tcp.window_size_scalefactor");
        Set(FieldType.FrameNum, "tcp.analysis.acks_frame", "tcp.analysis.duplicate_ack_frame", "tcp.analysis.rto_frame");
        Set(FieldType.RelativeTime, "frame.time_delta", "frame.time_relative", "tcp.analysis.ack_rtt", "tcp.analysis.initial_rtt", "tcp.analysis.rto",
            "tcp.time_delta", "tcp.time_relative");
        Set(FieldType.Boolean, "ip.flags.df", "ip.flags.mf", "tcp.flags.ack", "tcp.flags.ae", "tcp.flags.cwr", "tcp.flags.ece", "tcp.flags.fin",
            "tcp.flags.push", "tcp.flags.res", "tcp.flags.reset", "tcp.flags.syn", "tcp.flags.urg");
        Set(FieldType.None, "tcp.analysis", "tcp.analysis.ack_lost_segment", "tcp.analysis.duplicate_ack", "tcp.analysis.fast_retransmission",
            "tcp.analysis.flags", "tcp.analysis.keep_alive", "tcp.analysis.keep_alive_ack", "tcp.analysis.lost_segment", "tcp.analysis.out_of_order",
            "tcp.analysis.retransmission", "tcp.analysis.reused_ports", "tcp.analysis.spurious_retransmission", "tcp.analysis.window_full",
            "tcp.analysis.window_update", "tcp.analysis.zero_window", "tcp.analysis.zero_window_probe", "tcp.analysis.zero_window_probe_ack");
        return d;
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
            ["ip.version"] = (in FieldContext c, Span<long> v) => c.HasIp ? Ip(c, v, static (in DecodedPacket d) => d.IpVersion) : 0,
        };
        foreach (var (name, flags) in AnalysisFlagFields)
        {
            d[name] = Flag(flags);
        }

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
    private static int Ip4(in FieldContext c, Span<long> v, IpValue value) => c.HasIp && (c.Decoded.IpVersion == 4 || c.Decoded.TunnelDepth != 0) ? Ip(c, v, value, 4) : 0;

    private static int Ip(in FieldContext c, Span<long> v, IpValue value, int version = 0)
    {
        int n = 0;
        for (int layer = 0; layer < c.Decoded.TunnelDepth; layer++)
        {
            if (OuterLayer(c, layer, out var outer) && (version == 0 || outer.IpVersion == version))
            {
                v[n++] = value(outer);
            }
        }

        if (version != 0 && c.Decoded.IpVersion != version)
        {
            return n;
        }

        v[n++] = value(c.Decoded);
        if (c.HasQuotedTcp)
        {
            v[n++] = value(c.Quote.Inner);
        }

        return n;
    }

    /// <summary>The IP header of a tunnel around the frame's packet (0 = outermost).</summary>
    private static bool OuterLayer(in FieldContext c, int layer, out DecodedPacket outer)
        => PacketDecoder.TryDecodeIpLayer(c.Link, c.Frame, c.OriginalLength > int.MaxValue ? -1 : (int)c.OriginalLength, layer, out outer);
}
