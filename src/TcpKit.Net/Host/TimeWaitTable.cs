using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using TcpKit.Tcp;
using TcpKit.Wire;
using TcpKit.Wire.Tcp;

namespace TcpKit.Net.Host;

/// <summary>
/// The host's connections that wait out TIME-WAIT after their user released them, kept as Linux keeps
/// inet_timewait_sock in a slab: each is one element of an array of structs (its 4-tuple and the
/// reference-free <see cref="TimeWaitValues"/> of its record), found through its own open-addressed index
/// and expired through a FIFO of deadlines. A busy server has tens of thousands of connections in
/// TIME-WAIT; kept here they are no objects at all, so the garbage collector neither traces nor copies
/// them, and a lookup (a new SYN reusing the 4-tuple, MAY-2) reads two index arrays and one element
/// instead of chasing a connection object and its record.
/// <para>
/// The <see cref="HostConnection"/> that owned a connection is not referenced from here (that would keep
/// it alive): each slot has a weak handle to it. When a segment arrives for the connection, or somebody
/// must be told that it ends, the host takes it out of this table into that object again if the
/// application still holds it, or into a new one if not (<see cref="TcpHost"/>'s Revive). The object
/// itself knows its slot and the slot's generation, which changes whenever the slot is freed, so it can
/// tell whether it is still waiting here.
/// </para>
/// <para>
/// The three objects a record refers to (configuration, keep-alive settings and, rarely, statistics) sit
/// in a parallel array; they are shared, long-lived objects, so storing them marks no cards for the
/// collector either.
/// </para>
/// </summary>
internal sealed class TimeWaitTable
{
    private const int MinCapacity = 16;

    private Hot[] _hot = new Hot[MinCapacity]; // what a lookup and the MAY-2 test read: one 64-byte element
    private TimeWaitValues[] _values = new TimeWaitValues[MinCapacity]; // the rest, read only to rebuild an engine
    private TimeWaitContext[] _contexts = new TimeWaitContext[MinCapacity];
    private int[] _generations = new int[MinCapacity];
    private GCHandle[] _owners = new GCHandle[MinCapacity]; // weak, one per slot for the table's life
    private int _used; // slots ever handed out; those below it are live or on the free stack
    private int[] _free = new int[MinCapacity];
    private int _freeCount;
    private int _count;

    // The index: open addressing with linear probing, the hash of each slot beside it (0 marks an empty one).
    private int[] _indexHashes = new int[MinCapacity * 2];
    private int[] _indexSlots = new int[MinCapacity * 2];

    // Deadlines: a FIFO for those that come in order (all of them when every connection has the same 2 MSL)
    // and a heap for the others. An entry whose slot's generation moved on is stale and skipped.
    private readonly DeadlineLane<Deadline> _lane = new();
    // Earliest, as last computed; any change to the deadlines or the slots' liveness forgets it. The host asks for
    // it after every segment that touched a connection's timer, and most of those change nothing here.
    private long _earliest;
    private bool _earliestKnown;
    private readonly PriorityQueue<Deadline, long> _outOfOrder = new();

    ~TimeWaitTable()
    {
        foreach (var handle in _owners)
        {
            if (handle.IsAllocated)
            {
                handle.Free();
            }
        }
    }

    public int Count => _count;

    /// <summary>The lane's array length (for tests: stale deadlines must not make it grow without bound).</summary>
    internal int LaneCapacity => _lane.Capacity;

    /// <summary>The 4-tuple of the connection in <paramref name="slot"/>.</summary>
    public ref readonly FlowKey Key(int slot) => ref _hot[slot].Key;

    public int Hash(int slot) => _hot[slot].Hash;

    public ref readonly TimeWaitValues Values(int slot) => ref _values[slot];

    /// <summary>MAY-2: true when <paramref name="seg"/> is a new SYN that may reopen the 4-tuple of the connection in <paramref name="slot"/>.</summary>
    public bool AcceptsNewSyn(int slot, in TcpHeader seg) => TcpConnection.IsNewSynForTimeWait(_hot[slot].RcvNxt, seg);

