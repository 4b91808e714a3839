using System.Buffers.Binary;

namespace TcpKit.Wire.Link;

/// <summary>
/// View over an Ethernet II frame, with any number of stacked IEEE 802.1Q / 802.1ad VLAN tags
/// skipped; the first two VLAN IDs (outer first) are kept. No FCS is assumed.
/// </summary>
public readonly ref struct EthernetFrame
{
    public const int HeaderLength = 14;
    public const int VlanTagLength = 4;

    /// <summary>Bound on tags walked so a frame of nothing but tags cannot cost more than this.</summary>
    public const int MaxVlanTags = 8;

    private readonly ReadOnlySpan<byte> _frame;

    private EthernetFrame(ReadOnlySpan<byte> frame, int payloadOffset, ushort etherType, int vlanCount, ushort outer, ushort inner)
    {
        _frame = frame;
        PayloadOffset = payloadOffset;
        EtherType = etherType;
        VlanCount = vlanCount;
        OuterVlanId = outer;
        InnerVlanId = inner;
    }

    public MacAddress Destination => MacAddress.Read(_frame);

    public MacAddress Source => MacAddress.Read(_frame[6..]);

    /// <summary>The EtherType after the last VLAN tag (or an 802.3 length below 0x0600).</summary>
    public ushort EtherType { get; }

    /// <summary>How many VLAN tags were present (may exceed the two IDs kept).</summary>
    public int VlanCount { get; }

    /// <summary>The 12-bit VLAN ID of the first (outer) tag, 0 when untagged.</summary>
    public ushort OuterVlanId { get; }

    /// <summary>The VLAN ID of the second tag, 0 when fewer than two tags.</summary>
    public ushort InnerVlanId { get; }

    /// <summary>Offset of the network-layer header within the frame.</summary>
    public int PayloadOffset { get; }

    public ReadOnlySpan<byte> Payload => _frame[PayloadOffset..];

    public static bool TryParse(ReadOnlySpan<byte> frame, out EthernetFrame view) => TryParse(frame, out view, out _);

    public static bool TryParse(ReadOnlySpan<byte> frame, out EthernetFrame view, out WireError error)
    {
        view = default;
        if (frame.Length < HeaderLength)
        {
            error = WireError.Truncated;
            return false;
        }

        int offset = 12;
        ushort type = BinaryPrimitives.ReadUInt16BigEndian(frame[offset..]);
        int tags = 0;
        ushort outer = 0, inner = 0;
        while (Link.EtherType.IsVlanTag(type))
        {
            // Tag: TPID (already read as "type"), then TCI whose low 12 bits are the VID (IEEE 802.1Q 9.6).
            if (frame.Length < offset + 2 + VlanTagLength || tags == MaxVlanTags)
            {
                error = WireError.Truncated;
                return false;
            }

            ushort vid = (ushort)(BinaryPrimitives.ReadUInt16BigEndian(frame[(offset + 2)..]) & 0x0FFF);
            if (tags == 0)
            {
                outer = vid;
            }
            else if (tags == 1)
            {
                inner = vid;
            }

            tags++;
            offset += VlanTagLength;
            type = BinaryPrimitives.ReadUInt16BigEndian(frame[offset..]);
        }

        view = new EthernetFrame(frame, offset + 2, type, tags, outer, inner);
        error = WireError.None;
        return true;
    }
}

/// <summary>Representation and builder of an Ethernet II header with up to two VLAN tags.</summary>
public struct EthernetHeader
{
    public MacAddress Destination;
    public MacAddress Source;
    public ushort EtherType;

    /// <summary>0, 1 or 2 tags. With two, the outer is an 802.1ad S-tag (0x88A8) and the inner an 802.1Q C-tag.</summary>
    public int VlanCount;
    public ushort OuterVlanId;
    public ushort InnerVlanId;

    public readonly int Length => EthernetFrame.HeaderLength + VlanCount * EthernetFrame.VlanTagLength;

    /// <summary>Writes the header; returns its length.</summary>
    public readonly int Emit(Span<byte> buffer)
    {
        if ((uint)VlanCount > 2)
        {
            throw new InvalidOperationException("At most two VLAN tags can be emitted.");
        }

        if (buffer.Length < Length)
        {
            throw new ArgumentException("Buffer too small for the Ethernet header.", nameof(buffer));
        }

        Destination.WriteTo(buffer);
        Source.WriteTo(buffer[6..]);
        int offset = 12;
        if (VlanCount == 2)
        {
            WriteTag(buffer[offset..], Link.EtherType.QinQ, OuterVlanId);
            WriteTag(buffer[(offset + 4)..], Link.EtherType.Vlan, InnerVlanId);
            offset += 8;
        }
        else if (VlanCount == 1)
        {
            WriteTag(buffer[offset..], Link.EtherType.Vlan, OuterVlanId);
            offset += 4;
        }

        BinaryPrimitives.WriteUInt16BigEndian(buffer[offset..], EtherType);
        return offset + 2;
    }

    private static void WriteTag(Span<byte> at, ushort tpid, ushort vid)
    {
        BinaryPrimitives.WriteUInt16BigEndian(at, tpid);
        BinaryPrimitives.WriteUInt16BigEndian(at[2..], (ushort)(vid & 0x0FFF));
    }
}
