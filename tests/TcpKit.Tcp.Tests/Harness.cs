using System.Globalization;
using System.Text;
using TcpKit.Wire;
using TcpKit.Wire.Tcp;

namespace TcpKit.Tcp.Tests;

/// <summary>One segment put on the virtual wire.</summary>
public sealed record SegmentRecord(Instant Time, bool FromClient, TcpHeader Header, byte[] Payload)
{
    public bool Dropped { get; set; }

    public TcpFlags Flags => Header.Flags;

    public int Length => Payload.Length;
}

/// <summary>What to do with one segment: drop it, delay it further, or deliver it twice.</summary>
public readonly record struct Impairment(bool Drop, TimeSpan ExtraDelay, bool Duplicate)
{
    public static readonly Impairment None = default;
}

/// <summary>
/// Two connections wired back to back through a virtual clock. Every segment is recorded with its
/// send time; hooks can drop, delay, duplicate or reorder chosen segments. Deterministic.
/// </summary>
public sealed class Harness
{
    private readonly PriorityQueue<(bool ToServer, TcpHeader Header, byte[] Payload), (long Time, long Order)> _inFlight = new();
    private long _order;
    private readonly byte[] _segmentBuffer = new byte[65536];

    public Harness(TcpConnection client, TcpConnection? server, Instant start = default)
    {
        Client = client;
        Server = server;
        Now = start;
    }

    /// <summary>Client connecting from port 40000 to 9999 where a listener waits. ISS values are fixed for readability.</summary>
    public static Harness Pair(TcpConfig? clientConfig = null, TcpConfig? serverConfig = null, uint clientIss = 1000, uint serverIss = 5000)
    {
        var server = TcpConnection.Listen(serverConfig ?? TcpConfig.Linux, 9999, new SeqNum(serverIss));
        var client = TcpConnection.Connect(clientConfig ?? TcpConfig.Linux, 40000, 9999, new SeqNum(clientIss), Instant.Zero);
        return new Harness(client, server);
    }

    public Instant Now { get; private set; }

    public TcpConnection Client { get; }

    /// <summary>Null: the client talks to a host without a listener, which answers per RFC 9293 3.10.7.1.</summary>
    public TcpConnection? Server { get; }

    public TimeSpan OneWayDelay { get; set; } = TimeSpan.FromMilliseconds(10);

    public List<SegmentRecord> Wire { get; } = [];

    public Func<SegmentRecord, Impairment>? Impair { get; set; }

    /// <summary>Application logic run whenever the ends are pumped (writes, reads, closes).</summary>
    public Action<Harness>? App { get; set; }

    /// <summary>Drops every segment from now on (a dead link).</summary>
    public void DropEverything() => Impair = _ => new Impairment(true, TimeSpan.Zero, false);

    /// <summary>A hand-made segment from the peer of <paramref name="target"/>, addressed to it.</summary>
    public static TcpHeader SegmentTo(TcpConnection target, TcpFlags flags, SeqNum seq, SeqNum ack = default, ushort window = 65535) =>
        new() { SourcePort = target.RemotePort, DestinationPort = target.LocalPort, Seq = seq, Ack = ack, Flags = flags, Window = window };

    public List<(Instant Time, TcpEvent Event)> ClientEvents { get; } = [];

    public List<(Instant Time, TcpEvent Event)> ServerEvents { get; } = [];

    /// <summary>Read incoming data automatically as soon as it is readable.</summary>
    public bool AutoReadClient { get; set; } = true;

    public bool AutoReadServer { get; set; } = true;

    public List<byte> ClientReceived { get; } = [];

    public List<byte> ServerReceived { get; } = [];

    public List<SegmentRecord> Delivered(bool fromClient) => Wire.Where(r => r.FromClient == fromClient && !r.Dropped).ToList();

    public List<SegmentRecord> From(bool fromClient) => Wire.Where(r => r.FromClient == fromClient).ToList();

    /// <summary>Lets both ends transmit and report until neither has anything to say at this instant.</summary>
    public void Pump()
    {
        bool progress = true;
        while (progress)
        {
            App?.Invoke(this);
            progress = PumpOne(Client, fromClient: true);
            if (Server is not null)
            {
                progress |= PumpOne(Server, fromClient: false);
            }
        }
    }

    private bool PumpOne(TcpConnection c, bool fromClient)
    {
        bool progress = false;
        while (c.TryPollSegment(Now, _segmentBuffer, out TcpHeader h, out int len))
        {
            progress = true;
            var rec = new SegmentRecord(Now, fromClient, h, _segmentBuffer.AsSpan(0, len).ToArray());
            Wire.Add(rec);
            Impairment imp = Impair?.Invoke(rec) ?? Impairment.None;
            if (imp.Drop)
            {
                rec.Dropped = true;
                continue;
            }

            Schedule(fromClient, h, rec.Payload, Now + OneWayDelay + imp.ExtraDelay);
            if (imp.Duplicate)
            {
                Schedule(fromClient, h, rec.Payload, Now + OneWayDelay + imp.ExtraDelay + TimeSpan.FromMilliseconds(1));
            }
        }

        List<(Instant, TcpEvent)> events = fromClient ? ClientEvents : ServerEvents;
        while (c.TryPollEvent(out TcpEvent e))
        {
            events.Add((Now, e));
            progress = true;
        }

        if (fromClient ? AutoReadClient : AutoReadServer)
        {
            progress |= Drain(c, fromClient ? ClientReceived : ServerReceived) > 0;
        }

        return progress;
    }

