namespace TcpKit.Analysis.Output;

/// <summary>tshark's Info column for the ICMP and ICMPv6 error messages that quote a TCP segment.</summary>
internal static class IcmpErrorText
{
    private static readonly string[] Unreachable =
    [
        "Network unreachable", "Host unreachable", "Protocol unreachable", "Port unreachable", "Fragmentation needed",
        "Source route failed", "Destination network unknown", "Destination host unknown", "Source host isolated",
        "Network administratively prohibited", "Host administratively prohibited", "Network unreachable for TOS",
        "Host unreachable for TOS", "Communication administratively filtered", "Host precedence violation",
        "Precedence cutoff in effect",
    ];

    private static readonly string[] Redirect = ["Redirect for network", "Redirect for host", "Redirect for TOS and network", "Redirect for TOS and host"];
    private static readonly string[] TimeExceeded = ["Time to live exceeded in transit", "Fragment reassembly time exceeded"];
    private static readonly string[] ParameterProblem = ["Pointer indicates the error", "Required option missing", "Bad length"];

    private static readonly string[] Unreachable6 =
    [
        "no route to destination", "Administratively prohibited", "Beyond scope of source address", "Address unreachable",
        "Port unreachable", "Source address failed ingress/egress policy", "Reject route to destination", "Error in Source Routing Header",
    ];

    private static readonly string[] TimeExceeded6 = ["hop limit exceeded in transit", "fragment reassembly time exceeded"];
    private static readonly string[] ParameterProblem6 = ["erroneous header field encountered", "unrecognized Next Header type encountered", "unrecognized IPv6 option encountered"];

    /// <summary>ICMP: the type name left-aligned in 20 columns, then the code's meaning in parentheses (Wireshark's "%-20s (%s)").</summary>
    public static string Icmpv4(byte type, byte code)
    {
        var (name, codes) = type switch
        {
            3 => ("Destination unreachable", Unreachable),
            4 => ("Source quench (flow control)", []),
            5 => ("Redirect", Redirect),
            11 => ("Time-to-live exceeded", TimeExceeded),
            12 => ("Parameter problem", ParameterProblem),
            _ => ($"Unknown ICMP (obsolete or malformed?)", Array.Empty<string>()),
        };
        string head = name.PadRight(20);
        return code < codes.Length ? $"{head} ({codes[code]})" : type == 4 ? head : $"{head} (Unknown code: {code})";
    }

    public static string Icmpv6(byte type, byte code)
    {
        var (name, codes) = type switch
        {
            1 => ("Destination Unreachable", Unreachable6),
            2 => ("Packet Too Big", []),
            3 => ("Time Exceeded", TimeExceeded6),
            4 => ("Parameter Problem", ParameterProblem6),
            _ => ("Unknown ICMPv6 type", Array.Empty<string>()),
        };
        return code < codes.Length ? $"{name} ({codes[code]})" : type == 2 ? name : $"{name} (Unknown code: {code})";
    }
}
