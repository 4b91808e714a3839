using System.Runtime.CompilerServices;
using TcpKit.Wire;

namespace TcpKit.Tcp;

/// <summary>The deadlines of one connection, one slot per <see cref="TimerKind"/>; Instant.Never means not armed.</summary>
public struct TimerSet
{
    public const int Count = 6; // Next is unrolled for six

    [InlineArray(Count)]
    private struct Slots
    {
        private Instant _first;
    }

    private Slots _slots;

    public static TimerSet Create()
    {
        var set = default(TimerSet);
        set.CancelAll();
        return set;
    }

    public readonly Instant Get(TimerKind kind) => _slots[(int)kind];

    public readonly bool IsArmed(TimerKind kind) => _slots[(int)kind] != Instant.Never;

    public void Set(TimerKind kind, Instant at) => _slots[(int)kind] = at;

    public void Cancel(TimerKind kind) => _slots[(int)kind] = Instant.Never;

    public void CancelAll()
    {
        for (int i = 0; i < Count; i++)
        {
            _slots[i] = Instant.Never;
        }
    }

    /// <summary>The earliest armed deadline, or Instant.Never.</summary>
    public readonly Instant Next
    {
        get
        {
            // Unrolled: asked after every segment and every timer.
            var a = Instant.Min(_slots[0], _slots[1]);
            var b = Instant.Min(_slots[2], _slots[3]);
            var c = Instant.Min(_slots[4], _slots[5]);
            return Instant.Min(Instant.Min(a, b), c);
        }
    }

    /// <summary>True when <paramref name="kind"/> is armed and due at <paramref name="now"/>.</summary>
    public readonly bool IsDue(TimerKind kind, Instant now) => _slots[(int)kind] != Instant.Never && _slots[(int)kind] <= now;
}
