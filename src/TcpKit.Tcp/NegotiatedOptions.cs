namespace TcpKit.Tcp;

/// <summary>
/// What the SYN exchange settled, kept in one place so window scaling (RFC 7323), timestamps and SACK
/// (RFC 2018) can be added here without touching the state machine's logic.
/// </summary>
public readonly record struct NegotiatedOptions(int PeerMss, byte SendWindowShift, byte ReceiveWindowShift, bool Timestamps, bool Sack)
{
    /// <summary>RFC 9293 section 3.7.1 (MUST-15): assume 536 when the peer sent no MSS option.</summary>
    public const int DefaultPeerMss = 536;

    /// <summary>Like Linux's tcp_min_snd_mss: a hostile tiny MSS must not turn one write into thousands of segments.</summary>
    public const int MinimumPeerMss = 48;

    public static NegotiatedOptions Initial => new(DefaultPeerMss, 0, 0, false, false);
}
