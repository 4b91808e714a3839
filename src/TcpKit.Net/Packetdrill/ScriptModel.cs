using TcpKit.Wire.Tcp;

namespace TcpKit.Net.Packetdrill;

/// <summary>A parsed packetdrill script: header options, an optional init command, and timed events.</summary>
public sealed record PacketdrillScript(
    IReadOnlyList<ScriptOption> Options,
    IReadOnlyList<ScriptEvent> Events,
    string? InitCommand = null);

/// <summary>A command-line style option written at the top of a script, e.g. <c>--tolerance_usecs=10000</c>.</summary>
public sealed record ScriptOption(string Name, string? Value);

public enum TimeKind
{
    /// <summary><c>0.100</c>: microseconds after the script started.</summary>
    Absolute,
    /// <summary><c>+0.100</c>: after the previous event.</summary>
    Relative,
    /// <summary><c>*</c>: any time (outbound packets only).</summary>
    Any,
    /// <summary><c>0.1~0.2</c>.</summary>
    AbsoluteRange,
    /// <summary><c>+0.1~+0.2</c>.</summary>
    RelativeRange,
}

/// <summary>When an event happens, in microseconds as packetdrill counts them.</summary>
public readonly record struct EventTime(TimeKind Kind, long StartMicros, long EndMicros = -1);

/// <summary>One line of a script: its time, its line number (for error messages) and what happens.</summary>
public sealed record ScriptEvent(int Line, EventTime Time, ScriptAction Action);

public abstract record ScriptAction;

public enum PacketDirection
{
    /// <summary><c>&lt;</c>: injected into the stack under test.</summary>
    Inbound,
    /// <summary><c>&gt;</c>: expected from the stack under test.</summary>
    Outbound,
}

public enum ScriptOptionKind
{
    Eol,
    Nop,
    Mss,
    WindowScale,
    SackPermitted,
    Sack,
    Timestamp,
    FastOpen,
    FastOpenExperimental,
    Md5,
}

/// <summary>A TCP option as written in a packet line, e.g. <c>mss 1460</c> or <c>TS val 100 ecr 0</c>.</summary>
public sealed record ScriptTcpOption(ScriptOptionKind Kind, long Value = 0, long Value2 = 0, IReadOnlyList<(uint Left, uint Right)>? SackBlocks = null, string? Blob = null);

/// <summary>An IP-level check or setting in brackets: <c>[ect0]</c>, <c>(tos 0x2)</c>, <c>[ttl 64]</c>.</summary>
public sealed record ScriptIpInfo(string? Ecn, int? Tos, int? FlowLabel, int? Ttl);

/// <summary>
/// A TCP packet line: <c>&lt; S 0:0(0) win 32792 &lt;mss 1000,nop,wscale 7&gt;</c>. Sequence and ACK numbers are
/// as the script writes them; the runner maps them onto the real ISNs. <see cref="Options"/> is null for
/// <c>&lt;...&gt;</c> (outbound options not checked).
/// </summary>
public sealed record PacketAction(
    PacketDirection Direction,
    TcpFlags Flags,
    uint StartSeq,
    int PayloadLength,
    uint? Ack,
    int? Window,
    int UrgentPointer,
    IReadOnlyList<ScriptTcpOption>? Options,
    ScriptIpInfo? IpInfo) : ScriptAction
{
    /// <summary>Explicit ports (<c>&lt; 40001&gt;8080 S ...</c>), as the packet carries them; null when the line leaves ports to the runner.</summary>
    public ushort? SourcePort { get; init; }

    public ushort? DestinationPort { get; init; }
}

/// <summary>A system call line: <c>+0 write(4, ..., 1000) = 1000</c>, or <c>= -1 EAGAIN (Resource ...)</c>.</summary>
public sealed record SyscallAction(
    string Name,
    IReadOnlyList<ScriptExpr> Arguments,
    ScriptExpr Result,
    string? Errno,
    string? ErrnoText,
    string? Note,
    long? EndMicros) : ScriptAction;

/// <summary>A backquoted shell command. TcpKit never runs it; the runner maps known settings or rejects it.</summary>
public sealed record ShellAction(string Command) : ScriptAction;

/// <summary>A <c>%{ ... }%</c> code block (Python in packetdrill) checking <c>tcpi_*</c> values.</summary>
public sealed record CodeAction(string Code) : ScriptAction;

/// <summary>A syscall argument or result expression.</summary>
public abstract record ScriptExpr;

public sealed record EllipsisExpr : ScriptExpr
{
    public static readonly EllipsisExpr Instance = new();
}

public sealed record IntExpr(long Value) : ScriptExpr;

public sealed record WordExpr(string Word) : ScriptExpr;

public sealed record StringExpr(string Value, bool TrailingEllipsis) : ScriptExpr;

/// <summary><c>a | b</c> or <c>name = value</c>.</summary>
public sealed record BinaryExpr(string Op, ScriptExpr Left, ScriptExpr Right) : ScriptExpr;

/// <summary><c>[1]</c> or <c>[{fd=4, events=POLLIN}]</c>.</summary>
public sealed record ListExpr(IReadOnlyList<ScriptExpr> Items) : ScriptExpr
{
    public bool Equals(ListExpr? other) => other is not null && Items.SequenceEqual(other.Items);

    public override int GetHashCode() => Items.Count;
}

/// <summary><c>{fd=4, events=POLLOUT}</c>, <c>{onoff=1, linger=0}</c>, <c>{..., 5}</c>.</summary>
public sealed record StructExpr(IReadOnlyList<ScriptExpr> Items) : ScriptExpr
{
    public bool Equals(StructExpr? other) => other is not null && Items.SequenceEqual(other.Items);

    public override int GetHashCode() => Items.Count;
}

/// <summary><c>htons(8080)</c>, <c>inet_addr("192.0.2.1")</c>.</summary>
public sealed record CallExpr(string Name, IReadOnlyList<ScriptExpr> Arguments) : ScriptExpr
{
    public bool Equals(CallExpr? other) => other is not null && Name == other.Name && Arguments.SequenceEqual(other.Arguments);

    public override int GetHashCode() => HashCode.Combine(Name, Arguments.Count);
}

/// <summary>The script is not well-formed packetdrill.</summary>
public sealed class PacketdrillSyntaxException(int line, string message)
    : FormatException($"line {line}: {message}")
{
    public int Line { get; } = line;
}

/// <summary>The script is well-formed but uses something TcpKit does not support; never counted as passing.</summary>
public sealed class PacketdrillUnsupportedException(int line, string feature)
    : NotSupportedException($"unsupported: {feature} (line {line})")
{
    public int Line { get; } = line;

    public string Feature { get; } = feature;
}
