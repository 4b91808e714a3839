using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace TcpKit.Wire.Checksums;

/// <summary>Outcome of checking a received checksum, with Wireshark's three answers.</summary>
public enum ChecksumVerdict : byte
{
    Good,
    Bad,
    /// <summary>Not all covered bytes were captured (snaplen), so the sum cannot be computed.</summary>
    Unverifiable,
}

/// <summary>
/// The Internet checksum (RFC 1071): the 16-bit one's-complement of the one's-complement sum of
/// the data taken as big-endian 16-bit words. Sums are <see cref="ushort"/> values in network
/// word order that can be combined with <see cref="Add(ushort, ushort)"/>; a checksum is the
/// complement of a sum (<see cref="Finish"/>).
/// </summary>
public static class InternetChecksum
{
    /// <summary>
    /// Unrolled iterations per chunk: each lane then holds at most (0x1000 + 3) * 0x1FFFE, and four
    /// such lanes summed stay below 2^32.
    /// </summary>
    private const int ChunkAdds = 0x1000;

    /// <summary>One's-complement sum of <paramref name="data"/>; an odd final byte is padded with zero (RFC 1071 section 1).</summary>
    public static ushort Sum(ReadOnlySpan<byte> data)
    {
        // The one's-complement sum is byte-order independent (RFC 1071 section 2(B)): sum native
        // words, fold, and swap once at the end if the machine is little-endian.
        ref byte start = ref MemoryMarshal.GetReference(data);
        int length = data.Length;
        int i = 0;
        ulong acc = 0;

        if (Vector256.IsHardwareAccelerated && length >= 64)
        {
            acc += SumVector256(ref start, length, ref i);
        }

        if (Vector128.IsHardwareAccelerated && length - i >= 32)
        {
            acc += SumVector128(ref start, length, ref i);
        }

        // Scalar tail: 32-bit halves of 64-bit reads; a ulong holds 2^32 of them without overflow.
        for (; i + 8 <= length; i += 8)
        {
            ulong w = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref start, i));
            acc += (uint)w + (w >> 32);
        }

        if (i + 4 <= length)
        {
            acc += Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref start, i));
            i += 4;
        }

        if (i + 2 <= length)
        {
            acc += Unsafe.ReadUnaligned<ushort>(ref Unsafe.Add(ref start, i));
            i += 2;
        }

        if (i < length)
        {
            // The lone byte is the high-order byte of a big-endian word whose low byte is zero.
            byte last = Unsafe.Add(ref start, i);
            acc += BitConverter.IsLittleEndian ? last : (uint)last << 8;
        }

        ushort folded = Fold(acc);
        return BitConverter.IsLittleEndian ? BinaryPrimitives.ReverseEndianness(folded) : folded;
    }

    private static ulong SumVector256(ref byte start, int length, ref int index)
    {
        // Kept in a local: a ref parameter as loop counter would be re-read from memory each iteration.
        int i = index;
        ulong total = 0;
        var mask = Vector256.Create(0xFFFFu);
        while (length - i >= 32)
        {
            // Each 32-bit lane gains at most 0x1FFFE per add; a chunk bounds the adds so that the
            // four accumulators together still fit in 32 bits before they are widened.
            int end = i + Math.Min(length - i, ChunkAdds * 128);
            var a0 = Vector256<uint>.Zero;
            var a1 = Vector256<uint>.Zero;
            var a2 = Vector256<uint>.Zero;
            var a3 = Vector256<uint>.Zero;
            for (; end - i >= 128; i += 128)
            {
                var v0 = Vector256.LoadUnsafe(ref Unsafe.Add(ref start, i)).AsUInt32();
                var v1 = Vector256.LoadUnsafe(ref Unsafe.Add(ref start, i + 32)).AsUInt32();
                var v2 = Vector256.LoadUnsafe(ref Unsafe.Add(ref start, i + 64)).AsUInt32();
                var v3 = Vector256.LoadUnsafe(ref Unsafe.Add(ref start, i + 96)).AsUInt32();
                a0 += (v0 & mask) + (v0 >>> 16);
                a1 += (v1 & mask) + (v1 >>> 16);
                a2 += (v2 & mask) + (v2 >>> 16);
                a3 += (v3 & mask) + (v3 >>> 16);
            }

            for (; end - i >= 32; i += 32)
            {
                var v = Vector256.LoadUnsafe(ref Unsafe.Add(ref start, i)).AsUInt32();
                a0 += (v & mask) + (v >>> 16);
            }

            total += WidenSum((a0 + a1) + (a2 + a3));
        }

        index = i;
        return total;
    }

    private static ulong SumVector128(ref byte start, int length, ref int index)
    {
        int i = index;
        ulong total = 0;
        var mask = Vector128.Create(0xFFFFu);
        while (length - i >= 16)
        {
            int end = i + Math.Min(length - i, ChunkAdds * 64);
            var a0 = Vector128<uint>.Zero;
            var a1 = Vector128<uint>.Zero;
            var a2 = Vector128<uint>.Zero;
            var a3 = Vector128<uint>.Zero;
            for (; end - i >= 64; i += 64)
            {
                var v0 = Vector128.LoadUnsafe(ref Unsafe.Add(ref start, i)).AsUInt32();
                var v1 = Vector128.LoadUnsafe(ref Unsafe.Add(ref start, i + 16)).AsUInt32();
                var v2 = Vector128.LoadUnsafe(ref Unsafe.Add(ref start, i + 32)).AsUInt32();
                var v3 = Vector128.LoadUnsafe(ref Unsafe.Add(ref start, i + 48)).AsUInt32();
                a0 += (v0 & mask) + (v0 >>> 16);
                a1 += (v1 & mask) + (v1 >>> 16);
                a2 += (v2 & mask) + (v2 >>> 16);
                a3 += (v3 & mask) + (v3 >>> 16);
            }

            for (; end - i >= 16; i += 16)
            {
                var v = Vector128.LoadUnsafe(ref Unsafe.Add(ref start, i)).AsUInt32();
                a0 += (v & mask) + (v >>> 16);
            }

            total += WidenSum((a0 + a1) + (a2 + a3));
        }

        index = i;
        return total;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong WidenSum(Vector256<uint> v)
    {
        var (lo, hi) = Vector256.Widen(v);
        return Vector256.Sum(lo + hi);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong WidenSum(Vector128<uint> v)
    {
        var (lo, hi) = Vector128.Widen(v);
        return Vector128.Sum(lo + hi);
    }

    /// <summary>Folds a wide accumulator to 16 bits with end-around carry (RFC 1071 section 4.1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort Fold(ulong sum)
    {
        sum = (sum & 0xFFFF_FFFF) + (sum >> 32);
        sum = (sum & 0xFFFF_FFFF) + (sum >> 32);
        uint s = (uint)sum;
        s = (s & 0xFFFF) + (s >> 16);
        s = (s & 0xFFFF) + (s >> 16);
        return (ushort)s;
    }

    /// <summary>One's-complement addition of two sums.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort Add(ushort a, ushort b) => Fold((uint)a + b);

    /// <summary>Turns a sum into the checksum value to transmit.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort Finish(ushort sum) => (ushort)~sum;

    /// <summary>The checksum of <paramref name="data"/> alone (e.g. an IPv4 header with a zero checksum field).</summary>
    public static ushort Compute(ReadOnlySpan<byte> data) => Finish(Sum(data));

    /// <summary>Sum of the TCP/UDP pseudo-header (RFC 9293 section 3.1 for IPv4, RFC 8200 section 8.1 for IPv6).</summary>
    public static ushort PseudoHeaderSum(in IpAddress source, in IpAddress destination, byte protocol, int upperLayerLength)
    {
        if (source.IsIPv4 != destination.IsIPv4)
        {
            throw new ArgumentException("Pseudo-header addresses must be of the same IP version.", nameof(destination));
        }

        ulong acc = (ulong)protocol + (uint)upperLayerLength;
        if (source.IsIPv4)
        {
            uint s = source.IPv4Value;
            uint d = destination.IPv4Value;
            acc += (s >> 16) + (s & 0xFFFF) + (d >> 16) + (d & 0xFFFF);
        }
        else
        {
            acc += WordSum(source.High) + WordSum(source.Low) + WordSum(destination.High) + WordSum(destination.Low);
        }

        return Fold(acc);
    }

    private static ulong WordSum(ulong v) => (v >> 48) + ((v >> 32) & 0xFFFF) + ((v >> 16) & 0xFFFF) + (v & 0xFFFF);

    /// <summary>
    /// The checksum of a TCP segment (header with its checksum field as found, plus payload) under
    /// the pseudo-header. Callers building a segment zero the field first.
    /// </summary>
    public static ushort ComputeTcp(in IpAddress source, in IpAddress destination, ReadOnlySpan<byte> segment)
        => Finish(Add(PseudoHeaderSum(source, destination, IpProtocol.Tcp, segment.Length), Sum(segment)));

    /// <summary>
    /// True when a received TCP segment's checksum field matches: the sum over pseudo-header and
    /// segment, checksum included, is all ones (RFC 1071 section 1 (3)).
    /// </summary>
    public static bool VerifyTcp(in IpAddress source, in IpAddress destination, ReadOnlySpan<byte> segment)
        => Add(PseudoHeaderSum(source, destination, IpProtocol.Tcp, segment.Length), Sum(segment)) == 0xFFFF;

    /// <summary>
    /// RFC 1624 eqn. 3: the new checksum after one 16-bit word of the covered data changes from
    /// <paramref name="oldWord"/> to <paramref name="newWord"/>: HC' = ~(~HC + ~m + m').
    /// </summary>
    public static ushort Update(ushort checksum, ushort oldWord, ushort newWord)
        => (ushort)~Fold((uint)(ushort)~checksum + (ushort)~oldWord + newWord);

    /// <summary>RFC 1624 update for a 32-bit field (an IPv4 address, a sequence number), as two 16-bit words.</summary>
    public static ushort Update(ushort checksum, uint oldValue, uint newValue)
        => (ushort)~Fold((ulong)(ushort)~checksum
            + (ushort)~(oldValue >> 16) + (ushort)~(oldValue & 0xFFFF)
            + (newValue >> 16) + (newValue & 0xFFFF));
}