    public TimeWaitContext Context(int slot) => _contexts[slot];

    /// <summary>The generation a connection in <paramref name="slot"/> holds while it waits there.</summary>
    public int Generation(int slot) => _generations[slot];

    /// <summary>True while the connection that was given (<paramref name="slot"/>, <paramref name="generation"/>) still waits here.</summary>
    public bool IsLive(int slot, int generation) => _generations[slot] == generation;

    /// <summary>The object that owned the connection, if the application still holds it.</summary>
    public HostConnection? Owner(int slot) => _owners[slot].Target as HostConnection;

    /// <summary>Makes <paramref name="owner"/> the object the connection in <paramref name="slot"/> is handed back to.</summary>
    public void SetOwner(int slot, HostConnection owner) => _owners[slot].Target = owner;

    /// <summary>Adds a connection whose 4-tuple is in no table of the host; returns its slot.</summary>
    public int Add(HostConnection owner, TimeWaitContext context, in TimeWaitValues values) => Add(owner, context, values, values.TimeWaitDeadline);

    /// <summary>As <see cref="Add(HostConnection, TimeWaitContext, in TimeWaitValues)"/> with the deadline given apart (tests drive the deadlines with it).</summary>
    internal int Add(HostConnection owner, TimeWaitContext context, in TimeWaitValues values, Instant deadline)
    {
        int slot = TakeSlot();
        ref var hot = ref _hot[slot];
        hot.Key = owner.Key;
        hot.Hash = owner.Hash;
        hot.RcvNxt = values.ReceiveNext;
        _values[slot] = values;
        _contexts[slot] = context;
        _owners[slot].Target = owner;
        if ((_count + 1) * 2 > _indexHashes.Length)
        {
            GrowIndex();
        }

        LinearProbing.Insert(_indexHashes, _indexSlots, owner.Hash, slot);
        _count++;
        Schedule(slot, deadline);
        return slot;
    }

    public bool TryFind(in FlowKey key, int hash, out int slot)
    {
        var hashes = _indexHashes;
        int mask = hashes.Length - 1;
        for (int i = hash & mask; ; i = (i + 1) & mask)
        {
            int h = hashes[i];
            if (h == 0)
            {
                slot = -1;
                return false;
            }

            if (h == hash && _hot[_indexSlots[i]].Key == key)
            {
                slot = _indexSlots[i];
                return true;
            }
        }
    }

    /// <summary>Frees <paramref name="slot"/>: its connection is over here (it ended, or went back to an object).</summary>
    public void Remove(int slot)
    {
        var hashes = _indexHashes;
        var slots = _indexSlots;
        int mask = hashes.Length - 1;
        int i = _hot[slot].Hash & mask;
        while (slots[i] != slot || hashes[i] == 0)
        {
            if (hashes[i] == 0)
            {
                throw new InvalidOperationException($"TIME-WAIT slot {slot} is not in the index.");
            }

            i = (i + 1) & mask;
        }

        LinearProbing.RemoveAt(hashes, slots, i);
        _generations[slot]++; // its deadline and its object's claim are stale from now on
        _earliestKnown = false;
        // The context stays until the slot is taken again (writing it now would cost a cache miss per connection):
        // the configuration and keep-alive settings are shared, and a statistics copy is small and rare.
        _free[_freeCount++] = slot; // the next connection takes the slot freed last, whose memory is warm
        _count--;
    }

    /// <summary>The slots of all connections waiting here (a snapshot).</summary>
    public List<int> Slots()
    {
        var list = new List<int>(_count);
        for (int i = 0; i < _indexHashes.Length; i++)
        {
            if (_indexHashes[i] != 0)
            {
                list.Add(_indexSlots[i]);
            }
        }

        return list;
    }

