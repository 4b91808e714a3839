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
/// A reader thread waits with poll(2), reads every packet that is ready straight into a ring of
/// preallocated slots (no per-packet allocation), and posts one drain per batch to the event loop, which
/// hands each packet to the receiver on the loop thread, so a <see cref="TcpHost"/> sees its packets on
/// its own thread. <see cref="Send"/> writes one packet with write(2) and is called on the loop.
/// When the loop falls behind and the ring fills, the reader stops reading and the kernel's queue for
/// the device (txqueuelen) absorbs or drops, as it would for a slow NIC.
/// The device lives in the network namespace of the thread that calls <see cref="Open"/>, and
/// <see cref="Configure"/> configures the interface seen from the calling thread's namespace.
/// </remarks>
public sealed unsafe class TunLink : ILink, IDisposable
{
    private const int RingSize = 1024;
    private const int MaxBatch = 64;

    private readonly IEventLoop _loop;
    private readonly byte[][] _slots;
    private readonly int[] _lengths = new int[RingSize];
    private readonly Instant[] _times = new Instant[RingSize];
    private readonly Action _drain;
    private readonly ManualResetEventSlim _space = new(false);
    private int _fd;
    private int _wakeFd;
    private Thread? _reader;
    private volatile bool _stopping;
    private ILinkReceiver? _receiver;
    private long _head; // next slot the loop delivers (written by the loop)
    private long _tail; // next slot the reader fills (written by the reader)
    private int _drainScheduled;

    private TunLink(string name, int fd, int wakeFd, int mtu, IEventLoop loop)
    {
        Name = name;
        _fd = fd;
        _wakeFd = wakeFd;
        Mtu = mtu;
        _loop = loop;
        // One spare byte per slot shows a packet larger than the MTU instead of silently truncating it.
        _slots = new byte[RingSize][];
        for (int i = 0; i < RingSize; i++)
        {
            _slots[i] = new byte[mtu + 1];
        }

        _drain = Drain;
    }

    /// <summary>The interface name the kernel gave the device (the requested one, or tunN).</summary>
    public string Name { get; }

    public int Mtu { get; }

    public LinkType LinkType => LinkType.Raw;

    public long PacketsReceived { get; private set; }

    /// <summary>Reads that returned packets: PacketsReceived / ReadBatches is the mean batch size.</summary>
    public long ReadBatches { get; private set; }

    public long PacketsSent { get; private set; }

    /// <summary>Packets that arrived while no receiver was set.</summary>
    public long DroppedNoReceiver { get; private set; }

    /// <summary>Packets larger than the MTU (received or offered to Send), dropped.</summary>
    public long DroppedOversize { get; private set; }

    /// <summary>write(2) failures (for example, the interface is down), each packet dropped.</summary>
    public long SendErrors { get; private set; }

    /// <summary>Set when the reader stopped on an unexpected error.</summary>
    public string? ReaderError { get; private set; }

    /// <summary>
    /// Creates (or attaches to) TUN interface <paramref name="name"/> in the calling thread's network
    /// namespace. Throws <see cref="TunException"/> naming what is missing when that is not possible.
    /// </summary>
    public static TunLink Open(string name, IEventLoop loop, int mtu = 1500)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(loop);
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("TUN links need Linux (/dev/net/tun).");
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
        int wakeFd = TunNative.EventFd(0, TunNative.EfdNonBlock | TunNative.EfdCloExec);
        if (wakeFd < 0)
        {
            int errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            TunNative.Close(fd);
            throw new TunException($"eventfd failed: {TunNative.Describe(errno)}", errno);
        }

