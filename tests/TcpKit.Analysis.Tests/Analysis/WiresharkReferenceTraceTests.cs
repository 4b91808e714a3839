using TcpKit.Analysis.Tests.Support;
using TcpKit.Wire.Tcp;
using static TcpKit.Wire.Tcp.TcpFlags;

namespace TcpKit.Analysis.Tests.Analysis;

/// <summary>
/// The two reference traces of docs/wireshark-tcp-behaviour.md appendix A, rebuilt byte for byte,
/// against tshark 4.0.17's recorded output.
/// </summary>
public class WiresharkReferenceTraceTests
{
    private static Trace TraceTwo()
    {
        var ws2 = Trace.Options(mss: 1460, windowScale: 2);
        var ws0 = Trace.Options(mss: 1460, windowScale: 0);
        return new Trace()
            .Add(1000.000, true, 1000, 0, Syn, 1000, options: ws2)
            .Add(1001.000, true, 1000, 0, Syn, 1000, options: ws2)
            .Add(1001.050, false, 5000, 1001, Syn | Ack, 2000, options: ws0)
            .Add(1001.100, true, 1001, 5001, Ack, 250)
            .Add(1001.101, true, 1001, 5001, Psh | Ack, 250, 100)
            .Add(1001.102, true, 1101, 5001, Psh | Ack, 250, 100)
            .Add(1001.103, true, 1001, 5001, Psh | Ack, 250, 100)
            .Add(1001.603, true, 1001, 5001, Psh | Ack, 250, 100)
            .Add(1001.613, false, 5001, 1201, Ack, 300)
            .Add(1001.623, true, 1101, 5001, Psh | Ack, 250, 100)
            .Add(1001.633, true, 1201, 5001, Psh | Ack, 250, 100)
            .Add(1001.634, true, 1301, 5001, Psh | Ack, 250, 200)
            .Add(1001.635, false, 5001, 1701, Ack, 300)
            .Add(1001.636, false, 5001, 1701, Ack, 300)
            .Add(1001.637, false, 5001, 1701, Ack, 300);
    }

    [Fact]
    public void Trace_two_summary_lines_equal_tsharks_including_retransmission_kinds_window_full_and_acked_unseen()
    {
        Assert.Equal(
            [
                "    1   0.000000     10.0.0.1 → 10.0.0.9     TCP 62 41000 → 34567 [SYN] Seq=0 Win=1000 Len=0 MSS=1460 WS=4",
                "    2   1.000000     10.0.0.1 → 10.0.0.9     TCP 62 [TCP Retransmission] 41000 → 34567 [SYN] Seq=0 Win=1000 Len=0 MSS=1460 WS=4",
                "    3   1.050000     10.0.0.9 → 10.0.0.1     TCP 62 34567 → 41000 [SYN, ACK] Seq=0 Ack=1 Win=2000 Len=0 MSS=1460 WS=1",
                "    4   1.100000     10.0.0.1 → 10.0.0.9     TCP 54 41000 → 34567 [ACK] Seq=1 Ack=1 Win=1000 Len=0",
                "    5   1.101000     10.0.0.1 → 10.0.0.9     TCP 154 41000 → 34567 [PSH, ACK] Seq=1 Ack=1 Win=1000 Len=100",
                "    6   1.102000     10.0.0.1 → 10.0.0.9     TCP 154 41000 → 34567 [PSH, ACK] Seq=101 Ack=1 Win=1000 Len=100",
                "    7   1.103000     10.0.0.1 → 10.0.0.9     TCP 154 [TCP Out-Of-Order] 41000 → 34567 [PSH, ACK] Seq=1 Ack=1 Win=1000 Len=100",
                "    8   1.603000     10.0.0.1 → 10.0.0.9     TCP 154 [TCP Retransmission] 41000 → 34567 [PSH, ACK] Seq=1 Ack=1 Win=1000 Len=100",
                "    9   1.613000     10.0.0.9 → 10.0.0.1     TCP 54 34567 → 41000 [ACK] Seq=1 Ack=201 Win=300 Len=0",
                "   10   1.623000     10.0.0.1 → 10.0.0.9     TCP 154 [TCP Spurious Retransmission] 41000 → 34567 [PSH, ACK] Seq=101 Ack=1 Win=1000 Len=100",
                "   11   1.633000     10.0.0.1 → 10.0.0.9     TCP 154 41000 → 34567 [PSH, ACK] Seq=201 Ack=1 Win=1000 Len=100",
                "   12   1.634000     10.0.0.1 → 10.0.0.9     TCP 254 [TCP Window Full] 41000 → 34567 [PSH, ACK] Seq=301 Ack=1 Win=1000 Len=200",
                "   13   1.635000     10.0.0.9 → 10.0.0.1     TCP 54 [TCP ACKed unseen segment] 34567 → 41000 [ACK] Seq=1 Ack=701 Win=300 Len=0",
                "   14   1.636000     10.0.0.9 → 10.0.0.1     TCP 54 [TCP Dup ACK 13#1] 34567 → 41000 [ACK] Seq=1 Ack=701 Win=300 Len=0",
                "   15   1.637000     10.0.0.9 → 10.0.0.1     TCP 54 [TCP Dup ACK 13#2] 34567 → 41000 [ACK] Seq=1 Ack=701 Win=300 Len=0",
            ],
            TraceTwo().Summaries());
    }

