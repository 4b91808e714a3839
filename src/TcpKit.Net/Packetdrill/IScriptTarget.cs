using TcpKit.Tcp;
using TcpKit.Wire;
using TcpKit.Wire.Tcp;

namespace TcpKit.Net.Packetdrill;

/// <summary>
/// The stack a packetdrill script is run against: the TcpKit engine in virtual time (<see cref="EngineTarget"/>),
/// later the Linux kernel over TUN. The runner owns the script's clock, sequence-number mapping and checks;
/// a target owns sockets, demultiplexing and ports. Packets cross this boundary with live (unmapped) values.
/// </summary>
public interface IScriptTarget
{
    /// <summary>
    /// Applies a shell line of the script: its sysctls as written (a kernel sets them) and their TcpKit meaning
    /// (the engine applies it); affects sockets created afterwards.
    /// </summary>
    void Configure(ShellSettings settings);

    /// <summary>The earliest time at which the target has something to do on its own (a timer), or Instant.Never.</summary>
    Instant NextDeadline { get; }

    /// <summary>Runs everything due at or before <paramref name="now"/> (timers).</summary>
    void Advance(Instant now);

    /// <summary>
    /// Delivers a packet from the remote peer. With both ports 0 the target addresses the packet to the socket
    /// under test (a listening socket makes a new remote port, as packetdrill's ephemeral port); otherwise as given.
    /// </summary>
    void Inject(TcpHeader header, ReadOnlySpan<byte> payload, Instant now);

    /// <summary>Takes the next packet the stack transmitted, in transmission order.</summary>
    bool TryTakeOutbound(out CapturedSegment segment);

    /// <summary>Runs one socket call. <see cref="SyscallOutcome.WouldBlock"/> when it cannot complete now (the runner decides EAGAIN or blocking).</summary>
    SyscallOutcome Invoke(SocketCall call, Instant now);

    /// <summary>Whether the descriptor is in non-blocking mode (O_NONBLOCK / SOCK_NONBLOCK).</summary>
    bool IsNonBlocking(int fd);

    /// <summary>
    /// Whether the stack implements a TCP option. A script that sends or expects an option the stack does not
    /// implement tests something the stack does not have, so it is reported as unsupported.
    /// </summary>
    bool SupportsOption(ScriptOptionKind kind);

    /// <summary>The connection statistics of the socket under test, for <c>%{ }%</c> tcpi_* checks; null when there is none.</summary>
    TcpInfo? GetTcpInfo();
}

/// <summary>A segment the stack under test transmitted and when.</summary>
public readonly record struct CapturedSegment(TcpHeader Header, int PayloadLength, Instant Time);

/// <summary>The outcome of a socket call: a return value (>= 0), an errno, or "would block".</summary>
public readonly record struct SyscallOutcome(long Value, string? Errno, bool Blocked)
{
    public static SyscallOutcome WouldBlock { get; } = new(-1, null, true);

    public static SyscallOutcome Ok(long value) => new(value, null, false);

    public static SyscallOutcome Error(string errno) => new(-1, errno, false);
}

public enum SocketCallKind
{
    Socket,
    Bind,
    Listen,
    Accept,
    Connect,
    Write,
    Read,
    Close,
    Shutdown,
    SetSockOpt,
    GetSockOpt,
    GetFlags,
    SetFlags,
    Poll,
}

/// <summary>
/// One socket call with its arguments evaluated. <see cref="Retry"/> is set when the runner calls again a
/// blocking call that could not complete before (a connect in progress, an accept waiting).
/// </summary>
public sealed record SocketCall(SocketCallKind Kind, int Fd)
{
    public long Arg { get; init; }

    public long Arg2 { get; init; }

    /// <summary>setsockopt/getsockopt level and option name; flags for socket/send/recv.</summary>
    public int Level { get; init; }

    public int Option { get; init; }

    /// <summary>SO_LINGER's {onoff, linger}.</summary>
    public (int OnOff, int Linger)? Linger { get; init; }

    public bool Retry { get; init; }
}

/// <summary>The subset of Linux's struct tcp_info that TcpKit's statistics can answer.</summary>
public sealed record TcpInfo(
    TcpState State,
    long RtoMicros,
    long? RttMicros,
    long? RttVarMicros,
    long SndCwnd,
    long SndSsthresh,
    long TotalRetrans,
    long SndMss,
    long Unacked);

/// <summary>Thrown by a target for a call or option it cannot perform; the runner reports the script as unsupported.</summary>
public sealed class TargetUnsupportedException(string feature) : NotSupportedException(feature)
{
    public string Feature { get; } = feature;
}
