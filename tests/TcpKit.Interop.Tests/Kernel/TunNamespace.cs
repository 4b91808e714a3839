using System.Net;
using System.Net.Sockets;
using TcpKit.Interop.Tests.Infrastructure;
using TcpKit.Net.Host;
using TcpKit.Net.Links;
using TcpKit.Net.Simulation;
using TcpKit.Tcp;
using TcpKit.Wire;

namespace TcpKit.Interop.Tests.Kernel;

/// <summary>
/// One network namespace, created for a test and deleted after it, holding a TUN interface whose kernel
/// side is <see cref="KernelAddress"/> and whose far side is a TcpKit host at <see cref="TcpKitAddress"/>,
/// driven by a real-time event loop. Kernel sockets made with <see cref="KernelSocket"/> live in the namespace.
/// </summary>
internal sealed class TunNamespace : IDisposable
{
    public const string Interface = "tk0";

    public static readonly IPAddress TcpKitAddress = IPAddress.Parse("192.0.2.1");
    public static readonly IPAddress KernelAddress = IPAddress.Parse("192.0.2.2");

    public static readonly IPAddress TcpKitAddress6 = IPAddress.Parse("2001:db8::1");
    public static readonly IPAddress KernelAddress6 = IPAddress.Parse("2001:db8::2");

    private TunNamespace(string ns)
    {
        Namespace = ns;
    }

    public string Namespace { get; }

    public RealTimeEventLoop Loop { get; } = new();

    public TunLink Link { get; private set; } = null!;

    public TcpHost Host { get; private set; } = null!;

    /// <summary>The impairments between the host and the device, when the namespace was created with some.</summary>
    public ImpairedLink? Impairment { get; private set; }

    /// <summary>Whether TcpKit and the kernel talk IPv6 (2001:db8::/64) rather than IPv4 (192.0.2.0/24).</summary>
    public bool IsIPv6 { get; private set; }

    /// <summary>TcpKit's address in this namespace's IP version.</summary>
    public IPAddress TcpKit => IsIPv6 ? TcpKitAddress6 : TcpKitAddress;

    /// <summary>The kernel's address in this namespace's IP version.</summary>
    public IPAddress Kernel => IsIPv6 ? KernelAddress6 : KernelAddress;

    /// <summary>Why these tests cannot run here, or null when they can.</summary>
    public static string? UnavailableReason()
    {
        if (NetnsPair.UnavailableReason() is { } reason)
        {
            return reason;
        }

        return File.Exists("/dev/net/tun") ? null : "needs /dev/net/tun";
    }

    /// <summary>Skips the calling test, with the reason, when namespaces or TUN are not available.</summary>
    public static void SkipUnlessAvailable()
    {
        var reason = UnavailableReason();
        Skip.If(reason is not null, reason);
    }

    /// <summary>A namespace with only its loopback interface (for running the tcpkit CLI inside it).</summary>
    public static TunNamespace CreateEmpty()
    {
        var ns = new TunNamespace($"tkt{Environment.ProcessId % 100000}x{Random.Shared.Next(1000, 9999)}");
        Tool.Run("ip", "netns", "add", ns.Namespace);
        Tool.Run("ip", "-n", ns.Namespace, "link", "set", "lo", "up");
        return ns;
    }

    /// <summary>
    /// A namespace with TcpKit on tk0: IPv4 192.0.2.1 (kernel .2/24) or, with <paramref name="ipv6"/>, 2001:db8::1
    /// (kernel ::2/64). With <paramref name="impairment"/>, both directions of TcpKit's side pass an
    /// <see cref="ImpairedLink"/> with that profile.
    /// </summary>
    public static TunNamespace Create(TcpConfig? config = null, int mtu = 1500, bool ipv6 = false, LinkProfile? impairment = null, ulong seed = 1)
    {
        var ns = CreateEmpty();
        ns.IsIPv6 = ipv6;
        try
        {
            // The device belongs to the namespace of the thread that creates it.
            ns.Link = NetnsPair.InNamespace(ns.Namespace, () =>
            {
                var link = TunLink.Open(Interface, ns.Loop, mtu);
                link.Configure(IpAddress.FromIPAddress(ns.Kernel), ipv6 ? 64 : 24);
                return link;
            });
            ILink hostLink = ns.Link;
            if (impairment is not null)
            {
                ns.Impairment = new ImpairedLink(ns.Link, ns.Loop, impairment, impairment, seed);
                hostLink = ns.Impairment;
            }

            ns.Host = new TcpHost("tcpkit", hostLink, ns.Loop, config ?? TcpConfig.Linux, seed: seed);
            ns.Host.AddAddress(IpAddress.FromIPAddress(ns.TcpKit));
            ns.Loop.Start();
            ns.Link.Start();
            return ns;
        }
        catch
        {
            ns.Dispose();
            throw;
        }
    }

    /// <summary>A kernel TCP socket in the namespace.</summary>
    public Socket KernelSocket() =>
        NetnsPair.InNamespace(Namespace, () => new Socket(IsIPv6 ? AddressFamily.InterNetworkV6 : AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));

    /// <summary>A kernel listening socket in the namespace on the kernel's address.</summary>
    public Socket KernelListener(int port, int backlog = 128)
    {
        var s = KernelSocket();
        s.Bind(new IPEndPoint(Kernel, port));
        s.Listen(backlog);
        return s;
    }

    /// <summary>Runs a program inside the namespace and returns its output.</summary>
    public string Exec(params string[] args) => Tool.Run("ip", ["netns", "exec", Namespace, .. args]);

    public void Dispose()
    {
        Loop.Dispose();
        Impairment?.Dispose();
        Link?.Dispose();
        Tool.RunFull("ip", ["netns", "del", Namespace]);
    }
}
