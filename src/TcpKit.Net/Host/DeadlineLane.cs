using System.Runtime.CompilerServices;

namespace TcpKit.Net.Host;

/// <summary>What a <see cref="DeadlineLane{T}"/> asks its owner about the entries: whether one is still live, and where one moved.</summary>
internal interface ILaneLiveness<T>
    where T : struct
{
    bool IsLive(in T entry);

    /// <summary>A live entry now sits at <paramref name="position"/> (after <see cref="DeadlineLane{T}.Compact"/>).</summary>
    void Moved(in T entry, long position);
}

/// <summary>
/// A FIFO of deadlines that are set in non-decreasing order, as every TIME-WAIT lasts the same 2 MSL (RFC 9293
/// section 3.6.1), in a ring: appending one and taking one from the front cost O(1) and touch no other entry, where a
/// heap sifts through ~15 levels of other connections. An entry goes stale in place when its deadline is cancelled
/// (how is the owner's business, told through an <see cref="ILaneLiveness{T}"/>); stale entries leave when they reach
/// the front, or all at once when the owner compacts the lane. Every entry has a position that stays its own until
/// a compaction moves it (the owner is told), so the owner can reach an entry without searching.
/// </summary>
/// <remarks>Used by <see cref="ConnectionTimers"/> and <see cref="TimeWaitTable"/>, each with its own way of going stale.</remarks>
internal sealed class DeadlineLane<T>
    where T : struct
{
    private T[] _items = new T[16];
    private int _head;
    private int _count; // live and stale
    private long _headPosition; // the position of the entry at _head; each append takes the next one

    /// <summary>Entries in the lane, live and stale.</summary>
    public int Count => _count;

    /// <summary>The ring's length (for tests: stale entries must not make it grow without bound).</summary>
    public int Capacity => _items.Length;

    public bool IsFull => _count == _items.Length;

    /// <summary>The entry at the front; the lane must not be empty.</summary>
    public ref T Front => ref _items[_head];

    /// <summary>The entry appended last; the lane must not be empty.</summary>
    public ref T Last => ref _items[Slot(_count - 1)];

    /// <summary>The entry at <paramref name="position"/> (as <see cref="Append"/> or <see cref="ILaneLiveness{T}.Moved"/> gave it).</summary>
    public ref T At(long position) => ref _items[Slot((int)(position - _headPosition))];

    /// <summary>Appends <paramref name="entry"/>, whose deadline is not earlier than the last one's; returns its position. The lane must not be full.</summary>
    public long Append(in T entry)
    {
        if (_count == _items.Length)
        {
            throw new InvalidOperationException("The lane is full: compact it (into a larger ring if need be) first.");
        }

        _items[Slot(_count)] = entry;
        return _headPosition + _count++;
    }

    /// <summary>Takes the entry at the front away.</summary>
    public void PopFront()
    {
        if (RuntimeHelpers.IsReferenceOrContainsReferences<T>())
        {
            _items[_head] = default; // what it refers to is not kept alive by the lane
        }

        _head = _head + 1 == _items.Length ? 0 : _head + 1;
        _headPosition++;
        _count--;
    }

    /// <summary>Takes stale entries away from the front, so the front is live or the lane empty.</summary>
    public void TrimFront<TLiveness>(ref TLiveness liveness)
        where TLiveness : struct, ILaneLiveness<T>
    {
        while (_count > 0 && !liveness.IsLive(_items[_head]))
        {
            PopFront();
        }
    }

    /// <summary>The live entries in the lane (reads all of them).</summary>
    public int CountLive<TLiveness>(ref TLiveness liveness)
        where TLiveness : struct, ILaneLiveness<T>
    {
        int live = 0;
        for (int k = 0; k < _count; k++)
        {
            live += liveness.IsLive(_items[Slot(k)]) ? 1 : 0;
        }

        return live;
    }

    /// <summary>
    /// Drops every stale entry and moves the live ones, in order, to the front, telling the owner each one's new
    /// position; first moves the lane into a ring of <paramref name="capacity"/> when that is larger. The compaction
    /// works in place (entry k moves to place n &lt;= k, so none is overwritten before it is read): a lane of tens of
    /// thousands of deadlines is a large-object-heap array, not reallocated lightly.
    /// </summary>
    public void Compact<TLiveness>(int capacity, ref TLiveness liveness)
        where TLiveness : struct, ILaneLiveness<T>
    {
        if (capacity > _items.Length)
        {
            // The ring straightened out in the larger array: its two runs, in order. Positions stay as they were.
            var grown = new T[capacity];
            int firstRun = Math.Min(_count, _items.Length - _head);
            Array.Copy(_items, _head, grown, 0, firstRun);
            Array.Copy(_items, 0, grown, firstRun, _count - firstRun);
            _items = grown;
            _head = 0;
        }

        int kept = 0;
        for (int k = 0; k < _count; k++)
        {
            var entry = _items[Slot(k)];
            if (liveness.IsLive(entry))
            {
                _items[Slot(kept)] = entry;
                liveness.Moved(entry, _headPosition + kept);
                kept++;
            }
        }

        if (RuntimeHelpers.IsReferenceOrContainsReferences<T>())
        {
            for (int k = kept; k < _count; k++)
            {
                _items[Slot(k)] = default;
            }
        }

        _count = kept;
    }

    private int Slot(int offset)
    {
        int i = _head + offset;
        return i >= _items.Length ? i - _items.Length : i;
    }
}
