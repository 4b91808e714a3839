using System.Runtime.InteropServices;

namespace TcpKit.Net.Links;

/// <summary>The few libc calls a TUN link needs (Linux, x86-64 and arm64 ABI constants).</summary>
internal static unsafe partial class TunNative
{
    public const int ORdWr = 0x2;
    public const int ONonBlock = 0x800;
    public const int OCloExec = 0x80000;

    public const int EPerm = 1;
    public const int ENoEnt = 2;
    public const int EIntr = 4;
    public const int ENxIo = 6;
    public const int EAgain = 11;
    public const int EAcces = 13;
    public const int EBusy = 16;
    public const int ENoDev = 19;
    public const int EInval = 22;

    // linux/if_tun.h: _IOW('T', 202, int)
    public const uint TunSetIff = 0x400454ca;
    public const short IffTun = 0x0001;
    public const short IffNoPi = 0x1000;

    // linux/sockios.h
    public const uint SiocGIfFlags = 0x8913;
    public const uint SiocSIfFlags = 0x8914;
    public const uint SiocSIfAddr = 0x8916;
    public const uint SiocSIfNetmask = 0x891c;
    public const uint SiocSIfMtu = 0x8922;
    public const uint SiocGIfIndex = 0x8933;
    public const uint SiocSIfTxQLen = 0x8943;
    public const short IffUp = 0x1;

    public const int AfInet = 2;
    public const int AfInet6 = 10;
    public const int SockDgram = 2;

    public const short PollIn = 0x1;
    public const int EfdNonBlock = 0x800;
    public const int EfdCloExec = 0x80000;

    /// <summary>struct ifreq: a 16-byte name, then a 24-byte union (flags, sockaddr or MTU).</summary>
    public const int IfReqSize = 40;
    public const int IfNameSize = 16;

    /// <summary>struct in6_ifreq (linux/ipv6.h): a 16-byte address, a u32 prefix length, an int interface index.</summary>
    public const int In6IfReqSize = 24;

    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    public static partial int Ioctl(int fd, nuint request, byte* arg);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    public static partial nint Read(int fd, byte* buffer, nuint count);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    public static partial nint Write(int fd, byte* buffer, nuint count);

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    public static partial int Poll(PollFd* fds, nuint count, int timeoutMs);

    [LibraryImport("libc", EntryPoint = "socket", SetLastError = true)]
    public static partial int Socket(int domain, int type, int protocol);

    [LibraryImport("libc", EntryPoint = "eventfd", SetLastError = true)]
    public static partial int EventFd(uint initval, int flags);

    [LibraryImport("libc", EntryPoint = "strerror")]
    private static partial nint StrError(int errnum);

    public static string Describe(int errno) => (Marshal.PtrToStringUTF8(StrError(errno)) ?? "error") + $" (errno {errno})";

    /// <summary>Writes an interface name into an ifreq, NUL-terminated.</summary>
    public static void WriteName(Span<byte> ifreq, string name)
    {
        ifreq[..IfNameSize].Clear();
        int n = System.Text.Encoding.ASCII.GetBytes(name, ifreq[..(IfNameSize - 1)]);
        ifreq[n] = 0;
    }

    /// <summary>Writes a struct sockaddr_in for an IPv4 address at the union of an ifreq.</summary>
    public static void WriteSockaddrIn(Span<byte> ifreq, ReadOnlySpan<byte> address4)
    {
        var sa = ifreq[IfNameSize..];
        sa.Clear();
        sa[0] = AfInet; // sa_family, little-endian short on every Linux .NET supports
        sa[1] = 0;
        address4.CopyTo(sa[4..8]);
    }
}
