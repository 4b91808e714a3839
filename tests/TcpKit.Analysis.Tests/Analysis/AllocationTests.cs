using TcpKit.Analysis.Filters;
using TcpKit.Analysis.Tests.Support;
using TcpKit.Wire.Capture;
using static TcpKit.Wire.Tcp.TcpFlags;

namespace TcpKit.Analysis.Tests.Analysis;

public class AllocationTests
{
    /// <summary>A bulk transfer with a loss, dup ACKs and a fast retransmission every 50 segments.</summary>
    private static string BulkWithLoss(int segments)
    {
        var t = new Trace()
            .Add(0, true, 1000, 0, Syn, 64000, options: Trace.Options(mss: 1000, windowScale: 7, sackPermitted: true))
            .Add(0.001, false, 5000, 1001, Syn | Ack, 64000, options: Trace.Options(mss: 1000, windowScale: 7, sackPermitted: true))
            .Add(0.002, true, 1001, 5001, Ack, 500);
        double now = 0.003;
        uint seq = 1001;
        uint hole = 0;
        for (int i = 0; i < segments; i++)
        {
            now += 0.0001;
            if (i % 50 == 25)
            {
                hole = seq; // this segment is lost before the capture point
            }
            else
            {
                t.Add(now, true, seq, 5001, Ack, 500, 1000);
            }

            if (i % 50 == 29)
            {
                // After duplicate ACKs the sender repairs the hole (a fast retransmission).
                t.Add(now, true, hole, 5001, Ack, 500, 1000);
                hole = 0;
            }

            if (i % 2 == 1)
            {
                t.Add(now, false, 5001, hole != 0 ? hole : seq + 1000, Ack, 500, options: hole != 0 ? Trace.Options(sack: (hole + 1000, seq + 1000)) : default);
            }

            seq += 1000;
        }

        return t.WritePcap();
    }

    [Fact]
    public void Analysing_and_filtering_a_bulk_transfer_with_loss_allocates_nothing_per_packet_after_warm_up()
    {
        var path = BulkWithLoss(4000);
        try
        {
            using var reader = CaptureReader.Open(path);
            var pipeline = new CapturePipeline();
            var filter = DisplayFilter.Compile("tcp.analysis.retransmission || tcp.analysis.duplicate_ack_num >= 2 || tcp.port in {1..1023, 34567}");
            int matched = 0;
            for (int i = 0; i < 1000 && reader.TryRead(out var warm); i++)
            {
                matched += filter.Matches(pipeline.Next(warm)) ? 1 : 0;
            }

            long before = GC.GetAllocatedBytesForCurrentThread();
            int packets = 0;
            while (reader.TryRead(out var packet))
            {
                matched += filter.Matches(pipeline.Next(packet)) ? 1 : 0;
                packets++;
            }

            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.True(packets > 5000, $"{packets} packets");
            Assert.True(matched > 100, $"{matched} matched");
            Assert.True(allocated < 1024, $"{allocated} bytes allocated for {packets} packets");
        }
        finally
        {
            File.Delete(path);
        }
    }
}
