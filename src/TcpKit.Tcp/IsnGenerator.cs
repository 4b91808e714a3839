using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using TcpKit.Wire;
using TcpKit.Wire.Tcp;

namespace TcpKit.Tcp;

/// <summary>
/// Initial sequence numbers per RFC 6528 (RFC 9293 section 3.4.1): ISN = M + F(4-tuple, secret),
/// M a clock ticking every 4 microseconds, F SipHash-2-4 keyed with a 128-bit secret.
/// </summary>
public sealed class IsnGenerator
{
    private readonly ulong _k0;
    private readonly ulong _k1;

    /// <summary>Uses a fresh random secret.</summary>
    public IsnGenerator()
        : this(RandomNumberGenerator.GetBytes(16))
    {
    }

    /// <summary>Uses the given 16-byte secret (tests and reproducible simulations).</summary>
    public IsnGenerator(ReadOnlySpan<byte> key)
    {
        if (key.Length != 16)
        {
            throw new ArgumentException("The ISN secret must be 16 bytes.", nameof(key));
        }

        _k0 = BinaryPrimitives.ReadUInt64LittleEndian(key);
        _k1 = BinaryPrimitives.ReadUInt64LittleEndian(key[8..]);
    }

    /// <summary>
    /// The ISN for a connection from (localAddress, localPort) to (remoteAddress, remotePort) at
    /// <paramref name="now"/>. Addresses are the raw 4 (IPv4) or 16 (IPv6) bytes.
    /// </summary>
    public SeqNum Generate(ReadOnlySpan<byte> localAddress, ushort localPort, ReadOnlySpan<byte> remoteAddress, ushort remotePort, Instant now)
    {
        if (localAddress.Length > 16 || remoteAddress.Length > 16)
        {
            throw new ArgumentException("Addresses are at most 16 bytes.");
        }

        Span<byte> input = stackalloc byte[38];
        int n = 0;
        input[n++] = (byte)localAddress.Length;
        localAddress.CopyTo(input[n..]);
        n += localAddress.Length;
        BinaryPrimitives.WriteUInt16BigEndian(input[n..], localPort);
        n += 2;
        remoteAddress.CopyTo(input[n..]);
        n += remoteAddress.Length;
        BinaryPrimitives.WriteUInt16BigEndian(input[n..], remotePort);
        n += 2;
        input[n++] = (byte)remoteAddress.Length;

        uint f = (uint)SipHash24(_k0, _k1, input[..n]);
        uint m = unchecked((uint)(now.Nanoseconds / 4_000));
        return new SeqNum(unchecked(m + f));
    }

    /// <summary>SipHash-2-4 (Aumasson and Bernstein, 2012).</summary>
    internal static ulong SipHash24(ulong k0, ulong k1, ReadOnlySpan<byte> data)
    {
        ulong v0 = 0x736f6d6570736575UL ^ k0;
        ulong v1 = 0x646f72616e646f6dUL ^ k1;
        ulong v2 = 0x6c7967656e657261UL ^ k0;
        ulong v3 = 0x7465646279746573UL ^ k1;
        int blocks = data.Length / 8;
        for (int i = 0; i < blocks; i++)
        {
            ulong m = BinaryPrimitives.ReadUInt64LittleEndian(data.Slice(i * 8, 8));
            v3 ^= m;
            Round(ref v0, ref v1, ref v2, ref v3);
            Round(ref v0, ref v1, ref v2, ref v3);
            v0 ^= m;
        }

        ulong last = (ulong)(data.Length & 0xff) << 56;
        ReadOnlySpan<byte> tail = data[(blocks * 8)..];
        for (int i = 0; i < tail.Length; i++)
        {
            last |= (ulong)tail[i] << (8 * i);
        }

        v3 ^= last;
        Round(ref v0, ref v1, ref v2, ref v3);
        Round(ref v0, ref v1, ref v2, ref v3);
        v0 ^= last;
        v2 ^= 0xff;
        for (int i = 0; i < 4; i++)
        {
            Round(ref v0, ref v1, ref v2, ref v3);
        }

        return v0 ^ v1 ^ v2 ^ v3;
    }

    // Inlined, so the four state words stay in registers (a call would keep them in memory, behind the refs).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Round(ref ulong v0, ref ulong v1, ref ulong v2, ref ulong v3)
    {
        v0 += v1;
        v1 = BitOperations.RotateLeft(v1, 13);
        v1 ^= v0;
        v0 = BitOperations.RotateLeft(v0, 32);
        v2 += v3;
        v3 = BitOperations.RotateLeft(v3, 16);
        v3 ^= v2;
        v0 += v3;
        v3 = BitOperations.RotateLeft(v3, 21);
        v3 ^= v0;
        v2 += v1;
        v1 = BitOperations.RotateLeft(v1, 17);
        v1 ^= v2;
        v2 = BitOperations.RotateLeft(v2, 32);
    }
}
