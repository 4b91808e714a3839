using System.CommandLine;
using SharpPcap;
using SharpPcap.LibPcap;
using TcpKit.Analysis;
using TcpKit.Analysis.Conversations;
using TcpKit.Analysis.Fields;
using TcpKit.Analysis.Filters;
using TcpKit.Analysis.Output;
using TcpKit.Analysis.Output.Ladder;
using TcpKit.Wire;
using TcpKit.Wire.Capture;

namespace TcpKit.Cli.Commands;

/// <summary>
/// <c>tcpkit capture -i IFACE [-f BPF] [-Y FILTER] [-w OUT] [-c N] [--ladder]</c>: live capture through libpcap
/// (SharpPcap), each packet run through the analyzer as it arrives and printed as <c>tcpkit read</c> prints a
/// file (relative sequence numbers, analysis flags), or with <c>--ladder</c> drawn as <c>tcpkit ladder</c> draws
/// a stream, row by row. A display filter (-Y, Wireshark syntax) selects what is shown and written.
/// </summary>
internal static partial class CaptureCommand
{
    public static Command Create()
    {
        var iface = new Option<string?>("--interface", "-i") { Description = "Interface to capture on (e.g. tk0, eth0)" };
        var filter = new Option<string?>("--filter", "-f") { Description = "Capture filter (BPF, as in tcpdump), e.g. \"tcp port 9999\"" };
        var write = new Option<string?>("--write", "-w") { Description = "Also write the packets to this pcapng file" };
        var count = new Option<long>("--count", "-c") { Description = "Stop after this many packets (0: until Ctrl+C)" };
        var bufferSize = new Option<int>("--buffer-size", "-B") { Description = "Kernel capture buffer in KiB, as tcpdump -B (default 8192); packets that arrive while it is full are dropped and counted", DefaultValueFactory = _ => DefaultBufferKiB };
        var list = new Option<bool>("--list-interfaces", "-D") { Description = "List the interfaces libpcap can capture on" };
        var displayFilter = new Option<string?>("--display-filter", "-Y") { Description = "Display filter (Wireshark syntax), e.g. \"tcp.analysis.retransmission\"; only matching packets are shown and written" };
        var ladder = new Option<bool>("--ladder") { Description = "Draw each TCP segment as a ladder row (as tcpkit ladder does), live, with both endpoints' states" };
        var color = new Option<string>("--color") { Description = "Colour in --ladder: auto (when stdout is a terminal), always or never", DefaultValueFactory = _ => "auto" };
        color.AcceptOnlyFromAmong("auto", "always", "never");
        var command = new Command("capture", "Live capture on an interface, analysed as it arrives (libpcap through SharpPcap); Ctrl+C stops")
        {
            iface, filter, displayFilter, write, count, bufferSize, ladder, color, list,
        };
        command.SetAction(parse =>
        {
            DisplayFilter? display = null;
            if (parse.GetValue(displayFilter) is string filterText)
            {
                try
                {
                    display = DisplayFilter.Compile(filterText);
                }
                catch (FilterException e)
                {
                    return Cli.Fail("invalid display filter: " + e.Describe());
                }
            }

            IReadOnlyList<LibPcapLiveDevice> devices;
            try
            {
                devices = [.. LibPcapLiveDeviceList.New()];
            }
            catch (Exception e) when (e is DllNotFoundException or PcapException or TypeInitializationException)
            {
                return Cli.Fail($"libpcap is not available: {e.Message}. Install it (apt install libpcap0.8).");
            }

            if (parse.GetValue(list))
            {
                foreach (var d in devices)
                {
                    Console.Out.WriteLine(string.IsNullOrEmpty(d.Description) ? d.Name : $"{d.Name} ({d.Description})");
                }

                return 0;
            }

            var name = parse.GetValue(iface);
            if (name is null)
            {
                return Cli.Fail("give the interface to capture on with -i (tcpkit capture -D lists them)");
            }

            var device = devices.FirstOrDefault(d => d.Name == name);
            if (device is null)
            {
                return Cli.Fail($"no interface named {name} (tcpkit capture -D lists them)");
            }

            long limit = parse.GetValue(count);
            if (limit < 0)
            {
                return Cli.Fail("--count must not be negative");
            }

            LiveLadder? live = null;
            if (parse.GetValue(ladder))
            {
                bool useColor = parse.GetValue(color) switch
                {
                    "always" => true,
                    "never" => false,
                    _ => !Console.IsOutputRedirected && Environment.GetEnvironmentVariable("NO_COLOR") is null,
                };
                live = new LiveLadder(new LadderOptions { Color = useColor, Width = Console.IsOutputRedirected ? 120 : Math.Max(100, SafeWindowWidth()), StateWidth = LiveLadder.StateWidth });
            }

            int bufferKiB = parse.GetValue(bufferSize);
            if (bufferKiB is < 1 or > 1 << 20)
            {
                return Cli.Fail("--buffer-size must be 1..1048576 KiB");
            }

            return Run(device, parse.GetValue(filter), display, live, parse.GetValue(write), limit, bufferKiB << 10);
        });
        return command;
    }

