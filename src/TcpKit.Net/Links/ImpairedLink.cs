using System.Buffers;
using TcpKit.Net.Host;
using TcpKit.Net.Simulation;
using TcpKit.Wire;

namespace TcpKit.Net.Links;

/// <summary>What an <see cref="ImpairedLink"/> did to the packets of one direction.</summary>
public sealed class ImpairmentCounters
{
    /// <summary>Packets offered to this direction.</summary>
    public long Offered { get; internal set; }

    /// <summary>Packets passed on (duplicates included).</summary>
    public long Delivered { get; internal set; }

    /// <summary>Packets dropped by random or burst loss.</summary>
    public long Lost { get; internal set; }

    /// <summary>Packets larger than the profile's MTU, dropped.</summary>
    public long TooBig { get; internal set; }

    /// <summary>Packets held back by the reorder delay so that later ones overtook them.</summary>
    public long Reordered { get; internal set; }

    /// <summary>Extra copies delivered.</summary>
    public long Duplicated { get; internal set; }

    /// <summary>Packets waiting for their delivery time now.</summary>
    public int Queued { get; internal set; }

    public override string ToString() =>
        $"{Offered} offered, {Delivered} delivered, {Lost} lost, {Reordered} reordered, {Duplicated} duplicated" + (TooBig > 0 ? $", {TooBig} too big" : string.Empty);
}

/// <summary>
/// Wraps any <see cref="ILink"/> and impairs both directions in real time, as netem would on TcpKit's side
/// of a real link: MTU limit, burst and random loss, delay with jitter, reordering and duplication, each
/// direction by its own <see cref="LinkProfile"/>, with the simulator's meaning of each setting.
/// </summary>
/// <remarks>
/// Everything runs on the event loop: packets sent by the host and packets arriving from the inner link
/// (a <see cref="TunLink"/> delivers on the loop) are decided at once; delayed ones are copied into pooled
/// buffers and kept in a heap keyed by delivery time, drained by one loop timer per direction, so there
/// is no task or timer per packet. Jitter never reorders (a packet is never delivered before one that
/// entered the same direction earlier), except a packet chosen for reordering, which is held back by
/// <see cref="LinkProfile.ReorderDelay"/> and exempt from that rule. Bandwidth limits and corruption are
/// left to the simulator: a real-time link cannot pace packets more finely than the loop's timers, and
/// corrupted packets would only exercise the kernel's checksum check.
/// </remarks>
public sealed class ImpairedLink : ILink, ILinkReceiver, IDisposable
{
    private readonly ILink _inner;
    private readonly IEventLoop _loop;
    private readonly Direction _outbound;
    private readonly Direction _inbound;
    private ILinkReceiver? _receiver;

    /// <param name="inner">The link to impair; this wrapper becomes its receiver.</param>
    /// <param name="loop">The loop whose clock and timers pace delayed packets; every call must be on it.</param>
    /// <param name="outbound">Impairments of packets the host sends (TcpKit to the peer).</param>
    /// <param name="inbound">Impairments of packets arriving from the inner link (the peer to TcpKit).</param>
    /// <param name="seed">Seed of the random decisions; one seed gives one sequence of decisions.</param>
    public ImpairedLink(ILink inner, IEventLoop loop, LinkProfile outbound, LinkProfile inbound, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(loop);
        ArgumentNullException.ThrowIfNull(outbound);
        ArgumentNullException.ThrowIfNull(inbound);
        Check(outbound, nameof(outbound));
        Check(inbound, nameof(inbound));
        _inner = inner;
        _loop = loop;
        var random = new SimRandom(seed);
        _outbound = new Direction(this, outbound, random, toInner: true);
        _inbound = new Direction(this, inbound, random, toInner: false);
        inner.SetReceiver(this);
    }

    public int Mtu => _inner.Mtu;

    public LinkType LinkType => _inner.LinkType;

    /// <summary>The wrapped link.</summary>
    public ILink Inner => _inner;

    /// <summary>What happened to packets the host sent.</summary>
    public ImpairmentCounters Outbound => _outbound.Counters;

    /// <summary>What happened to packets arriving for the host.</summary>
    public ImpairmentCounters Inbound => _inbound.Counters;

    public void Send(ReadOnlySpan<byte> ipPacket) => _outbound.Offer(ipPacket);

    public void SetReceiver(ILinkReceiver? receiver) => _receiver = receiver;

    /// <summary>A packet from the inner link.</summary>
    public void OnPacket(ReadOnlySpan<byte> packet, Instant now) => _inbound.Offer(packet);

    /// <summary>Drops every packet still waiting and returns its buffer; the wrapper passes nothing on afterwards.</summary>
    public void Dispose()
    {
        _outbound.Clear();
        _inbound.Clear();
        _inner.SetReceiver(null);
    }

