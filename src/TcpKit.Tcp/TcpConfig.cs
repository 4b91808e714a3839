namespace TcpKit.Tcp;

/// <summary>Creates the congestion controller of one connection once the sender MSS is known.</summary>
public delegate ICongestionControl CongestionControlFactory(TcpConfig config, int senderMss);

/// <summary>TCP keep-alive settings (RFC 1122 section 4.2.3.6). Off by default, as the RFC requires.</summary>
public sealed record KeepaliveConfig
{
    public bool Enabled { get; init; }

    /// <summary>Idle time before the first probe; RFC 1122 says no less than two hours by default.</summary>
    public TimeSpan Idle { get; init; } = TimeSpan.FromHours(2);

    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(75);

    /// <summary>Unanswered probes after which the peer is declared dead (TcpError.TimedOut).</summary>
    public int Count { get; init; } = 9;

    public static readonly KeepaliveConfig Disabled = new();
}

/// <summary>
/// Immutable options of one connection. <see cref="Rfc"/> follows the RFC defaults,
/// <see cref="Linux"/> mirrors the Linux kernel's defaults so traces compare with a Linux peer.
/// </summary>
public sealed record TcpConfig
{
    /// <summary>The MSS this end advertises in its SYN (RFC 9293 section 3.7.1). The peer is assumed to accept 536 when it sends none.</summary>
    public int Mss { get; init; } = 1460;

    /// <summary>
    /// The send MSS assumed when the peer's SYN carries no MSS option (MUST-15): 536 for IPv4;
    /// the host sets 1220 for IPv6 connections.
    /// </summary>
    public int DefaultPeerMss { get; init; } = NegotiatedOptions.DefaultPeerMss;

    public int SendBufferSize { get; init; } = 64 * 1024;

    /// <summary>Receive buffer; without window scaling the advertised window is capped at 65535.</summary>
    public int ReceiveBufferSize { get; init; } = 64 * 1024;

    /// <summary>Disable the Nagle algorithm (RFC 9293 section 3.7.4, MUST-17 lets the application do so).</summary>
    public bool NoDelay { get; init; }

    public bool DelayedAck { get; init; } = true;

    /// <summary>RFC 9293 MUST-40 (RFC 1122 4.2.3.2): the ACK delay MUST be less than 0.5 s.</summary>
    public TimeSpan DelayedAckTimeout { get; init; } = TimeSpan.FromMilliseconds(40);

    public TimeSpan InitialRto { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan MinRto { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan MaxRto { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Retransmissions of a SYN (or SYN-ACK) before giving up with TcpError.TimedOut. The RFC default of 7
    /// with a 1 s initial and 60 s maximum RTO gives up after 183 s, meeting MUST-23 (R2 for SYN at least 3 minutes).
    /// </summary>
    public int SynRetries { get; init; } = 7;

    /// <summary>R1 of RFC 9293 section 3.8.3: after this many retransmissions of one segment the user is told
    /// (<see cref="TcpEventKind.ExcessiveRetransmissions"/>) so the host can give IP negative advice (MUST-20).</summary>
    public int R1Retries { get; init; } = 3;

    /// <summary>R2 of RFC 9293 section 3.8.3: retransmissions of one segment before giving up.</summary>
    public int DataRetries { get; init; } = 15;

    /// <summary>USER TIMEOUT: give up when sent data stays unacknowledged this long (null: only DataRetries applies).</summary>
    public TimeSpan? UserTimeout { get; init; }

    /// <summary>2*MSL (RFC 9293 section 3.4.2).</summary>
    public TimeSpan TimeWaitDuration { get; init; } = TimeSpan.FromMinutes(4);

    public KeepaliveConfig Keepalive { get; init; } = KeepaliveConfig.Disabled;

    /// <summary>Initial congestion window in segments (RFC 6928 IW10).</summary>
    public int InitialWindowSegments { get; init; } = 10;

    /// <summary>RFC 5961 section 7: at most this many challenge ACKs per second on one connection.</summary>
    public int ChallengeAckLimitPerSecond { get; init; } = 10;

    /// <summary>Out-of-order holes kept by the reassembler; a segment that would need more is dropped and counted.</summary>
    public int MaxReassemblyRanges { get; init; } = 32;

    public CongestionControlFactory CongestionControl { get; init; } = DefaultCongestionControl;

    /// <summary>NewReno with the configured initial window: the default, which a recycled engine resets instead of allocating anew.</summary>
    public static CongestionControlFactory DefaultCongestionControl { get; } = static (config, mss) => new NewReno(mss, config.InitialWindowSegments);

    /// <summary>RFC defaults: RTO 1 s / min 1 s / max 60 s (RFC 6298), MSL 2 min so TIME-WAIT 4 min.</summary>
    public static TcpConfig Rfc { get; } = new();

    /// <summary>Linux defaults: min RTO 200 ms, max 120 s, delayed ACK 40 ms, IW10, TIME-WAIT 60 s, 6 SYN retries, 15 data retries.</summary>
    public static TcpConfig Linux { get; } = new()
    {
        MinRto = TimeSpan.FromMilliseconds(200),
        MaxRto = TimeSpan.FromSeconds(120),
        TimeWaitDuration = TimeSpan.FromSeconds(60),
        SynRetries = 6,
        DataRetries = 15,
        Keepalive = new KeepaliveConfig { Enabled = false, Idle = TimeSpan.FromHours(2), Interval = TimeSpan.FromSeconds(75), Count = 9 },
    };

    /// <summary>Throws when a value breaks an RFC limit or cannot work.</summary>
    public void Validate()
    {
        if (Mss is < 64 or > 65535)
        {
            throw new ArgumentOutOfRangeException(nameof(Mss), Mss, "MSS must be within 64..65535.");
        }

        if (DefaultPeerMss is < NegotiatedOptions.MinimumPeerMss or > 65535)
        {
            throw new ArgumentOutOfRangeException(nameof(DefaultPeerMss), DefaultPeerMss, "Default peer MSS must be within 48..65535.");
        }

        if (SendBufferSize < 1 || ReceiveBufferSize < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(SendBufferSize), "Buffers must hold at least one byte.");
        }

        if (DelayedAckTimeout <= TimeSpan.Zero || DelayedAckTimeout > TimeSpan.FromMilliseconds(500))
        {
            throw new ArgumentOutOfRangeException(nameof(DelayedAckTimeout), DelayedAckTimeout, "RFC 9293 MUST-40: the ACK delay must be at most 0.5 s.");
        }

        if (MinRto <= TimeSpan.Zero || MaxRto < MinRto || InitialRto <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(MinRto), "RTO bounds must satisfy 0 < MinRto <= MaxRto and InitialRto > 0.");
        }

        if (SynRetries < 0 || DataRetries < 0 || R1Retries < 1 || InitialWindowSegments < 1 || MaxReassemblyRanges < 1 || ChallengeAckLimitPerSecond < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(SynRetries), "Counts must not be negative.");
        }

        if (TimeWaitDuration < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(TimeWaitDuration));
        }

        if (Keepalive.Enabled && (Keepalive.Idle <= TimeSpan.Zero || Keepalive.Interval <= TimeSpan.Zero || Keepalive.Count < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(Keepalive), "Keepalive needs positive Idle, Interval and Count.");
        }
    }
}
