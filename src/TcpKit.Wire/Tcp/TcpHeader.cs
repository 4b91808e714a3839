using System.Buffers.Binary;
using TcpKit.Wire.Checksums;

namespace TcpKit.Wire.Tcp;

/// <summary>
/// The parsed representation of a TCP header (smoltcp's "Repr"): what the engine consumes and
/// produces. Bytes on the wire are read through <see cref="TcpSegment"/> and written by
/// <see cref="TcpHeader.Emit"/>.
/// </summary>
public struct TcpHeader
{
    public ushort SourcePort;
    public ushort DestinationPort;
    public SeqNum Seq;
    public SeqNum Ack;
    public TcpFlags Flags;
    /// <summary>The raw 16-bit window field, before any window-scale shift.</summary>
    public ushort Window;
    public ushort UrgentPointer;
    public TcpOptions Options;

    public readonly bool Has(TcpFlags flag) => (Flags & flag) == flag;

    /// <summary>Largest option space a header can carry (data offset 15 words).</summary>
    public const int MaxOptionsLength = 40;

    /// <summary>
    /// Bytes the options take when emitted, laid out as Linux does (tcp_options_write): MSS;
    /// SACK_PERM+TS together (or NOP,NOP,TS / NOP,NOP,SACK_PERM alone); NOP,WS; NOP,NOP,SACK.
    /// Every item is 4-byte aligned, so no trailing padding is needed.
    /// </summary>
    public readonly int OptionsLength
    {
        get
        {
            int fixedLength = FixedOptionsLength();
            int sacks = SackBlocksFitting(fixedLength);
            return sacks == 0 ? fixedLength : fixedLength + 4 + (8 * sacks);
        }
    }

    /// <summary>Header length when emitted: 20 plus <see cref="OptionsLength"/>.</summary>
    public readonly int HeaderLength => TcpSegment.MinHeaderLength + OptionsLength;

    /// <summary>
    /// SACK blocks that fit beside the other options; the rest are left out, as Linux does
    /// (RFC 2018 section 3: three blocks when timestamps are used).
    /// </summary>
    public readonly int EmittedSackCount
    {
        get => SackBlocksFitting(FixedOptionsLength());
    }

    private readonly int SackBlocksFitting(int fixedOptionsLength)
    {
        if (Options.SackCount == 0)
        {
            return 0;
        }

        int room = MaxOptionsLength - fixedOptionsLength - 4;
        return room < 8 ? 0 : Math.Min(Options.SackCount, room / 8);
    }

    private readonly int FixedOptionsLength()
        => (Options.Mss is null ? 0 : 4)
            + (Options.Timestamp is not null || Options.SackPermitted ? (Options.Timestamp is null ? 4 : 12) : 0)
            + (Options.WindowScale is null ? 0 : 4);

    /// <summary>
    /// Writes header, options and a copy of <paramref name="payload"/> into <paramref name="buffer"/>
    /// and fills in the checksum over the pseudo-header of <paramref name="source"/> and
    /// <paramref name="destination"/>. Returns the segment length.
    /// </summary>
    public readonly int Emit(Span<byte> buffer, ReadOnlySpan<byte> payload, in IpAddress source, in IpAddress destination)
    {
        int optionsLength = OptionsLength;
        int headerLength = TcpSegment.MinHeaderLength + optionsLength;
        if (buffer.Length < headerLength + payload.Length)
        {
            throw new ArgumentException("Buffer too small for the TCP segment.", nameof(buffer));
        }

        payload.CopyTo(buffer[headerLength..]);
        return EmitHeader(buffer, payload.Length, optionsLength, source, destination);
    }

    /// <summary>
    /// As <see cref="Emit"/> when the payload already sits at <c>buffer[HeaderLength..]</c>, so it is
    /// not copied. Returns the segment length.
    /// </summary>
    public readonly int EmitHeader(Span<byte> buffer, int payloadLength, in IpAddress source, in IpAddress destination) =>
        EmitHeader(buffer, payloadLength, OptionsLength, source, destination);

    private readonly int EmitHeader(Span<byte> buffer, int payloadLength, int optionsLength, in IpAddress source, in IpAddress destination)
    {
        int headerLength = TcpSegment.MinHeaderLength + optionsLength;
        int segmentLength = headerLength + payloadLength;
        if (payloadLength < 0 || buffer.Length < segmentLength)
        {
            throw new ArgumentException("Buffer too small for the TCP segment.", nameof(buffer));
        }

        var h = buffer[..headerLength];
        BinaryPrimitives.WriteUInt16BigEndian(h, SourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(h[2..], DestinationPort);
        BinaryPrimitives.WriteUInt32BigEndian(h[4..], Seq.Value);
        BinaryPrimitives.WriteUInt32BigEndian(h[8..], Ack.Value);
        h[12] = (byte)(((headerLength / 4) << 4) | (((ushort)Flags >> 8) & 0x0F));
        h[13] = (byte)Flags;
        BinaryPrimitives.WriteUInt16BigEndian(h[14..], Window);
        h[16] = 0;
        h[17] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(h[18..], UrgentPointer);
        if (optionsLength != 0)
        {
            WriteOptions(h[TcpSegment.MinHeaderLength..]);
        }

        ushort checksum = InternetChecksum.ComputeTcp(source, destination, buffer[..segmentLength]);
        BinaryPrimitives.WriteUInt16BigEndian(h[16..], checksum);
        return segmentLength;
    }

    private readonly void WriteOptions(Span<byte> o)
    {
        const byte Nop = (byte)TcpOptionKind.Nop;
        int i = 0;
        if (Options.Mss is { } mss)
        {
            o[i] = (byte)TcpOptionKind.Mss;
            o[i + 1] = 4;
            BinaryPrimitives.WriteUInt16BigEndian(o[(i + 2)..], mss);
            i += 4;
        }

        if (Options.Timestamp is { } ts)
        {
            if (Options.SackPermitted)
            {
                o[i] = (byte)TcpOptionKind.SackPermitted;
                o[i + 1] = 2;
            }
            else
            {
                o[i] = Nop;
                o[i + 1] = Nop;
            }

            o[i + 2] = (byte)TcpOptionKind.Timestamps;
            o[i + 3] = 10;
            BinaryPrimitives.WriteUInt32BigEndian(o[(i + 4)..], ts.Value);
            BinaryPrimitives.WriteUInt32BigEndian(o[(i + 8)..], ts.EchoReply);
            i += 12;
        }
        else if (Options.SackPermitted)
        {
            o[i] = Nop;
            o[i + 1] = Nop;
            o[i + 2] = (byte)TcpOptionKind.SackPermitted;
            o[i + 3] = 2;
            i += 4;
        }

        if (Options.WindowScale is { } ws)
        {
            o[i] = Nop;
            o[i + 1] = (byte)TcpOptionKind.WindowScale;
            o[i + 2] = 3;
            o[i + 3] = ws;
            i += 4;
        }

        int blocks = EmittedSackCount;
        if (blocks > 0)
        {
            o[i] = Nop;
            o[i + 1] = Nop;
            o[i + 2] = (byte)TcpOptionKind.Sack;
            o[i + 3] = (byte)(2 + 8 * blocks);
            i += 4;
            for (int b = 0; b < blocks; b++)
            {
                var block = Options.GetSack(b);
                BinaryPrimitives.WriteUInt32BigEndian(o[i..], block.Left.Value);
                BinaryPrimitives.WriteUInt32BigEndian(o[(i + 4)..], block.Right.Value);
                i += 8;
            }
        }
    }
}
