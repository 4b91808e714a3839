using System.Buffers.Binary;

namespace TcpKit.Wire.Ip;

/// <summary>
/// View over an IPv6 packet (RFC 8200 section 3) with its extension-header chain walked once
/// (section 4): hop-by-hop (0), routing (43), fragment (44), destination options (60) and AH (51)
/// are skipped; the walk stops at any other next-header value (TCP 6, no-next-header 59, ESP,
/// unknown), which becomes <see cref="UpperLayerProtocol"/> at <see cref="UpperLayerOffset"/>.
/// A non-first fragment ends the walk at its fragment header, since what follows is fragment data.
/// </summary>
public readonly ref struct Ipv6Packet
{
    public const int HeaderLength = 40;
    public const int FragmentHeaderLength = 8;

    private readonly ReadOnlySpan<byte> _data;
    private readonly int _fragmentHeaderOffset;
    private readonly int _routingHeaderOffset;

    private Ipv6Packet(ReadOnlySpan<byte> data, int totalLength, bool exceeds, int upperOffset, byte upperProtocol, int fragmentHeaderOffset, int routingHeaderOffset, int extensionCount)
    {
        _routingHeaderOffset = routingHeaderOffset;
        LengthExceedsFrame = exceeds;
        _data = data;
        TotalLength = totalLength;
        UpperLayerOffset = upperOffset;
        UpperLayerProtocol = upperProtocol;
        _fragmentHeaderOffset = fragmentHeaderOffset;
        ExtensionHeaderCount = extensionCount;
    }

    public byte Version => (byte)(_data[0] >> 4);

    public byte TrafficClass => (byte)(BinaryPrimitives.ReadUInt16BigEndian(_data) >> 4);

    public byte Dscp => (byte)(TrafficClass >> 2);

    public byte Ecn => (byte)(TrafficClass & 0x3);

    public uint FlowLabel => BinaryPrimitives.ReadUInt32BigEndian(_data) & 0xFFFFF;

    public ushort PayloadLengthField => BinaryPrimitives.ReadUInt16BigEndian(_data[4..]);

    /// <summary>The Next Header field of the fixed header.</summary>
    public byte NextHeader => _data[6];

    public byte HopLimit => _data[7];

    public IpAddress Source => IpAddress.FromIPv6(_data.Slice(8, 16));

    public IpAddress Destination => IpAddress.FromIPv6(_data.Slice(24, 16));

    /// <summary>
    /// 40 + payload length, bounded by the frame's length on the wire when known. A zero payload
    /// length means an empty payload, as Wireshark 4.0 reads it (jumbograms, RFC 2675, are not supported).
    /// </summary>
    public int TotalLength { get; }

    /// <summary>The payload length claims more bytes than the frame had on the wire (Wireshark: "IPv6 payload length exceeds framing length").</summary>
    public bool LengthExceedsFrame { get; }

    public bool IsTruncated => _data.Length < TotalLength;

    public int CapturedLength => Math.Min(_data.Length, TotalLength);

    /// <summary>The protocol found at the end of the extension-header chain.</summary>
    public byte UpperLayerProtocol { get; }

    /// <summary>Offset of the upper-layer header from the start of the IPv6 header.</summary>
    public int UpperLayerOffset { get; }

    /// <summary>Upper-layer length the header reports.</summary>
    public int UpperLayerLength => TotalLength - UpperLayerOffset;

    /// <summary>The upper-layer bytes present.</summary>
    public ReadOnlySpan<byte> UpperLayerPayload => _data[UpperLayerOffset..CapturedLength];

    public int ExtensionHeaderCount { get; }

    public bool HasFragmentHeader => _fragmentHeaderOffset != 0;

    /// <summary>Fragment offset in 8-octet units (RFC 8200 section 4.5), 0 without a fragment header.</summary>
    public ushort FragmentOffset => HasFragmentHeader ? (ushort)(BinaryPrimitives.ReadUInt16BigEndian(_data[(_fragmentHeaderOffset + 2)..]) >> 3) : (ushort)0;

    public bool MoreFragments => HasFragmentHeader && (_data[_fragmentHeaderOffset + 3] & 1) != 0;

    public uint FragmentIdentification => HasFragmentHeader ? BinaryPrimitives.ReadUInt32BigEndian(_data[(_fragmentHeaderOffset + 4)..]) : 0;

    /// <summary>
    /// Part of a fragmented packet. An "atomic fragment" (offset 0, M clear; RFC 6946) is a whole
    /// packet and is not a fragment.
    /// </summary>
    public bool IsFragment => MoreFragments || FragmentOffset != 0;

    public bool IsFirstFragment => MoreFragments && FragmentOffset == 0;

    public ReadOnlySpan<byte> Header => _data[..HeaderLength];

    /// <summary>
    /// The destination the upper-layer checksum covers (RFC 8200 section 8.1): with a routing header
    /// that still has segments left, the final one (type 0: the last address; type 2, RFC 6275: the
    /// home address; type 4 SRH, RFC 8754: Segment List[0]); otherwise <see cref="Destination"/>.
    /// RPL's compressed type 3 is not expanded.
    /// </summary>
    public IpAddress PseudoHeaderDestination
    {
        get
        {
            int at = _routingHeaderOffset;
            if (at == 0)
            {
                return Destination;
            }

            int length = (_data[at + 1] + 1) * 8;
            int addresses = (length - 8) / 16;
            return _data[at + 2] switch
            {
                0 when addresses > 0 => IpAddress.FromIPv6(_data.Slice(at + 8 + (16 * (addresses - 1)), 16)),
                2 or 4 when addresses > 0 => IpAddress.FromIPv6(_data.Slice(at + 8, 16)),
                _ => Destination,
            };
        }
    }

    public static bool TryParse(ReadOnlySpan<byte> data, out Ipv6Packet packet) => TryParse(data, out packet, out _);

    /// <summary>Parses when the packet's length on the wire is unknown: a payload length beyond the bytes present means a capture cut.</summary>
    public static bool TryParse(ReadOnlySpan<byte> data, out Ipv6Packet packet, out WireError error)
        => TryParse(data, -1, out packet, out error);

    /// <summary>
    /// Parses a packet that had <paramref name="wireLength"/> bytes on the wire (-1 when unknown),
    /// of which <paramref name="data"/> were captured.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> data, int wireLength, out Ipv6Packet packet, out WireError error)
    {
        packet = default;
        if (data.Length < HeaderLength)
        {
            error = WireError.Truncated;
            return false;
        }

        if (data[0] >> 4 != 6)
        {
            error = WireError.BadIpVersion;
            return false;
        }

        int payloadLength = BinaryPrimitives.ReadUInt16BigEndian(data[4..]);
        int totalLength = HeaderLength + payloadLength;
        bool exceeds = wireLength >= 0 && totalLength > Math.Max(wireLength, data.Length);
        if (exceeds)
        {
            totalLength = Math.Max(wireLength, data.Length);
        }

        int captured = Math.Min(totalLength, data.Length);

        byte next = data[6];
        int offset = HeaderLength;
        int fragmentOffset = 0;
        int routingOffset = 0;
        int count = 0;
        while (true)
        {
            int length;
            switch (next)
            {
                case IpProtocol.HopByHop:
                case IpProtocol.Ipv6Routing:
                case IpProtocol.Ipv6DestinationOptions:
                    // Hdr Ext Len counts 8-octet units beyond the first 8 (RFC 8200 section 4.3).
                    if (offset + 2 > captured)
                    {
                        return Fail(offset + 2, totalLength, out error);
                    }

                    length = (data[offset + 1] + 1) * 8;
                    break;

                case IpProtocol.AuthenticationHeader:
                    // AH Payload Len counts 4-octet units minus 2 (RFC 4302 section 2.2).
                    if (offset + 2 > captured)
                    {
                        return Fail(offset + 2, totalLength, out error);
                    }

                    length = (data[offset + 1] + 2) * 4;
                    break;

                case IpProtocol.Ipv6Fragment:
                    length = FragmentHeaderLength;
                    break;

                default:
                    packet = new Ipv6Packet(data, totalLength, exceeds, offset, next, fragmentOffset, routingOffset, count);
                    error = WireError.None;
                    return true;
            }

            if (offset + length > captured)
            {
                return Fail(offset + length, totalLength, out error);
            }

            // The first routing header with segments left names the final destination.
            if (next == IpProtocol.Ipv6Routing && routingOffset == 0 && data[offset + 3] != 0)
            {
                routingOffset = offset;
            }

            bool laterFragment = false;
            if (next == IpProtocol.Ipv6Fragment)
            {
                fragmentOffset = offset;
                laterFragment = (BinaryPrimitives.ReadUInt16BigEndian(data[(offset + 2)..]) >> 3) != 0;
            }

            next = data[offset];
            offset += length;
            count++;
            if (laterFragment)
            {
                packet = new Ipv6Packet(data, totalLength, exceeds, offset, next, fragmentOffset, routingOffset, count);
                error = WireError.None;
                return true;
            }
        }
    }

    /// <summary>A header that does not fit is a capture cut when the packet claims the bytes, else malformed.</summary>
    private static bool Fail(int needed, int totalLength, out WireError error)
    {
        error = needed > totalLength ? WireError.BadIpv6ExtensionHeader : WireError.Truncated;
        return false;
    }
}

/// <summary>Representation and builder of an IPv6 fixed header without extension headers.</summary>
public struct Ipv6Header
{
    public byte TrafficClass;
    public uint FlowLabel;
    public byte NextHeader;
    public byte HopLimit;
    public IpAddress Source;
    public IpAddress Destination;

    /// <summary>Writes the 40-byte header for <paramref name="payloadLength"/> bytes of payload; returns 40.</summary>
    public readonly int Emit(Span<byte> buffer, int payloadLength)
    {
        if (!Source.IsIPv6 || !Destination.IsIPv6)
        {
            throw new InvalidOperationException("IPv6 header needs IPv6 addresses.");
        }

        if ((uint)payloadLength > ushort.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(payloadLength));
        }

        var h = buffer[..Ipv6Packet.HeaderLength];
        BinaryPrimitives.WriteUInt32BigEndian(h, (6u << 28) | ((uint)TrafficClass << 20) | (FlowLabel & 0xFFFFF));
        BinaryPrimitives.WriteUInt16BigEndian(h[4..], (ushort)payloadLength);
        h[6] = NextHeader;
        h[7] = HopLimit;
        Source.WriteTo(h[8..]);
        Destination.WriteTo(h[24..]);
        return Ipv6Packet.HeaderLength;
    }
}