        return new TunLink(actualName, fd, wakeFd, mtu, loop);
    }

    /// <summary>
    /// Gives the kernel's side of the interface <paramref name="kernelAddress"/>/<paramref name="prefixLength"/>
    /// (so the kernel routes the subnet, TcpKit's address included, into the device), sets the MTU and
    /// brings the interface up. IPv4; uses the SIOCSIF* ioctls in the calling thread's namespace.
    /// </summary>
    public void Configure(IpAddress kernelAddress, int prefixLength)
    {
        if (!kernelAddress.IsIPv4)
        {
            throw new NotSupportedException("TunLink.Configure assigns IPv4 addresses; give the interface an IPv6 address with 'ip -6 addr add ... dev " + Name + "'.");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(prefixLength, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(prefixLength, 31);
        int sock = TunNative.Socket(TunNative.AfInet, TunNative.SockDgram, 0);
        if (sock < 0)
        {
            int errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            throw new TunException($"cannot create a socket to configure {Name}: {TunNative.Describe(errno)}", errno);
        }

        try
        {
            Span<byte> address = stackalloc byte[4];
            kernelAddress.WriteTo(address);
            Span<byte> mask = stackalloc byte[4];
            uint bits = prefixLength == 0 ? 0 : uint.MaxValue << (32 - prefixLength);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(mask, bits);

            Span<byte> ifreq = stackalloc byte[TunNative.IfReqSize];
            ifreq.Clear();
            TunNative.WriteName(ifreq, Name);
            TunNative.WriteSockaddrIn(ifreq, address);
            IfIoctl(sock, TunNative.SiocSIfAddr, ifreq, $"assigning {kernelAddress} to {Name}");

            TunNative.WriteSockaddrIn(ifreq, mask);
            IfIoctl(sock, TunNative.SiocSIfNetmask, ifreq, $"setting netmask /{prefixLength} on {Name}");

            ifreq[TunNative.IfNameSize..].Clear();
            System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(ifreq[TunNative.IfNameSize..], Mtu);
            IfIoctl(sock, TunNative.SiocSIfMtu, ifreq, $"setting MTU {Mtu} on {Name}");

            ifreq[TunNative.IfNameSize..].Clear();
            IfIoctl(sock, TunNative.SiocGIfFlags, ifreq, $"reading the flags of {Name}");
            ifreq[TunNative.IfNameSize] |= (byte)TunNative.IffUp;
            IfIoctl(sock, TunNative.SiocSIfFlags, ifreq, $"bringing {Name} up");
        }
        finally
        {
            TunNative.Close(sock);
        }
    }

    /// <summary>Starts the reader thread; packets then flow to the receiver on the loop.</summary>
    public void Start()
    {
        ObjectDisposedException.ThrowIf(_fd < 0, this);
        if (_reader is not null)
        {
            return;
        }

        _reader = new Thread(ReadLoop) { IsBackground = true, Name = "tun-reader " + Name };
        _reader.Start();
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
        if (!address.IsIPv4)
        {
            throw new NotSupportedException("Only IPv4 subnets are supported.");
        }

        Span<byte> bytes = stackalloc byte[4];
        address.WriteTo(bytes);
        uint value = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(bytes);
        uint hostMask = prefixLength >= 32 ? 0 : uint.MaxValue >> prefixLength;
        uint next = value + 1;
        // The next address must stay in the subnet and not be its broadcast address.
        if ((next & ~hostMask) != (value & ~hostMask) || (next & hostMask) == hostMask)
        {
            throw new ArgumentException($"{address}/{prefixLength} has no next address for the kernel's side; give one explicitly.");
        }

        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(bytes, next);
        return IpAddress.FromIPAddress(new System.Net.IPAddress(bytes));
    }

    /// <summary>Stops the reader and closes the device (the kernel then deletes the interface).</summary>
    public void Dispose()
    {
        if (_stopping)
        {
            return;
        }

        _stopping = true;
        if (_wakeFd >= 0)
        {
            ulong one = 1;
            _ = TunNative.Write(_wakeFd, (byte*)&one, 8);
        }

        _space.Set();
        _reader?.Join();
        int fd = Interlocked.Exchange(ref _fd, -1);
        if (fd >= 0)
        {
            TunNative.Close(fd);
        }

        int wake = Interlocked.Exchange(ref _wakeFd, -1);
        if (wake >= 0)
        {
            TunNative.Close(wake);
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

    private void ReadLoop()
    {
        var fds = stackalloc TunNative.PollFd[2];
        fds[0] = new TunNative.PollFd { Fd = _fd, Events = TunNative.PollIn };
        fds[1] = new TunNative.PollFd { Fd = _wakeFd, Events = TunNative.PollIn };
        while (!_stopping)
        {
            fds[0].Revents = 0;
            fds[1].Revents = 0;
            if (TunNative.Poll(fds, 2, -1) < 0)
            {
                int errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
                if (errno == TunNative.EIntr)
                {
                    continue;
                }

                ReaderError = "poll: " + TunNative.Describe(errno);
                return;
            }

            if (_stopping || fds[1].Revents != 0)
            {
                return;
            }

            if (fds[0].Revents == 0)
            {
                continue;
            }

            if ((fds[0].Revents & TunNative.PollIn) == 0)
            {
                ReaderError = $"poll reported revents 0x{fds[0].Revents:x} on the TUN device";
                return;
            }

            if (!ReadBatch())
            {
                return;
            }
        }
    }

    /// <summary>Reads what is ready (up to a batch) into free ring slots and schedules one drain.</summary>
    private bool ReadBatch()
    {
        int read = 0;
        while (read < MaxBatch)
        {
            if (_tail - Volatile.Read(ref _head) == RingSize)
            {
                // The loop is behind: publish what we have, then wait for space.
                ScheduleDrain();
                _space.Reset();
                if (_tail - Volatile.Read(ref _head) == RingSize)
                {
                    _space.Wait();
                }

                if (_stopping)
                {
                    return false;
                }

                continue;
            }

            int index = (int)(_tail & (RingSize - 1));
            byte[] slot = _slots[index];
            nint n;
            fixed (byte* p = slot)
            {
                n = TunNative.Read(_fd, p, (nuint)slot.Length);
            }

            if (n < 0)
            {
                int errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
                if (errno == TunNative.EIntr)
                {
                    continue;
                }

                if (errno == TunNative.EAgain)
                {
                    break;
                }

                ReaderError = "read: " + TunNative.Describe(errno);
                ScheduleDrain();
                return false;
            }

            if (n > Mtu)
            {
                DroppedOversize++;
                continue;
            }

            _lengths[index] = (int)n;
            _times[index] = _loop.Now;
            Volatile.Write(ref _tail, _tail + 1);
            read++;
        }

        if (read > 0)
        {
            ReadBatches++;
            ScheduleDrain();
        }

        return true;
    }

    private void ScheduleDrain()
    {
        if (Interlocked.CompareExchange(ref _drainScheduled, 1, 0) == 0)
        {
            _loop.Post(_drain);
        }
    }

    /// <summary>On the loop: hands every published packet to the receiver, oldest first.</summary>
    private void Drain()
    {
        // Clear the flag before reading the tail: a packet published after this read schedules a new drain.
        Interlocked.Exchange(ref _drainScheduled, 0);
        long tail = Volatile.Read(ref _tail);
        long head = _head;
        while (head < tail)
        {
            int index = (int)(head & (RingSize - 1));
            PacketsReceived++;
            var receiver = _receiver;
            if (receiver is null)
            {
                DroppedNoReceiver++;
            }
            else
            {
                receiver.OnPacket(_slots[index].AsSpan(0, _lengths[index]), _times[index]);
            }

            head++;
            Volatile.Write(ref _head, head);
        }

        _space.Set();
    }
}