    private static void Check(LinkProfile profile, string name)
    {
        profile.Validate();
        if (profile.BandwidthBitsPerSecond != 0)
        {
            throw new ArgumentException("A real-time impaired link does not limit bandwidth; use the simulator (SimulatedNetwork) for that.", name);
        }

        if (profile.CorruptProbability != 0)
        {
            throw new ArgumentException("A real-time impaired link does not corrupt packets; use the simulator (SimulatedNetwork) for that.", name);
        }
    }

    private void Deliver(bool toInner, ReadOnlySpan<byte> packet)
    {
        if (toInner)
        {
            _inner.Send(packet);
        }
        else
        {
            _receiver?.OnPacket(packet, _loop.Now);
        }
    }

    /// <summary>One direction: its profile, its burst-loss state, and the packets waiting for their time.</summary>
    private sealed class Direction
    {
        private readonly ImpairedLink _link;
        private readonly LinkProfile _profile;
        private readonly SimRandom _random;
        private readonly DelaySchedule _delays;
        private readonly bool _toInner;
        private readonly ILoopTimer _timer;
        private readonly PriorityQueue<Pending, (long Due, long Order)> _waiting = new();
        private long _order;
        private long _armedFor = long.MaxValue;
        private bool _burstBad;

        public Direction(ImpairedLink link, LinkProfile profile, SimRandom random, bool toInner)
        {
            _link = link;
            _profile = profile;
            _random = random;
            _delays = new DelaySchedule(random);
            _toInner = toInner;
            _timer = link._loop.CreateTimer(Release);
        }

        public ImpairmentCounters Counters { get; } = new();

        public void Offer(ReadOnlySpan<byte> packet)
        {
            var p = _profile;
            Counters.Offered++;
            if (p.Mtu is int mtu && packet.Length > mtu)
            {
                Counters.TooBig++;
                return;
            }

            if (p.BurstLoss is { } ge)
            {
                // Gilbert-Elliott: decide with the current state's loss rate, then move the state.
                bool lost = _random.NextBernoulli(_burstBad ? ge.LossInBad : ge.LossInGood);
                _burstBad = _random.NextBernoulli(_burstBad ? 1 - ge.R : ge.P);
                if (lost)
                {
                    Counters.Lost++;
                    return;
                }
            }

            if (p.LossRate > 0 && _random.NextBernoulli(p.LossRate))
            {
                Counters.Lost++;
                return;
            }

            long now = _link._loop.Now.Nanoseconds;
            long due = _delays.Next(now, p, out bool reordered);
            if (reordered)
            {
                Counters.Reordered++;
            }

            bool duplicate = p.DuplicateProbability > 0 && _random.NextBernoulli(p.DuplicateProbability);
            if (due <= now && (!_waiting.TryPeek(out _, out var head) || head.Due > due))
            {
                // Due now and nothing queued is due before it: pass it on without a copy.
                Counters.Delivered++;
                _link.Deliver(_toInner, packet);
                if (duplicate)
                {
                    Counters.Duplicated++;
                    Counters.Delivered++;
                    _link.Deliver(_toInner, packet);
                }

                return;
            }

            Enqueue(packet, due);
            if (duplicate)
            {
                // Same deadline, queued after the original, so it arrives right behind it.
                Counters.Duplicated++;
                Enqueue(packet, due);
            }

            Arm();
        }

        public void Clear()
        {
            _timer.Cancel();
            while (_waiting.TryDequeue(out var pending, out _))
            {
                ArrayPool<byte>.Shared.Return(pending.Buffer);
            }

            Counters.Queued = 0;
        }

        private void Enqueue(ReadOnlySpan<byte> packet, long due)
        {
            byte[] buffer = ArrayPool<byte>.Shared.Rent(packet.Length);
            packet.CopyTo(buffer);
            _waiting.Enqueue(new Pending(buffer, packet.Length), (due, _order++));
            Counters.Queued = _waiting.Count;
        }

        private void Arm()
        {
            if (_waiting.TryPeek(out _, out var next) && next.Due != _armedFor)
            {
                _armedFor = next.Due;
                _timer.Set(new Instant(next.Due));
            }
        }

        /// <summary>The timer: passes on every packet whose time has come, in delivery-time order.</summary>
        private void Release()
        {
            _armedFor = long.MaxValue;
            long now = _link._loop.Now.Nanoseconds;
            while (_waiting.TryPeek(out var pending, out var key) && key.Due <= now)
            {
                _waiting.Dequeue();
                Counters.Queued = _waiting.Count;
                Counters.Delivered++;
                try
                {
                    _link.Deliver(_toInner, pending.Buffer.AsSpan(0, pending.Length));
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(pending.Buffer);
                }
            }

            Arm();
        }
    }

    private readonly record struct Pending(byte[] Buffer, int Length);
}
