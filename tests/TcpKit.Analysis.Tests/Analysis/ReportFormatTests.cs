using TcpKit.Analysis.Expert;
using TcpKit.Analysis.Output;
using TcpKit.Analysis.Tests.Support;
using static TcpKit.Wire.Tcp.TcpFlags;

namespace TcpKit.Analysis.Tests.Analysis;

/// <summary>The -z conv,tcp, -z expert and -z follow texts, against tshark 4.0.17's output for the same trace (recorded).</summary>
public class ReportFormatTests
{
    /// <summary>A connection with out-of-order data, a gap that the receiver acknowledges, a retransmission and a close.</summary>
    internal static Trace Sample() => new Trace(41000, 34567)
        .Add(1000.000, true, 1000, 0, Syn, 1000, options: Trace.Options(mss: 1460, windowScale: 2))
        .Add(1000.050, false, 5000, 1001, Syn | Ack, 2000, options: Trace.Options(mss: 1460, windowScale: 0))
        .Add(1000.100, true, 1001, 5001, Ack, 250)
        .Add(1000.101, true, 1001, 5001, Psh | Ack, 250, 5, fill: (byte)'a')
        .Add(1000.102, true, 1011, 5001, Psh | Ack, 250, 5, fill: (byte)'c')
        .Add(1000.103, true, 1006, 5001, Psh | Ack, 250, 5, fill: (byte)'b')
        .Add(1000.104, false, 5001, 1016, Psh | Ack, 300, 3, fill: (byte)'\n')
        .Add(1000.105, true, 1021, 5004, Psh | Ack, 250, 4, fill: (byte)'e')
        .Add(1000.106, false, 5004, 1025, Ack, 300)
        .Add(1000.700, true, 1021, 5004, Psh | Ack, 250, 4, fill: (byte)'e')
        .Add(1000.800, true, 1025, 5004, Fin | Ack, 250)
        .Add(1000.801, false, 5004, 1026, Fin | Ack, 300)
        .Add(1000.802, true, 1026, 5005, Ack, 250);

    [Fact]
    public void The_conversation_table_equals_tsharks()
    {
        var pipeline = Run(Sample(), (in Fields.FieldContext _) => { });
        Assert.Equal(
            "================================================================================\n"
            + "TCP Conversations\n"
            + "Filter:<No Filter>\n"
            + "                                                           |       <-      | |       ->      | |     Total     |    Relative    |   Duration   |\n"
            + "                                                           | Frames  Bytes | | Frames  Bytes | | Frames  Bytes |      Start     |              |\n"
            + "10.0.0.1:41000             <-> 10.0.0.9:34567                   4 227 bytes       9 517 bytes      13 744 bytes     0.000000000         0.8020\n"
            + "================================================================================\n",
            ConversationTable.Format(pipeline.Tracker.Conversations));
    }

    [Fact]
    public void The_expert_summary_equals_tsharks_with_severities_in_order_and_items_in_first_seen_order()
    {
        var expert = new ExpertSummary();
        Run(Sample(), (in Fields.FieldContext c) => expert.Observe(c));
        Assert.Equal(
            "\n"
            + "Warns (4)\n"
            + "=============\n"
            + "   Frequency      Group           Protocol  Summary\n"
            + "           2   Sequence                TCP  Previous segment(s) not captured (common at capture start)\n"
            + "           1   Sequence                TCP  This frame is a (suspected) out-of-order segment\n"
            + "           1   Sequence                TCP  ACKed segment that wasn't captured (common at capture start)\n"
            + "\n"
            + "Notes (4)\n"
            + "=============\n"
            + "   Frequency      Group           Protocol  Summary\n"
            + "           1   Sequence                TCP  This frame is a (suspected) spurious retransmission\n"
            + "           1   Sequence                TCP  This frame is a (suspected) retransmission\n"
            + "           1   Sequence                TCP  This frame initiates the connection closing\n"
            + "           1   Sequence                TCP  This frame undergoes the connection closing\n"
            + "\n"
            + "Chats (4)\n"
            + "=============\n"
            + "   Frequency      Group           Protocol  Summary\n"
            + "           1   Sequence                TCP  Connection establish request (SYN): server port 34567\n"
            + "           1   Sequence                TCP  Connection establish acknowledge (SYN+ACK): server port 34567\n"
            + "           2   Sequence                TCP  Connection finish (FIN)\n",
            expert.Format());
    }

    [Fact]
    public void Following_the_stream_reorders_held_segments_and_marks_bytes_the_capture_missed()
    {
        var follow = new FollowStream(0);
        Run(Sample(), (in Fields.FieldContext c) => follow.Observe(c));
        Assert.Equal(
            "\n"
            + "===================================================================\n"
            + "Follow: tcp,ascii\n"
            + "Filter: tcp.stream eq 0\n"
            + "Node 0: 10.0.0.1:41000\n"
            + "Node 1: 10.0.0.9:34567\n"
            + "5\n"
            + "aaaaa\n"
            + "5\n"
            + "bbbbb\n"
            + "5\n"
            + "ccccc\n"
            + "\t3\n"
            + "\n"
            + "\n"
            + "\n"
            + "\n"
            + "34\n"
            + "[5 bytes missing in capture file].\n"
            + "4\n"
            + "eeee\n"
            + "===================================================================\n",
            follow.Format("ascii"));
        Assert.Equal(
            "\n"
            + "===================================================================\n"
            + "Follow: tcp,hex\n"
            + "Filter: tcp.stream eq 0\n"
            + "Node 0: 10.0.0.1:41000\n"
            + "Node 1: 10.0.0.9:34567\n"
            + "00000000  61 61 61 61 61                                    aaaaa\n"
            + "00000005  62 62 62 62 62                                    bbbbb\n"
            + "0000000A  63 63 63 63 63                                    ccccc\n"
            + "\t00000000  0a 0a 0a                                          ...\n"
            + "0000000F  5b 35 20 62 79 74 65 73  20 6d 69 73 73 69 6e 67  [5 bytes  missing\n"
            + "0000001F  20 69 6e 20 63 61 70 74  75 72 65 20 66 69 6c 65   in capt ure file\n"
            + "0000002F  5d 00                                             ].\n"
            + "00000031  65 65 65 65                                       eeee\n"
            + "===================================================================\n",
            follow.Format("hex"));
    }

    [Fact]
    public void Following_a_stream_that_does_not_exist_prints_empty_nodes()
    {
        var follow = new FollowStream(7);
        Run(Sample(), (in Fields.FieldContext c) => follow.Observe(c));
        Assert.Equal("\n===================================================================\nFollow: tcp,raw\nFilter: tcp.stream eq 7\nNode 0: :0\nNode 1: :0\n===================================================================\n", follow.Format("raw"));
    }

    private static CapturePipeline Run(Trace trace, Trace.FrameAction action)
    {
        CapturePipeline? pipeline = null;
        trace.Each((in Fields.FieldContext c) =>
        {
            action(c);
        }, p => pipeline = p);
        return pipeline!;
    }

    [Fact]
    public void Sizes_use_SI_units_with_integer_division()
    {
        Assert.Equal("9999 bytes", ConversationTable.Size(9999));
        Assert.Equal("10 kB", ConversationTable.Size(10_000));
        Assert.Equal("15 kB", ConversationTable.Size(15_999));
        Assert.Equal("9999 kB", ConversationTable.Size(9_999_999));
        Assert.Equal("10 MB", ConversationTable.Size(10_000_000));
        Assert.Equal("12 GB", ConversationTable.Size(12_345_678_901));
    }
}