    private void Schedule(bool toServer, TcpHeader h, byte[] payload, Instant at) =>
        _inFlight.Enqueue((toServer, h, payload), (at.Nanoseconds, _order++));

    /// <summary>Reads everything readable from a connection into a list.</summary>
    public static int Drain(TcpConnection c, List<byte> into)
    {
        Span<byte> buf = stackalloc byte[4096];
        int total = 0;
        int n;
        while ((n = c.Receive(buf)) > 0)
        {
            for (int i = 0; i < n; i++)
            {
                into.Add(buf[i]);
            }

            total += n;
        }

        return total;
    }

    /// <summary>Injects a segment into one end as if it came from the network now, then lets both ends react.</summary>
    public void Inject(bool toServer, TcpHeader h, ReadOnlySpan<byte> payload = default)
    {
        Deliver(toServer, h, payload.ToArray());
        Pump();
    }

    private void Deliver(bool toServer, TcpHeader h, byte[] payload)
    {
        if (toServer)
        {
            if (Server is not null)
            {
                Server.OnSegment(h, payload, Now);
            }
            else if (TcpConnection.MakeResetFor(h, payload.Length, out TcpHeader rst))
            {
                Schedule(false, rst, [], Now + OneWayDelay);
                Wire.Add(new SegmentRecord(Now, false, rst, []));
            }
        }
        else
        {
            Client.OnSegment(h, payload, Now);
        }
    }

    private Instant NextTime()
    {
        Instant next = Instant.Min(Client.NextDeadline, Server?.NextDeadline ?? Instant.Never);
        if (_inFlight.TryPeek(out _, out (long Time, long Order) p))
        {
            next = Instant.Min(next, new Instant(p.Time));
        }

        return next;
    }

    public void RunUntil(Instant limit)
    {
        while (true)
        {
            Pump();
            Instant next = NextTime();
            if (next == Instant.Never || next > limit)
            {
                if (limit != Instant.Never)
                {
                    Now = limit;
                }

                return;
            }

            Now = Instant.Max(Now, next);
            while (_inFlight.TryPeek(out var item, out var p) && p.Time <= Now.Nanoseconds)
            {
                _inFlight.Dequeue();
                Deliver(item.ToServer, item.Header, item.Payload);
                Pump();
            }

            if (Client.NextDeadline <= Now)
            {
                Client.OnTimer(Now);
            }

            if (Server is not null && Server.NextDeadline <= Now)
            {
                Server.OnTimer(Now);
            }
        }
    }

    public void RunFor(TimeSpan d) => RunUntil(Now + d);

    public void RunUntilMs(long ms) => RunUntil(Instant.FromMilliseconds(ms));

    /// <summary>Runs until nothing is in flight and no timer is armed (or the limit).</summary>
    public void RunToQuiet(TimeSpan limit) => RunUntil(Now + limit);

    /// <summary>
    /// The wire as lines like "20ms C>S [.] seq=1 ack=1 len=0 win=65535": sequence numbers relative to each
    /// sender's ISS and acknowledgement numbers relative to the receiver's, as Wireshark shows them.
    /// </summary>
    public List<string> Trace(bool includeDropped = true)
    {
        var lines = new List<string>();
        foreach (SegmentRecord r in Wire)
        {
            if (!includeDropped && r.Dropped)
            {
                continue;
            }

            lines.Add(Format(r));
        }

        return lines;
    }

    public string Format(SegmentRecord r)
    {
        SeqNum ownIss = r.FromClient ? Client.Iss : Server?.Iss ?? default;
        SeqNum peerIss = r.FromClient ? Server?.Iss ?? default : Client.Iss;
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"{r.Time.Milliseconds}ms {(r.FromClient ? "C>S" : "S>C")} [{FlagString(r.Flags)}]");
        sb.Append(CultureInfo.InvariantCulture, $" seq={(int)r.Header.Seq.RelativeTo(ownIss)}");
        if (r.Header.Has(TcpFlags.Ack))
        {
            sb.Append(CultureInfo.InvariantCulture, $" ack={(int)r.Header.Ack.RelativeTo(peerIss)}");
        }

        sb.Append(CultureInfo.InvariantCulture, $" len={r.Length} win={r.Header.Window}");
        if (r.Header.Options.Mss is ushort mss)
        {
            sb.Append(CultureInfo.InvariantCulture, $" mss={mss}");
        }

        if (r.Dropped)
        {
            sb.Append(" (dropped)");
        }

        return sb.ToString();
    }

    public static string FlagString(TcpFlags f)
    {
        var sb = new StringBuilder();
        if ((f & TcpFlags.Syn) != 0) { sb.Append('S'); }
        if ((f & TcpFlags.Fin) != 0) { sb.Append('F'); }
        if ((f & TcpFlags.Psh) != 0) { sb.Append('P'); }
        if ((f & TcpFlags.Rst) != 0) { sb.Append('R'); }
        if ((f & TcpFlags.Urg) != 0) { sb.Append('U'); }
        if ((f & TcpFlags.Ack) != 0) { sb.Append('.'); }
        return sb.ToString();
    }

    public List<TcpState> StatesOf(bool client) =>
        (client ? ClientEvents : ServerEvents).Where(e => e.Event.Kind == TcpEventKind.StateChanged).Select(e => e.Event.NewState).ToList();

    public TcpEvent? ClosedEvent(bool client) =>
        (client ? ClientEvents : ServerEvents).Where(e => e.Event.Kind == TcpEventKind.Closed).Select(e => (TcpEvent?)e.Event).FirstOrDefault();
}
