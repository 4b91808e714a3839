using System.Runtime.InteropServices;

namespace TcpKit.Net.Packetdrill;

/// <summary>The libc socket calls the kernel target makes (Linux x86-64/arm64 ABI values).</summary>
internal static unsafe partial class KernelNative
{
    public const int AfInet = 2;
    public const int AfInet6 = 10;
    public const int SockStream = 1;
    public const int SockNonBlock = 0x800;
    public const int SockCloExec = 0x80000;
    public const int CloneNewNet = 0x40000000;
    public const int MsgNoSignal = 0x4000;
    public const int SolSocket = 1;
    public const int SoError = 4;
    public const int SoLinger = 13;
    public const int IpProtoTcp = 6;
    public const int TcpInfo = 11;
    public const int EAgain = 11;
    public const int EInProgress = 115;
    public const int EIntr = 4;

    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [LibraryImport("libc", EntryPoint = "socket", SetLastError = true)]
    public static partial int Socket(int domain, int type, int protocol);

    [LibraryImport("libc", EntryPoint = "bind", SetLastError = true)]
    public static partial int Bind(int fd, byte* address, int length);

    [LibraryImport("libc", EntryPoint = "listen", SetLastError = true)]
    public static partial int Listen(int fd, int backlog);

    [LibraryImport("libc", EntryPoint = "accept4", SetLastError = true)]
    public static partial int Accept4(int fd, byte* address, int* length, int flags);

    [LibraryImport("libc", EntryPoint = "connect", SetLastError = true)]
    public static partial int Connect(int fd, byte* address, int length);

    [LibraryImport("libc", EntryPoint = "getsockname", SetLastError = true)]
    public static partial int GetSockName(int fd, byte* address, int* length);

    [LibraryImport("libc", EntryPoint = "send", SetLastError = true)]
    public static partial nint Send(int fd, byte* buffer, nuint length, int flags);

    [LibraryImport("libc", EntryPoint = "recv", SetLastError = true)]
    public static partial nint Recv(int fd, byte* buffer, nuint length, int flags);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    public static partial nint Read(int fd, byte* buffer, nuint length);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    public static partial nint Write(int fd, byte* buffer, nuint length);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "shutdown", SetLastError = true)]
    public static partial int Shutdown(int fd, int how);

    [LibraryImport("libc", EntryPoint = "setsockopt", SetLastError = true)]
    public static partial int SetSockOpt(int fd, int level, int option, byte* value, int length);

    [LibraryImport("libc", EntryPoint = "getsockopt", SetLastError = true)]
    public static partial int GetSockOpt(int fd, int level, int option, byte* value, int* length);

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    public static partial int Poll(PollFd* fds, nuint count, int timeoutMs);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    public static partial int Ioctl(int fd, nuint request, byte* arg);

    [LibraryImport("libc", EntryPoint = "setns", SetLastError = true)]
    public static partial int SetNs(int fd, int nstype);

    [LibraryImport("libc", EntryPoint = "usleep", SetLastError = true)]
    public static partial int USleep(uint microseconds);

    [LibraryImport("libc", EntryPoint = "sched_setscheduler", SetLastError = true)]
    public static partial int SchedSetScheduler(int pid, int policy, int* param);

    public static int LastErrno => Marshal.GetLastPInvokeError();

    /// <summary>
    /// Puts the calling thread (pid 0 means the thread on Linux) in the round-robin real-time class, so that timing
    /// holds on a machine busy with builds; false when not permitted. Affects only this thread.
    /// </summary>
    public static bool TryRaiseThreadToRealTime()
    {
        int priority = 10;
        return SchedSetScheduler(0, 2, &priority) == 0; // SCHED_RR
    }

    /// <summary>Writes a struct sockaddr_in (family, port and address in network order).</summary>
    public static void WriteSockaddrIn(Span<byte> sa, ReadOnlySpan<byte> address4, ushort port)
    {
        sa[..16].Clear();
        sa[0] = AfInet;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(sa[2..], port);
        address4.CopyTo(sa[4..8]);
    }

    /// <summary>Writes a struct sockaddr_in6 (28 bytes: family, port, flow info, address, scope id).</summary>
    public static void WriteSockaddrIn6(Span<byte> sa, ReadOnlySpan<byte> address16, ushort port)
    {
        sa[..28].Clear();
        sa[0] = AfInet6;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(sa[2..], port);
        address16.CopyTo(sa[8..24]);
    }
}