    [Fact]
    public void Trace_two_analysis_values_equal_tsharks_oldest_SYN_is_acked_and_rto_counts_from_the_oldest_unacked()
    {
        Assert.Equal(
            [
                "1|0|0|1000|||||||||0|0",
                "2|0|1|1000|||||||1.000000000|1|0|0",
                "3|0|1|2000||1|1.050000000||||||0|1",
                "4|0|3|1000|4|3|0.050000000|0.100000000|||||1|1",
                "5|0|7|1000|4|||0.100000000|100|100|||1|1",
                "6|0|15|1000|4|||0.100000000|200|100|||101|1",
                "7|0|15|1000|4|||0.100000000|200|100|||1|1",
                "8|0|15|1000|4|||0.100000000|200|100|0.502000000|5|1|1",
                "9|0|15|300|1|6|0.511000000|0.100000000|||||1|201",
                "10|0|15|1000|4|||0.100000000|100|100|||101|1",
                "11|0|15|1000|4|||0.100000000|200|100|||201|1",
                "12|0|15|1000|4|||0.100000000|400|200|||301|1",
                "13|0|15|300|1|||0.100000000|||||1|701",
                "14|0|15|300|1|||0.100000000|||||1|701",
                "15|0|15|300|1|||0.100000000|||||1|701",
            ],
            TraceTwo().Fields("frame.number", "tcp.stream", "tcp.completeness", "tcp.window_size", "tcp.window_size_scalefactor", "tcp.analysis.acks_frame",
                "tcp.analysis.ack_rtt", "tcp.analysis.initial_rtt", "tcp.analysis.bytes_in_flight", "tcp.analysis.push_bytes_sent", "tcp.analysis.rto",
                "tcp.analysis.rto_frame", "tcp.seq", "tcp.ack"));
    }

    private static Trace TraceOne()
    {
        var syn = Trace.Options(mss: 1460, windowScale: 7, sackPermitted: true, timestamp: new TcpTimestamp(1, 0));
        var synAck = Trace.Options(mss: 1460, windowScale: 7, sackPermitted: true, timestamp: new TcpTimestamp(2, 1));
        var mss = Trace.Options(mss: 1460);
        return new Trace(40000, 80, "10.0.0.1", "10.0.0.2")
            .Add(1000.000, true, 1000, 0, Syn, 64240, options: syn)
            .Add(1000.010, false, 5000, 1001, Syn | Ack, 65160, options: synAck)
            .Add(1000.020, true, 1001, 5001, Ack, 502)
            .Add(1000.021, true, 1001, 5001, Psh | Ack, 502, 100)
            .Add(1000.022, true, 1101, 5001, Psh | Ack, 502, 100)
            .Add(1000.023, true, 1301, 5001, Psh | Ack, 502, 100)
            .Add(1000.024, false, 5001, 1201, Ack, 509)
            .Add(1000.025, false, 5001, 1201, Ack, 509, options: Trace.Options(sack: (1301, 1401)))
            .Add(1000.026, false, 5001, 1201, Ack, 509)
            .Add(1000.027, true, 1201, 5001, Psh | Ack, 502, 100)
            .Add(1000.028, false, 5001, 1401, Ack, 509)
            .Add(1005.028, true, 1400, 5001, Ack, 502)
            .Add(1005.029, false, 5001, 1401, Ack, 509)
            .Add(1005.030, false, 5001, 1401, Ack, 0)
            .Add(1005.031, true, 1401, 5001, Ack, 502, 1)
            .Add(1005.032, false, 5001, 1401, Ack, 0)
            .Add(1005.033, false, 5001, 1401, Ack, 600)
            .Add(1005.034, true, 1401, 5001, Fin | Ack, 502)
            .Add(1005.035, false, 5001, 1402, Fin | Ack, 600)
            .Add(1005.036, true, 1402, 5002, Ack, 502)
            .Add(1006.036, true, 777, 0, Syn, 64240, options: mss)
            .Add(1006.046, false, 9999, 778, Syn | Ack, 65160, options: mss)
            .Add(1006.056, true, 778, 10000, Ack, 64240)
            .Add(1006.066, true, 778, 10000, Rst | Ack, 0)
            .Add(1007.066, true, 778, 0, Syn, 64240, options: mss);
    }

