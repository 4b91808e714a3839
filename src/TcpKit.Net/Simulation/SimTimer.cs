using TcpKit.Wire;

namespace TcpKit.Net.Simulation;

/// <summary>
/// A reusable timer in the simulated network's virtual time: arm it with <see cref="Set"/>, move it by
/// calling <see cref="Set"/> again, disarm it with <see cref="Cancel"/>. A host stack keeps one per
/// connection and sets it to the engine's next deadline after every input; moving an armed timer
/// costs O(log n) and allocates nothing. A cancelled timer never fires.
/// </summary>
public sealed class SimTimer
{
    private readonly SimulatedNetwork _network;

    internal SimTimer(SimulatedNetwork network, Action callback)
    {
        _network = network;
        Callback = callback;
    }

    internal Action Callback { get; }

    /// <summary>Slot in the event heap, or -1 while not armed.</summary>
    internal int HeapIndex { get; set; } = -1;

    /// <summary>When the timer fires, or <see cref="Instant.Never"/> while not armed.</summary>
    public Instant Deadline { get; internal set; } = Instant.Never;

    public bool IsArmed => HeapIndex >= 0;

    /// <summary>
    /// Arms or moves the timer. A deadline in the past fires at the current virtual time (time never
    /// runs backwards); <see cref="Instant.Never"/> cancels. Among events due at the same instant the
    /// one set first runs first, and re-setting counts as setting anew.
    /// </summary>
    public void Set(Instant deadline) => _network.Arm(this, deadline);

    /// <summary>Disarms the timer; does nothing if it is not armed.</summary>
    public void Cancel() => _network.Disarm(this);
}
