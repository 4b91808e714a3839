namespace TcpKit.Net.Packetdrill;

/// <summary>
/// The Linux values of the symbolic constants scripts use (packetdrill's symbols_linux.c has the same
/// role): socket calls, options, fcntl and poll flags, errno names.
/// </summary>
public static class ScriptSymbols
{
    public const int SolSocket = 1;
    public const int IpProtoTcp = 6;
    public const int SoReuseAddr = 2;
    public const int SoError = 4;
    public const int SoSndBuf = 7;
    public const int SoRcvBuf = 8;
    public const int SoKeepAlive = 9;
    public const int SoLinger = 13;
    public const int SoOobInline = 10;
    public const int SoReusePort = 15;
    public const int TcpNoDelay = 1;
    public const int TcpMaxSeg = 2;
    public const int TcpKeepIdle = 4;
    public const int TcpKeepIntvl = 5;
    public const int TcpKeepCnt = 6;
    public const int TcpInfoOption = 11;
    public const int TcpUserTimeout = 18;
    public const int ONonBlock = 0x800;
    public const int ORdWr = 2;
    public const int ShutRd = 0;
    public const int ShutWr = 1;
    public const int ShutRdWr = 2;
    public const int PollIn = 0x1;
    public const int PollPri = 0x2;
    public const int PollOut = 0x4;
    public const int PollErr = 0x8;
    public const int PollHup = 0x10;
    public const int PollNval = 0x20;
    public const int PollRdNorm = 0x40;
    public const int PollWrNorm = 0x100;
    public const int PollRdHup = 0x2000;
    public const int MsgDontWait = 0x40;

    private static readonly Dictionary<string, long> Values = new(StringComparer.Ordinal)
    {
        ["AF_INET"] = 2,
        ["AF_INET6"] = 10,
        ["PF_INET"] = 2,
        ["PF_INET6"] = 10,
        ["SOCK_STREAM"] = 1,
        ["SOCK_NONBLOCK"] = ONonBlock,
        ["IPPROTO_TCP"] = IpProtoTcp,
        ["IPPROTO_IP"] = 0,
        ["SOL_SOCKET"] = SolSocket,
        ["SOL_TCP"] = IpProtoTcp,
        ["SO_REUSEADDR"] = SoReuseAddr,
        ["SO_REUSEPORT"] = SoReusePort,
        ["SO_ERROR"] = SoError,
        ["SO_SNDBUF"] = SoSndBuf,
        ["SO_RCVBUF"] = SoRcvBuf,
        ["SO_KEEPALIVE"] = SoKeepAlive,
        ["SO_LINGER"] = SoLinger,
        ["SO_OOBINLINE"] = SoOobInline,
        ["TCP_NODELAY"] = TcpNoDelay,
        ["TCP_MAXSEG"] = TcpMaxSeg,
        ["TCP_KEEPIDLE"] = TcpKeepIdle,
        ["TCP_KEEPINTVL"] = TcpKeepIntvl,
        ["TCP_KEEPCNT"] = TcpKeepCnt,
        ["TCP_INFO"] = TcpInfoOption,
        ["TCP_USER_TIMEOUT"] = TcpUserTimeout,
        ["F_GETFL"] = 3,
        ["F_SETFL"] = 4,
        ["O_RDONLY"] = 0,
        ["O_WRONLY"] = 1,
        ["O_RDWR"] = ORdWr,
        ["O_NONBLOCK"] = ONonBlock,
        ["SHUT_RD"] = ShutRd,
        ["SHUT_WR"] = ShutWr,
        ["SHUT_RDWR"] = ShutRdWr,
        ["POLLIN"] = PollIn,
        ["POLLPRI"] = PollPri,
        ["POLLOUT"] = PollOut,
        ["POLLERR"] = PollErr,
        ["POLLHUP"] = PollHup,
        ["POLLNVAL"] = PollNval,
        ["POLLRDNORM"] = PollRdNorm,
        ["POLLWRNORM"] = PollWrNorm,
        ["POLLRDHUP"] = PollRdHup,
        ["MSG_DONTWAIT"] = MsgDontWait,
        ["NULL"] = 0,
        // tcpi_state values (include/net/tcp_states.h).
        ["TCP_ESTABLISHED"] = 1,
        ["TCP_SYN_SENT"] = 2,
        ["TCP_SYN_RECV"] = 3,
        ["TCP_FIN_WAIT1"] = 4,
        ["TCP_FIN_WAIT2"] = 5,
        ["TCP_TIME_WAIT"] = 6,
        ["TCP_CLOSE"] = 7,
        ["TCP_CLOSE_WAIT"] = 8,
        ["TCP_LAST_ACK"] = 9,
        ["TCP_LISTEN"] = 10,
        ["TCP_CLOSING"] = 11,
    };

    private static readonly Dictionary<string, int> Errnos = new(StringComparer.Ordinal)
    {
        ["EPERM"] = 1,
        ["ENOENT"] = 2,
        ["EINTR"] = 4,
        ["EBADF"] = 9,
        ["EAGAIN"] = 11,
        ["EWOULDBLOCK"] = 11,
        ["ENOMEM"] = 12,
        ["EFAULT"] = 14,
        ["EINVAL"] = 22,
        ["EPIPE"] = 32,
        ["ENOTSOCK"] = 88,
        ["ENOPROTOOPT"] = 92,
        ["EOPNOTSUPP"] = 95,
        ["EADDRINUSE"] = 98,
        ["ENETUNREACH"] = 101,
        ["ECONNABORTED"] = 103,
        ["ECONNRESET"] = 104,
        ["EISCONN"] = 106,
        ["ENOTCONN"] = 107,
        ["ETIMEDOUT"] = 110,
        ["ECONNREFUSED"] = 111,
        ["EALREADY"] = 114,
        ["EINPROGRESS"] = 115,
    };

    public static bool TryGetValue(string name, out long value)
    {
        if (Values.TryGetValue(name, out value))
        {
            return true;
        }

        if (Errnos.TryGetValue(name, out int e))
        {
            value = e;
            return true;
        }

        return false;
    }

    /// <summary>The Linux errno number of a name such as ECONNRESET.</summary>
    public static bool TryGetErrno(string name, out int value) => Errnos.TryGetValue(name, out value);

    /// <summary>The canonical name of an errno number (EAGAIN rather than EWOULDBLOCK).</summary>
    public static string ErrnoName(int value)
    {
        foreach (var (name, v) in Errnos)
        {
            if (v == value)
            {
                return name;
            }
        }

        return value.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }
}
