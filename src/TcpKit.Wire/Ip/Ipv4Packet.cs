using System.Buffers.Binary;
using TcpKit.Wire.Checksums;

namespace TcpKit.Wire.Ip;

/// <summary>
/// View over an IPv4 packet (RFC 791 section 3.1). <see cref="TryParse(ReadOnlySpan{byte}, out Ipv4Packet, out WireError)"/>
/// checks version, IHL and total length once; the getters are then free. A packet cut short by the
/// capture snaplen still parses when its header is whole: <see cref="IsTruncated"/> says so and
/// <see cref="Payload"/> holds the bytes present.
/// </summary>
public readonly ref struct Ipv4Packet
{
    public const int MinHeaderLength = 20;

    private readonly ReadOnlySpan<byte> _data;

    private Ipv4Packet(ReadOnlySpan<byte> data, int headerLength, int totalLength, bool optionsWellFormed, bool lengthExceedsFrame)
    {
        _data = data;
        HeaderLength = headerLength;
        TotalLength = totalLength;
        OptionsWellFormed = optionsWellFormed;
        LengthExceedsFrame = lengthExceedsFrame;
    }

    /// <summary>IHL * 4, 20..60.</summary>
    public int HeaderLength { get; }

    /// <summary>
    /// The packet length the header reports, bounded by the length the frame had on the wire when
    /// that is known. A zero Total Length field (left by TCP segmentation offload on the sending
    /// host) is taken as the whole frame, as Wireshark does.
    /// </summary>
    public int TotalLength { get; }

    /// <summary>
    /// The Total Length field claims more bytes than the frame had on the wire (Wireshark: "IPv4
    /// total length exceeds packet length"); <see cref="TotalLength"/> was cut to the frame.
    /// </summary>
    public bool LengthExceedsFrame { get; }

    /// <summary>The raw Total Length field.</summary>
    public ushort TotalLengthField => BinaryPrimitives.ReadUInt16BigEndian(_data[2..]);

    /// <summary>False when an option's length byte is below 2 or runs past the header; the options were skipped either way.</summary>
    public bool OptionsWellFormed { get; }

    /// <summary>The capture holds fewer bytes than <see cref="TotalLength"/>.</summary>
    public bool IsTruncated => _data.Length < TotalLength;

    /// <summary>Bytes of the packet present in the capture (at most <see cref="TotalLength"/>; link padding is excluded).</summary>
    public int CapturedLength => Math.Min(_data.Length, TotalLength);

    public byte Version => (byte)(_data[0] >> 4);

    /// <summary>Differentiated Services code point (RFC 2474), the upper six bits of the former TOS byte.</summary>
    public byte Dscp => (byte)(_data[1] >> 2);

    /// <summary>ECN field (RFC 3168 section 5), the low two bits of the former TOS byte.</summary>
    public byte Ecn => (byte)(_data[1] & 0x3);

    public byte TypeOfService => _data[1];

    public ushort Identification => BinaryPrimitives.ReadUInt16BigEndian(_data[4..]);

    public bool DontFragment => (_data[6] & 0x40) != 0;

    public bool MoreFragments => (_data[6] & 0x20) != 0;

    /// <summary>The reserved ("evil", RFC 3514) flag bit.</summary>
    public bool ReservedFlag => (_data[6] & 0x80) != 0;

    /// <summary>Fragment offset in 8-octet units.</summary>
    public ushort FragmentOffset => (ushort)(BinaryPrimitives.ReadUInt16BigEndian(_data[6..]) & 0x1FFF);

    /// <summary>Fragment offset in bytes.</summary>
    public int FragmentOffsetBytes => FragmentOffset * 8;

    /// <summary>Part of a fragmented datagram (RFC 791 section 2.3): more fragments follow or this one does not start at 0.</summary>
    public bool IsFragment => MoreFragments || FragmentOffset != 0;

    /// <summary>The first fragment, which carries the upper-layer header.</summary>
    public bool IsFirstFragment => MoreFragments && FragmentOffset == 0;

    public byte TimeToLive => _data[8];

    public byte Protocol => _data[9];

    public ushort HeaderChecksum => BinaryPrimitives.ReadUInt16BigEndian(_data[10..]);

    public IpAddress Source => IpAddress.FromIPv4(_data[12..]);

    public IpAddress Destination => IpAddress.FromIPv4(_data[16..]);

    public ReadOnlySpan<byte> Header => _data[..HeaderLength];

    public ReadOnlySpan<byte> Options => _data[MinHeaderLength..HeaderLength];

    /// <summary>The upper-layer bytes present (after the header, up to the total length).</summary>
    public ReadOnlySpan<byte> Payload => _data[HeaderLength..CapturedLength];

    /// <summary>Upper-layer length the header reports (total length minus header length).</summary>
    public int PayloadLength => TotalLength - HeaderLength;

    /// <summary>True when the header checksum sums to all ones (RFC 791, RFC 1071). The header is always whole.</summary>
    public bool IsHeaderChecksumValid => InternetChecksum.Sum(Header) == 0xFFFF;

    public ChecksumVerdict HeaderChecksumVerdict => IsHeaderChecksumValid ? ChecksumVerdict.Good : ChecksumVerdict.Bad;

    /// <summary>What the header checksum should be, computed over the header with the field taken as zero.</summary>
    public ushort ComputeHeaderChecksum()
        => InternetChecksum.Finish(InternetChecksum.Add(InternetChecksum.Sum(Header), (ushort)~HeaderChecksum));

    public static bool TryParse(ReadOnlySpan<byte> data, out Ipv4Packet packet) => TryParse(data, out packet, out _);

    /// <summary>Parses when the packet's length on the wire is unknown: a Total Length beyond the bytes present means a capture cut.</summary>
    public static bool TryParse(ReadOnlySpan<byte> data, out Ipv4Packet packet, out WireError error)
        => TryParse(data, -1, out packet, out error);

    /// <summary>
    /// Parses a packet that had <paramref name="wireLength"/> bytes on the wire (the capture's
    /// original length less the link header; -1 when unknown), of which <paramref name="data"/> were captured.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> data, int wireLength, out Ipv4Packet packet, out WireError error)
    {
        packet = default;
        if (data.Length < MinHeaderLength)
        {
            error = WireError.Truncated;
            return false;
        }

        if (data[0] >> 4 != 4)
        {
            error = WireError.BadIpVersion;
            return false;
        }

        int headerLength = (data[0] & 0x0F) * 4;
        if (headerLength < MinHeaderLength)
        {
            error = WireError.BadIpv4HeaderLength;
            return false;
        }

        if (data.Length < headerLength)
        {
            error = WireError.Truncated;
            return false;
        }

        bool wireKnown = wireLength >= 0;
        wireLength = Math.Max(wireLength, data.Length);
        int totalLength = BinaryPrimitives.ReadUInt16BigEndian(data[2..]);
        bool exceeds = false;
        if (totalLength == 0)
        {
            totalLength = wireLength;
        }
        else if (totalLength < headerLength)
        {
            error = WireError.BadIpv4TotalLength;
            return false;
        }
        else if (wireKnown && totalLength > wireLength)
        {
            totalLength = wireLength;
            exceeds = true;
        }

        packet = new Ipv4Packet(data, headerLength, totalLength, CheckOptions(data[MinHeaderLength..headerLength]), exceeds);
        error = WireError.None;
        return true;
    }

    /// <summary>Options are TLVs except EOL (0) and NOP (1) (RFC 791 section 3.1); checked, not interpreted.</summary>
    private static bool CheckOptions(ReadOnlySpan<byte> options)
    {
        int i = 0;
        while (i < options.Length)
        {
            byte type = options[i];
            if (type == 0)
            {
                return true;
            }

            if (type == 1)
            {
                i++;
                continue;
            }

            if (i + 1 >= options.Length || options[i + 1] < 2 || i + options[i + 1] > options.Length)
            {
                return false;
            }

            i += options[i + 1];
        }

        return true;
    }
}

