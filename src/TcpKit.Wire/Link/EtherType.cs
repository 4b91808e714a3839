namespace TcpKit.Wire.Link;

/// <summary>IEEE 802 EtherType values the decoders know.</summary>
public static class EtherType
{
    public const ushort Ipv4 = 0x0800;
    public const ushort Arp = 0x0806;
    /// <summary>IEEE 802.1Q customer VLAN tag.</summary>
    public const ushort Vlan = 0x8100;
    public const ushort Ipv6 = 0x86DD;
    /// <summary>IEEE 802.1ad service VLAN tag (Q-in-Q outer tag).</summary>
    public const ushort QinQ = 0x88A8;

    /// <summary>MPLS unicast and multicast (RFC 3032): a label stack before the network header.</summary>
    public const ushort Mpls = 0x8847;
    public const ushort MplsMulticast = 0x8848;

    /// <summary>PPPoE session stage (RFC 2516): a 6-byte PPPoE header and a PPP protocol field before the network header.</summary>
    public const ushort PppoeSession = 0x8864;
    /// <summary>IEEE 802.1Qbh VN-Tag: a 4-byte tag, then the next EtherType.</summary>
    public const ushort VnTag = 0x8926;

    /// <summary>IEEE 802.1ah provider backbone bridging: a 4-byte I-TAG, the customer's addresses, then the next EtherType.</summary>
    public const ushort Pbb = 0x88E7;

    /// <summary>Pre-standard Q-in-Q outer tag still emitted by some switches.</summary>
    public const ushort QinQLegacy = 0x9100;

    /// <summary>Values below this in the type/length field are 802.3 lengths, not EtherTypes.</summary>
    public const ushort MinEtherType = 0x0600;

    public static bool IsVlanTag(ushort type) => type is Vlan or QinQ or QinQLegacy;
}
