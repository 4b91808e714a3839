namespace TcpKit.Net.Links;

/// <summary>Which way a frame crossed a link, seen from the host that owns the link.</summary>
public enum LinkDirection : byte
{
    /// <summary>Received by the host (pcapng EPB flags direction "inbound").</summary>
    Inbound = 1,

    /// <summary>Sent by the host (pcapng EPB flags direction "outbound").</summary>
    Outbound = 2,
}
