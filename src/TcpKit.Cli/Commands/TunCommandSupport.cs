using System.CommandLine;
using System.Globalization;
using System.Text;
using TcpKit.Net.Host;
using TcpKit.Net.Links;
using TcpKit.Net.Simulation;
using TcpKit.Wire;
using TcpKit.Wire.Tcp;

namespace TcpKit.Cli.Commands;

/// <summary>
/// What serve and connect share: the TUN and impairment options, opening the stack from them, waiting for
/// closing handshakes and the link summary.
/// </summary>
internal static class TunCommandSupport
{
    internal sealed record TunOptions(
        Option<string> Tun,
        Option<string> Addr,
        Option<string?> KernelAddr,
        Option<int> Mtu,
        Option<double> Loss,
        Option<double> Delay,
        Option<double> Jitter,
        Option<double> Reorder,
        Option<double> Duplicate,
        Option<ulong> Seed,
        Option<int> SendBuffer)
    {
        /// <summary>Every option, in help order.</summary>
        public IEnumerable<Option> All => [Tun, Addr, KernelAddr, Mtu, SendBuffer, Loss, Delay, Jitter, Reorder, Duplicate, Seed];
    }

    /// <summary>
    /// The default send buffer of serve and connect. Larger than the 64 KiB window TcpKit can be offered
    /// without window scaling, so that data is already queued when an ACK opens the window and the next
    /// segments go out from the ACK's own processing, instead of after the writer's continuation has run.
    /// (Linux autotunes its send buffer between 16 KiB and 4 MiB.)
    /// </summary>
    public const int DefaultSendBuffer = 256 * 1024;

    public static TunOptions CreateOptions() => new(
        new Option<string>("--tun") { Description = "Name of the TUN interface to create (e.g. tk0)", Required = true },
        new Option<string>("--addr") { Description = "TcpKit's own address with the subnet's prefix length, e.g. 192.0.2.1/24 or 2001:db8::1/64", Required = true },
        new Option<string?>("--kernel-addr") { Description = "The kernel's address on the interface (default: the next address in the subnet)" },
        new Option<int>("--mtu") { Description = "MTU of the interface (576..65535; IPv6 needs 1280 or more)", DefaultValueFactory = _ => 1500 },
        new Option<double>("--loss") { Description = "Drop this percentage of packets at random, in each direction, on TcpKit's side" },
        new Option<double>("--delay") { Description = "Delay every packet by this many milliseconds, in each direction, on TcpKit's side" },
        new Option<double>("--jitter") { Description = "Vary the delay uniformly by up to this many milliseconds (never reorders by itself)" },
        new Option<double>("--reorder") { Description = "Hold back this percentage of packets by 1 ms extra so later ones overtake them" },
        new Option<double>("--duplicate") { Description = "Deliver this percentage of packets twice" },
        new Option<ulong>("--impair-seed") { Description = "Seed of the impairments' random decisions (default: random)" },
        new Option<int>("--send-buffer") { Description = "TcpKit's send buffer per connection, in bytes", DefaultValueFactory = _ => DefaultSendBuffer });

    /// <summary>Adds the shared options to <paramref name="command"/>.</summary>
    public static void AddTo(Command command, TunOptions options)
    {
        foreach (var option in options.All)
        {
            command.Options.Add(option);
        }
    }

    /// <summary>Reads the impairment options into a profile; null when there is nothing to impair.</summary>
    public static LinkProfile? ReadImpairment(ParseResult parse, TunOptions options)
    {
        double loss = parse.GetValue(options.Loss), delay = parse.GetValue(options.Delay), jitter = parse.GetValue(options.Jitter);
        double reorder = parse.GetValue(options.Reorder), duplicate = parse.GetValue(options.Duplicate);
        CheckPercent(loss, "--loss");
        CheckPercent(reorder, "--reorder");
        CheckPercent(duplicate, "--duplicate");
        if (!(delay >= 0 && delay <= 60_000) || !(jitter >= 0 && jitter <= 60_000))
        {
            throw new ArgumentException("--delay and --jitter must be 0..60000 ms");
        }

        if (loss == 0 && delay == 0 && jitter == 0 && reorder == 0 && duplicate == 0)
        {
            return null;
        }

        return new LinkProfile
        {
            LossRate = loss / 100,
            Delay = TimeSpan.FromMilliseconds(delay),
            Jitter = TimeSpan.FromMilliseconds(jitter),
            ReorderProbability = reorder / 100,
            DuplicateProbability = duplicate / 100,
        };

        static void CheckPercent(double value, string name)
        {
            if (!(value >= 0 && value <= 100))
            {
                throw new ArgumentException($"{name} must be a percentage, 0..100");
            }
        }
    }

