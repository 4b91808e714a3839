using CsCheck;

namespace TcpKit.Tcp.Tests;

/// <summary>An engine's pending events come out in the order they went in, however the ring wraps and grows.</summary>
public sealed class EventRingTests
{
    [Fact]
    public void Events_come_out_in_order_as_from_a_queue()
    {
        // Each operation: enqueue that many events, then dequeue up to that many.
        Gen.Select(Gen.Int[0, 9], Gen.Int[0, 9]).Array[1, 40].Sample(ops =>
        {
            var ring = new EventRing();
            var model = new Queue<TcpEvent>();
            int next = 0;
            foreach (var (put, take) in ops)
            {
                for (int k = 0; k < put; k++)
                {
                    var e = new TcpEvent(TcpEventKind.DataReadable, default, default, TransitionCause.FromTimer((TimerKind)(next % 6)), (TcpError)(next % 5));
                    e = e with { Cause = e.Cause with { Segment = new SegmentSummary(default, new Wire.Tcp.SeqNum((uint)next), default, next, 0) } };
                    next++;
                    ring.Enqueue(e);
                    model.Enqueue(e);
                }

                for (int k = 0; k < take && model.Count > 0; k++)
                {
                    Assert.Equal(model.Dequeue(), ring.Dequeue());
                }

                Assert.Equal(model.Count, ring.Count);
                Assert.Equal(model.ToArray(), ring.ToArray());
            }
        }, iter: 300);
    }
}