/// <summary>Representation and builder of an option-less IPv4 header.</summary>
public struct Ipv4Header
{
    public byte Dscp;
    public byte Ecn;
    public ushort Identification;
    public bool DontFragment;
    public bool MoreFragments;

    /// <summary>In 8-octet units.</summary>
    public ushort FragmentOffset;
    public byte TimeToLive;
    public byte Protocol;
    public IpAddress Source;
    public IpAddress Destination;

    /// <summary>Writes a 20-byte header with its checksum for a packet carrying <paramref name="payloadLength"/> bytes; returns 20.</summary>
    public readonly int Emit(Span<byte> buffer, int payloadLength)
    {
        if (!Source.IsIPv4 || !Destination.IsIPv4)
        {
            throw new InvalidOperationException("IPv4 header needs IPv4 addresses.");
        }

        if ((uint)payloadLength > ushort.MaxValue - Ipv4Packet.MinHeaderLength)
        {
            throw new ArgumentOutOfRangeException(nameof(payloadLength));
        }

        var h = buffer[..Ipv4Packet.MinHeaderLength];
        // The header's 16-bit words, summed as they are written: the checksum needs no second pass over the bytes.
        uint versionTos = 0x4500u | (uint)(((Dscp << 2) | (Ecn & 0x3)) & 0xFF);
        uint totalLength = (uint)(Ipv4Packet.MinHeaderLength + payloadLength);
        uint flagsAndOffset = (DontFragment ? 0x4000u : 0) | (MoreFragments ? 0x2000u : 0) | (FragmentOffset & 0x1FFFu);
        uint ttlProtocol = (uint)(TimeToLive << 8 | Protocol);
        uint source = Source.IPv4Value;
        uint destination = Destination.IPv4Value;
        BinaryPrimitives.WriteUInt16BigEndian(h, (ushort)versionTos);
        BinaryPrimitives.WriteUInt16BigEndian(h[2..], (ushort)totalLength);
        BinaryPrimitives.WriteUInt16BigEndian(h[4..], Identification);
        BinaryPrimitives.WriteUInt16BigEndian(h[6..], (ushort)flagsAndOffset);
        BinaryPrimitives.WriteUInt16BigEndian(h[8..], (ushort)ttlProtocol);
        BinaryPrimitives.WriteUInt32BigEndian(h[12..], source);
        BinaryPrimitives.WriteUInt32BigEndian(h[16..], destination);
        ulong sum = (ulong)versionTos + totalLength + Identification + flagsAndOffset + ttlProtocol
            + (source >> 16) + (source & 0xFFFF) + (destination >> 16) + (destination & 0xFFFF);
        BinaryPrimitives.WriteUInt16BigEndian(h[10..], InternetChecksum.Finish(InternetChecksum.Fold(sum)));
        return Ipv4Packet.MinHeaderLength;
    }
}
