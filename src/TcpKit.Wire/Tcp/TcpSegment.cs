using System.Buffers.Binary;
using TcpKit.Wire.Checksums;

namespace TcpKit.Wire.Tcp;

/// <summary>
/// View over a TCP segment (RFC 9293 section 3.1). <see cref="TryParse(ReadOnlySpan{byte}, int, out TcpSegment, out WireError)"/>
/// checks the data offset once; the getters are then free. The span is the bytes present; the
/// segment length the IP layer reports may be larger when the capture was cut (snaplen).
/// </summary>
public readonly ref struct TcpSegment
{
    public const int MinHeaderLength = 20;
    public const int MaxHeaderLength = 60;

    private readonly ReadOnlySpan<byte> _data;

    private TcpSegment(ReadOnlySpan<byte> data, int headerLength, int reportedLength)
    {
        _data = data;
        HeaderLength = headerLength;
        ReportedLength = reportedLength;
    }

    public ushort SourcePort => BinaryPrimitives.ReadUInt16BigEndian(_data);

    public ushort DestinationPort => BinaryPrimitives.ReadUInt16BigEndian(_data[2..]);

    public SeqNum Seq => new(BinaryPrimitives.ReadUInt32BigEndian(_data[4..]));

    public SeqNum Ack => new(BinaryPrimitives.ReadUInt32BigEndian(_data[8..]));

    /// <summary>Data offset * 4, 20..60.</summary>
    public int HeaderLength { get; }

    /// <summary>All twelve control bits: the three reserved bits, AE, CWR, ECE, URG, ACK, PSH, RST, SYN, FIN.</summary>
    public TcpFlags Flags => (TcpFlags)(((_data[12] & 0x0F) << 8) | _data[13]);

    public bool Has(TcpFlags flag) => (Flags & flag) == flag;

    public ushort Window => BinaryPrimitives.ReadUInt16BigEndian(_data[14..]);

    public ushort Checksum => BinaryPrimitives.ReadUInt16BigEndian(_data[16..]);

    public ushort UrgentPointer => BinaryPrimitives.ReadUInt16BigEndian(_data[18..]);

    /// <summary>Segment length (header + data) the IP layer reports.</summary>
    public int ReportedLength { get; }

    /// <summary>Payload length the IP layer reports; may exceed <see cref="Payload"/> when truncated.</summary>
    public int PayloadLength => ReportedLength - HeaderLength;

    /// <summary>The capture holds fewer bytes than the segment has.</summary>
    public bool IsTruncated => _data.Length < ReportedLength;

    public ReadOnlySpan<byte> Header => _data[..HeaderLength];

    public ReadOnlySpan<byte> OptionBytes => _data[MinHeaderLength..HeaderLength];

    /// <summary>The payload bytes present.</summary>
    public ReadOnlySpan<byte> Payload => _data[HeaderLength..];

    /// <summary>The segment bytes present (header and payload).</summary>
    public ReadOnlySpan<byte> Bytes => _data;

    /// <summary>Enumerates the options without allocating.</summary>
    public TcpOptionReader Options => new(OptionBytes);

    /// <summary>
    /// Sequence space the segment occupies (RFC 9293 section 3.4 SEG.LEN): payload plus one for
    /// SYN and one for FIN.
    /// </summary>
    public int SequenceLength => PayloadLength + ((_data[13] & 0x02) >> 1) + (_data[13] & 0x01);

    /// <summary>Parses a segment that was captured whole.</summary>
    public static bool TryParse(ReadOnlySpan<byte> data, out TcpSegment segment) => TryParse(data, data.Length, out segment, out _);

    /// <summary>
    /// Parses a segment whose length per the IP layer is <paramref name="reportedLength"/>. Bytes
    /// beyond it in <paramref name="data"/> (link padding) are ignored; fewer bytes mean truncation.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> data, int reportedLength, out TcpSegment segment, out WireError error)
    {
        segment = default;
        if (data.Length > reportedLength)
        {
            data = data[..Math.Max(reportedLength, 0)];
        }

        if (data.Length < MinHeaderLength)
        {
            error = reportedLength < MinHeaderLength ? WireError.TcpHeaderBeyondPacket : WireError.Truncated;
            return false;
        }

        int headerLength = (data[12] >> 4) * 4;
        if (headerLength < MinHeaderLength)
        {
            error = WireError.BadTcpDataOffset;
            return false;
        }

        if (headerLength > reportedLength)
        {
            error = WireError.TcpHeaderBeyondPacket;
            return false;
        }

        if (headerLength > data.Length)
        {
            error = WireError.Truncated;
            return false;
        }

        segment = new TcpSegment(data, headerLength, reportedLength);
        error = WireError.None;
        return true;
    }

    /// <summary>
    /// Checks the checksum under the pseudo-header of <paramref name="source"/> and
    /// <paramref name="destination"/>; <see cref="ChecksumVerdict.Unverifiable"/> when truncated.
    /// </summary>
    public ChecksumVerdict VerifyChecksum(in IpAddress source, in IpAddress destination)
    {
        if (IsTruncated)
        {
            return ChecksumVerdict.Unverifiable;
        }

        return InternetChecksum.VerifyTcp(source, destination, _data) ? ChecksumVerdict.Good : ChecksumVerdict.Bad;
    }

    /// <summary>What the checksum field should hold (valid only when not truncated).</summary>
    public ushort ComputeChecksum(in IpAddress source, in IpAddress destination)
    {
        ushort sum = InternetChecksum.Add(
            InternetChecksum.PseudoHeaderSum(source, destination, IpProtocol.Tcp, _data.Length),
            InternetChecksum.Sum(_data));
        return InternetChecksum.Finish(InternetChecksum.Add(sum, (ushort)~Checksum));
    }

    /// <summary>The options TcpKit understands, in representation form (unknown and malformed ones are skipped).</summary>
    public TcpOptions ParseOptions() => ParseOptions(out _);

    /// <summary>As <see cref="ParseOptions()"/>, also saying whether any option was malformed.</summary>
    public TcpOptions ParseOptions(out bool malformed)
    {
        if (HeaderLength == MinHeaderLength)
        {
            malformed = false;
            return default; // most segments carry no options: no call into the parser
        }

        return TcpOptionReader.Parse(OptionBytes, out malformed);
    }

    /// <summary>The parsed header representation.</summary>
    public TcpHeader ToHeader()
    {
        var header = new TcpHeader
        {
            SourcePort = SourcePort,
            DestinationPort = DestinationPort,
            Seq = Seq,
            Ack = Ack,
            Flags = Flags,
            Window = Window,
            UrgentPointer = UrgentPointer,
        };
        if (HeaderLength != MinHeaderLength)
        {
            // Assigned only when there are options: copying a zeroed TcpOptions into the already zeroed header
            // stalled on store forwarding (two overlapping 32-byte stores read back as one) on every segment.
            header.Options = ParseOptions();
        }

        return header;
    }
}
