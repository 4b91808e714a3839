using System.Buffers.Binary;
using System.Text;

namespace TcpKit.Wire.Tests.Capture;

/// <summary>A pcapng option for hand-built files: raw bytes, or an integer written in the section's byte order.</summary>
internal sealed record Opt(ushort Code, byte[] Value, int IntSize = 0)
{
    public static Opt Str(ushort code, string s) => new(code, Encoding.UTF8.GetBytes(s));

    public static Opt Comment(string s) => Str(1, s);

    public static Opt Byte(ushort code, byte b) => new(code, [b]);

    public static Opt U32(ushort code, uint v) => new(code, BitConverter.GetBytes(v), 4);

    public static Opt U64(ushort code, ulong v) => new(code, BitConverter.GetBytes(v), 8);

    /// <summary>A timestamp as two 32-bit words, high then low (isb_starttime / isb_endtime).</summary>
    public static Opt Ts(ushort code, ulong v) => new(code, BitConverter.GetBytes(v), -1);
}

/// <summary>Builds pcapng files block by block, in either byte order, with deliberate damage when asked.</summary>
internal sealed class PcapngBuilder
{
    private readonly MemoryStream _ms = new();

    public bool BigEndian { get; private set; }

    public long Position => _ms.Length;

    public byte[] ToArray() => _ms.ToArray();

    public PcapngBuilder Shb(bool bigEndian, ushort major = 1, ushort minor = 0, params Opt[] options)
    {
        BigEndian = bigEndian;
        var body = new MemoryStream();
        W32(body, 0x1A2B3C4D);
        W16(body, major);
        W16(body, minor);
        W64(body, ulong.MaxValue);
        WriteOptions(body, options);
        return Block(0x0A0D0D0A, body.ToArray());
    }

    public PcapngBuilder Idb(ushort linkType, uint snapLength, params Opt[] options)
    {
        var body = new MemoryStream();
        W16(body, linkType);
        W16(body, 0);
        W32(body, snapLength);
        WriteOptions(body, options);
        return Block(1, body.ToArray());
    }

    public PcapngBuilder Epb(uint interfaceId, ulong timestamp, byte[] data, uint? originalLength = null, uint? capturedLengthField = null, params Opt[] options)
    {
        var body = new MemoryStream();
        W32(body, interfaceId);
        W32(body, (uint)(timestamp >> 32));
        W32(body, (uint)timestamp);
        W32(body, capturedLengthField ?? (uint)data.Length);
        W32(body, originalLength ?? (uint)data.Length);
        WritePadded(body, data);
        WriteOptions(body, options);
        return Block(6, body.ToArray());
    }

    public PcapngBuilder Pb(ushort interfaceId, ushort drops, ulong timestamp, byte[] data, params Opt[] options)
    {
        var body = new MemoryStream();
        W16(body, interfaceId);
        W16(body, drops);
        W32(body, (uint)(timestamp >> 32));
        W32(body, (uint)timestamp);
        W32(body, (uint)data.Length);
        W32(body, (uint)data.Length);
        WritePadded(body, data);
        WriteOptions(body, options);
        return Block(2, body.ToArray());
    }

    public PcapngBuilder Spb(uint originalLength, byte[] data)
    {
        var body = new MemoryStream();
        W32(body, originalLength);
        WritePadded(body, data);
        return Block(3, body.ToArray());
    }

    /// <summary>Name resolution block; records are (type, value) and the end-of-records record is added.</summary>
    public PcapngBuilder Nrb(params (ushort Type, byte[] Value)[] records)
    {
        var body = new MemoryStream();
        foreach (var (type, value) in records)
        {
            W16(body, type);
            W16(body, (ushort)value.Length);
            WritePadded(body, value);
        }

        W32(body, 0);
        return Block(4, body.ToArray());
    }

    public PcapngBuilder Isb(uint interfaceId, ulong timestamp, params Opt[] options)
    {
        var body = new MemoryStream();
        W32(body, interfaceId);
        W32(body, (uint)(timestamp >> 32));
        W32(body, (uint)timestamp);
        WriteOptions(body, options);
        return Block(5, body.ToArray());
    }

