using TcpKit.Net.Links;
using TcpKit.Wire;

namespace TcpKit.Net.Simulation;

/// <summary>
/// A deterministic discrete-event network: a virtual clock, an event queue of timers and packet
/// arrivals, hosts, point-to-point links and switches with seeded impairments. Nothing happens
/// between calls to <see cref="Step"/> / Run*; a day of traffic runs as fast as the events can be
/// processed. The same seed and the same calls give byte-identical deliveries at identical times.
/// </summary>
/// <remarks>
/// Single-threaded: all members, NIC sends and timer callbacks must run on one thread. Receivers and
/// timer callbacks are invoked from inside Step/Run* and may send packets and set timers.
/// Every link direction draws from its own random stream, derived from the seed in creation order,
/// so changing the impairments of one direction does not change the outcomes of another.
/// </remarks>
public sealed class SimulatedNetwork : IClock
{
    private readonly EventQueue _events = new();
    private readonly List<SimulatedNic> _hosts = [];
    private readonly List<SimulatedSwitch> _switches = [];
    private ulong _streamState;
    private long _nextSequence;
    private bool _dispatching;

    public SimulatedNetwork(ulong seed)
        : this(seed, Instant.Zero)
    {
    }

    public SimulatedNetwork(ulong seed, Instant start)
    {
        Seed = seed;
        Now = start;
        _streamState = seed;
        Random = NewRandomStream();
    }

    public ulong Seed { get; }

    /// <summary>Virtual time: the deadline of the event being (or last) processed, or where RunUntil stopped.</summary>
    public Instant Now { get; private set; }

    /// <summary>A random stream for the hosts' own use (initial sequence numbers, ports), separate from the links'.</summary>
    public SimRandom Random { get; }

    /// <summary>Events (timer firings and packet arrivals) processed so far.</summary>
    public long EventsProcessed { get; private set; }

    public int PendingEvents => _events.Count;

    /// <summary>Deadline of the next event, or <see cref="Instant.Never"/> when idle.</summary>
    public Instant NextEventTime => _events.Count == 0 ? Instant.Never : new Instant(_events.PeekDeadline);

    public IReadOnlyList<SimulatedNic> Hosts => _hosts;

    public IReadOnlyList<SimulatedSwitch> Switches => _switches;

    /// <summary>
    /// Called for every packet a channel discards, with the reason and the current time; lets a demo
    /// or a test show losses that no host ever sees. The packet span is only valid during the call.
    /// </summary>
    public Action<SimulatedChannel, DropReason, ReadOnlySpan<byte>, Instant>? DropObserver { get; set; }

    /// <summary>Buffers for packets in flight; every copy a channel makes comes from here and returns on arrival or drop.</summary>
    internal PacketBufferPool Buffers { get; } = new();

    // ---- Topology ---------------------------------------------------------------------------------

