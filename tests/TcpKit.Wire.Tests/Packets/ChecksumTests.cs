using System.Buffers.Binary;
using CsCheck;
using TcpKit.Wire.Checksums;

namespace TcpKit.Wire.Tests.Packets;

public class ChecksumTests
{
    [Fact]
    public void Sum_of_the_RFC_1071_example_bytes_is_ddf2()
    {
        // RFC 1071 section 3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2.
        byte[] data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        Assert.Equal(0xddf2, InternetChecksum.Sum(data));
    }

    [Fact]
    public void Sum_of_nothing_is_zero_and_an_odd_byte_is_the_high_half_of_a_word()
    {
        Assert.Equal(0, InternetChecksum.Sum([]));
        Assert.Equal(0xAB00, InternetChecksum.Sum([0xAB]));
        Assert.Equal(0x0102 + 0x0300, InternetChecksum.Sum([1, 2, 3]));
    }

    [Fact]
    public void Ipv4_header_checksum_of_a_known_header_is_b861()
    {
        byte[] header = Convert.FromHexString("450000730000400040110000c0a80001c0a800c7");
        Assert.Equal(0xb861, InternetChecksum.Compute(header));
    }

    [Fact]
    public void Vectorised_sum_equals_the_reference_for_random_lengths_and_odd_alignments()
    {
        Gen.Select(Gen.Int[0, 3000], Gen.Int[0, 63], Gen.Int[0, int.MaxValue]).Sample((length, offset, seed) =>
        {
            var buffer = new byte[offset + length];
            new Random(seed).NextBytes(buffer);
            var data = buffer.AsSpan(offset, length);
            Assert.Equal(TestFrames.ReferenceSum(data), InternetChecksum.Sum(data));
        }, iter: 2000);
    }

    [Fact]
    public void Vectorised_sum_of_all_ones_data_is_exact_across_lane_flushes()
    {
        // 0xFF bytes drive every lane to its maximum across several 512 KiB chunks, where lanes are widened before they could overflow.
        var data = new byte[(0x7FFF * 64) + 4097];
        data.AsSpan().Fill(0xFF);
        Assert.Equal(TestFrames.ReferenceSum(data), InternetChecksum.Sum(data));
        Assert.Equal(TestFrames.ReferenceSum(data.AsSpan(1)), InternetChecksum.Sum(data.AsSpan(1)));
    }

    [Fact]
    public void A_received_buffer_whose_checksum_is_filled_in_sums_to_all_ones()
    {
        Gen.Byte.Array[2, 1600].Sample(data =>
        {
            if (data.Length % 2 == 1)
            {
                return;
            }

            data[0] = 0;
            data[1] = 0;
            BinaryPrimitives.WriteUInt16BigEndian(data, InternetChecksum.Compute(data));
            Assert.Equal(0xFFFF, InternetChecksum.Sum(data));
        });
    }

    [Fact]
    public void Incremental_update_of_a_word_equals_full_recompute()
    {
        // RFC 1624 section 3: HC' = ~(~HC + ~m + m'), including the m = 0xFFFF / 0x0000 corner cases.
        Gen.Select(Gen.Byte.Array[4, 200], Gen.Int[0, 99], Gen.UShort).Sample((data, wordIndex, newWord) =>
        {
            int at = 2 * (wordIndex % (data.Length / 2));
            var payload = data.AsSpan(0, data.Length & ~1);
            ushort before = InternetChecksum.Compute(payload);
            ushort oldWord = BinaryPrimitives.ReadUInt16BigEndian(payload[at..]);
            BinaryPrimitives.WriteUInt16BigEndian(payload[at..], newWord);
            ushort updated = InternetChecksum.Update(before, oldWord, newWord);
            AssertSameOnesComplement(InternetChecksum.Compute(payload), updated);
        });
    }

    [Fact]
    public void Incremental_update_of_a_32_bit_field_equals_full_recompute()
    {
        Gen.Select(Gen.Byte.Array[8, 200], Gen.UInt).Sample((data, newValue) =>
        {
            var payload = data.AsSpan(0, data.Length & ~1);
            ushort before = InternetChecksum.Compute(payload);
            uint oldValue = BinaryPrimitives.ReadUInt32BigEndian(payload[2..]);
            BinaryPrimitives.WriteUInt32BigEndian(payload[2..], newValue);
            AssertSameOnesComplement(InternetChecksum.Compute(payload), InternetChecksum.Update(before, oldValue, newValue));
        });
    }

    [Fact]
    public void Tcp_checksum_over_a_pseudo_header_verifies_and_a_flipped_bit_does_not()
    {
        var tcp = TestFrames.LinuxSyn();
        foreach (var (src, dst) in new[] { (TestFrames.ClientV4, TestFrames.ServerV4), (TestFrames.ClientV6, TestFrames.ServerV6) })
        {
            var segment = TestFrames.Segment(tcp, "hello"u8, src, dst);
            Assert.True(InternetChecksum.VerifyTcp(src, dst, segment));
            var otherDestination = dst.IsIPv4 ? IpAddress.FromIPv4(198, 51, 100, 8) : IpAddress.Parse("2001:db8:0:1::81");
            Assert.False(InternetChecksum.VerifyTcp(src, otherDestination, segment));
            segment[^1] ^= 0x10;
            Assert.False(InternetChecksum.VerifyTcp(src, dst, segment));
        }
    }

    [Fact]
    public void Pseudo_header_of_mixed_ip_versions_is_refused()
    {
        Assert.Throws<ArgumentException>(() => InternetChecksum.PseudoHeaderSum(TestFrames.ClientV4, TestFrames.ServerV6, 6, 20));
    }

    /// <summary>0x0000 and 0xFFFF are the two zeros of one's-complement arithmetic (RFC 1624 section 3).</summary>
    private static void AssertSameOnesComplement(ushort expected, ushort actual)
    {
        Assert.True(expected == actual || (expected is 0 or 0xFFFF && actual is 0 or 0xFFFF), $"expected {expected:x4}, got {actual:x4}");
    }
}
