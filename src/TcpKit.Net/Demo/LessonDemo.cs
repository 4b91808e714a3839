using TcpKit.Net.Host;
using TcpKit.Net.Links;
using TcpKit.Net.Simulation;
using TcpKit.Tcp;
using TcpKit.Wire;
using TcpKit.Wire.Capture;
using TcpKit.Wire.Tcp;

namespace TcpKit.Net.Demo;

/// <summary>Settings of the classic lesson.</summary>
public sealed record LessonOptions
{
    /// <summary>Random loss on each direction, 0..1.</summary>
    public double Loss { get; init; }

    /// <summary>One-way propagation delay.</summary>
    public TimeSpan Delay { get; init; } = TimeSpan.FromMilliseconds(10);

    public ulong Seed { get; init; } = 1;

    /// <summary>The client closes first instead of the server (then the client waits in TIME-WAIT).</summary>
    public bool ClientCloses { get; init; }

    public ushort ServerPort { get; init; } = 9999;

    /// <summary>Where to write the capture (pcapng with the states as packet comments); null for none.</summary>
    public string? PcapPath { get; init; } = "demo.pcapng";

    public TcpConfig Config { get; init; } = TcpConfig.Linux;
}

/// <summary>The endpoint whose side of the ladder a step belongs to.</summary>
public enum LessonSide : byte
{
    Client,
    Server,
}

/// <summary>A state change an endpoint made at one step.</summary>
public readonly record struct StateChange(TcpState Before, TcpState After)
{
    public bool Changed => Before != After;

    public override string ToString() => Changed ? $"{Before.ToRfcName()} -> {After.ToRfcName()}" : Before.ToRfcName();
}

/// <summary>
/// One step of the lesson: a segment one side sent (and whether it arrived), or a timer that ended a state.
/// Sequence and acknowledgment numbers are relative to each side's initial sequence number.
/// </summary>
public sealed record LessonStep(
    int Number,
    Instant Time,
    LessonSide From,
    bool IsSegment,
    TcpFlags Flags,
    uint RelativeSeq,
    uint? RelativeAck,
    int Length,
    int Window,
    string? Payload,
    bool Delivered,
    Instant? ArrivalTime,
    bool Retransmission,
    StateChange Client,
    StateChange Server,
    string Explanation);

/// <summary>The whole lesson: who is where, every step, and where the capture went.</summary>
public sealed record LessonTrace(
    IpAddress ClientAddress,
    ushort ClientPort,
    IpAddress ServerAddress,
    ushort ServerPort,
    IReadOnlyList<LessonStep> Steps,
    string? PcapPath,
    Instant End);

/// <summary>
/// The lesson TcpKit grew from: a server listening on port 9999, a telnet-like client that sends "a"
/// then "b", and a server that is stopped first. Runs on the simulated network in virtual time, records
/// every segment with both endpoints' RFC 9293 states, and writes a pcapng whose packet comments carry
/// those states.
/// </summary>
public static class LessonDemo
{
    public static readonly IpAddress ClientAddress = IpAddress.Parse("192.0.2.1");
    public static readonly IpAddress ServerAddress = IpAddress.Parse("192.0.2.2");