    private static int Run(LibPcapLiveDevice device, string? filter, DisplayFilter? display, LiveLadder? ladder, string? writePath, long limit, int bufferBytes)
    {
        try
        {
            device.Open(Configuration(DefaultSnaplen, bufferBytes));

            // libpcap sizes the kernel's ring frames by the snapshot length for every link type but Ethernet, so
            // on a TUN device (raw IP) 256 KiB frames left a 2 MiB ring with room for 8 packets: a reader held up
            // for a moment (the ladder's first rows, a loaded machine) lost the packets after them, typically a
            // connection's last ACK. Raw IP packets on such a link never exceed its MTU, so the frames can be that
            // small (about 4,000 of them fit the default 8 MiB at MTU 1500).
            if (ToLinkType((int)device.LinkType) == LinkType.Raw && InterfaceMtu(device.Name) is int mtu && mtu < DefaultSnaplen)
            {
                device.Close();
                device.Open(Configuration(mtu, bufferBytes));
            }
        }
        catch (PcapException e)
        {
            return Cli.Fail($"cannot capture on {device.Name}: {e.Message}. Capturing needs root or CAP_NET_RAW.");
        }

        using (device)
        {
            if (filter is not null)
            {
                try
                {
                    device.Filter = filter;
                }
                catch (PcapException e)
                {
                    return Cli.Fail($"bad capture filter \"{filter}\": {e.Message}");
                }
            }

            var link = ToLinkType((int)device.LinkType);
            PcapngWriter? writer = null;
            int writerInterface = 0;
            if (writePath is not null)
            {
                try
                {
                    writer = PcapngWriter.Create(writePath);
                    writerInterface = writer.AddInterface(link, name: device.Name);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    return Cli.Fail($"cannot write {writePath}: {e.Message}");
                }
            }

            using var stop = new CancellationTokenSource();
            void OnCancel(object? sender, ConsoleCancelEventArgs e)
            {
                e.Cancel = true;
                stop.Cancel();
            }

            Console.CancelKeyPress += OnCancel;
            var output = Console.Out;
            Console.Error.WriteLine($"Capturing on {device.Name}{(filter is null ? string.Empty : $" ({filter})")}{(display is null ? string.Empty : $", showing {display.Text}")}; Ctrl+C stops");
            var analyzer = new LiveAnalyzer(link);
            var printer = new SummaryPrinter();
            long shown = 0;
            uint drops = 0;
            var resolution = device.TimestampResolution;
            try
            {
                while (!stop.IsCancellationRequested && (limit == 0 || analyzer.Count < limit))
                {
                    // pcap_next_ex itself, as tcpdump reads: libpcap checks the ring's next frame and waits up to
                    // the read timeout on its own, where SharpPcap's GetNextPacket adds a poll(2) of its own before
                    // every packet.
                    IntPtr headerPointer = IntPtr.Zero, dataPointer = IntPtr.Zero;
                    int status = device.GetNextPacketPointers(ref headerPointer, ref dataPointer);
                    if (status == 0)
                    {
                        // While idle, remember the kernel's drop count: once the interface is gone (a TUN device
                        // whose program exited) the statistics can no longer be read.
                        drops = KernelDrops(device) ?? drops;
                        continue;
                    }

                    if (status != 1)
                    {
                        break; // the interface went away (e.g. a TUN device whose program exited), or an error
                    }

                    var header = PcapHeader.FromPointer(headerPointer, resolution);
                    var time = header.Timeval;
                    long ns = ((long)time.Seconds * 1_000_000_000) + ((long)time.MicroSeconds * 1000);
                    ReadOnlySpan<byte> data;
                    unsafe
                    {
                        data = new ReadOnlySpan<byte>((void*)dataPointer, (int)header.CaptureLength);
                    }

                    var context = analyzer.Next(data, ns);
                    if (display is not null && !display.Matches(context))
                    {
                        continue;
                    }

                    shown++;
                    if (ladder is null)
                    {
                        output.WriteLine(printer.Format(context, 6));
                    }
                    else
                    {
                        ladder.Write(output, context);
                    }

                    output.Flush();
                    writer?.WritePacket(writerInterface, ns, data);
                }
            }
            finally
            {
                Console.CancelKeyPress -= OnCancel;
                writer?.Dispose();
            }

            Console.Error.WriteLine($"{analyzer.Count} packets captured" + (display is null ? string.Empty : $", {shown} shown") + (writePath is null ? string.Empty : $", {(display is null ? string.Empty : "those ")}written to {writePath}") + DropNote(KernelDrops(device) ?? drops));
            return 0;
        }
    }

