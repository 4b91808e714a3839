using TcpKit.Analysis.Output;
using TcpKit.Analysis.Tests.Support;
using TcpKit.Wire;
using TcpKit.Wire.Checksums;
using static TcpKit.Wire.Tcp.TcpFlags;

namespace TcpKit.Analysis.Tests.Analysis;

/// <summary>
/// TCP headers quoted by ICMP errors, dissected as Wireshark 4.0 does (the values below are tshark 4.0.17's
/// on the same frames; the interop suite compares every field on real kernel captures too).
/// </summary>
public class IcmpQuotedTcpTests
{
    private static Trace Connection() => new Trace(40000, 80)
        .Add(1000.0, true, 1000, 0, Syn, 1000)
        .Add(1001.0, false, 5000, 1001, Syn | Ack, 1000)
        .Add(1002.0, true, 1001, 5001, Ack, 1000)
        .Add(1003.0, true, 1001, 5001, Psh | Ack, 1000, 5);

    private static readonly string[] Fields = ["frame.number", "tcp.stream", "tcp.srcport", "tcp.seq", "tcp.seq_raw", "tcp.ack", "tcp.len", "tcp.nxtseq", "tcp.time_relative", "tcp.time_delta", "tcp.completeness", "ip.src"];

    private static string Line(params string[] values) => string.Join('|', values);

    [Fact]
    public void A_whole_quoted_header_joins_its_stream_with_raw_numbers_and_no_length_and_moves_the_streams_clock()
    {
        var lines = Connection()
            .AddIcmpError(1004.0, quotedFrame: 3, code: 4)
            .Add(1007.0, false, 5001, 1006, Ack, 1000)
            .Fields(Fields);
        Assert.Equal(Line("5", "0", "40000", "1001", "", "5001", "", "", "4.000000000", "1.000000000", "15", "192.0.2.254,10.0.0.1"), lines[4]);

        // The next frame of the stream counts its delta from the ICMP error.
        Assert.Equal(Line("6", "0", "80", "1", "5001", "6", "0", "1", "7.000000000", "3.000000000", "15", "10.0.0.9"), lines[5]);
    }

    [Fact]
    public void Eight_quoted_bytes_give_ports_and_sequence_number_but_no_stream()
    {
        var lines = Connection().AddIcmpError(1004.0, quotedFrame: 3, quoteBytes: 28).Fields(Fields);
        Assert.Equal(Line("5", "", "40000", "1001", "", "", "", "", "", "", "", "192.0.2.254,10.0.0.1"), lines[4]);
    }

    [Fact]
    public void A_quote_of_a_connection_never_seen_opens_a_stream_that_the_conversation_table_leaves_out()
    {
        var ghost = new Trace(40001, 81).Add(999.0, true, 77, 0, Syn, 1000);
        var trace = Connection().AddIcmpError(1004.0, ghost.IpPacket(0));
        Assert.Equal("1|0|77", trace.Fields("tcp.stream", "tcp.completeness", "tcp.seq")[4]);

        string table = "";
        trace.Each((in TcpKit.Analysis.Fields.FieldContext _) => { }, pipeline => table = ConversationTable.Format(pipeline.Tracker.Conversations));
        Assert.Contains("10.0.0.1:40000", table, StringComparison.Ordinal);
        Assert.DoesNotContain(":40001", table, StringComparison.Ordinal);
    }