    public static LessonTrace Run(LessonOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var network = new SimulatedNetwork(options.Seed, Instant.FromSeconds(1_790_000_000)); // a fixed wall-clock start: reproducible captures
        var loop = new SimulatedEventLoop(network);
        var clientNic = network.AddHost("client");
        var serverNic = network.AddHost("server");
        clientNic.AddAddress(ClientAddress.ToIPAddress());
        serverNic.AddAddress(ServerAddress.ToIPAddress());
        var profile = new LinkProfile { Delay = options.Delay, LossRate = options.Loss };
        network.Connect(clientNic, serverNic, profile, profile);

        var recorder = new Recorder();
        var clientTap = new CaptureTap(clientNic, network, (d, f, t) => recorder.OnFrame(LessonSide.Client, d, f, t));
        var serverTap = new CaptureTap(serverNic, network, (d, f, t) => recorder.OnFrame(LessonSide.Server, d, f, t));
        var client = new TcpHost("client", clientTap, loop, options.Config, options.Seed);
        var server = new TcpHost("server", serverTap, loop, options.Config, options.Seed);
        client.AddAddress(ClientAddress);
        server.AddAddress(ServerAddress);
        client.ConnectionEvent += (_, e) => recorder.OnEvent(LessonSide.Client, e, network.Now);
        server.ConnectionEvent += (_, e) => recorder.OnEvent(LessonSide.Server, e, network.Now);

        var listener = new TcpKitListener(server, options.ServerPort) { Config = options.Config };
        listener.Start();
        var serverTask = loop.Start(async () =>
        {
            using var peer = await listener.AcceptTcpClientAsync().ConfigureAwait(true);
            var stream = peer.GetStream();
            var buffer = new byte[64];
            int got = 0;
            while (got < 2)
            {
                int n = await stream.ReadAsync(buffer).ConfigureAwait(true);
                if (n == 0)
                {
                    break;
                }

                got += n;
            }

            if (!options.ClientCloses)
            {
                await Task.Delay(0).ConfigureAwait(true);
                await Pause(loop, TimeSpan.FromSeconds(1)).ConfigureAwait(true); // then the server program is stopped
                peer.Close();
            }
            else
            {
                while (await stream.ReadAsync(buffer).ConfigureAwait(true) > 0)
                {
                }

                peer.Close();
            }
        });
        var clientTask = loop.Start(async () =>
        {
            using var c = new TcpKitClient(client) { Config = options.Config };
            await c.ConnectAsync(ServerAddress, options.ServerPort).ConfigureAwait(true);
            var stream = c.GetStream();
            await Pause(loop, TimeSpan.FromSeconds(1)).ConfigureAwait(true); // the user types "a"...
            await stream.WriteAsync("a"u8.ToArray()).ConfigureAwait(true);
            await Pause(loop, TimeSpan.FromSeconds(1)).ConfigureAwait(true); // ...then "b"
            await stream.WriteAsync("b"u8.ToArray()).ConfigureAwait(true);
            if (options.ClientCloses)
            {
                await Pause(loop, TimeSpan.FromSeconds(1)).ConfigureAwait(true);
                c.Close();
                return;
            }

            // telnet: "Connection closed by foreign host." once the server's FIN arrives.
            while (await stream.ReadAsync(new byte[64]).ConfigureAwait(true) > 0)
            {
            }

            c.Close();
        });

        // Run until both programs finished and every connection is CLOSED (TIME-WAIT included).
        var limit = network.Now + TimeSpan.FromMinutes(30);
        network.RunWhile(() => !(serverTask.IsCompleted && clientTask.IsCompleted && client.ConnectionCount == 0 && server.ConnectionCount == 0), limit);
        listener.Stop();
        if (serverTask.IsFaulted || clientTask.IsFaulted)
        {
            recorder.Failure = (serverTask.Exception ?? clientTask.Exception)!.GetBaseException().Message;
        }

        var trace = recorder.Build(options);
        if (options.PcapPath is not null)
        {
            recorder.WritePcapng(options.PcapPath, trace);
        }

        return trace;
    }

