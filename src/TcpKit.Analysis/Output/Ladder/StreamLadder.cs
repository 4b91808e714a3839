using System.Globalization;
using System.Text;
using TcpKit.Analysis.Conversations;
using TcpKit.Analysis.Fields;
using TcpKit.Wire;
using TcpKit.Wire.Capture;
using TcpKit.Wire.Tcp;

namespace TcpKit.Analysis.Output.Ladder;

/// <summary>The ladder of one TCP stream of a capture: its endpoints and one row per segment.</summary>
public sealed record StreamLadder(string ClientLabel, string ServerLabel, IReadOnlyList<LadderRow> Rows, bool Truncated)
{
    /// <summary>Reads a capture and builds the ladder of stream <paramref name="stream"/> (tcp.stream), at most <paramref name="maxRows"/> rows.</summary>
    public static StreamLadder? FromCapture(CaptureReader reader, int stream, int maxRows = 10_000)
    {
        var pipeline = new CapturePipeline();
        var rows = new List<LadderRow>();
        string? client = null, server = null;
        bool truncated = false;
        while (reader.TryRead(out var packet))
        {
            var c = pipeline.Next(packet);
            if (!c.HasTcp || c.Analysis.Conversation.StreamIndex != stream)
            {
                continue;
            }

            if (rows.Count >= maxRows)
            {
                truncated = true;
                break;
            }

            var a = c.Analysis;
            if (client is null)
            {
                var conv = a.Conversation;
                bool initiatorIsClient = conv.States.ClientDirection == 0;
                client = "client " + Endpoint(initiatorIsClient ? conv.InitiatorAddress : conv.ResponderAddress, initiatorIsClient ? conv.InitiatorPort : conv.ResponderPort);
                server = "server " + Endpoint(initiatorIsClient ? conv.ResponderAddress : conv.InitiatorAddress, initiatorIsClient ? conv.ResponderPort : conv.InitiatorPort);
            }

            rows.Add(Row(c));
        }

        return client is null ? null : new StreamLadder(client, server!, rows, truncated);
    }

    /// <summary>One ladder row from an analysed segment.</summary>
    public static LadderRow Row(in FieldContext c)
    {
        var a = c.Analysis;
        var p = c.Decoded;
        return new LadderRow
        {
            Frame = c.Number,
            TimeNs = a.TimeRelativeNs,
            Sender = a.FromClient ? LadderSide.Client : LadderSide.Server,
            Flags = p.Flags,
            Seq = a.RelativeSeq,
            Ack = (p.Flags & TcpFlags.Ack) != 0 ? a.RelativeAck : null,
            Length = a.Length,
            Window = a.Window,
            Payload = Preview(p.GetTcpPayload(c.Frame)),
            ClientBefore = a.ClientBefore,
            ClientAfter = a.ClientAfter,
            ServerBefore = a.ServerBefore,
            ServerAfter = a.ServerAfter,
            Explanation = Explain(a, p.Flags),
            Expert = ExpertTags(a),
        };
    }

    /// <summary>tshark's expert prefixes without brackets, in tshark's order.</summary>
    public static IReadOnlyList<string> ExpertTags(in SegmentAnalysis a)
    {
        if (a.Flags == AnalysisFlags.None)
        {
            return [];
        }

        var sb = new StringBuilder();
        SummaryFormatter.AppendExpertPrefixes(sb, a);
        var tags = new List<string>();
        foreach (var part in sb.ToString().Split("] ", StringSplitOptions.RemoveEmptyEntries))
        {
            tags.Add(part.TrimStart('['));
        }

        return tags;
    }

    /// <summary>Up to 24 payload bytes as text, non-printable bytes as '.'; null without payload.</summary>
    public static string? Preview(ReadOnlySpan<byte> payload)
    {
        if (payload.IsEmpty)
        {
            return null;
        }

        int n = Math.Min(payload.Length, 24);
        var chars = new char[n];
        for (int i = 0; i < n; i++)
        {
            byte b = payload[i];
            chars[i] = b is >= 0x20 and < 0x7F ? (char)b : '.';
        }

        return payload.Length > n ? new string(chars) + "..." : new string(chars);
    }

