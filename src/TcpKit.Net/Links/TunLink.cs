using System.Net.Sockets;
using TcpKit.Net.Host;
using TcpKit.Wire;

namespace TcpKit.Net.Links;

/// <summary>A TUN device could not be opened or configured; the message names what is missing.</summary>
public sealed class TunException(string message, int errno = 0) : IOException(message)
{
    /// <summary>The errno of the failing call, or 0.</summary>
    public int Errno { get; } = errno;
}

/// <summary>
/// A Linux TUN interface (<c>/dev/net/tun</c>, IFF_TUN | IFF_NO_PI) as a link: the kernel routes IP
/// packets for TcpKit's address into the device and TcpKit's packets come out of it as if they had
/// arrived from a point-to-point peer. The kernel's end of the interface carries its own address, so
/// the kernel's programs (nc, curl, a .NET Socket) talk to TcpKit through it.
/// </summary>
/// <remarks>
/// The device is read on the event loop's own thread: the loop's poll(2) watches it, and when it is
/// readable the link reads every ready packet (up to <see cref="MaxBatch"/> per wake-up) into one
/// reused buffer and hands each straight to the receiver. No thread hop, no copy into a ring, no
/// allocation per packet. A receiver that is an <see cref="ILinkBatchReceiver"/> (a <see cref="TcpHost"/>)
/// is told where each batch starts and ends, so it answers in-order data with one ACK per batch. <see cref="Send"/> writes one packet with write(2); TUN has no vectored
/// multi-packet write without virtio headers and GSO, so that is one system call per packet, but
/// no wake-up of any other thread. When the loop falls behind, the kernel's queue for the device
/// (txqueuelen, which <see cref="Configure"/> raises to <see cref="TxQueueLength"/>) absorbs or drops,
/// as it would for a slow NIC.
/// The device lives in the network namespace of the thread that calls <see cref="Open"/>, and
/// <see cref="Configure"/> configures the interface seen from the calling thread's namespace.
/// </remarks>
public sealed unsafe class TunLink : ILink, IDisposable
{
    /// <summary>Most packets read per wake-up before timers and posted work get their turn.</summary>
    public const int MaxBatch = 64;

    /// <summary>Kernel-side queue of the device, in packets (the TUN default is 500; veth has 1000).</summary>
    public const int TxQueueLength = 1000;

    private readonly RealTimeEventLoop _loop;
    private readonly byte[] _buffer;
    private readonly Action _onReadable;
    private int _fd;
    private IDisposable? _watch;
    private bool _disposed;
    private ILinkReceiver? _receiver;

    private TunLink(string name, int fd, int mtu, RealTimeEventLoop loop)
    {
        Name = name;
        _fd = fd;
        Mtu = mtu;
        _loop = loop;
        // One spare byte shows a packet larger than the MTU instead of silently truncating it.
        _buffer = GC.AllocateUninitializedArray<byte>(mtu + 1, pinned: true);
        _onReadable = OnReadable;
    }

    /// <summary>The interface name the kernel gave the device (the requested one, or tunN).</summary>
    public string Name { get; }

    public int Mtu { get; }

    public LinkType LinkType => LinkType.Raw;

    public long PacketsReceived { get; private set; }

    /// <summary>Wake-ups that read packets: PacketsReceived / ReadBatches is the mean batch size.</summary>
    public long ReadBatches { get; private set; }

    public long PacketsSent { get; private set; }

    /// <summary>Packets that arrived while no receiver was set.</summary>
    public long DroppedNoReceiver { get; private set; }

    /// <summary>Packets larger than the MTU (received or offered to Send), dropped.</summary>
    public long DroppedOversize { get; private set; }

    /// <summary>write(2) failures (for example, the interface is down), each packet dropped.</summary>
    public long SendErrors { get; private set; }

    /// <summary>Set when reading stopped on an unexpected error.</summary>
    public string? ReaderError { get; private set; }

    /// <summary>
    /// Creates (or attaches to) TUN interface <paramref name="name"/> in the calling thread's network
    /// namespace. Throws <see cref="TunException"/> naming what is missing when that is not possible.
    /// </summary>
    public static TunLink Open(string name, RealTimeEventLoop loop, int mtu = 1500)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(loop);
        if (!OperatingSystem.IsLinux() || !loop.CanWatchDescriptors)
        {
            throw new PlatformNotSupportedException("TUN links need Linux (/dev/net/tun, poll and eventfd).");
        }

