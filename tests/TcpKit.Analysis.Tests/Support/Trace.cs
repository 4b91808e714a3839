using TcpKit.Analysis.Fields;
using TcpKit.Analysis.Output;
using TcpKit.Wire;
using TcpKit.Wire.Capture;
using TcpKit.Wire.Ip;
using TcpKit.Wire.Link;
using TcpKit.Wire.Tcp;

namespace TcpKit.Analysis.Tests.Support;

/// <summary>
/// Builds a capture of Ethernet/IPv4/TCP frames between a client and a server with exact raw numbers,
/// writes it as classic pcap, and runs it through the analysis pipeline like <c>tcpkit read</c> does.
/// </summary>
internal sealed class Trace
{
    private readonly List<(long Ns, byte[] Frame)> _frames = [];
    private readonly IpAddress _client;
    private readonly IpAddress _server;
    private readonly ushort _clientPort;
    private readonly ushort _serverPort;

    public Trace(ushort clientPort = 41000, ushort serverPort = 34567, string client = "10.0.0.1", string server = "10.0.0.9")
    {
        IpAddress.TryParse(client, out _client);
        IpAddress.TryParse(server, out _server);
        _clientPort = clientPort;
        _serverPort = serverPort;
    }

    /// <summary>Adds a segment at <paramref name="seconds"/> (absolute) with raw sequence numbers.</summary>
    public Trace Add(double seconds, bool fromClient, uint seq, uint ack, TcpFlags flags, ushort window, int length = 0, TcpOptions options = default, byte fill = (byte)'x')
    {
        var payload = new byte[length];
        Array.Fill(payload, fill);
        return Add(seconds, fromClient, seq, ack, flags, window, payload, options);
    }

    /// <summary>Adds a segment carrying <paramref name="text"/> (ASCII) as its payload.</summary>
    public Trace AddText(double seconds, bool fromClient, uint seq, uint ack, string text) =>
        Add(seconds, fromClient, seq, ack, TcpFlags.Psh | TcpFlags.Ack, 1000, System.Text.Encoding.ASCII.GetBytes(text));

    /// <summary>Appends the frames of <paramref name="other"/> (another 4-tuple) after this trace's.</summary>
    public Trace Then(Trace other)
    {
        _frames.AddRange(other._frames);
        return this;
    }

    /// <summary>Adds a segment with the given payload bytes.</summary>
    public Trace Add(double seconds, bool fromClient, uint seq, uint ack, TcpFlags flags, ushort window, byte[] payload, TcpOptions options = default)
    {
        int length = payload.Length;
        var tcp = new TcpHeader
        {
            SourcePort = fromClient ? _clientPort : _serverPort,
            DestinationPort = fromClient ? _serverPort : _clientPort,
            Seq = new SeqNum(seq),
            Ack = new SeqNum(ack),
            Flags = flags,
            Window = window,
            Options = options,
        };
        var src = fromClient ? _client : _server;
        var dst = fromClient ? _server : _client;
        var frame = new byte[14 + 20 + tcp.HeaderLength + length];
        new EthernetHeader { Source = new MacAddress(fromClient ? 0x020000000001UL : 0x020000000002UL), Destination = new MacAddress(fromClient ? 0x020000000002UL : 0x020000000001UL), EtherType = 0x0800 }.Emit(frame);
        new Ipv4Header { TimeToLive = 64, Protocol = 6, Source = src, Destination = dst, DontFragment = true }.Emit(frame.AsSpan(14), tcp.HeaderLength + length);
        tcp.Emit(frame.AsSpan(34), payload, src, dst);
        _frames.Add(((long)Math.Round(seconds * 1e6) * 1000, frame));
        return this;
    }

    /// <summary>
    /// Adds an ICMP error from a router to the sender of frame <paramref name="quotedFrame"/> (0-based) that
    /// quotes the first <paramref name="quoteBytes"/> bytes of that frame's IP packet (all of it when null).
    /// </summary>
    public Trace AddIcmpError(double seconds, int quotedFrame, byte type = 3, byte code = 3, int? quoteBytes = null)
        => AddIcmpError(seconds, IpPacket(quotedFrame), type, code, quoteBytes);

    /// <summary>The IP packet of frame <paramref name="index"/> (0-based), e.g. to quote in another trace's ICMP error.</summary>
    public byte[] IpPacket(int index) => _frames[index].Frame.AsSpan(14).ToArray();

