using TcpKit.Analysis.Tests.Support;
using TcpKit.Wire.Tcp;
using static TcpKit.Wire.Tcp.TcpFlags;

namespace TcpKit.Analysis.Tests.Analysis;

public class BytesInFlightTests
{
    private static TcpOptions Ts(uint value) => Trace.Options(timestamp: new TcpTimestamp(value, 1));

    /// <summary>
    /// Data with timestamps on every segment, a partial ACK, a retransmission below the lowest outstanding
    /// byte and a SACK block: the outstanding extent must follow every change of the unacked segments.
    /// Expected values checked against tshark 4 on the same frames.
    /// </summary>
    private static Trace PartialAckRetransmissionAndSack() => new Trace()
        .Add(0.000, true, 1000, 0, Syn, 64000, options: Trace.Options(mss: 1000, windowScale: 7, sackPermitted: true, timestamp: new TcpTimestamp(1, 0)))
        .Add(0.001, false, 5000, 1001, Syn | Ack, 64000, options: Trace.Options(mss: 1000, windowScale: 7, sackPermitted: true, timestamp: new TcpTimestamp(1, 1)))
        .Add(0.002, true, 1001, 5001, Ack, 500, options: Ts(2))
        .Add(0.010, true, 1001, 5001, Ack, 500, 100, Ts(3))
        .Add(0.011, true, 1101, 5001, Ack, 500, 100, Ts(4))
        .Add(0.012, true, 1201, 5001, Ack, 500, 100, Ts(5))
        .Add(0.013, false, 5001, 1151, Ack, 500, options: Ts(2))
        .Add(0.014, true, 1301, 5001, Ack, 500, 100, Ts(6))
        .Add(0.100, true, 1101, 5001, Ack, 500, 100, Ts(7))
        .Add(0.101, false, 5001, 1151, Ack, 500, options: Trace.Options(timestamp: new TcpTimestamp(3, 7), sack: (1301, 1401)))
        .Add(0.102, true, 1401, 5001, Ack, 500, 100, Ts(8));

    [Fact]
    public void Bytes_in_flight_follows_partial_acks_retransmissions_below_the_outstanding_data_and_sack_blocks()
    {
        var lines = PartialAckRetransmissionAndSack().Fields("frame.number", "tcp.analysis.bytes_in_flight", "tcp.analysis.retransmission");
        Assert.Equal(
            [
                "1||", "2||", "3||",
                "4|100|", "5|200|", "6|300|",
                "7||",
                "8|250|",
                "9|300|1",
                "10||",
                "11|250|",
            ],
            lines);
    }

    [Fact]
    public void A_window_scale_option_after_timestamps_is_still_read()
    {
        // NOP NOP TS then WS: the fast skip of timestamp-only option lists must not hide the window scale.
        var lines = new Trace()
            .Add(0.000, true, 1000, 0, Syn, 1000, options: Trace.Options(timestamp: new TcpTimestamp(1, 0), windowScale: 4))
            .Add(0.001, false, 5000, 1001, Syn | Ack, 1000, options: Trace.Options(timestamp: new TcpTimestamp(1, 1), windowScale: 2))
            .Add(0.002, true, 1001, 5001, Ack, 1000, options: Ts(2))
            .Add(0.003, false, 5001, 1001, Ack, 1000, options: Ts(2))
            .Fields("frame.number", "tcp.window_size");
        Assert.Equal(["1|1000", "2|1000", "3|16000", "4|4000"], lines);
    }
}
