namespace TcpKit.Wire;

/// <summary>
/// Link-layer header types as numbered by tcpdump.org (LINKTYPE_*), the values stored in pcap
/// file headers and pcapng interface description blocks.
/// </summary>
public enum LinkType : ushort
{
    /// <summary>BSD loopback: a 4-byte address family in the capturing host's byte order.</summary>
    Null = 0,
    Ethernet = 1,
    /// <summary>PPP (RFC 1661): the protocol field, possibly after HDLC address and control bytes (FF 03).</summary>
    Ppp = 9,
    /// <summary>FDDI: frame control, destination, source, then an 802.2 LLC header (SNAP for IP).</summary>
    Fddi = 10,
    /// <summary>PPP in HDLC-like framing (RFC 1662): address FF, control 03, then the protocol field.</summary>
    PppHdlc = 50,
    /// <summary>Cisco HDLC: address, control, then an EtherType.</summary>
    CiscoHdlc = 104,
    /// <summary>Raw IP; the version nibble says IPv4 or IPv6.</summary>
    Raw = 101,
    /// <summary>OpenBSD loopback: a 4-byte address family in network byte order.</summary>
    Loop = 108,
    /// <summary>Linux cooked capture v1 (16-byte header).</summary>
    LinuxSll = 113,
    Ipv4 = 228,
    Ipv6 = 229,
    /// <summary>Linux netfilter NFLOG (tcpdump -i nflog:N): a 4-byte header, then TLVs, one of them the packet.</summary>
    Nflog = 239,
    /// <summary>Linux cooked capture v2 (20-byte header).</summary>
    LinuxSll2 = 276,
}
