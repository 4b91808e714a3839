using TcpKit.Analysis.Filters;
using TcpKit.Analysis.Tests.Support;
using static TcpKit.Wire.Tcp.TcpFlags;

namespace TcpKit.Analysis.Tests.Filters;

/// <summary>
/// ${field} refers to a field of the frame selected in Wireshark's packet list; reading a capture from the
/// command line there is none (tshark 4.0 alike), so a reference has no value: comparisons with it are false.
/// </summary>
public class FieldReferenceTests
{
    private static readonly Trace Handshake = new Trace(41000, 80)
        .Add(0.000, true, 100, 0, Syn, 1000)
        .Add(0.001, false, 500, 101, Syn | Ack, 1000)
        .Add(0.002, true, 101, 501, Ack, 1000);

    private static List<long> Select(string filter) => Handshake.Select(filter);

    [Theory]
    [InlineData("tcp.srcport == ${tcp.srcport}", new long[0])]
    [InlineData("tcp.srcport != ${tcp.srcport}", new long[0])]
    [InlineData("${tcp.srcport} == 41000", new long[0])]
    [InlineData("tcp.srcport > ${tcp.dstport} + 1", new long[0])]
    [InlineData("!(tcp.srcport == ${tcp.srcport})", new long[] { 1, 2, 3 })]
    [InlineData("tcp.flags.syn == 1 || ip.src == ${ip.dst}", new long[] { 1, 2 })]
    public void A_reference_without_a_selected_frame_has_no_value(string filter, long[] frames) => Assert.Equal(frames, Select(filter));

    [Theory]
    [InlineData("tcp.srcport == ${ip.src}", 12, 2, "\"tcp.srcport\" (Unsigned integer (2 bytes)) and \"ip.src\" (IPv4 address) cannot be compared")]
    [InlineData("tcp.srcport == ${tcp.srcprt}", 15, 13, "\"tcp.srcprt\" is neither a field nor a display filter macro (did you mean \"tcp.srcport\"?)")]
    [InlineData("tcp.srcport == ${ tcp.dstport }", 17, 1, "invalid character in macro name")]
    [InlineData("tcp.srcport == ${tcp.dstport", 15, 13, "missing \"}\" after \"${\"")]
    [InlineData("tcp.srcport == ${}", 15, 3, "a field reference needs a field name: ${tcp.port}")]
    public void Bad_references_are_rejected_at_their_column(string filter, int column, int length, string message)
    {
        var e = Assert.Throws<FilterException>(() => DisplayFilter.Compile(filter));
        Assert.Equal(message, e.Message);
        Assert.Equal(column, e.Column);
        Assert.Equal(length, e.Length);
    }
}
