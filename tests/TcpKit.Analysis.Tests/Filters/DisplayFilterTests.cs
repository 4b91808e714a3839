using TcpKit.Analysis.Filters;
using TcpKit.Analysis.Tests.Support;
using static TcpKit.Wire.Tcp.TcpFlags;

namespace TcpKit.Analysis.Tests.Filters;

public class DisplayFilterTests
{
    private static readonly Trace Handshake = new Trace(41000, 80)
        .Add(0.000, true, 100, 0, Syn, 1000, options: Trace.Options(mss: 1460))
        .Add(0.001, false, 500, 101, Syn | Ack, 1000)
        .Add(0.002, true, 101, 501, Ack, 1000)
        .Add(0.003, true, 101, 501, Psh | Ack, 1000, 10)
        .Add(0.004, true, 101, 501, Psh | Ack, 1000, 10)
        .Add(0.005, false, 501, 111, Fin | Ack, 1000);

    private static List<long> Select(string filter) => Handshake.Select(filter);

    [Theory]
    [InlineData("tcp.flags.syn == 1 ^^ tcp.flags.ack == 1", new long[] { 1, 3, 4, 5, 6 })]
    [InlineData("tcp.flags.syn == 1 xor tcp.flags.ack == 1", new long[] { 1, 3, 4, 5, 6 })]
    [InlineData("tcp.flags.syn == 1 || tcp.flags.fin == 1 && tcp.len > 0", new long[] { 1, 2 })]
    [InlineData("!tcp.flags.ack == 1 || tcp.flags.fin == 1", new long[] { 1, 6 })]
    [InlineData("tcp.analysis.retransmission", new long[] { 5 })]
    [InlineData("tcpkit.state.client == \"CLOSE-WAIT\"", new long[] { 6 })]
    [InlineData("tcpkit.state.server matches \"^fin-wait\"", new long[] { 6 })]
    [InlineData("tcpkit.history contains \"D\"", new long[] { 4, 5, 6 })]
    [InlineData("tcp.port in {79..81} && tcp.len == 10", new long[] { 4, 5 })]
    [InlineData("tcp.options.mss_val", new long[] { 1 })]
    [InlineData("ip.addr == 10.0.0.0/30 && ip.src == 10.0.0.9", new long[] { 2, 6 })]
    public void Filters_follow_Wiresharks_precedence_and_operators(string filter, long[] frames)
    {
        Assert.Equal(frames, Select(filter));
    }

    [Theory]
    [InlineData("tcp.prt == 80", 0, 7, "unknown field \"tcp.prt\" (did you mean \"tcp.port\"?)")]
    [InlineData("tcp.port == ", 12, 1, "the filter ends where a value was expected")]
    [InlineData("(tcp.port == 80", 15, 1, "missing \")\"")]
    [InlineData("tcp.port in {80, 90", 19, 1, "missing \"}\"")]
    [InlineData("tcp.port == 80 $", 15, 1, "unexpected character '$'")]
    public void Bad_filters_are_rejected_at_the_column_of_the_problem(string filter, int column, int length, string message)
    {
        var e = Assert.Throws<FilterException>(() => DisplayFilter.Compile(filter));
        Assert.Equal(message, e.Message);
        Assert.Equal(column, e.Column);
        Assert.Equal(length, e.Length);
    }
}
