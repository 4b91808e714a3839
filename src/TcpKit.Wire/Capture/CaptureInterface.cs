using System.Net;

namespace TcpKit.Wire.Capture;

public enum CaptureFormat
{
    Pcap,
    Pcapng,
}

/// <summary>
/// One capture interface: the pcap file header, or one pcapng interface description block.
/// </summary>
public sealed class CaptureInterface
{
    internal CaptureInterface(int index, int sectionIndex, int idInSection, LinkType linkType, uint snapLength, byte tsResolution, long tsOffsetSeconds)
    {
        Index = index;
        SectionIndex = sectionIndex;
        IdInSection = idInSection;
        LinkType = linkType;
        SnapLength = snapLength;
        TimestampResolution = tsResolution;
        TimestampOffsetSeconds = tsOffsetSeconds;
        Scale = new TimestampScale(tsResolution, tsOffsetSeconds);
    }

    /// <summary>File-wide index, as in <see cref="CapturedPacket.InterfaceIndex"/>.</summary>
    public int Index { get; }

    /// <summary>0-based pcapng section this interface belongs to (0 for pcap).</summary>
    public int SectionIndex { get; }

    /// <summary>Interface ID within its section, as packet blocks refer to it.</summary>
    public int IdInSection { get; }

    /// <summary>Link type with any pcap FCS bits removed; unknown numbers are carried as (LinkType)value.</summary>
    public LinkType LinkType { get; }

    /// <summary>Snapshot length; 0 in pcapng means "no limit".</summary>
    public uint SnapLength { get; }

    /// <summary>
    /// Raw if_tsresol: bit 7 clear means units of 10^-v seconds, set means 2^-(v &amp; 0x7F).
    /// pcap files report 6 (microseconds) or 9 (nanoseconds).
    /// </summary>
    public byte TimestampResolution { get; }

    /// <summary>if_tsoffset: seconds added to every timestamp of this interface.</summary>
    public long TimestampOffsetSeconds { get; }

    /// <summary>if_name, if present.</summary>
    public string? Name { get; internal set; }

    /// <summary>if_description, if present.</summary>
    public string? Description { get; internal set; }

    /// <summary>First opt_comment of the interface description block, if present.</summary>
    public string? Comment { get; internal set; }

    /// <summary>
    /// FCS length in bytes at the end of each frame when the file says so: pcap link-type field bits
    /// 26 and 28-31, or pcapng if_fcslen. Null when unstated.
    /// </summary>
    public int? FcsLength { get; internal set; }

    /// <summary>The last interface statistics block seen for this interface, if any.</summary>
    public InterfaceStatistics? Statistics { get; internal set; }

    /// <summary>True when TcpKit knows how to decode <see cref="LinkType"/>.</summary>
    public bool IsKnownLinkType => CaptureLinkTypes.IsKnown(LinkType);

    internal TimestampScale Scale { get; }
}

/// <summary>Counters from a pcapng interface statistics block (isb_*); null members were absent.</summary>
public sealed record InterfaceStatistics(
    long TimestampNs,
    long? StartTimeNs,
    long? EndTimeNs,
    ulong? ReceivedPackets,
    ulong? InterfaceDropped,
    ulong? FilterAccepted,
    ulong? OsDropped,
    ulong? DeliveredToUser,
    string? Comment);

/// <summary>One IPv4/IPv6 record of a pcapng name resolution block.</summary>
public sealed record NameResolutionRecord(IPAddress Address, IReadOnlyList<string> Names, int SectionIndex);

/// <summary>What the current pcapng section header block says about the section.</summary>
public sealed record CaptureSection(
    int Index,
    long FileOffset,
    bool BigEndian,
    ushort MajorVersion,
    ushort MinorVersion,
    string? Hardware,
    string? OperatingSystem,
    string? UserApplication,
    string? Comment);

/// <summary>Link types that TcpKit's decoders understand.</summary>
public static class CaptureLinkTypes
{
    public static bool IsKnown(LinkType linkType) => linkType switch
    {
        LinkType.Null or LinkType.Ethernet or LinkType.Raw or LinkType.Loop or LinkType.LinuxSll
            or LinkType.Ipv4 or LinkType.Ipv6 or LinkType.LinuxSll2 or LinkType.Fddi or LinkType.Nflog
            or LinkType.Ppp or LinkType.PppHdlc or LinkType.CiscoHdlc => true,
        _ => false,
    };

    /// <summary>
    /// Throws <see cref="CaptureFormatException"/> (kind <see cref="CaptureErrorKind.UnknownLinkType"/>)
    /// when a decoder is asked for a link type TcpKit does not know; reading alone never does this.
    /// </summary>
    public static void EnsureDecodable(LinkType linkType, long fileOffset)
    {
        if (!IsKnown(linkType))
        {
            throw new CaptureFormatException(CaptureErrorKind.UnknownLinkType, fileOffset,
                $"link type {(int)linkType} is not one TcpKit can decode");
        }
    }
}
