namespace TcpKit.Wire;

/// <summary>IANA Assigned Internet Protocol Numbers used by the decoders (IPv4 protocol, IPv6 next header).</summary>
public static class IpProtocol
{
    public const byte HopByHop = 0;
    public const byte Icmp = 1;
    public const byte Tcp = 6;
    public const byte Udp = 17;
    public const byte Ipv6Routing = 43;
    public const byte Ipv6Fragment = 44;
    public const byte Esp = 50;
    public const byte AuthenticationHeader = 51;
    public const byte Icmpv6 = 58;
    public const byte NoNextHeader = 59;
    public const byte Ipv6DestinationOptions = 60;
}