    /// <summary>Adds a host with one network interface; connect it with <see cref="Connect(SimulatedNic, SimulatedNic, LinkProfile, LinkProfile)"/> or a switch.</summary>
    public SimulatedNic AddHost(string name, int mtu = 1500)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(mtu);
        var nic = new SimulatedNic(this, name, mtu);
        _hosts.Add(nic);
        return nic;
    }

    /// <summary>Joins two hosts with a point-to-point link; everything one sends reaches the other, whatever its address.</summary>
    public SimulatedLink Connect(SimulatedNic a, SimulatedNic b, LinkProfile aToB, LinkProfile bToA)
    {
        CheckOwned(a);
        CheckOwned(b);
        if (ReferenceEquals(a, b))
        {
            throw new ArgumentException("A host cannot be linked to itself.", nameof(b));
        }

        a.EnsureUnattached();
        b.EnsureUnattached();
        var forward = new SimulatedChannel(this, $"{a.Name}->{b.Name}", aToB, b);
        var backward = new SimulatedChannel(this, $"{b.Name}->{a.Name}", bToA, a);
        a.Attach(egress: forward, ingress: backward, port: null);
        b.Attach(egress: backward, ingress: forward, port: null);
        return new SimulatedLink(a, b, forward, backward);
    }

    /// <summary>Joins two hosts with the same impairments in both directions.</summary>
    public SimulatedLink Connect(SimulatedNic a, SimulatedNic b, LinkProfile both) => Connect(a, b, both, both);

    /// <summary>Adds a switch that forwards each packet to the port whose host registered its destination address.</summary>
    public SimulatedSwitch AddSwitch(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        var sw = new SimulatedSwitch(this, name);
        _switches.Add(sw);
        return sw;
    }

    internal void CheckOwned(SimulatedNic nic)
    {
        ArgumentNullException.ThrowIfNull(nic);
        if (!ReferenceEquals(nic.Network, this))
        {
            throw new ArgumentException($"Host {nic.Name} belongs to another simulated network.", nameof(nic));
        }
    }

    /// <summary>A fresh generator whose seed is the next SplitMix64 output of the network seed.</summary>
    internal SimRandom NewRandomStream() => new(SimRandom.SplitMix64(ref _streamState));

    // ---- Timers -----------------------------------------------------------------------------------

    /// <summary>Creates an unarmed reusable timer.</summary>
    public SimTimer CreateTimer(Action callback)
    {
        ArgumentNullException.ThrowIfNull(callback);
        return new SimTimer(this, callback);
    }

    /// <summary>Runs <paramref name="callback"/> once at <paramref name="at"/>; the returned timer can cancel or move it.</summary>
    public SimTimer Schedule(Instant at, Action callback)
    {
        SimTimer timer = CreateTimer(callback);
        timer.Set(at);
        return timer;
    }

    /// <summary>Runs <paramref name="callback"/> once, <paramref name="after"/> from now.</summary>
    public SimTimer Schedule(TimeSpan after, Action callback) => Schedule(Now + after, callback);

    internal void Arm(SimTimer timer, Instant deadline)
    {
        if (deadline == Instant.Never)
        {
            Disarm(timer);
            return;
        }

        Instant at = Instant.Max(deadline, Now);
        timer.Deadline = at;
        if (timer.IsArmed)
        {
            _events.Update(timer, at.Nanoseconds, _nextSequence++);
        }
        else
        {
            _events.Push(new SimEvent { Deadline = at.Nanoseconds, Sequence = _nextSequence++, Timer = timer });
        }
    }

    internal void Disarm(SimTimer timer)
    {
        if (timer.IsArmed)
        {
            _events.Remove(timer);
        }

        timer.Deadline = Instant.Never;
    }

    internal void ScheduleArrival(Instant at, SimulatedChannel channel, byte[] buffer, int length) =>
        _events.Push(new SimEvent
        {
            Deadline = at.Nanoseconds,
            Sequence = _nextSequence++,
            Channel = channel,
            Buffer = buffer,
            Length = length,
        });

    // ---- Running ----------------------------------------------------------------------------------

    /// <summary>Processes the next event, advancing <see cref="Now"/> to its deadline. False when there is none.</summary>
    public bool Step()
    {
        if (_events.Count == 0)
        {
            return false;
        }

        if (_dispatching)
        {
            throw new InvalidOperationException("The simulation cannot be stepped from inside one of its own callbacks.");
        }

        SimEvent e = _events.Pop();
        if (e.Deadline > Now.Nanoseconds)
        {
            Now = new Instant(e.Deadline);
        }

        EventsProcessed++;
        _dispatching = true;
        try
        {
            if (e.Timer is { } timer)
            {
                timer.Deadline = Instant.Never;
                timer.Callback();
            }
            else
            {
                e.Channel!.Arrive(e.Buffer!, e.Length);
            }
        }
        finally
        {
            _dispatching = false;
        }

        return true;
    }

    /// <summary>Processes every event due at or before <paramref name="until"/>, then sets <see cref="Now"/> to it.</summary>
    public void RunUntil(Instant until)
    {
        while (_events.Count > 0 && _events.PeekDeadline <= until.Nanoseconds)
        {
            Step();
        }

        if (until > Now)
        {
            Now = until;
        }
    }

    /// <summary>Processes events for <paramref name="duration"/> of virtual time.</summary>
    public void RunFor(TimeSpan duration) => RunUntil(Now + duration);

    /// <summary>
    /// Processes events until none remain (true) or the next is later than <paramref name="limit"/>
    /// (false, with <see cref="Now"/> set to the limit). The limit keeps self-rearming timers from
    /// running forever.
    /// </summary>
    public bool RunUntilIdle(Instant limit)
    {
        while (_events.Count > 0)
        {
            if (_events.PeekDeadline > limit.Nanoseconds)
            {
                if (limit > Now)
                {
                    Now = limit;
                }

                return false;
            }

            Step();
        }

        return true;
    }

    /// <summary>Processes events until idle or <paramref name="maxDuration"/> of virtual time has passed.</summary>
    public bool RunUntilIdle(TimeSpan maxDuration) => RunUntilIdle(Now + maxDuration);

    /// <summary>
    /// Processes events while <paramref name="condition"/> holds (checked before each event). Returns
    /// true once the condition is false; false if the network went idle or the next event is later
    /// than <paramref name="limit"/> while the condition still held.
    /// </summary>
    public bool RunWhile(Func<bool> condition, Instant limit)
    {
        ArgumentNullException.ThrowIfNull(condition);
        while (condition())
        {
            if (_events.Count == 0 || _events.PeekDeadline > limit.Nanoseconds)
            {
                return false;
            }

            Step();
        }

        return true;
    }

    /// <summary>Processes events while <paramref name="condition"/> holds, until the network is idle.</summary>
    public bool RunWhile(Func<bool> condition) => RunWhile(condition, Instant.Never);
}