    /// <summary>The earliest deadline of a connection waiting here, Instant.Never when none.</summary>
    public Instant Earliest
    {
        get
        {
            if (!_earliestKnown)
            {
                TrimStale();
                long earliest = long.MaxValue;
                if (_lane.Count > 0)
                {
                    earliest = _lane.Front.At;
                }

                if (_outOfOrder.TryPeek(out _, out long at) && at < earliest)
                {
                    earliest = at;
                }

                _earliest = earliest;
                _earliestKnown = true;
            }

            return _earliest == long.MaxValue ? Instant.Never : new Instant(_earliest);
        }
    }

    /// <summary>Takes the slot with the earliest deadline if it is due at <paramref name="now"/> (the caller frees or revives it).</summary>
    public bool TryTakeDue(Instant now, out int slot)
    {
        TrimStale();
        bool fromLane = _lane.Count > 0 && (!_outOfOrder.TryPeek(out _, out long at) || _lane.Front.At <= at);
        Deadline first;
        if (fromLane)
        {
            first = _lane.Front;
        }
        else if (!_outOfOrder.TryPeek(out first, out _))
        {
            slot = -1;
            return false;
        }

        if (first.At > now.Nanoseconds)
        {
            slot = -1;
            return false;
        }

        if (fromLane)
        {
            _lane.PopFront();
        }
        else
        {
            _outOfOrder.Dequeue();
        }

        _earliestKnown = false;

        slot = first.Slot;
        return true;
    }

    private int TakeSlot()
    {
        if (_freeCount > 0)
        {
            return _free[--_freeCount];
        }

        if (_used == _hot.Length)
        {
            int capacity = _hot.Length * 2;
            Array.Resize(ref _hot, capacity);
            Array.Resize(ref _values, capacity);
            Array.Resize(ref _contexts, capacity);
            Array.Resize(ref _generations, capacity);
            Array.Resize(ref _owners, capacity);
            Array.Resize(ref _free, capacity);
        }

        _owners[_used] = GCHandle.Alloc(null, GCHandleType.Weak);
        return _used++;
    }

    private void GrowIndex()
    {
        var oldHashes = _indexHashes;
        var oldSlots = _indexSlots;
        var hashes = new int[oldHashes.Length * 2];
        var slots = new int[oldHashes.Length * 2];
        for (int i = 0; i < oldHashes.Length; i++)
        {
            if (oldHashes[i] != 0)
            {
                LinearProbing.Insert(hashes, slots, oldHashes[i], oldSlots[i]);
            }
        }

        _indexHashes = hashes;
        _indexSlots = slots;
    }

    private void Schedule(int slot, Instant deadline)
    {
        _earliestKnown = false;
        var d = new Deadline(deadline.Nanoseconds, slot, _generations[slot]);
        if (_lane.Count > 0 && d.At < _lane.Last.At)
        {
            _outOfOrder.Enqueue(d, d.At); // a shorter 2 MSL than the connections before it
            return;
        }

        var liveness = new Live(_generations);
        _lane.EnsureRoom(ref liveness);
        _lane.Append(d);
    }

    private void TrimStale()
    {
        var liveness = new Live(_generations);
        _lane.TrimFront(ref liveness);
        while (_outOfOrder.TryPeek(out var d, out _) && !liveness.IsLive(d))
        {
            _outOfOrder.Dequeue();
        }
    }

    /// <summary>The 4-tuple, its hash and RCV.NXT: 64 bytes, all that finding a connection and testing a new SYN reads.</summary>
    [StructLayout(LayoutKind.Auto)]
    private struct Hot
    {
        public FlowKey Key;
        public int Hash;
        public SeqNum RcvNxt;
    }

    /// <summary>A deadline in nanoseconds for the connection in a slot, valid while the slot keeps its generation.</summary>
    private readonly record struct Deadline(long At, int Slot, int Generation);

    /// <summary>
    /// A deadline is live while its slot keeps the generation it was set for; nothing refers to its position. It holds
    /// the generations array of the moment (TakeSlot replaces it when the table grows), so it is made afresh for each use.
    /// </summary>
    private readonly struct Live(int[] generations) : ILaneLiveness<Deadline>
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool IsLive(in Deadline entry) => generations[entry.Slot] == entry.Generation;

        public void Moved(in Deadline entry, long position)
        {
        }
    }
}
