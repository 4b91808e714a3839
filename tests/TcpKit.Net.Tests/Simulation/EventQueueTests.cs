using CsCheck;
using TcpKit.Net.Simulation;

namespace TcpKit.Net.Tests.Simulation;

public class EventQueueTests
{
    private const int Timers = 6;

    /// <summary>
    /// Random packet pushes (mostly in deadline order, as a fixed-delay link gives, which the FIFO ring takes,
    /// and sometimes earlier, which the heap takes), timer sets, moves and cancels, and pops, against a plain
    /// list as the model: every pop returns the event a sort by (deadline, sequence) puts first.
    /// </summary>
    [Fact]
    public void Ring_and_heap_together_pop_events_in_deadline_then_sequence_order()
    {
        var op = Gen.Select(Gen.Int[0, 9], Gen.Int[0, Timers - 1], Gen.Int[0, 50]);
        op.Array[1, 300].Sample(ops =>
        {
            var network = new SimulatedNetwork(1);
            var timers = new SimTimer[Timers];
            for (int i = 0; i < Timers; i++)
            {
                timers[i] = network.CreateTimer(() => { });
            }

            var queue = new EventQueue();
            var model = new List<(long Deadline, long Sequence, SimTimer? Timer, int Length)>();
            long sequence = 0, now = 0, lastPacket = 0;
            int packet = 0;
            foreach (var (kind, index, value) in ops)
            {
                if (kind < 4)
                {
                    // In order most of the time; now and then earlier than the last packet queued.
                    long deadline = kind < 3 ? Math.Max(lastPacket, now + value) : now + (value / 4);
                    lastPacket = Math.Max(lastPacket, deadline);
                    queue.Push(new SimEvent { Deadline = deadline, Sequence = sequence, Length = ++packet });
                    model.Add((deadline, sequence++, null, packet));
                }
                else if (kind < 7)
                {
                    var timer = timers[index];
                    long deadline = now + value;
                    int at = model.FindIndex(m => m.Timer == timer);
                    if (at >= 0)
                    {
                        queue.Update(timer, deadline, sequence);
                        model[at] = (deadline, sequence++, timer, 0);
                    }
                    else
                    {
                        queue.Push(new SimEvent { Deadline = deadline, Sequence = sequence, Timer = timer });
                        model.Add((deadline, sequence++, timer, 0));
                    }
                }
                else if (kind < 8)
                {
                    var timer = timers[index];
                    int at = model.FindIndex(m => m.Timer == timer);
                    if (at >= 0)
                    {
                        queue.Remove(timer);
                        model.RemoveAt(at);
                    }
                }
                else
                {
                    for (int n = 0; n < value / 5 && model.Count > 0; n++)
                    {
                        var first = model.MinBy(m => (m.Deadline, m.Sequence));
                        Assert.Equal(first.Deadline, queue.PeekDeadline);
                        var e = queue.Pop();
                        Assert.Equal((first.Deadline, first.Sequence, first.Timer, first.Length), (e.Deadline, e.Sequence, e.Timer, e.Length));
                        Assert.Equal(-1, e.Timer?.HeapIndex ?? -1);
                        model.Remove(first);
                        now = Math.Max(now, e.Deadline);
                    }
                }

                Assert.Equal(model.Count, queue.Count);
            }
        }, iter: 300);
    }
}