        if (name.Length is 0 or >= TunNative.IfNameSize || name.Contains('/', StringComparison.Ordinal) || name.Any(char.IsWhiteSpace))
        {
            throw new ArgumentException($"'{name}' is not a valid interface name (1 to 15 characters, no '/' or spaces).", nameof(name));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(mtu, 576);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(mtu, 65535);

        int fd = TunNative.Open("/dev/net/tun", TunNative.ORdWr | TunNative.ONonBlock | TunNative.OCloExec);
        if (fd < 0)
        {
            int errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            throw errno switch
            {
                TunNative.ENoEnt => new TunException("/dev/net/tun does not exist: load the tun module (modprobe tun), or in a container pass the device (docker run --device /dev/net/tun --cap-add NET_ADMIN).", errno),
                TunNative.EAcces or TunNative.EPerm => new TunException($"cannot open /dev/net/tun: {TunNative.Describe(errno)}. Run as root (sudo) or give the program CAP_NET_ADMIN.", errno),
                TunNative.ENoDev or TunNative.ENxIo => new TunException($"/dev/net/tun exists but the kernel has no TUN driver: {TunNative.Describe(errno)}. Load it with modprobe tun.", errno),
                _ => new TunException($"cannot open /dev/net/tun: {TunNative.Describe(errno)}", errno),
            };
        }

        Span<byte> ifreq = stackalloc byte[TunNative.IfReqSize];
        ifreq.Clear();
        TunNative.WriteName(ifreq, name);
        System.Buffers.Binary.BinaryPrimitives.WriteInt16LittleEndian(ifreq[TunNative.IfNameSize..], TunNative.IffTun | TunNative.IffNoPi);
        fixed (byte* p = ifreq)
        {
            if (TunNative.Ioctl(fd, TunNative.TunSetIff, p) < 0)
            {
                int errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
                TunNative.Close(fd);
                throw errno switch
                {
                    TunNative.EPerm or TunNative.EAcces => new TunException($"creating TUN interface {name} needs CAP_NET_ADMIN: {TunNative.Describe(errno)}. Run as root (sudo) or grant the capability (setcap cap_net_admin+ep).", errno),
                    TunNative.EBusy => new TunException($"interface {name} is already in use by another program.", errno),
                    TunNative.EInval => new TunException($"interface {name} exists and is not a TUN device (or has other flags): {TunNative.Describe(errno)}.", errno),
                    _ => new TunException($"TUNSETIFF {name} failed: {TunNative.Describe(errno)}", errno),
                };
            }
        }

        int actual = ifreq[..TunNative.IfNameSize].IndexOf((byte)0);
        string actualName = System.Text.Encoding.ASCII.GetString(ifreq[..(actual < 0 ? TunNative.IfNameSize : actual)]);
        return new TunLink(actualName, fd, mtu, loop);
    }

