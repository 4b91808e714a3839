using TcpKit.Net.Host;
using TcpKit.Net.Links;
using TcpKit.Wire;

namespace TcpKit.Net.Tests.RealTime;

public class TunSetupTests
{
    [Theory]
    [InlineData("192.0.2.1/24", "192.0.2.1", 24)]
    [InlineData("10.1.2.3/16", "10.1.2.3", 16)]
    [InlineData("198.18.0.1", "198.18.0.1", 24)]
    public void An_address_with_a_prefix_parses_into_address_and_prefix_length(string text, string address, int prefix)
    {
        var (a, p) = TunStack.ParseCidr(text);
        Assert.Equal(IpAddress.Parse(address), a);
        Assert.Equal(prefix, p);
    }

    [Theory]
    [InlineData("192.0.2.1/31")]
    [InlineData("192.0.2.1/0")]
    [InlineData("192.0.2.1/x")]
    [InlineData("2001:db8::1/64")]
    [InlineData("not-an-address/24")]
    public void A_bad_address_or_prefix_is_rejected_with_a_format_error(string text)
    {
        var e = Assert.Throws<FormatException>(() => TunStack.ParseCidr(text));
        Assert.Contains(text, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("192.0.2.1", 24, "192.0.2.2")]
    [InlineData("192.0.2.9", 29, "192.0.2.10")]
    [InlineData("10.0.0.255", 16, "10.0.1.0")]
    public void The_kernels_default_address_is_the_next_one_in_the_subnet(string address, int prefix, string expected)
    {
        Assert.Equal(IpAddress.Parse(expected), TunLink.NextAddressInSubnet(IpAddress.Parse(address), prefix));
    }

    [Theory]
    [InlineData("192.0.2.254", 24)] // the next one is the broadcast address
    [InlineData("192.0.2.7", 29)]   // the next one is outside the subnet
    public void Without_a_usable_next_address_the_kernel_address_must_be_given(string address, int prefix)
    {
        Assert.Throws<ArgumentException>(() => TunLink.NextAddressInSubnet(IpAddress.Parse(address), prefix));
    }

    [Theory]
    [InlineData("")]
    [InlineData("a-name-that-is-far-too-long")]
    [InlineData("tk/0")]
    [InlineData("tk 0")]
    public void An_impossible_interface_name_is_rejected_before_touching_the_device(string name)
    {
        using var loop = new RealTimeEventLoop();
        Assert.Throws<ArgumentException>(() => TunLink.Open(name, loop));
    }
}
