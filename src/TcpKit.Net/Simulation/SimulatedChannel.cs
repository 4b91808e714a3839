using TcpKit.Wire;

namespace TcpKit.Net.Simulation;

/// <summary>Where a channel delivers: a host NIC or a switch.</summary>
internal interface IPacketSink
{
    /// <summary>
    /// Takes ownership of <paramref name="buffer"/> (rented from the network's <see cref="PacketBufferPool"/>).
    /// Returns false if the packet was dropped, after counting the reason on <paramref name="from"/>.
    /// </summary>
    bool Accept(SimulatedChannel from, byte[] buffer, int length);
}

/// <summary>
/// One direction of a simulated link, with its own <see cref="LinkProfile"/>, counters and random
/// stream. Packets pass, in order: drop filter, MTU check, drop-tail queue and serialization, burst
/// loss, random loss, delay and jitter, reordering, corruption, duplication; then they are scheduled
/// to arrive.
/// </summary>
public sealed class SimulatedChannel
{
    private readonly SimulatedNetwork _network;
    private readonly IPacketSink _sink;
    private readonly SimRandom _random;
    private readonly DelaySchedule _delays;
    private LinkProfile _profile;

    // Drop-tail queue state: the link is busy serializing until _busyUntil; _waitingStarts holds the
    // transmission start times of queued packets, which are non-decreasing, so the queue length at
    // any moment is the number of starts still in the future. No event is needed to drain it.
    private long _busyUntil;
    private Queue<long>? _waitingStarts;

    // Latest scheduled arrival of a packet in order; jittered packets never arrive before it (FIFO).

    private bool _burstBad;

    internal SimulatedChannel(SimulatedNetwork network, string name, LinkProfile profile, IPacketSink sink)
    {
        ArgumentNullException.ThrowIfNull(profile);
        profile.Validate();
        _network = network;
        _sink = sink;
        _profile = profile;
        _random = network.NewRandomStream();
        _delays = new DelaySchedule(_random);
        Name = name;
    }

    /// <summary>"from->to", for diagnostics.</summary>
    public string Name { get; }

    public LinkCounters Counters { get; } = new();