    /// <summary>
    /// Gives the kernel's side of the interface <paramref name="kernelAddress"/>/<paramref name="prefixLength"/>
    /// (so the kernel routes the subnet, TcpKit's address included, into the device), sets the MTU and the
    /// queue length and brings the interface up. IPv4 through the SIOCSIF* ioctls; IPv6 through SIOCSIFADDR
    /// with a struct in6_ifreq on an AF_INET6 socket. Both act in the calling thread's namespace.
    /// </summary>
    public void Configure(IpAddress kernelAddress, int prefixLength)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(prefixLength, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(prefixLength, kernelAddress.IsIPv4 ? 31 : 127);
        if (!kernelAddress.IsIPv4 && Mtu < 1280)
        {
            throw new ArgumentException($"IPv6 needs an MTU of at least 1280 (RFC 8200 section 5); {Name} has {Mtu}.");
        }

        int sock = TunNative.Socket(kernelAddress.IsIPv4 ? TunNative.AfInet : TunNative.AfInet6, TunNative.SockDgram, 0);
        if (sock < 0)
        {
            int errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            string hint = kernelAddress.IsIPv4 ? string.Empty : " (is IPv6 disabled in this kernel?)";
            throw new TunException($"cannot create a socket to configure {Name}: {TunNative.Describe(errno)}{hint}", errno);
        }

        try
        {
            Span<byte> ifreq = stackalloc byte[TunNative.IfReqSize];
            ifreq.Clear();
            TunNative.WriteName(ifreq, Name);
            System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(ifreq[TunNative.IfNameSize..], Mtu);
            IfIoctl(sock, TunNative.SiocSIfMtu, ifreq, $"setting MTU {Mtu} on {Name}");

            ifreq[TunNative.IfNameSize..].Clear();
            System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(ifreq[TunNative.IfNameSize..], TxQueueLength);
            IfIoctl(sock, TunNative.SiocSIfTxQLen, ifreq, $"setting txqueuelen {TxQueueLength} on {Name}");

            if (kernelAddress.IsIPv4)
            {
                Span<byte> address = stackalloc byte[4];
                kernelAddress.WriteTo(address);
                Span<byte> mask = stackalloc byte[4];
                System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(mask, uint.MaxValue << (32 - prefixLength));
                TunNative.WriteSockaddrIn(ifreq, address);
                IfIoctl(sock, TunNative.SiocSIfAddr, ifreq, $"assigning {kernelAddress} to {Name}");
                TunNative.WriteSockaddrIn(ifreq, mask);
                IfIoctl(sock, TunNative.SiocSIfNetmask, ifreq, $"setting netmask /{prefixLength} on {Name}");
            }

            ifreq[TunNative.IfNameSize..].Clear();
            IfIoctl(sock, TunNative.SiocGIfFlags, ifreq, $"reading the flags of {Name}");
            ifreq[TunNative.IfNameSize] |= (byte)TunNative.IffUp;
            IfIoctl(sock, TunNative.SiocSIfFlags, ifreq, $"bringing {Name} up");

            if (!kernelAddress.IsIPv4)
            {
                ifreq[TunNative.IfNameSize..].Clear();
                IfIoctl(sock, TunNative.SiocGIfIndex, ifreq, $"looking up the index of {Name}");
                int index = System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(ifreq[TunNative.IfNameSize..]);

                // struct in6_ifreq { struct in6_addr addr; u32 prefixlen; int ifindex; }. A TUN interface is
                // IFF_NOARP, so the kernel skips duplicate address detection and the address is usable at once.
                Span<byte> in6 = stackalloc byte[TunNative.In6IfReqSize];
                in6.Clear();
                kernelAddress.WriteTo(in6);
                System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(in6[16..], (uint)prefixLength);
                System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(in6[20..], index);
                IfIoctl(sock, TunNative.SiocSIfAddr, in6, $"assigning {kernelAddress}/{prefixLength} to {Name}");
            }
        }
        finally
        {
            TunNative.Close(sock);
        }
    }