    /// <summary>Reads the file given with --send, if any, whole (it is sent as one write).</summary>
    public static bool TryReadFile(string? path, out byte[]? contents, out int failure)
    {
        contents = null;
        failure = 0;
        if (path is null)
        {
            return true;
        }

        try
        {
            contents = File.ReadAllBytes(path);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            failure = Cli.Fail($"cannot read {path}: {e.Message}");
            return false;
        }
    }

    /// <summary>The status line both commands print once the interface is up.</summary>
    public static string Describe(TunStack stack) =>
        string.Create(CultureInfo.InvariantCulture, $"interface {stack.Link.Name} is up (MTU {stack.Link.Mtu}); the kernel is {stack.KernelAddress}/{stack.PrefixLength}, TcpKit is {stack.Address}");

    public static bool TryOpen(ParseResult parse, TunOptions options, out TunStack? stack, out int failure)
    {
        stack = null;
        failure = 0;
        try
        {
            var (address, prefix) = TunStack.ParseInterfaceAddress(parse.GetValue(options.Addr)!);
            IpAddress? kernel = null;
            if (parse.GetValue(options.KernelAddr) is { } k)
            {
                if (!IpAddress.TryParse(k, out var parsed) || parsed.IsIPv4 != address.IsIPv4)
                {
                    failure = Cli.Fail($"--kernel-addr '{k}' is not an {(address.IsIPv4 ? "IPv4" : "IPv6")} address like --addr");
                    return false;
                }

                kernel = parsed;
            }

            var impairment = ReadImpairment(parse, options);
            ulong seed = parse.GetValue(options.Seed);
            int sendBuffer = parse.GetValue(options.SendBuffer);
            if (sendBuffer is < 1 or > 64 << 20)
            {
                failure = Cli.Fail("--send-buffer must be 1 byte .. 64 MiB");
                return false;
            }

            var config = TcpKit.Tcp.TcpConfig.Linux with { SendBufferSize = sendBuffer };
            stack = TunStack.Open(parse.GetValue(options.Tun)!, address, prefix, kernel, parse.GetValue(options.Mtu), config, seed, impairment);
            if (impairment is not null)
            {
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"tcpkit: impairing each direction on TcpKit's side: loss {impairment.LossRate * 100} %, delay {impairment.Delay.TotalMilliseconds} ms +- {impairment.Jitter.TotalMilliseconds} ms, reorder {impairment.ReorderProbability * 100} %, duplicate {impairment.DuplicateProbability * 100} %"));
            }

            return true;
        }
        catch (Exception e) when (e is TunException or FormatException or ArgumentException or NotSupportedException)
        {
            failure = Cli.Fail(e.Message);
            return false;
        }
    }

    /// <summary>After closing, waits (a few seconds at most, or until a second Ctrl+C) for each connection to finish its closing handshake.</summary>
    public static async Task WaitForClosingHandshakes(TunStack stack, Task interrupt, TextWriter output, StatePrinter printer)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (DateTime.UtcNow < deadline && !interrupt.IsCompleted)
        {
            bool busy = await stack.Loop.InvokeAsync(() => stack.Host.Connections.Any(c => c.State is not (TcpState.TimeWait or TcpState.Closed))).ConfigureAwait(false);
            if (!busy)
            {
                break;
            }

            await Task.WhenAny(Task.Delay(50), interrupt).ConfigureAwait(false);
        }

        var left = await stack.Loop.InvokeAsync(() => stack.Host.Connections.Select(c => c.ToString()).ToList()).ConfigureAwait(false);
        foreach (var c in left)
        {
            output.WriteLine($"{printer.Stamp()}  leaving {c}" + (c.EndsWith("TIME-WAIT", StringComparison.Ordinal) ? $" (2*MSL = {stack.Host.Config.TimeWaitDuration.TotalSeconds} s; the interface goes away with us)" : string.Empty));
        }
    }

    public static void PrintLinkSummary(TunStack stack, TextWriter output)
    {
        var link = stack.Link;
        var host = stack.Host;
        var drops = new StringBuilder();
        foreach (var reason in Enum.GetValues<HostDropReason>())
        {
            if (host.Counters.Drops(reason) is > 0 and var n)
            {
                drops.Append(CultureInfo.InvariantCulture, $"{(drops.Length == 0 ? "; dropped " : ", ")}{n} {reason}");
            }
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{link.Name}: {link.PacketsReceived} packets in ({link.ReadBatches} reads), {link.PacketsSent} out; host sent {host.Counters.ResetsSent} RSTs to unknown connections{drops}"));
        if (stack.Impairment is { } impaired)
        {
            output.WriteLine($"impairments: TcpKit -> kernel {impaired.Outbound}; kernel -> TcpKit {impaired.Inbound}");
        }

        output.Flush();
    }
}

