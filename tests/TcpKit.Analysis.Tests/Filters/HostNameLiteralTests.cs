using TcpKit.Analysis.Filters;
using TcpKit.Analysis.Tests.Support;
using static TcpKit.Wire.Tcp.TcpFlags;

namespace TcpKit.Analysis.Tests.Filters;

/// <summary>
/// Host names in address literals resolve once, when the filter is compiled (the hosts file maps "localhost"
/// to 127.0.0.1 on every Linux machine), as Wireshark does with network name resolution on.
/// </summary>
public class HostNameLiteralTests
{
    private static readonly Trace Loopback = new Trace(41000, 80, client: "127.0.0.1", server: "10.0.0.9")
        .Add(0.000, true, 100, 0, Syn, 1000)
        .Add(0.001, false, 500, 101, Syn | Ack, 1000)
        .Add(0.002, true, 101, 501, Ack, 1000);

    private static List<long> Select(string filter) => Loopback.Select(filter);

    [Theory]
    [InlineData("ip.src == localhost", new long[] { 1, 3 })]
    [InlineData("ip.dst == localhost", new long[] { 2 })]
    [InlineData("ip.src != localhost", new long[] { 2 })]
    [InlineData("ip.src in {localhost, 10.0.0.1}", new long[] { 1, 3 })]
    public void A_host_name_stands_for_its_address(string filter, long[] frames) => Assert.Equal(frames, Select(filter));

    [Theory]
    [InlineData("ip.addr == nosuchhost.invalid", 11, 18, "\"nosuchhost.invalid\" is not a valid hostname or IPv4 address")]
    [InlineData("ip.addr == \"localhost\"", 11, 11, "IPv4 address cannot be converted from a string (\"localhost\")")]
    [InlineData("ipv6.addr == \"::1\"", 13, 5, "IPv6 address cannot be converted from a string (\"::1\")")]
    [InlineData("eth.src == \"00:00:00:00:00:01\"", 11, 19, "Ethernet or other MAC address cannot be converted from a string (\"00:00:00:00:00:01\")")]
    [InlineData("ip.addr == local_host", 11, 10, "\"local_host\" is not a valid hostname or IPv4 address")]
    public void Names_that_do_not_resolve_are_rejected_at_their_column(string filter, int column, int length, string message)
    {
        var e = Assert.Throws<FilterException>(() => DisplayFilter.Compile(filter));
        Assert.Equal(message, e.Message);
        Assert.Equal(column, e.Column);
        Assert.Equal(length, e.Length);
    }
}