    /// <summary>Starts watching the device on the loop; packets then flow to the receiver on the loop thread.</summary>
    public void Start()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _watch ??= _loop.WatchReadable(_fd, _onReadable);
    }

    public void SetReceiver(ILinkReceiver? receiver) => _receiver = receiver;

    /// <summary>Writes one IP packet into the device, i.e. delivers it to the kernel. Call on the loop.</summary>
    public void Send(ReadOnlySpan<byte> ipPacket)
    {
        if (ipPacket.Length > Mtu)
        {
            DroppedOversize++;
            return;
        }

        int fd = _fd;
        if (fd < 0)
        {
            SendErrors++;
            return;
        }

        fixed (byte* p = ipPacket)
        {
            while (true)
            {
                nint n = TunNative.Write(fd, p, (nuint)ipPacket.Length);
                if (n >= 0)
                {
                    PacketsSent++;
                    return;
                }

                if (System.Runtime.InteropServices.Marshal.GetLastPInvokeError() != TunNative.EIntr)
                {
                    SendErrors++;
                    return;
                }
            }
        }
    }

    /// <summary>The address after <paramref name="address"/> in its subnet (the default kernel address); throws when there is none.</summary>
    public static IpAddress NextAddressInSubnet(IpAddress address, int prefixLength)
    {
        Span<byte> bytes = stackalloc byte[16];
        int length = address.WriteTo(bytes);
        bytes = bytes[..length];
        int bits = length * 8;
        UInt128 value = ReadBigEndian(bytes);
        UInt128 hostMask = prefixLength >= bits ? UInt128.Zero : (UInt128.One << (bits - prefixLength)) - 1;
        UInt128 next = value + 1;
        // The next address must stay in the subnet and, in IPv4, not be its broadcast address.
        if ((next & ~hostMask) != (value & ~hostMask) || (address.IsIPv4 && (next & hostMask) == hostMask))
        {
            throw new ArgumentException($"{address}/{prefixLength} has no next address for the kernel's side; give one explicitly.");
        }

        for (int i = length - 1; i >= 0; i--)
        {
            bytes[i] = (byte)next;
            next >>= 8;
        }

        return IpAddress.FromIPAddress(new System.Net.IPAddress(bytes));
    }

    /// <summary>Whether <paramref name="a"/> and <paramref name="b"/> are the same IP version and share the first <paramref name="prefixLength"/> bits.</summary>
    public static bool SameSubnet(IpAddress a, IpAddress b, int prefixLength)
    {
        Span<byte> x = stackalloc byte[16];
        Span<byte> y = stackalloc byte[16];
        int n = a.WriteTo(x);
        if (b.WriteTo(y) != n || prefixLength > n * 8)
        {
            return false;
        }

        int bits = n * 8;
        UInt128 mask = prefixLength == 0 ? UInt128.Zero : ~((UInt128.One << (bits - prefixLength)) - 1) & (bits == 128 ? UInt128.MaxValue : (UInt128.One << bits) - 1);
        return (ReadBigEndian(x[..n]) & mask) == (ReadBigEndian(y[..n]) & mask);
    }

    private static UInt128 ReadBigEndian(ReadOnlySpan<byte> bytes)
    {
        UInt128 value = UInt128.Zero;
        foreach (byte b in bytes)
        {
            value = (value << 8) | b;
        }

        return value;
    }

    /// <summary>Stops watching the device and closes it (the kernel then deletes the interface).</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        // Once the watch is gone the loop no longer polls the descriptor, so closing it cannot race a read.
        _watch?.Dispose();
        int fd = Interlocked.Exchange(ref _fd, -1);
        if (fd >= 0)
        {
            TunNative.Close(fd);
        }
    }

    private static void IfIoctl(int sock, uint request, Span<byte> ifreq, string what)
    {
        fixed (byte* p = ifreq)
        {
            if (TunNative.Ioctl(sock, request, p) < 0)
            {
                int errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
                string hint = errno is TunNative.EPerm or TunNative.EAcces ? " Configuring interfaces needs root or CAP_NET_ADMIN." : string.Empty;
                throw new TunException($"{what} failed: {TunNative.Describe(errno)}.{hint}", errno);
            }
        }
    }

    /// <summary>
    /// On the loop, when poll says the device is readable: reads what is ready, up to a batch, and hands
    /// each packet to the receiver before reading the next into the same buffer.
    /// </summary>
    private void OnReadable()
    {
        int fd = _fd;
        if (fd < 0 || ReaderError is not null)
        {
            return;
        }

        // One clock read per wake-up: the packets of a batch arrived together (reading the clock per packet
        // cost 3 % of the loop in a profile), and the batch is read within microseconds.
        var now = _loop.Now;
        var batchReceiver = _receiver as ILinkBatchReceiver;
        batchReceiver?.OnBatchStart();
        int read = 0;
        try
        {
            ReadBatch(fd, now, ref read);
        }
        finally
        {
            // Also when a receiver threw: what it deferred is answered, and no later packet is taken for part of this batch.
            batchReceiver?.OnBatchEnd(now);
        }

        if (read > 0)
        {
            ReadBatches++;
        }
    }

    private void ReadBatch(int fd, Instant now, ref int read)
    {
        while (read < MaxBatch)
        {
            nint n;
            fixed (byte* p = _buffer)
            {
                n = TunNative.Read(fd, p, (nuint)_buffer.Length);
            }

            if (n < 0)
            {
                int errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
                if (errno == TunNative.EIntr)
                {
                    continue;
                }

                if (errno != TunNative.EAgain)
                {
                    // Not recoverable (the device went away): stop watching rather than spin on poll.
                    ReaderError = "read: " + TunNative.Describe(errno);
                    _watch?.Dispose();
                }

                break;
            }

            read++;
            if (n > Mtu)
            {
                DroppedOversize++;
                continue;
            }

            PacketsReceived++;

            var receiver = _receiver;
            if (receiver is null)
            {
                DroppedNoReceiver++;
                continue;
            }

            receiver.OnPacket(_buffer.AsSpan(0, (int)n), now);
        }
    }
}