    [Fact]
    public void Trace_one_analysis_values_equal_tsharks_through_dup_acks_keep_alives_zero_windows_and_port_reuse()
    {
        Assert.Equal(
            [
                "1|0|0|||||||||0.000000000|1|",
                "2|0|1||1|0.010000000||||||0.010000000|1|",
                "3|0|3|128|2|0.010000000|0.020000000|||||0.010000000|1|",
                "4|0|7|128|||0.020000000|100|100|||0.001000000|101|",
                "5|0|15|128|||0.020000000|200|100|||0.001000000|201|",
                "6|0|15|128|||0.020000000|||||0.001000000|401|1",
                "7|0|15|128|5|0.002000000|0.020000000|||||0.001000000|1|",
                "8|0|15|128|||0.020000000|||1|7|0.001000000|1|1",
                "9|0|15|128|||0.020000000|||2|7|0.001000000|1|1",
                "10|0|15|128|||0.020000000|200|100|||0.001000000|301|1",
                "11|0|15|128|6|0.005000000|0.020000000|||||0.001000000|1|",
                "12|0|15|128|||0.020000000|||||5.000000000|400|1",
                "13|0|15|128|||0.020000000|||||0.001000000|1|1",
                "14|0|15|128|||0.020000000|||||0.001000000|1|1",
                "15|0|15|128|||0.020000000|1|1|||0.001000000|402|1",
                "16|0|15|128|||0.020000000|||||0.001000000|1|1",
                "17|0|15|128|||0.020000000|||||0.001000000|1|1",
                "18|0|15|128||||||||0.001000000|402|",
                "19|0|31|128|15|0.004000000|0.020000000|||||0.001000000|2|",
                "20|0|31|128|19|0.001000000|0.020000000|||||0.001000000|402|",
                "21|1|1|||||||||0.000000000|1|1",
                "22|1|1||21|0.010000000||||||0.010000000|1|",
                "23|1|3|-2|22|0.010000000|0.020000000|||||0.010000000|1|",
                "24|1|7|-2||||||||0.010000000|1|",
                "25|2|1|||||||||0.000000000|1|1",
            ],
            TraceOne().Fields("frame.number", "tcp.stream", "tcp.completeness", "tcp.window_size_scalefactor", "tcp.analysis.acks_frame", "tcp.analysis.ack_rtt",
                "tcp.analysis.initial_rtt", "tcp.analysis.bytes_in_flight", "tcp.analysis.push_bytes_sent", "tcp.analysis.duplicate_ack_num",
                "tcp.analysis.duplicate_ack_frame", "tcp.time_delta", "tcp.nxtseq", "tcp.analysis.flags"));
    }

    [Fact]
    public void Trace_one_prefixes_follow_tsharks_order()
    {
        var prefixes = TraceOne().Summaries().Select(Prefix).ToList();
        Assert.Equal("[TCP Previous segment not captured]", prefixes[5]);
        Assert.Equal("[TCP Dup ACK 7#1]", prefixes[7]);
        Assert.Equal("[TCP Fast Retransmission]", prefixes[9]);
        Assert.Equal("[TCP Keep-Alive]", prefixes[11]);
        Assert.Equal("[TCP Keep-Alive ACK]", prefixes[12]);
        Assert.Equal("[TCP ZeroWindow]", prefixes[13]);
        Assert.Equal("[TCP ZeroWindowProbe]", prefixes[14]);
        Assert.Equal("[TCP ZeroWindowProbeAck] [TCP ZeroWindow]", prefixes[15]);
        Assert.Equal("[TCP Window Update]", prefixes[16]);
        Assert.Equal("[TCP Port numbers reused]", prefixes[20]);
        Assert.Equal("[TCP Port numbers reused]", prefixes[24]);
        Assert.Equal("", prefixes[23]);
    }

    /// <summary>The expert prefixes of a summary line: the Info text before the port pair.</summary>
    private static string Prefix(string line)
    {
        var info = line[(line.IndexOf(" TCP ", StringComparison.Ordinal) + 5)..];
        info = info[(info.IndexOf(' ', StringComparison.Ordinal) + 1)..];
        int ports = info.IndexOf(" \u2192 ", StringComparison.Ordinal);
        int start = info.LastIndexOf(' ', ports - 1);
        return start < 0 ? "" : info[..start];
    }
}