    /// <summary>A one-line, plain-words account of the segment: what it does to the connection, then what the analysis noticed.</summary>
    public static string? Explain(in SegmentAnalysis a, TcpFlags flags)
    {
        string who = a.FromClient ? "client" : "server";
        string peer = a.FromClient ? "server" : "client";
        var before = a.FromClient ? a.ClientBefore : a.ServerBefore;
        var peerBefore = a.FromClient ? a.ServerBefore : a.ClientBefore;
        var peerAfter = a.FromClient ? a.ServerAfter : a.ClientAfter;
        var parts = new List<string>(3);
        var inv = CultureInfo.InvariantCulture;

        if ((flags & TcpFlags.Rst) != 0)
        {
            parts.Add(peerBefore.State is TcpState.SynSent
                ? $"the {who} refuses the connection: nothing listens on this port"
                : $"the {who} aborts the connection; data in flight is discarded");
        }
        else if ((flags & (TcpFlags.Syn | TcpFlags.Ack)) == TcpFlags.Syn)
        {
            parts.Add(before.State == TcpState.SynSent ? $"the {who} repeats its SYN" : $"the {who} asks to open a connection");
        }
        else if ((flags & (TcpFlags.Syn | TcpFlags.Ack)) == (TcpFlags.Syn | TcpFlags.Ack))
        {
            parts.Add($"the {who} accepts and sends its own SYN");
        }
        else if ((flags & TcpFlags.Fin) != 0)
        {
            parts.Add(before.State == TcpState.CloseWait || before.State == TcpState.LastAck
                ? $"the {who} closes its side too"
                : $"the {who} has no more data to send (half-close)");
        }
        else if (peerBefore.State == TcpState.SynReceived && peerAfter.State == TcpState.Established)
        {
            parts.Add("the handshake is complete");
        }
        else if (a.Length > 0)
        {
            parts.Add(string.Create(inv, $"{a.Length} byte{(a.Length == 1 ? "" : "s")} of data, bytes {a.RelativeSeq}..{a.RelativeSeq + (uint)a.Length - 1}"));
        }

        if (a.AcksFrame != 0)
        {
            parts.Add(string.Create(inv, $"acknowledges frame {a.AcksFrame}") + (a.AckRttNs != 0 ? string.Create(inv, $" after {a.AckRttNs / 1_000_000.0:0.###} ms") : ""));
        }

        if (peerAfter != peerBefore && peerAfter.State == TcpState.TimeWait)
        {
            parts.Add($"the {peer} waits 2*MSL in TIME-WAIT");
        }

        var f = a.Flags;
        if ((f & AnalysisFlags.Retransmission) != 0) parts.Add("sent again: no ACK came in time");
        if ((f & AnalysisFlags.FastRetransmission) != 0) parts.Add($"sent again after duplicate ACKs from the {peer}");
        if ((f & AnalysisFlags.SpuriousRetransmission) != 0) parts.Add($"sent again although the {peer} had acknowledged it");
        if ((f & AnalysisFlags.OutOfOrder) != 0) parts.Add("arrives after later data");
        if ((f & AnalysisFlags.LostSegment) != 0) parts.Add("earlier data was not captured");
        if ((f & AnalysisFlags.DuplicateAck) != 0) parts.Add($"the {who} still waits for the same byte");
        if ((f & AnalysisFlags.ZeroWindow) != 0) parts.Add($"the {who}'s receive buffer is full");
        if ((f & AnalysisFlags.ZeroWindowProbe) != 0) parts.Add($"probes whether the {peer}'s window reopened");
        if ((f & AnalysisFlags.WindowFull) != 0) parts.Add($"fills the {peer}'s window");
        if ((f & AnalysisFlags.WindowUpdate) != 0) parts.Add($"the {who} has room again");
        if ((f & AnalysisFlags.KeepAlive) != 0) parts.Add($"checks whether the {peer} is still there");
        if ((f & AnalysisFlags.ReusedPorts) != 0) parts.Add("a new connection on a used pair of ports");

        return parts.Count == 0 ? null : string.Join("; ", parts);
    }

    private static string Endpoint(IpAddress address, ushort port) =>
        address.IsIPv6 ? $"[{address}]:{port.ToString(CultureInfo.InvariantCulture)}" : $"{address}:{port.ToString(CultureInfo.InvariantCulture)}";
}