    /// <summary>
    /// What <see cref="CapturePipeline"/> does for a file, for packets that arrive one by one from libpcap:
    /// decode, assign to a conversation, keep the capture-relative clock.
    /// </summary>
    private sealed class LiveAnalyzer(LinkType link)
    {
        private readonly ConversationTracker _tracker = new();
        private long _first = long.MinValue;
        private long _previous;

        public long Count { get; private set; }

        public FieldContext Next(ReadOnlySpan<byte> data, long timestampNs)
        {
            Count++;
            if (_first == long.MinValue)
            {
                _first = timestampNs;
                _previous = timestampNs;
            }

            var status = PacketDecoder.Decode(link, data, out var decoded);
            var analysis = status == DecodeStatus.Ok ? _tracker.Observe(decoded, data, Count, timestampNs, data.Length) : default;
            long delta = timestampNs - _previous;
            _previous = timestampNs;
            return new FieldContext(data, link, Count, data.Length, timestampNs - _first, delta, status, decoded, analysis);
        }
    }

    /// <summary>tcpdump's and Wireshark's default snapshot length: whole packets, offloaded aggregates included.</summary>
    private const int DefaultSnaplen = 262144;

    /// <summary>
    /// Immediate mode: each packet is handed over as it arrives, so the lines appear live.
    /// </summary>
    private static DeviceConfiguration Configuration(int snaplen, int bufferBytes) =>
        new() { Mode = DeviceModes.Promiscuous, ReadTimeout = 100, Immediate = true, Snaplen = snaplen, BufferSize = bufferBytes };

    /// <summary>
    /// 8 MiB rather than libpcap's 2 MiB, so that a display that falls behind for a moment (a slow terminal, the
    /// ladder's first rows) loses nothing on a busy Ethernet link, whose frames libpcap sizes for 64 KiB aggregates.
    /// </summary>
    private const int DefaultBufferKiB = 8192;

