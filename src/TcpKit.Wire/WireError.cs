namespace TcpKit.Wire;

/// <summary>Why a view refused its bytes. Views never throw on bad input; they return one of these.</summary>
public enum WireError : byte
{
    None,
    /// <summary>Fewer bytes are present than the header needs (a short frame or a snaplen cut).</summary>
    Truncated,
    /// <summary>The IP version nibble does not match the expected version.</summary>
    BadIpVersion,
    /// <summary>IPv4 IHL below 5 (RFC 791 section 3.1).</summary>
    BadIpv4HeaderLength,
    /// <summary>IPv4 total length smaller than the header it must include.</summary>
    BadIpv4TotalLength,
    /// <summary>An IPv6 extension header runs past the payload length.</summary>
    BadIpv6ExtensionHeader,
    /// <summary>TCP data offset below 5 words (RFC 9293 section 3.1).</summary>
    BadTcpDataOffset,
    /// <summary>The TCP header claims more bytes than the IP packet carries.</summary>
    TcpHeaderBeyondPacket,
}
