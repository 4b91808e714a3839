using System.Globalization;
using TcpKit.Wire.Tcp;

namespace TcpKit.Tcp;

public enum TcpEventKind : byte
{
    StateChanged,
    /// <summary>In-order bytes (or the end of stream) became available to <see cref="TcpConnection.Receive"/>.</summary>
    DataReadable,
    /// <summary>Send buffer space opened up after a Send was short, or the connection became established.</summary>
    Writable,
    /// <summary>The connection reached CLOSED; <see cref="TcpEvent.Error"/> says why.</summary>
    Closed,
    /// <summary>
    /// The peer's urgent pointer moved ahead of the data read so far (RFC 9293 section 3.8.5, MUST-32);
    /// <see cref="TcpConnection.UrgentBytesPending"/> says how much (MUST-33). The data stays in the stream.
    /// </summary>
    UrgentData,
    /// <summary>R1 retransmissions of one segment (RFC 9293 section 3.8.3, SHLD-9): the path may be failing.</summary>
    ExcessiveRetransmissions,
}

/// <summary>Why a connection ended.</summary>
public enum TcpError : byte
{
    None,
    /// <summary>RST in answer to our SYN (RFC 9293 section 3.10.7.3): "connection refused".</summary>
    Refused,
    /// <summary>An acceptable RST in a synchronized state: "connection reset".</summary>
    Reset,
    /// <summary>SynRetries, DataRetries, UserTimeout or keep-alive exhausted.</summary>
    TimedOut,
    /// <summary>The local user called Abort.</summary>
    Aborted,
}

public enum TimerKind : byte
{
    Retransmission,
    Persist,
    DelayedAck,
    Keepalive,
    TimeWait,
    UserTimeout,
}

public enum UserCall : byte
{
    Open,
    Send,
    Receive,
    Close,
    Shutdown,
    Abort,
}

public enum CauseKind : byte
{
    User,
    Segment,
    Timer,
}

/// <summary>The header fields of a received segment worth showing when it causes a transition.</summary>
public readonly record struct SegmentSummary(TcpFlags Flags, SeqNum Seq, SeqNum Ack, int Length, ushort Window)
{
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"[{FlagNames(Flags)}] seq={Seq} ack={Ack} len={Length} win={Window}");

    internal static string FlagNames(TcpFlags f)
    {
        Span<char> buf = stackalloc char[24];
        int n = 0;
        void Add(Span<char> b, ref int i, string s)
        {
            if (i > 0)
            {
                b[i++] = ',';
            }

            s.AsSpan().CopyTo(b[i..]);
            i += s.Length;
        }

        if ((f & TcpFlags.Syn) != 0) { Add(buf, ref n, "SYN"); }
        if ((f & TcpFlags.Fin) != 0) { Add(buf, ref n, "FIN"); }
        if ((f & TcpFlags.Rst) != 0) { Add(buf, ref n, "RST"); }
        if ((f & TcpFlags.Psh) != 0) { Add(buf, ref n, "PSH"); }
        if ((f & TcpFlags.Ack) != 0) { Add(buf, ref n, "ACK"); }
        if ((f & TcpFlags.Urg) != 0) { Add(buf, ref n, "URG"); }
        return new string(buf[..n]);
    }
}

/// <summary>What made a state change happen: a user call, a received segment or a timer.</summary>
public readonly record struct TransitionCause(CauseKind Kind, UserCall Call, SegmentSummary Segment, TimerKind Timer)
{
    public static TransitionCause FromUser(UserCall call) => new(CauseKind.User, call, default, default);

    public static TransitionCause FromSegment(SegmentSummary seg) => new(CauseKind.Segment, default, seg, default);

    public static TransitionCause FromTimer(TimerKind timer) => new(CauseKind.Timer, default, default, timer);

    public override string ToString() => Kind switch
    {
        CauseKind.User => "user " + Call,
        CauseKind.Segment => "rcv " + Segment,
        _ => "timer " + Timer,
    };
}

/// <summary>One notification from a connection, polled with <see cref="TcpConnection.TryPollEvent"/>.</summary>
public readonly record struct TcpEvent(TcpEventKind Kind, TcpState OldState, TcpState NewState, TransitionCause Cause, TcpError Error)
{
    public override string ToString() => Kind switch
    {
        TcpEventKind.StateChanged => $"{OldState.ToRfcName()} -> {NewState.ToRfcName()} ({Cause})",
        TcpEventKind.Closed => $"closed ({Error})",
        _ => Kind.ToString(),
    };
}
