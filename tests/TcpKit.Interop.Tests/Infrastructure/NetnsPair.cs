using System.Diagnostics;
using System.Net;
using System.Runtime.InteropServices;

namespace TcpKit.Interop.Tests.Infrastructure;

/// <summary>
/// Two network namespaces joined by a veth pair, created for one test and deleted after it.
/// Addresses come from the benchmark range 198.18.0.0/15 and the documentation prefix 2001:db8::/32,
/// offloads are off so captures show the segments the kernel's TCP really sent.
/// </summary>
internal sealed partial class NetnsPair : IDisposable
{
    public static readonly IPAddress AddressA = IPAddress.Parse("198.18.0.1");
    public static readonly IPAddress AddressB = IPAddress.Parse("198.18.0.2");
    public static readonly IPAddress Address6A = IPAddress.Parse("2001:db8::1");
    public static readonly IPAddress Address6B = IPAddress.Parse("2001:db8::2");

    private readonly List<Process> _captures = [];

    private NetnsPair(string prefix)
    {
        NsA = prefix + "a";
        NsB = prefix + "b";
    }

    public string NsA { get; }

    public string NsB { get; }

    public const string IfA = "tkv0";

    public const string IfB = "tkv1";

    /// <summary>Why namespace tests cannot run here, or null when they can.</summary>
    public static string? UnavailableReason()
    {
        if (!Tool.IsRoot)
        {
            return "needs root to create network namespaces";
        }

        if (!Tool.Exists("ip"))
        {
            return "needs iproute2 (ip)";
        }

        return null;
    }

    public static NetnsPair Create()
    {
        var pair = new NetnsPair($"tk{Environment.ProcessId % 100000}x{Random.Shared.Next(1000, 9999)}");
        try
        {
            pair.Setup();
            return pair;
        }
        catch
        {
            pair.Dispose();
            throw;
        }
    }

    private void Setup()
    {
        Tool.Run("ip", "netns", "add", NsA);
        Tool.Run("ip", "netns", "add", NsB);
        Tool.Run("ip", "link", "add", IfA, "netns", NsA, "type", "veth", "peer", "name", IfB, "netns", NsB);
        foreach (var (ns, ifname, v4, v6) in new[] { (NsA, IfA, AddressA, Address6A), (NsB, IfB, AddressB, Address6B) })
        {
            Tool.Run("ip", "-n", ns, "link", "set", "lo", "up");
            Tool.Run("ip", "-n", ns, "addr", "add", $"{v4}/24", "dev", ifname);
            Tool.Run("ip", "-n", ns, "addr", "add", $"{v6}/64", "dev", ifname, "nodad");
            // No router solicitations or MLD reports: the captures should hold our traffic only.
            Tool.RunFull("ip", ["netns", "exec", ns, "sysctl", "-qw", $"net.ipv6.conf.{ifname}.router_solicitations=0"]);
            Tool.RunFull("ip", ["netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.force_mld_version=2"]);
            if (Tool.Exists("ethtool"))
            {
                Tool.RunFull("ip", ["netns", "exec", ns, "ethtool", "-K", ifname, "tso", "off", "gso", "off", "gro", "off", "tx", "off", "rx", "off"]);
            }

            Tool.Run("ip", "-n", ns, "link", "set", ifname, "up");
        }

        // Resolve neighbours up front so captures do not start with ARP/ND.
        Tool.RunFull("ip", ["netns", "exec", NsA, "ping", "-c1", "-W1", AddressB.ToString()]);
        Tool.RunFull("ip", ["-n", NsA, "neigh", "replace", Address6B.ToString(), "lladdr", MacOf(NsB, IfB), "dev", IfA]);
        Tool.RunFull("ip", ["-n", NsB, "neigh", "replace", Address6A.ToString(), "lladdr", MacOf(NsA, IfA), "dev", IfB]);
    }

    private static string MacOf(string ns, string ifname)
    {
        var text = Tool.Run("ip", "-n", ns, "-br", "link", "show", ifname);
        return text.Split(' ', StringSplitOptions.RemoveEmptyEntries)[2];
    }

    /// <summary>Runs <paramref name="action"/> on a fresh thread that has joined namespace <paramref name="ns"/>.
    /// Sockets created there belong to that namespace and may be used from any thread afterwards.</summary>
    public static T InNamespace<T>(string ns, Func<T> action)
    {
        T result = default!;
        Exception? error = null;
        var thread = new Thread(() =>
        {
            try
            {
                using var handle = File.OpenHandle($"/var/run/netns/{ns}");
                if (SetNs((int)handle.DangerousGetHandle(), CloneNewNet) != 0)
                {
                    throw new InvalidOperationException($"setns({ns}) failed: errno {Marshal.GetLastPInvokeError()}");
                }

                result = action();
            }
            catch (Exception e)
            {
                error = e;
            }
        });
        thread.Start();
        thread.Join();
        if (error is not null)
        {
            throw new InvalidOperationException($"in namespace {ns}: {error.Message}", error);
        }

        return result;
    }

    /// <summary>Starts a capture on one side and waits until it is listening.</summary>
    public void StartCapture(string ns, string ifname, string path, string tool = "tcpdump", int snaplen = 262144)
    {
        string[] args = tool switch
        {
            "tcpdump" => ["netns", "exec", ns, "tcpdump", "-i", ifname, "-s", snaplen.ToString(), "-w", path, "--immediate-mode", "-U"],
            "dumpcap" => ["netns", "exec", ns, "dumpcap", "-i", ifname, "-s", snaplen.ToString(), "-w", path, "-q"],
            _ => throw new ArgumentException(tool),
        };
        var psi = new ProcessStartInfo("ip") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        var p = Process.Start(psi)!;
        _captures.Add(p);
        var ready = new ManualResetEventSlim();
        p.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null && (e.Data.Contains("listening on", StringComparison.Ordinal) || e.Data.Contains("Capturing on", StringComparison.Ordinal)))
            {
                ready.Set();
            }
        };
        p.BeginErrorReadLine();
        p.BeginOutputReadLine();
        // dumpcap -q prints nothing; give it time to open the interface and write its header.
        if (!ready.Wait(TimeSpan.FromSeconds(tool == "dumpcap" ? 1.5 : 10)) && tool == "tcpdump")
        {
            throw new InvalidOperationException("tcpdump did not start listening");
        }
    }

    /// <summary>Stops every capture (SIGINT so they flush) and waits for their files.</summary>
    public void StopCaptures()
    {
        Thread.Sleep(200);
        foreach (var p in _captures)
        {
            if (!p.HasExited)
            {
                _ = Kill(p.Id, 2);
            }
        }

        foreach (var p in _captures)
        {
            if (!p.WaitForExit(10_000))
            {
                p.Kill(true);
            }

            p.Dispose();
        }

        _captures.Clear();
    }

    public void Dispose()
    {
        StopCaptures();
        Tool.RunFull("ip", ["netns", "del", NsA]);
        Tool.RunFull("ip", ["netns", "del", NsB]);
    }

    private const int CloneNewNet = 0x40000000;

    [LibraryImport("libc", EntryPoint = "setns", SetLastError = true)]
    private static partial int SetNs(int fd, int nstype);

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int sig);
}