    [Fact]
    public void A_quoted_SYN_ACK_or_FIN_adds_to_completeness_but_quoted_data_does_not()
    {
        // The quoted segments never appear themselves: only the ICMP errors tell of them.
        var ghost = new Trace(40000, 80)
            .Add(0, false, 5000, 1001, Syn | Ack, 1000)
            .Add(0, true, 1001, 5001, Psh | Ack, 1000, 5)
            .Add(0, true, 1006, 5001, Fin | Ack, 1000);
        var lines = new Trace(40000, 80)
            .Add(1000.0, true, 1000, 0, Syn, 1000)
            .AddIcmpError(1000.5, ghost.IpPacket(0))
            .Add(1001.0, true, 1001, 5001, Ack, 1000)
            .AddIcmpError(1001.5, ghost.IpPacket(1))
            .Add(1002.0, true, 1001, 5001, Ack, 1000)
            .AddIcmpError(1002.5, ghost.IpPacket(2))
            .Add(1003.0, false, 5001, 1007, Ack, 1000)
            .Fields("tcp.completeness");
        Assert.Equal(["0", "1", "3", "7", "7", "7", "23"], lines);
    }

    [Fact]
    public void A_quote_that_cuts_the_segment_short_is_checksummed_over_the_quoted_bytes_as_tshark_does()
    {
        // Frame 4 carries 5 bytes of data; quoting 43 of its 45 bytes leaves 3. tshark checks the quoted
        // segment over those 23 bytes (pseudo-header length 23): the sender's checksum covered 25, so it fails.
        var cut = Connection().AddIcmpError(1004.0, quotedFrame: 3, quoteBytes: 43).Fields("frame.number", "tcp.checksum.status");
        Assert.Equal("5|0", cut[4]);

        // A checksum made over exactly the quoted part passes.
        var packet = Connection().IpPacket(3);
        var tcp = packet.AsSpan(20, 23);
        tcp[16] = tcp[17] = 0;
        IpAddress.TryParse("10.0.0.1", out var source);
        IpAddress.TryParse("10.0.0.9", out var destination);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(tcp[16..], InternetChecksum.ComputeTcp(source, destination, tcp));
        var fits = Connection().AddIcmpError(1004.0, packet, quoteBytes: 43).Fields("frame.number", "tcp.checksum.status");
        Assert.Equal("5|1", fits[4]);

        // A whole quoted segment is checked as usual.
        Assert.Equal("5|1", Connection().AddIcmpError(1004.0, quotedFrame: 3).Fields("frame.number", "tcp.checksum.status")[4]);
    }

    [Fact]
    public void Filters_see_the_quoted_ports_addresses_and_stream_as_tshark_does()
    {
        var trace = Connection().AddIcmpError(1004.0, quotedFrame: 3).Add(1005.0, false, 5001, 1006, Ack, 1000);
        Assert.Equal([1, 2, 3, 4, 5, 6], Select(trace, "tcp"));
        Assert.Equal([1, 2, 3, 4, 5, 6], Select(trace, "tcp.port == 80"));
        Assert.Equal([5], Select(trace, "ip.src == 192.0.2.254"));
        Assert.Equal([1, 3, 4, 5], Select(trace, "ip.src == 10.0.0.1"));
        Assert.Equal([5], Select(trace, "tcp.seq == 1001"));
        Assert.Equal([5], Select(trace, "ip.proto == 6 && ip.proto == 1"));
    }

    [Fact]
    public void The_summary_line_names_the_ICMP_error_as_tshark_does()
    {
        var lines = Connection().AddIcmpError(1004.0, quotedFrame: 3, code: 4).AddIcmpError(1005.0, quotedFrame: 3, type: 11, code: 0).Summaries();
        Assert.EndsWith("ICMP 87 Destination unreachable (Fragmentation needed)", lines[4], StringComparison.Ordinal);
        Assert.EndsWith("ICMP 87 Time-to-live exceeded (Time to live exceeded in transit)", lines[5], StringComparison.Ordinal);
    }

    private static List<long> Select(Trace trace, string filter)
    {
        var f = TcpKit.Analysis.Filters.DisplayFilter.Compile(filter);
        var selected = new List<long>();
        trace.Each((in TcpKit.Analysis.Fields.FieldContext c) =>
        {
            if (f.Matches(c))
            {
                selected.Add(c.Number);
            }
        });
        return selected;
    }
}
