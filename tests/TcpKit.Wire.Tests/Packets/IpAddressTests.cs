using System.Net;
using CsCheck;

namespace TcpKit.Wire.Tests.Packets;

public class IpAddressTests
{
    [Theory]
    [InlineData("192.0.2.1")]
    [InlineData("0.0.0.0")]
    [InlineData("255.255.255.255")]
    [InlineData("10.200.3.40")]
    public void Ipv4_prints_as_a_dotted_quad(string text)
    {
        Assert.Equal(text, IpAddress.Parse(text).ToString());
    }

    // Expected strings are what tshark 4.0 prints for ipv6.src (glibc inet_ntop, RFC 5952).
    [Theory]
    [InlineData("::", "::")]
    [InlineData("::1", "::1")]
    [InlineData("2001:DB8:0:0:0:0:0:1", "2001:db8::1")]
    [InlineData("1:0:0:1:0:0:0:1", "1:0:0:1::1")]
    [InlineData("1:0:0:0:1:0:0:1", "1::1:0:0:1")]
    [InlineData("1:0:1:0:1:0:1:0", "1:0:1:0:1:0:1:0")]
    [InlineData("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1")]
    [InlineData("fe80::", "fe80::")]
    [InlineData("::1.2.3.4", "::1.2.3.4")]
    [InlineData("::ffff:1.2.3.4", "::ffff:1.2.3.4")]
    [InlineData("::ffff:0:0", "::ffff:0.0.0.0")]
    [InlineData("::0.0.1.2", "::102")]
    [InlineData("1::5efe:1.2.3.4", "1::5efe:102:304")]
    [InlineData("::ffff:0:1.2.3.4", "::ffff:0:102:304")]
    public void Ipv6_prints_compressed_in_lower_case_like_wireshark(string input, string expected)
    {
        Assert.Equal(expected, IpAddress.Parse(input).ToString());
    }

    [Fact]
    public void Ipv6_text_matches_System_Net_which_follows_RFC_5952()
    {
        // Words are mostly zero so that runs of every length and position occur.
        var words = Gen.Select(Gen.Int[0, 3], Gen.UShort, Gen.Int[1, 16], (kind, any, small) => kind switch
        {
            0 or 1 => (ushort)0,
            2 => (ushort)small,
            _ => any,
        }).Array[8];
        words.Sample(w =>
        {
            // System.Net also embeds IPv4 for SIIT (::ffff:0:a.b.c.d) and ISATAP (…:0:5efe:a.b.c.d) and
            // not for a mapped address whose seventh word is 0; Wireshark (glibc) does the opposite.
            bool siit = w[0] == 0 && w[1] == 0 && w[2] == 0 && w[3] == 0 && w[4] == 0xFFFF && w[5] == 0 && w[6] != 0;
            bool isatap = w[4] == 0 && w[5] == 0x5EFE;
            bool mappedLowZero = w[0] == 0 && w[1] == 0 && w[2] == 0 && w[3] == 0 && w[4] == 0 && w[5] == 0xFFFF && w[6] == 0;
            if (siit || isatap || mappedLowZero)
            {
                return;
            }

            var bytes = new byte[16];
            for (int i = 0; i < 8; i++)
            {
                bytes[2 * i] = (byte)(w[i] >> 8);
                bytes[(2 * i) + 1] = (byte)w[i];
            }

            var oracle = new IPAddress(bytes).ToString();
            Assert.Equal(oracle, IpAddress.FromIPv6(bytes).ToString());
        }, iter: 5000);
    }

    [Fact]
    public void Ipv4_text_matches_System_Net()
    {
        Gen.UInt.Sample(v =>
        {
            var a = IpAddress.FromIPv4(v);
            Assert.Equal(a.ToIPAddress().ToString(), a.ToString());
            Assert.Equal(a, IpAddress.Parse(a.ToString()));
        });
    }

    [Fact]
    public void Equal_addresses_hash_alike_and_ipv4_differs_from_its_mapped_ipv6_form()
    {
        var a = IpAddress.Parse("192.0.2.1");
        var b = IpAddress.FromIPv4([192, 0, 2, 1]);
        var mapped = IpAddress.Parse("::ffff:192.0.2.1");
        Assert.Equal(a, b);
        Assert.True(a == b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.NotEqual(a, mapped);
        Assert.Equal(a.IPv4Value, (uint)mapped.Low);
        Assert.Equal(4, a.Version);
        Assert.Equal(6, mapped.Version);
    }

    [Fact]
    public void Wire_bytes_round_trip_for_both_versions()
    {
        Gen.Byte.Array[16].Sample(bytes =>
        {
            Span<byte> out16 = stackalloc byte[16];
            Assert.Equal(16, IpAddress.FromIPv6(bytes).WriteTo(out16));
            Assert.True(out16.SequenceEqual(bytes));
            Assert.Equal(4, IpAddress.FromIPv4(bytes.AsSpan(0, 4)).WriteTo(out16));
            Assert.True(out16[..4].SequenceEqual(bytes.AsSpan(0, 4)));
            Assert.Equal(IpAddress.FromIPv6(bytes), IpAddress.FromIPv6(IpAddress.FromIPv6(bytes).ToUInt128()));
        });
    }

    [Fact]
    public void Formatting_into_a_short_buffer_fails_without_throwing()
    {
        var a = IpAddress.Parse("2001:db8:1234:5678:9abc:def0:1234:5678");
        Span<char> small = stackalloc char[10];
        Assert.False(a.TryFormat(small, out _));
        Span<char> enough = stackalloc char[IpAddress.MaxTextLength];
        Assert.True(a.TryFormat(enough, out int n));
        Assert.Equal("2001:db8:1234:5678:9abc:def0:1234:5678", enough[..n].ToString());
        Assert.Equal($"{a}", a.ToString());
    }

    [Fact]
    public void Formatting_an_address_allocates_nothing()
    {
        var a = IpAddress.Parse("fe80::1:2");
        Span<char> buffer = stackalloc char[IpAddress.MaxTextLength];
        a.TryFormat(buffer, out _);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++)
        {
            a.TryFormat(buffer, out _);
        }

        Assert.Equal(before, GC.GetAllocatedBytesForCurrentThread());
    }

    [Fact]
    public void Text_that_is_not_an_address_is_refused()
    {
        Assert.False(IpAddress.TryParse("300.1.1.1", out _));
        Assert.False(IpAddress.TryParse("fe80::1%eth0", out _));
        Assert.Throws<FormatException>(() => IpAddress.Parse("nope"));
    }
}
