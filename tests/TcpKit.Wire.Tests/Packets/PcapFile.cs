namespace TcpKit.Wire.Tests.Packets;

/// <summary>Writes a classic libpcap file (24-byte header, 16-byte record headers) for tshark to read.</summary>
internal static class PcapFile
{
    public static void Write(string path, TcpKit.Wire.LinkType link, int snapLength, params (byte[] Captured, int OriginalLength)[] records)
    {
        using var stream = File.Create(path);
        using var w = new BinaryWriter(stream);
        w.Write(0xA1B2C3D4u); // microsecond magic; BinaryWriter is little-endian, and readers detect the order from it
        w.Write((ushort)2);
        w.Write((ushort)4);
        w.Write(0); // thiszone
        w.Write(0u); // sigfigs
        w.Write((uint)snapLength);
        w.Write((uint)link);
        uint seconds = 1_700_000_000;
        foreach (var (captured, original) in records)
        {
            w.Write(seconds++);
            w.Write(0u);
            w.Write((uint)captured.Length);
            w.Write((uint)original);
            w.Write(captured);
        }
    }
}
