using TcpKit.Wire.Tcp;

namespace TcpKit.Analysis.Conversations;

/// <summary>
/// One direction's unacknowledged segments, oldest first, with their sequence extent (lowest start,
/// highest end) kept up to date on append so bytes-in-flight costs O(1) per data segment instead of a
/// scan of the whole window. Removals and partial acknowledgments only happen on ACKs, which are rare
/// next to data segments in a bulk transfer, so they just mark the extent stale and the next query rescans.
/// The array is allocated on the first segment and given back by <see cref="ReleaseUnused"/> once the
/// conversation closes, so a finished conversation holds no per-segment memory.
/// </summary>
internal sealed class UnackedSegments
{
    private const int InitialCapacity = 16;

    private UnackedSegment[] _items = [];
    private int _count;

    // The cached extent is relative to _extentBase; it is valid only for that base (a SYN-ACK can rebase).
    private bool _extentValid;
    private SeqNum _extentBase;
    private uint _extentFirst;
    private uint _extentLast;

    public int Count => _count;

    /// <summary>Slots allocated (for tests of memory use).</summary>
    public int Capacity => _items.Length;

    public ref readonly UnackedSegment this[int index] => ref _items[index];

    public void Add(in UnackedSegment segment)
    {
        if (_count == _items.Length)
        {
            Array.Resize(ref _items, Math.Min(Math.Max(_items.Length * 2, InitialCapacity), FlowDirection.MaxUnacked));
        }

        _items[_count++] = segment;
        if (_extentValid)
        {
            uint s = segment.Seq.RelativeTo(_extentBase);
            uint e = segment.NextSeq.RelativeTo(_extentBase);
            if (s < _extentFirst)
            {
                _extentFirst = s;
            }

            if (e > _extentLast)
            {
                _extentLast = e;
            }
        }
    }

    /// <summary>A partial acknowledgment moved the start of segment <paramref name="index"/> forward.</summary>
    public void SetSeq(int index, SeqNum seq)
    {
        _items[index].Seq = seq;
        _extentValid = false;
    }

    /// <summary>Marks segment <paramref name="index"/> for removal by <see cref="RemoveMarked"/>.</summary>
    public void Mark(int index) => _items[index].Frame = -1;

    /// <summary>Drops the marked segments, keeping the order of the rest.</summary>
    public void RemoveMarked()
    {
        int kept = 0;
        for (int i = 0; i < _count; i++)
        {
            if (_items[i].Frame != -1)
            {
                _items[kept++] = _items[i];
            }
        }

        _count = kept;
        _extentValid = false;
    }

    /// <summary>
    /// Frees the slots no segment uses: all of them when none is left, else down to twice the count once at
    /// most a quarter is used (so calling this for every segment of a closed conversation cannot churn).
    /// Only memory changes; the segments and their order stay.
    /// </summary>
    public void ReleaseUnused()
    {
        if (_count == 0)
        {
            _items = [];
        }
        else if (_items.Length > 4 * InitialCapacity && _count <= _items.Length / 4)
        {
            Array.Resize(ref _items, Math.Max(_count * 2, InitialCapacity));
        }
    }

    /// <summary>
    /// The lowest start and highest end of the unacked segments, relative to <paramref name="baseSeq"/>
    /// as unsigned offsets (Wireshark compares relative numbers this way). Needs at least one segment.
    /// </summary>
    public void GetExtent(SeqNum baseSeq, out uint first, out uint last)
    {
        if (!_extentValid || _extentBase != baseSeq)
        {
            uint f = _items[_count - 1].Seq.RelativeTo(baseSeq);
            uint l = _items[_count - 1].NextSeq.RelativeTo(baseSeq);
            for (int i = 0; i < _count; i++)
            {
                uint s = _items[i].Seq.RelativeTo(baseSeq);
                uint e = _items[i].NextSeq.RelativeTo(baseSeq);
                if (e > l)
                {
                    l = e;
                }

                if (s < f)
                {
                    f = s;
                }
            }

            _extentBase = baseSeq;
            _extentFirst = f;
            _extentLast = l;
            _extentValid = true;
        }

        first = _extentFirst;
        last = _extentLast;
    }
}
