using System.Diagnostics;
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
/// A FIFO ring for entries that come due in the order they are appended (keeping them in order is the owner's job):
/// appending one and taking one from the front cost O(1) and touch no other entry, where a heap sifts through ~15
/// levels of others. An entry goes stale in place when it is cancelled (how is the owner's business, told through an
/// <see cref="ILaneLiveness{T}"/>); stale entries leave when they reach the front, or all at once in a compaction.
/// Every entry has a position that stays its own until a compaction moves it (the owner is told), so the owner can
/// reach an entry without searching.
/// </summary>
/// <remarks>
/// Used for deadlines that all have the same length, such as TIME-WAIT's 2 MSL: by <see cref="ConnectionTimers"/> and
/// <see cref="TimeWaitTable"/>, each with its own way of going stale.
/// </remarks>
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
    public ref T Front
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            Debug.Assert(_count > 0, "the lane is empty");
            return ref _items[_head];
        }
    }

    /// <summary>The entry appended last; the lane must not be empty.</summary>
    public ref T Last
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            Debug.Assert(_count > 0, "the lane is empty");
            return ref _items[Slot(_count - 1)];
        }
    }

    /// <summary>The entry at <paramref name="position"/> (as <see cref="Append"/> or <see cref="ILaneLiveness{T}.Moved"/> gave it); it must still be in the lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref T At(long position)
    {
        Debug.Assert((ulong)(position - _headPosition) < (ulong)_count, "no entry at that position");
        return ref _items[Slot((int)(position - _headPosition))];
    }

    /// <summary>
    /// Makes room for one more entry when the ring is full: drops the stale entries in place when they are at least
    /// half, else moves the lane into a ring twice as large (dropping them too). Either way the order is kept, and the
    /// ring holds at most about twice the live entries. Reads every entry, but only once per ring's worth of appends.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] // a test on every append; the work is rare
    public void EnsureRoom<TLiveness>(ref TLiveness liveness)
        where TLiveness : struct, ILaneLiveness<T>
    {
        if (IsFull)
        {
            MakeRoom(ref liveness);
        }
    }

    /// <summary>
    /// Appends <paramref name="entry"/>, which must not come due before the last one; returns its position. The lane
    /// must not be full (<see cref="EnsureRoom"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public long Append(in T entry)
    {
        if (IsFull)
        {
            ThrowFull();
        }

        _items[Slot(_count)] = entry;
        return _headPosition + _count++;
    }

    /// <summary>Takes the entry at the front away.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
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
    /// Drops every stale entry and moves the live ones, in order, to the front, telling the owner the new position of
    /// each one that moved; first moves the lane into a ring of <paramref name="capacity"/> when that is larger. The compaction
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
                if (kept != k)
                {
                    // An entry that stays where it was is not reported: telling its owner would cost a write to its memory.
                    _items[Slot(kept)] = entry;
                    liveness.Moved(entry, _headPosition + kept);
                }

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

    private void MakeRoom<TLiveness>(ref TLiveness liveness)
        where TLiveness : struct, ILaneLiveness<T>
    {
        int live = CountLive(ref liveness);
        Compact(live * 2 <= _count ? _items.Length : _items.Length * 2, ref liveness);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowFull() => throw new InvalidOperationException("The lane is full: make room (EnsureRoom) first.");

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Slot(int offset)
    {
        int i = _head + offset;
        return i >= _items.Length ? i - _items.Length : i;
    }
}
