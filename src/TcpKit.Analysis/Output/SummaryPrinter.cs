using System.Globalization;
using System.Text;
using TcpKit.Analysis.Fields;
using TcpKit.Wire;
using TcpKit.Wire.Ip;
using TcpKit.Wire.Link;

namespace TcpKit.Analysis.Output;

/// <summary>
/// Formats tshark's default one-line summary of a packet (what <c>tcpkit read</c> shows).
/// TcpKit stops at TCP: payloads are not dissected further.
/// </summary>
public sealed class SummaryPrinter
{
    private readonly StringBuilder _line = new(256);

    public string Format(in FieldContext c, int timeDigits)
    {
        _line.Clear();
        var p = c.Decoded;
        switch (c.Status)
        {
            case DecodeStatus.Ok:
                SummaryFormatter.AppendColumns(_line, c.Number, c.RelativeNs, timeDigits, p.Source.ToString(), p.Destination.ToString(), "TCP", c.OriginalLength);
                SummaryFormatter.AppendTcpInfo(_line, p, c.Analysis, c.Frame);
                break;
            case DecodeStatus.NotTcp or DecodeStatus.Fragment:
                SummaryFormatter.AppendColumns(_line, c.Number, c.RelativeNs, timeDigits, p.Source.ToString(), p.Destination.ToString(), ProtocolName(p), c.OriginalLength);
                _line.Append(c.Status == DecodeStatus.Fragment
                    ? string.Create(CultureInfo.InvariantCulture, $"Fragmented IP protocol (proto={p.Protocol}, off={p.FragmentOffset}, ID={p.IpIdentification:x4})")
                    : c.HasQuotedTcp
                        ? p.IpVersion == 4 ? IcmpErrorText.Icmpv4(c.Quote.Type, c.Quote.Code) : IcmpErrorText.Icmpv6(c.Quote.Type, c.Quote.Code)
                        : string.Create(CultureInfo.InvariantCulture, $"IP protocol {p.Protocol} (not dissected by TcpKit)"));
                break;
            default:
                AppendNonIp(c);
                break;
        }

        return _line.ToString();
    }

    private void AppendNonIp(in FieldContext c)
    {
        string src = "", dst = "", proto = "Frame";
        if (c.Link == LinkType.Ethernet && EthernetFrame.TryParse(c.Frame, out var eth))
        {
            src = SummaryFormatter.FormatMac(eth.Source);
            dst = SummaryFormatter.FormatMac(eth.Destination);
            proto = eth.EtherType == EtherType.Arp ? "ARP" : "Ethernet";
        }

        SummaryFormatter.AppendColumns(_line, c.Number, c.RelativeNs, 6, src, dst, proto, c.OriginalLength);
        _line.Append(c.Status switch
        {
            DecodeStatus.NotIp => string.Create(CultureInfo.InvariantCulture, $"EtherType 0x{c.Decoded.EtherType:x4} (not dissected by TcpKit)"),
            DecodeStatus.Truncated => "[Packet size limited during capture]",
            DecodeStatus.Malformed => $"[Malformed Packet: {c.Decoded.Error}]",
            DecodeStatus.UnsupportedLinkType => string.Create(CultureInfo.InvariantCulture, $"Link type {(int)c.Link} not supported"),
            _ => "",
        });
    }

    private static string ProtocolName(in DecodedPacket p) => p.Protocol switch
    {
        IpProtocol.Udp => "UDP",
        IpProtocol.Icmp => "ICMP",
        IpProtocol.Icmpv6 => "ICMPv6",
        IpProtocol.Tcp => "TCP",
        _ => p.IpVersion == 6 ? "IPv6" : "IPv4",
    };
}