    /// <summary>Adds an ICMP error from a router to the sender of <paramref name="quotedIp"/> that quotes (the start of) it.</summary>
    public Trace AddIcmpError(double seconds, byte[] quotedIp, byte type = 3, byte code = 3, int? quoteBytes = null)
    {
        var quote = quotedIp.AsSpan(0, Math.Min(quoteBytes ?? quotedIp.Length, quotedIp.Length));
        IpAddress.TryParse("192.0.2.254", out var router);
        var sender = IpAddress.FromIPv4(quotedIp[12], quotedIp[13], quotedIp[14], quotedIp[15]);
        var frame = new byte[14 + 20 + 8 + quote.Length];
        new EthernetHeader { Source = new MacAddress(0x0200000000FEUL), Destination = new MacAddress(0x020000000001UL), EtherType = 0x0800 }.Emit(frame);
        new Ipv4Header { TimeToLive = 64, Protocol = IpProtocol.Icmp, Source = router, Destination = sender }.Emit(frame.AsSpan(14), 8 + quote.Length);
        var icmp = frame.AsSpan(34);
        icmp[0] = type;
        icmp[1] = code;
        quote.CopyTo(icmp[8..]);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(icmp[2..], TcpKit.Wire.Checksums.InternetChecksum.Compute(icmp));
        _frames.Add(((long)Math.Round(seconds * 1e6) * 1000, frame));
        return this;
    }

    public static TcpOptions Options(ushort? mss = null, byte? windowScale = null, bool sackPermitted = false, TcpTimestamp? timestamp = null, params (uint Left, uint Right)[] sack)
    {
        var o = new TcpOptions { Mss = mss, WindowScale = windowScale, SackPermitted = sackPermitted, Timestamp = timestamp };
        foreach (var (l, r) in sack)
        {
            o.TryAddSack(new SackBlock(new SeqNum(l), new SeqNum(r)));
        }

        return o;
    }

    public string WritePcap()
    {
        var path = Path.Combine(Path.GetTempPath(), $"tcpkit-trace-{Guid.NewGuid():N}.pcap");
        using (var w = PcapWriter.Create(path, LinkType.Ethernet))
        {
            foreach (var (ns, frame) in _frames)
            {
                w.WritePacket(ns, frame);
            }
        }

        return path;
    }

    /// <summary>tshark-style summary lines.</summary>
    public List<string> Summaries() => Run((in FieldContext c, SummaryPrinter s, FieldsPrinter? _) => s.Format(c, 6), null);

    /// <summary><c>-T fields</c> lines with '|' between fields.</summary>
    public List<string> Fields(params string[] names) => Run((in FieldContext c, SummaryPrinter _, FieldsPrinter? f) => f!.Format(c), new FieldsPrinter(names, "|"));

    /// <summary>The numbers of the frames <paramref name="filter"/> (a display filter) selects.</summary>
    public List<long> Select(string filter)
    {
        var f = TcpKit.Analysis.Filters.DisplayFilter.Compile(filter);
        var frames = new List<long>();
        Each((in FieldContext c) =>
        {
            if (f.Matches(c))
            {
                frames.Add(c.Number);
            }
        });
        return frames;
    }

    /// <summary>The analysis of every frame (copied out of the pipeline).</summary>
    public List<Conversations.SegmentAnalysis> Analyses()
    {
        var list = new List<Conversations.SegmentAnalysis>();
        Each((in FieldContext c) => list.Add(c.Analysis));
        return list;
    }

    public delegate void FrameAction(in FieldContext context);

    public void Each(FrameAction action, Action<CapturePipeline>? done = null)
    {
        var path = WritePcap();
        try
        {
            using var reader = CaptureReader.Open(path);
            var pipeline = new CapturePipeline();
            while (reader.TryRead(out var packet))
            {
                action(pipeline.Next(packet));
            }

            done?.Invoke(pipeline);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private delegate string LineMaker(in FieldContext c, SummaryPrinter summary, FieldsPrinter? fields);

    private List<string> Run(LineMaker make, FieldsPrinter? fields)
    {
        var lines = new List<string>();
        var summary = new SummaryPrinter();
        Each((in FieldContext c) => lines.Add(make(c, summary, fields)));
        return lines;
    }
}