    private static Task Pause(SimulatedEventLoop loop, TimeSpan duration)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var timer = loop.CreateTimer(() => done.TrySetResult());
        timer.Set(loop.Now + duration);
        return done.Task;
    }

    /// <summary>Everything seen during the run, in order, turned into steps afterwards.</summary>
    private sealed class Recorder
    {
        private readonly List<Frame> _sent = [];
        private readonly List<Frame> _arrived = [];
        private readonly List<(LessonSide Side, TcpEvent Event, Instant Time, long Order)> _events = [];
        private readonly List<(LessonSide Side, long Effective, TcpState State)> _effective = [];
        private long _order;

        public string? Failure { get; set; }

        public void OnFrame(LessonSide side, LinkDirection direction, ReadOnlySpan<byte> frame, Instant time)
        {
            var f = new Frame(side, frame.ToArray(), time, _order++);
            (direction == LinkDirection.Outbound ? _sent : _arrived).Add(f);
        }

        public void OnEvent(LessonSide side, in TcpEvent e, Instant time)
        {
            // A listener's TCB is born in LISTEN; the ladder shows the server LISTENing from the start.
            if (e.Kind == TcpEventKind.StateChanged && !(e.OldState == TcpState.Closed && e.NewState == TcpState.Listen))
            {
                _events.Add((side, e, time, _order++));
            }
        }

        public LessonTrace Build(LessonOptions options)
        {
            if (Failure is not null)
            {
                throw new InvalidOperationException($"the lesson did not complete: {Failure}");
            }

            // Match each arrival to the send it came from. Retransmissions can be byte-identical, so among
            // equal candidates take the one sent one link delay earlier (the lesson's link has no jitter).
            foreach (var a in _arrived)
            {
                var f = _sent
                    .Where(s => s.Side != a.Side && s.ArrivalOrder is null && s.Time <= a.Time && s.Bytes.AsSpan().SequenceEqual(a.Bytes))
                    .MinBy(s => Math.Abs(((a.Time - s.Time) - options.Delay).Ticks));
                if (f is not null)
                {
                    f.Arrival = a.Time;
                    f.ArrivalOrder = a.Order;
                }
            }

            // Attach each state change to the segment that caused it: a user call or timer to the segment
            // its side sent at that instant just before the change was reported (the pump transmits, then
            // reports); a received segment to the latest arrival on that side.
            var loose = new List<(LessonSide Side, TcpEvent Event, Instant Time, long Order)>();
            _effective.Clear();
            foreach (var ev in _events)
            {
                Frame? cause = ev.Event.Cause.Kind == CauseKind.Segment
                    ? _sent.Where(f => f.Side != ev.Side && f.ArrivalOrder < ev.Order).MaxBy(f => f.ArrivalOrder)
                    : _sent.Where(f => f.Side == ev.Side && f.Order < ev.Order && f.Time == ev.Time).MaxBy(f => f.Order);
                // Events are reported after the pump sent its segments, so order them by their cause:
                // a sender's change just before its segment left, a receiver's just after it arrived.
                if (cause is null)
                {
                    loose.Add(ev);
                    _effective.Add((ev.Side, ev.Order * 2, ev.Event.NewState));
                }
                else if (ev.Side == cause.Side)
                {
                    cause.SenderChange = Merge(cause.SenderChange, ev.Event);
                    _effective.Add((ev.Side, (cause.Order * 2) - 1, ev.Event.NewState));
                }
                else
                {
                    cause.ReceiverChange = Merge(cause.ReceiverChange, ev.Event);
                    _effective.Add((ev.Side, (cause.ArrivalOrder!.Value * 2) + 1, ev.Event.NewState));
                }
            }

            SeqNum? clientIsn = _sent.FirstOrDefault(f => f.Side == LessonSide.Client && f.Header.Has(TcpFlags.Syn))?.Header.Seq;
            SeqNum? serverIsn = _sent.FirstOrDefault(f => f.Side == LessonSide.Server && f.Header.Has(TcpFlags.Syn))?.Header.Seq;
            ushort clientPort = _sent.FirstOrDefault(f => f.Side == LessonSide.Client)?.Header.SourcePort ?? 0;
            var seen = new HashSet<(LessonSide, uint, int, TcpFlags)>();
            var rows = new List<(long Order, Func<int, LessonStep> Make)>();
            foreach (var f in _sent)
            {
                var h = f.Header;
                var from = f.Side;
                var senderChange = f.SenderChange ?? Steady(from, f.Order);
                var receiverChange = f.ReceiverChange ?? Steady(Other(from), f.ArrivalOrder ?? f.Order);
                var ownIsn = from == LessonSide.Client ? clientIsn : serverIsn;
                var peerIsn = from == LessonSide.Client ? serverIsn : clientIsn;
                uint relSeq = ownIsn is SeqNum o ? h.Seq.RelativeTo(o) : h.Seq.Value;
                uint? relAck = h.Has(TcpFlags.Ack) ? (peerIsn is SeqNum p ? h.Ack.RelativeTo(p) : h.Ack.Value) : null;
                bool retransmission = !seen.Add((from, relSeq, f.PayloadLength, h.Flags & (TcpFlags.Syn | TcpFlags.Fin | TcpFlags.Rst)))
                    && (f.PayloadLength > 0 || (h.Flags & (TcpFlags.Syn | TcpFlags.Fin)) != 0);
                string? payload = f.PayloadLength > 0 ? Printable(f.Bytes.AsSpan(f.Bytes.Length - f.PayloadLength)) : null;
                bool delivered = f.Arrival is not null;
                string explanation = LessonExplainer.Explain(from, h.Flags, f.PayloadLength, payload, relSeq, relAck, senderChange, receiverChange, retransmission, delivered, options.ClientCloses);
                rows.Add((f.Order, n => new LessonStep(
                    n, f.Time, from, true, h.Flags, relSeq, relAck, f.PayloadLength, h.Window, payload, delivered, f.Arrival, retransmission,
                    from == LessonSide.Client ? senderChange : receiverChange,
                    from == LessonSide.Client ? receiverChange : senderChange,
                    explanation)));
            }

            // Changes no segment caused (TIME-WAIT ending on its timer) are steps of their own.
            foreach (var ev in loose)
            {
                var change = new StateChange(ev.Event.OldState, ev.Event.NewState);
                var other = Steady(Other(ev.Side), ev.Order);
                string explanation = ev.Event.OldState == TcpState.TimeWait
                    ? LessonExplainer.TimeWaitEnds(ev.Side, options.Config.TimeWaitDuration)
                    : $"The {(ev.Side == LessonSide.Client ? "client" : "server")} goes from {change} ({ev.Event.Cause}).";
                rows.Add((ev.Order, n => new LessonStep(n, ev.Time, ev.Side, false, TcpFlags.None, 0, null, 0, 0, null, false, null, false,
                    ev.Side == LessonSide.Client ? change : other,
                    ev.Side == LessonSide.Client ? other : change,
                    explanation)));
            }

            var steps = rows.OrderBy(r => r.Order).Select((r, i) => r.Make(i + 1)).ToList();
            var end = steps.Count > 0 ? steps[^1].Time : Instant.Zero;
            return new LessonTrace(ClientAddress, clientPort, ServerAddress, options.ServerPort, steps, options.PcapPath, end);
        }

        private static StateChange Merge(StateChange? existing, in TcpEvent e) =>
            existing is StateChange c ? new StateChange(c.Before, e.NewState) : new StateChange(e.OldState, e.NewState);

        /// <summary>The state a side was in at a point of the run, when nothing changed it there.</summary>
        private StateChange Steady(LessonSide side, long order)
        {
            var state = side == LessonSide.Client ? TcpState.Closed : TcpState.Listen;
            long best = long.MinValue;
            foreach (var (s, effective, newState) in _effective)
            {
                if (s == side && effective < order * 2 && effective > best)
                {
                    best = effective;
                    state = newState;
                }
            }

            return new StateChange(state, state);
        }

        public void WritePcapng(string path, LessonTrace trace)
        {
            using var writer = PcapngWriter.Create(path, sectionComment: "TcpKit demo: the classic lesson (server on port 9999, client sends \"a\" then \"b\"). Captured at the client's interface; comments give both endpoints' RFC 9293 states.");
            int itf = writer.AddInterface(LinkType.Raw, name: "client-eth0", description: "simulated link client <-> server");
            // Packets as the client's interface saw them: everything it sent, and what reached it.
            var packets = new List<(Instant Time, byte[] Bytes, string Comment, uint Flags)>();
            int n = 0;
            foreach (var step in trace.Steps)
            {
                if (!step.IsSegment)
                {
                    continue;
                }

                var f = _sent[n++];
                string comment = $"client {step.Client}; server {step.Server}" + (step.Delivered ? "" : "; lost on the way");
                if (f.Side == LessonSide.Client)
                {
                    packets.Add((f.Time, f.Bytes, comment, 2u)); // outbound
                }
                else if (f.Arrival is Instant arrival)
                {
                    packets.Add((arrival, f.Bytes, comment, 1u)); // inbound
                }
            }

            foreach (var p in packets.OrderBy(p => p.Time.Nanoseconds))
            {
                writer.WritePacket(itf, p.Time.Nanoseconds, p.Bytes, comment: p.Comment, flags: p.Flags);
            }
        }

        private static TcpHeader Parse(byte[] packet)
        {
            var ipLength = (packet[0] >> 4) == 4 ? (packet[0] & 0xF) * 4 : 40;
            TcpSegment.TryParse(packet.AsSpan(ipLength), out var seg);
            return seg.ToHeader();
        }

        private static int PayloadLengthOf(byte[] packet)
        {
            var ipLength = (packet[0] >> 4) == 4 ? (packet[0] & 0xF) * 4 : 40;
            TcpSegment.TryParse(packet.AsSpan(ipLength), out var seg);
            return seg.PayloadLength;
        }

        private static string Printable(ReadOnlySpan<byte> bytes)
        {
            var chars = new char[Math.Min(bytes.Length, 16)];
            for (int i = 0; i < chars.Length; i++)
            {
                chars[i] = bytes[i] is >= 0x20 and < 0x7F ? (char)bytes[i] : '.';
            }

            return new string(chars) + (bytes.Length > 16 ? "..." : "");
        }

        private static LessonSide Other(LessonSide side) => side == LessonSide.Client ? LessonSide.Server : LessonSide.Client;

        private sealed class Frame(LessonSide side, byte[] bytes, Instant time, long order)
        {
            public LessonSide Side { get; } = side;

            public byte[] Bytes { get; } = bytes;

            public Instant Time { get; } = time;

            public long Order { get; } = order;

            public TcpHeader Header { get; } = Parse(bytes);

            public int PayloadLength { get; } = PayloadLengthOf(bytes);

            public Instant? Arrival { get; set; }

            public long? ArrivalOrder { get; set; }

            public StateChange? SenderChange { get; set; }

            public StateChange? ReceiverChange { get; set; }
        }
    }
}
