using System.Buffers.Binary;

namespace TcpKit.Net.Simulation;

/// <summary>An IPv4 or IPv6 address as a dictionary key that needs no allocation to build.</summary>
internal readonly record struct IpAddressKey(UInt128 Value, bool IsIPv6)
{
    public static IpAddressKey FromBytes(ReadOnlySpan<byte> address) => address.Length switch
    {
        4 => new IpAddressKey(BinaryPrimitives.ReadUInt32BigEndian(address), IsIPv6: false),
        16 => new IpAddressKey(BinaryPrimitives.ReadUInt128BigEndian(address), IsIPv6: true),
        _ => throw new ArgumentException($"An IP address has 4 or 16 bytes, not {address.Length}.", nameof(address)),
    };

    /// <summary>
    /// Reads the destination of a raw IP packet: IPv4 (RFC 791) at offset 16, IPv6 (RFC 8200) at
    /// offset 24. False for anything too short or of another version. The simulator only needs this
    /// one field, so it does not depend on the full header parsers.
    /// </summary>
    public static bool TryReadDestination(ReadOnlySpan<byte> packet, out IpAddressKey destination)
    {
        if (packet.Length >= 20 && (packet[0] >> 4) == 4)
        {
            destination = FromBytes(packet.Slice(16, 4));
            return true;
        }

        if (packet.Length >= 40 && (packet[0] >> 4) == 6)
        {
            destination = FromBytes(packet.Slice(24, 16));
            return true;
        }

        destination = default;
        return false;
    }
}