    /// <summary>
    /// The impairments; may be replaced at any time (for example to take a link down with LossRate 1).
    /// Packets already in flight keep the fate they were given when sent.
    /// </summary>
    public LinkProfile Profile
    {
        get => _profile;
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            value.Validate();
            _profile = value;
        }
    }

    /// <summary>
    /// Deterministic drops for scenario tests ("lose the first SYN-ACK"): called with each packet
    /// offered to this direction before any impairment; returning true drops it (counted as
    /// <see cref="DropReason.Filter"/>). Null for none.
    /// </summary>
    public Func<ReadOnlySpan<byte>, bool>? DropFilter { get; set; }

    /// <summary>Random values this direction has consumed; stays zero while its profile has no random impairment.</summary>
    public long RandomDraws => _random.Draws;

    /// <summary>Whether the burst-loss model is in its Bad state.</summary>
    public bool InBurstLossState => _burstBad;

    /// <summary>
    /// Offers one packet. The channel takes ownership of <paramref name="owned"/> (a pooled buffer
    /// holding <paramref name="packet"/>) when given; otherwise it copies <paramref name="packet"/>
    /// into a pooled buffer, but only once the packet is known to survive.
    /// </summary>
    internal void Offer(ReadOnlySpan<byte> packet, byte[]? owned)
    {
        LinkProfile p = _profile;
        long now = _network.Now.Nanoseconds;
        int length = packet.Length;
        Counters.Sent++;
        Counters.SentBytes += length;

        if (DropFilter is { } filter && filter(packet))
        {
            Drop(DropReason.Filter, packet, owned);
            return;
        }

        if (p.Mtu is int mtu && length > mtu)
        {
            Drop(DropReason.Mtu, packet, owned);
            return;
        }

        long departure = now;
        if (p.BandwidthBitsPerSecond > 0)
        {
            Queue<long> waiting = _waitingStarts ??= new Queue<long>();
            while (waiting.Count > 0 && waiting.Peek() <= now)
            {
                waiting.Dequeue();
            }

            if (waiting.Count >= p.QueueLimitPackets && _busyUntil > now)
            {
                Drop(DropReason.QueueOverflow, packet, owned);
                return;
            }

            long start = Math.Max(now, _busyUntil);
            if (start > now)
            {
                waiting.Enqueue(start);
            }

            _busyUntil = start + SerializationNanoseconds(length, p.BandwidthBitsPerSecond);
            departure = _busyUntil;
        }

        // Loss happens on the wire, after the packet has used its share of the bandwidth.
        if (p.BurstLoss is { } ge)
        {
            bool lost = _random.NextBernoulli(_burstBad ? ge.LossInBad : ge.LossInGood);
            _burstBad = _random.NextBernoulli(_burstBad ? 1 - ge.R : ge.P);
            if (lost)
            {
                Drop(DropReason.BurstLoss, packet, owned);
                return;
            }
        }

        if (p.LossRate > 0 && _random.NextBernoulli(p.LossRate))
        {
            Drop(DropReason.Loss, packet, owned);
            return;
        }

        long arrival = _delays.Next(departure, p, out bool reordered);
        if (reordered)
        {
            Counters.Reordered++;
        }

        byte[] buffer = owned ?? CopyToPooled(packet);

        if (p.CorruptProbability > 0 && _random.NextBernoulli(p.CorruptProbability))
        {
            Corrupt(buffer.AsSpan(0, length), p.MaxCorruptBits);
            Counters.Corrupted++;
        }

        var at = new Instant(arrival);
        _network.ScheduleArrival(at, this, buffer, length);

        if (p.DuplicateProbability > 0 && _random.NextBernoulli(p.DuplicateProbability))
        {
            // Scheduled after the original with the same deadline, so it arrives right behind it.
            _network.ScheduleArrival(at, this, CopyToPooled(buffer.AsSpan(0, length)), length);
            Counters.Duplicated++;
        }
    }

    /// <summary>Called by the network when a scheduled arrival is due.</summary>
    internal void Arrive(byte[] buffer, int length)
    {
        if (_sink.Accept(this, buffer, length))
        {
            Counters.Delivered++;
            Counters.DeliveredBytes += length;
        }
    }

    /// <summary>Time to clock <paramref name="length"/> bytes onto the wire, rounded up to whole nanoseconds.</summary>
    public static long SerializationNanoseconds(int length, long bitsPerSecond)
    {
        UInt128 bitNanos = (UInt128)(ulong)length * 8UL * 1_000_000_000UL;
        return (long)((bitNanos + (ulong)bitsPerSecond - 1) / (ulong)bitsPerSecond);
    }

    /// <summary>
    /// Flips 1..maxBits bits. Each flipped bit gets a distinct position within a 16-bit word (there
    /// are 16 such positions and at most 15 flips), so the one's complement sum of the words covering
    /// the flips changes by a sum of distinct signed powers of two, which is never 0 modulo 0xFFFF:
    /// the Internet checksum (RFC 1071) always detects it. For IPv6 the first 8 bytes are spared
    /// because no checksum covers traffic class, flow label or hop limit (RFC 8200 section 8.1); the
    /// addresses and payload length after them are in the upper-layer pseudo-header.
    /// </summary>
    private void Corrupt(Span<byte> packet, int maxBits)
    {
        int start = packet.Length > 8 && (packet[0] >> 4) == 6 ? 8 : 0;
        int region = packet.Length - start;
        if (region <= 0)
        {
            return;
        }

        // A 1-byte region only offers the 8 bit positions of one byte.
        int positions = region >= 2 ? 16 : 8;
        int bits = 1 + _random.NextInt32(Math.Min(maxBits, positions));

        // Partial Fisher-Yates shuffle picks `bits` distinct positions.
        Span<byte> classes = stackalloc byte[16];
        for (int i = 0; i < positions; i++)
        {
            classes[i] = (byte)i;
        }

        for (int i = 0; i < bits; i++)
        {
            int j = i + _random.NextInt32(positions - i);
            (classes[i], classes[j]) = (classes[j], classes[i]);
            int parity = classes[i] >> 3; // which byte of the 16-bit word (start is even)
            int bit = classes[i] & 7;
            int candidates = (region - parity + 1) / 2; // offsets start+parity, start+parity+2, ...
            int offset = start + parity + (2 * _random.NextInt32(candidates));
            packet[offset] ^= (byte)(1 << bit);
        }
    }

    private byte[] CopyToPooled(ReadOnlySpan<byte> packet)
    {
        byte[] buffer = _network.Buffers.Rent(packet.Length);
        packet.CopyTo(buffer);
        return buffer;
    }

    /// <summary>Counts a drop, shows it to the network's drop observer, and frees the buffer if one is owned.</summary>
    internal void Drop(DropReason reason, ReadOnlySpan<byte> packet, byte[]? owned)
    {
        Counters.CountDrop(reason);
        _network.DropObserver?.Invoke(this, reason, packet, _network.Now);
        if (owned is not null)
        {
            _network.Buffers.Return(owned);
        }
    }

    public override string ToString() => $"{Name}: {Counters}";
}