    /// <summary>The interface's MTU as the calling process's network namespace sees it (SIOCGIFMTU), or null when unknown.</summary>
    private static unsafe int? InterfaceMtu(string name)
    {
        if (!OperatingSystem.IsLinux() || name.Length >= 16)
        {
            return null;
        }

        int sock = Libc.Socket(2 /* AF_INET */, 2 /* SOCK_DGRAM */, 0);
        if (sock < 0)
        {
            return null;
        }

        try
        {
            // struct ifreq: a 16-byte name, then the union whose first int is ifr_mtu.
            byte* ifreq = stackalloc byte[40];
            new Span<byte>(ifreq, 40).Clear();
            System.Text.Encoding.ASCII.GetBytes(name, new Span<byte>(ifreq, 15));
            const uint SiocGIfMtu = 0x8921;
            if (Libc.Ioctl(sock, SiocGIfMtu, ifreq) < 0)
            {
                return null;
            }

            int mtu = *(int*)(ifreq + 16);
            return mtu is >= 68 and <= 65535 ? mtu : null;
        }
        finally
        {
            _ = Libc.Close(sock);
        }
    }

    private static unsafe partial class Libc
    {
        [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "socket")]
        public static partial int Socket(int domain, int type, int protocol);

        [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "ioctl")]
        public static partial int Ioctl(int fd, nuint request, byte* arg);

        [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "close")]
        public static partial int Close(int fd);
    }

    /// <summary>
    /// Packets the kernel dropped because the capture's ring was full (pcap_stats ps_drop), as tcpdump reports
    /// them: a capture that falls behind must say so rather than look complete.
    /// </summary>
    private static unsafe uint? KernelDrops(LibPcapLiveDevice device)
    {
        // libpcap's own pcap_stats: SharpPcap's Statistics reads struct pcap_stat with pointer-sized fields, but on
        // Linux its counters are 32-bit (u_int), so the drop count it reports is another field's.
        var pcapStats = PcapStats.Value;
        if (pcapStats == IntPtr.Zero)
        {
            return null;
        }

        bool added = false;
        var handle = device.Handle;
        try
        {
            handle.DangerousAddRef(ref added);
            PcapStat stat;
            int result = ((delegate* unmanaged<IntPtr, PcapStat*, int>)pcapStats)(handle.DangerousGetHandle(), &stat);
            return result == 0 ? stat.Drop : null; // an error: no statistics any more (the interface went away)
        }
        catch (ObjectDisposedException)
        {
            return null;
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    /// <summary>pcap_stats from the libpcap SharpPcap loads (the process has it once a device is open).</summary>
    private static readonly Lazy<IntPtr> PcapStats = new(() =>
    {
        foreach (var name in (string[])["libpcap.so.1", "libpcap.so.0.8", "libpcap.so", "libpcap.dylib", "wpcap"])
        {
            if (System.Runtime.InteropServices.NativeLibrary.TryLoad(name, out var library)
                && System.Runtime.InteropServices.NativeLibrary.TryGetExport(library, "pcap_stats", out var export))
            {
                return export;
            }
        }

        return IntPtr.Zero;
    });

    /// <summary>struct pcap_stat as libpcap declares it on Unix: three u_int counters.</summary>
    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential)]
    private struct PcapStat
    {
        public uint Received;
        public uint Drop;
        public uint InterfaceDrop;
    }

    private static string DropNote(uint drops) =>
        drops == 0 ? string.Empty : $", {drops} dropped by the kernel (the capture fell behind; a larger --buffer-size helps)";

    private static int SafeWindowWidth()
    {
        try
        {
            return Console.WindowWidth;
        }
        catch (IOException)
        {
            return 120;
        }
    }

    /// <summary>pcap_datalink() gives DLT_ values; the few that differ from LINKTYPE_ values are mapped here.</summary>
    private static LinkType ToLinkType(int dlt) => dlt switch
    {
        12 or 14 => LinkType.Raw, // DLT_RAW (Linux 12, some BSDs 14): what a TUN interface gives
        _ => (LinkType)dlt,
    };
}
