using System.Globalization;
using TcpKit.Net.Host;
using TcpKit.Net.Simulation;
using TcpKit.Tcp;
using TcpKit.Wire;

namespace TcpKit.Net.Links;

/// <summary>
/// Everything a TcpKit program on a TUN interface needs, set up in one call: a <see cref="RealTimeEventLoop"/>
/// on its own thread, a <see cref="TunLink"/> whose kernel side has <see cref="KernelAddress"/>, and a
/// <see cref="TcpHost"/> owning <see cref="Address"/>. Use the host's API objects inside
/// <c>Loop.InvokeAsync</c>.
/// </summary>
public sealed class TunStack : IDisposable
{
    private TunStack(RealTimeEventLoop loop, TunLink link, ImpairedLink? impairment, TcpHost host, IpAddress address, IpAddress kernelAddress, int prefixLength)
    {
        Loop = loop;
        Link = link;
        Impairment = impairment;
        Host = host;
        Address = address;
        KernelAddress = kernelAddress;
        PrefixLength = prefixLength;
    }

    public RealTimeEventLoop Loop { get; }

    public TunLink Link { get; }

    /// <summary>The impairments between the host and the device, when asked for; null otherwise.</summary>
    public ImpairedLink? Impairment { get; }

    public TcpHost Host { get; }

    /// <summary>TcpKit's own address.</summary>
    public IpAddress Address { get; }

    /// <summary>The address of the kernel's side of the interface.</summary>
    public IpAddress KernelAddress { get; }

    public int PrefixLength { get; }

    /// <summary>
    /// Creates interface <paramref name="interfaceName"/>, gives the kernel's side <paramref name="kernelAddress"/>
    /// (by default the address after <paramref name="address"/> in the subnet), and starts TcpKit at
    /// <paramref name="address"/>. With <paramref name="impairment"/>, every packet TcpKit sends and every packet
    /// it receives passes an <see cref="ImpairedLink"/> with that profile (each direction on its own).
    /// Throws <see cref="TunException"/> naming what is missing.
    /// </summary>
    public static TunStack Open(string interfaceName, IpAddress address, int prefixLength, IpAddress? kernelAddress = null, int mtu = 1500, TcpConfig? config = null, ulong seed = 0, LinkProfile? impairment = null)
    {
        var kernel = kernelAddress ?? TunLink.NextAddressInSubnet(address, prefixLength);
        if (kernel == address)
        {
            throw new ArgumentException($"TcpKit and the kernel cannot both be {address}.");
        }

        if (!TunLink.SameSubnet(address, kernel, prefixLength))
        {
            throw new ArgumentException($"The kernel's address {kernel} is not in TcpKit's subnet {address}/{prefixLength}, so the kernel would not route TcpKit's address into the interface.");
        }

        var loop = new RealTimeEventLoop();
        TunLink? link = null;
        try
        {
            link = TunLink.Open(interfaceName, loop, mtu);
            link.Configure(kernel, prefixLength);
            if (seed == 0)
            {
                seed = (ulong)Random.Shared.NextInt64();
            }

            var impaired = impairment is null ? null : new ImpairedLink(link, loop, impairment, impairment, seed);
            var host = new TcpHost("tcpkit", impaired ?? (ILink)link, loop, config ?? TcpConfig.Linux, seed);
            host.AddAddress(address);
            loop.Start("tcpkit-loop " + link.Name);
            link.Start();
            return new TunStack(loop, link, impaired, host, address, kernel, prefixLength);
        }
        catch
        {
            link?.Dispose();
            loop.Dispose();
            throw;
        }
    }

    /// <summary>Parses "192.0.2.1/24" (a missing prefix means /24).</summary>
    public static (IpAddress Address, int PrefixLength) ParseCidr(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        int slash = text.IndexOf('/', StringComparison.Ordinal);
        var addressText = slash < 0 ? text : text[..slash];
        if (!IpAddress.TryParse(addressText, out var address) || !address.IsIPv4)
        {
            throw new FormatException($"'{text}' is not an IPv4 address with a prefix length, like 192.0.2.1/24.");
        }

        int prefix = 24;
        if (slash >= 0 && (!int.TryParse(text.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out prefix) || prefix is < 1 or > 30))
        {
            throw new FormatException($"'{text}': the prefix length must be 1..30 (room for TcpKit's and the kernel's address).");
        }

        return (address, prefix);
    }

    /// <summary>
    /// Parses TcpKit's interface address, IPv4 or IPv6, with its prefix length: "192.0.2.1/24" (a missing
    /// prefix means /24) or "2001:db8::1/64" (a missing prefix means /64). The prefix must leave room for
    /// TcpKit's and the kernel's address.
    /// </summary>
    public static (IpAddress Address, int PrefixLength) ParseInterfaceAddress(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        int slash = text.IndexOf('/', StringComparison.Ordinal);
        var addressText = slash < 0 ? text : text[..slash];
        if (!IpAddress.TryParse(addressText, out var address))
        {
            throw new FormatException($"'{text}' is not an address with a prefix length, like 192.0.2.1/24 or 2001:db8::1/64.");
        }

        if (address.IsIPv4)
        {
            return ParseCidr(text);
        }

        int prefix = 64;
        if (slash >= 0 && (!int.TryParse(text.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out prefix) || prefix is < 1 or > 126))
        {
            throw new FormatException($"'{text}': the IPv6 prefix length must be 1..126 (room for TcpKit's and the kernel's address).");
        }

        return (address, prefix);
    }

    /// <summary>Stops the loop and closes the device; the kernel removes the interface.</summary>
    public void Dispose()
    {
        Loop.Dispose();
        Link.Dispose();
    }
}
