using System.Buffers.Binary;
using System.Globalization;

namespace TcpKit.Wire.Link;

/// <summary>A 48-bit IEEE MAC address held in the low bits of a ulong, printed as aa:bb:cc:dd:ee:ff.</summary>
public readonly record struct MacAddress(ulong Value)
{
    public static MacAddress Broadcast => new(0xFFFF_FFFF_FFFF);

    public static MacAddress Read(ReadOnlySpan<byte> bytes)
        => new(((ulong)BinaryPrimitives.ReadUInt16BigEndian(bytes) << 32) | BinaryPrimitives.ReadUInt32BigEndian(bytes[2..]));

    public void WriteTo(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt16BigEndian(destination, (ushort)(Value >> 32));
        BinaryPrimitives.WriteUInt32BigEndian(destination[2..], (uint)Value);
    }

    public override string ToString()
    {
        Span<char> text = stackalloc char[17];
        for (int i = 0; i < 6; i++)
        {
            ((byte)(Value >> (40 - 8 * i))).TryFormat(text[(3 * i)..], out _, "x2", CultureInfo.InvariantCulture);
            if (i < 5)
            {
                text[3 * i + 2] = ':';
            }
        }

        return new string(text);
    }
}