    /// <summary>Any block: type, total length (or a lie), body padded to 4 bytes, trailing length (or a lie).</summary>
    public PcapngBuilder Block(uint type, byte[] body, uint? length = null, uint? trailingLength = null)
    {
        int padded = (body.Length + 3) & ~3;
        uint real = (uint)(12 + padded);
        W32(_ms, type);
        W32(_ms, length ?? real);
        _ms.Write(body);
        _ms.Write(new byte[padded - body.Length]);
        W32(_ms, trailingLength ?? length ?? real);
        return this;
    }

    public PcapngBuilder Raw(params byte[] bytes)
    {
        _ms.Write(bytes);
        return this;
    }

    public static byte[] Nrb4(string address, params string[] names)
    {
        var ms = new MemoryStream();
        ms.Write(System.Net.IPAddress.Parse(address).GetAddressBytes());
        foreach (var n in names)
        {
            ms.Write(Encoding.UTF8.GetBytes(n));
            ms.WriteByte(0);
        }

        return ms.ToArray();
    }

    private void WriteOptions(MemoryStream body, Opt[] options)
    {
        if (options.Length == 0)
        {
            return;
        }

        foreach (var o in options)
        {
            W16(body, o.Code);
            W16(body, (ushort)o.Value.Length);
            var v = (byte[])o.Value.Clone();
            if (o.IntSize > 0 && BigEndian)
            {
                Array.Reverse(v);
            }
            else if (o.IntSize < 0)
            {
                ulong t = BitConverter.ToUInt64(o.Value);
                v = new byte[8];
                var tmp = new MemoryStream();
                W32(tmp, (uint)(t >> 32));
                W32(tmp, (uint)t);
                v = tmp.ToArray();
            }

            WritePadded(body, v);
        }

        W32(body, 0); // opt_endofopt
    }

    private static void WritePadded(MemoryStream s, byte[] data)
    {
        s.Write(data);
        s.Write(new byte[((data.Length + 3) & ~3) - data.Length]);
    }

    private void W16(Stream s, ushort v)
    {
        Span<byte> b = stackalloc byte[2];
        if (BigEndian) BinaryPrimitives.WriteUInt16BigEndian(b, v); else BinaryPrimitives.WriteUInt16LittleEndian(b, v);
        s.Write(b);
    }

    private void W32(Stream s, uint v)
    {
        Span<byte> b = stackalloc byte[4];
        if (BigEndian) BinaryPrimitives.WriteUInt32BigEndian(b, v); else BinaryPrimitives.WriteUInt32LittleEndian(b, v);
        s.Write(b);
    }

    private void W64(Stream s, ulong v)
    {
        Span<byte> b = stackalloc byte[8];
        if (BigEndian) BinaryPrimitives.WriteUInt64BigEndian(b, v); else BinaryPrimitives.WriteUInt64LittleEndian(b, v);
        s.Write(b);
    }
}

/// <summary>Builds classic pcap files in either byte order and precision.</summary>
internal sealed class PcapBuilder
{
    private readonly MemoryStream _ms = new();
    private readonly bool _big;

    public PcapBuilder(bool bigEndian, bool nano, uint snapLength = 65535, uint linkTypeField = 1, ushort major = 2, ushort minor = 4)
    {
        _big = bigEndian;
        W32(nano ? 0xA1B23C4Du : 0xA1B2C3D4u);
        W16(major);
        W16(minor);
        W32(0);
        W32(0);
        W32(snapLength);
        W32(linkTypeField);
    }

    public long Position => _ms.Length;

    public PcapBuilder Record(uint seconds, uint fraction, byte[] data, uint? originalLength = null, uint? capturedLengthField = null)
    {
        W32(seconds);
        W32(fraction);
        W32(capturedLengthField ?? (uint)data.Length);
        W32(originalLength ?? (uint)data.Length);
        _ms.Write(data);
        return this;
    }

    public PcapBuilder Raw(params byte[] bytes)
    {
        _ms.Write(bytes);
        return this;
    }

    public byte[] ToArray() => _ms.ToArray();

    private void W16(ushort v)
    {
        Span<byte> b = stackalloc byte[2];
        if (_big) BinaryPrimitives.WriteUInt16BigEndian(b, v); else BinaryPrimitives.WriteUInt16LittleEndian(b, v);
        _ms.Write(b);
    }

    private void W32(uint v)
    {
        Span<byte> b = stackalloc byte[4];
        if (_big) BinaryPrimitives.WriteUInt32BigEndian(b, v); else BinaryPrimitives.WriteUInt32LittleEndian(b, v);
        _ms.Write(b);
    }
}
