using System.Diagnostics;
using System.Globalization;
using TcpKit.Wire;
using TcpKit.Wire.Ip;
using TcpKit.Wire.Link;
using TcpKit.Wire.Tcp;

namespace TcpKit.Benchmarks.SideBySide;

/// <summary>
/// Fuzz campaign for the packet parsers: valid frames of every link type (TCP with every option,
/// IPv4 and IPv6) are mutated (bit flips, byte overwrites, truncation, insertion, length lies) and
/// decoded with every entry point. Anything but a clean status is a finding: it is printed as hex
/// with its seed so it can become a regression test.
/// </summary>
internal static class PacketFuzz
{
    private static readonly LinkType[] Links = [LinkType.Ethernet, LinkType.Raw, LinkType.Ipv4, LinkType.Ipv6, LinkType.Null, LinkType.Loop, LinkType.LinuxSll, LinkType.LinuxSll2];

    public static int Run(long inputs, ulong seed)
    {
        var random = new Random((int)(seed ^ (seed >> 32)));
        var seeds = MakeSeeds();
        var buffer = new byte[4096];
        long findings = 0, checksum = 0;
        var sw = Stopwatch.StartNew();
        for (long i = 0; i < inputs; i++)
        {
            var (link, frame) = seeds[random.Next(seeds.Count)];
            int length = Mutate(random, frame, buffer);
            var data = buffer.AsSpan(0, length);
            try
            {
                checksum += Exercise(link, data);
                checksum += Exercise(Links[random.Next(Links.Length)], data); // the wrong decoder for the bytes, too
            }
            catch (Exception e)
            {
                findings++;
                Console.WriteLine($"finding: input {i} link {link}: {e.GetType().Name}: {e.Message}\n  {Convert.ToHexString(data)}");
            }
        }

        sw.Stop();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"inputs={inputs} seed={seed} findings={findings} seconds={sw.Elapsed.TotalSeconds:F1} inputs_per_second={inputs / sw.Elapsed.TotalSeconds:F0} (checksum {checksum & 0xFFFF})"));
        return findings == 0 ? 0 : 1;
    }

    /// <summary>Decodes and reads every field, option and checksum the analyzer would.</summary>
    private static long Exercise(LinkType link, ReadOnlySpan<byte> frame)
    {
        long sum = 0;
        var status = PacketDecoder.Decode(link, frame, frame.Length, out var p);
        sum += (int)status;
        if (status is DecodeStatus.Ok or DecodeStatus.NotTcp or DecodeStatus.Fragment)
        {
            sum += p.Source.GetHashCode() + p.Destination.GetHashCode() + p.IpTotalLength;
            if (p.IpVersion == 4)
            {
                sum += (int)p.VerifyIpv4HeaderChecksum(frame);
            }
        }

        if (status == DecodeStatus.Ok)
        {
            sum += p.Seq.Value + p.Ack.Value + p.Window + (int)p.VerifyTcpChecksum(frame) + p.GetTcpPayload(frame).Length;
            foreach (var o in p.GetTcpOptions(frame))
            {
                sum += o.Raw.Length;
                if (o.IsMalformed)
                {
                    continue;
                }

                sum += o.Kind switch
                {
                    TcpOptionKind.Mss => o.Mss,
                    TcpOptionKind.WindowScale => o.WindowScaleShift,
                    TcpOptionKind.Timestamps => o.TimestampValue ^ o.TimestampEchoReply,
                    TcpOptionKind.Sack => o.SackBlockCount > 0 ? o.GetSackBlock(o.SackBlockCount - 1).Right.Value : 0,
                    _ => o.Data.Length,
                };
            }

            var seg = p.GetTcp(frame);
            sum += seg.ParseOptions().SackCount;
        }

        return sum;
    }

    private static int Mutate(Random random, byte[] seed, byte[] buffer)
    {
        seed.CopyTo(buffer, 0);
        int length = seed.Length;
        int rounds = random.Next(1, 6);
        for (int r = 0; r < rounds; r++)
        {
            switch (random.Next(6))
            {
                case 0:
                    buffer[random.Next(length)] ^= (byte)(1 << random.Next(8));
                    break;
                case 1:
                    buffer[random.Next(length)] = (byte)random.Next(256);
                    break;
                case 2:
                    length = random.Next(length + 1);
                    break;
                case 3 when length + 8 < buffer.Length:
                    int at = random.Next(length + 1);
                    int n = random.Next(1, 8);
                    Array.Copy(buffer, at, buffer, at + n, length - at);
                    random.NextBytes(buffer.AsSpan(at, n));
                    length += n;
                    break;
                case 4 when length > 4:
                    // A lying length or offset field somewhere near the start of a header.
                    buffer[random.Next(Math.Min(length, 80))] = (byte)(random.Next(2) == 0 ? 0xFF : 0x00);
                    break;
                default:
                    buffer[random.Next(length)] = (byte)(0x40 | random.Next(16));
                    break;
            }

            if (length == 0)
            {
                break;
            }
        }

        return Math.Max(length, 0);
    }

    private static List<(LinkType Link, byte[] Frame)> MakeSeeds()
    {
        var seeds = new List<(LinkType, byte[])>();
        var v4a = IpAddress.Parse("192.0.2.1");
        var v4b = IpAddress.Parse("192.0.2.2");
        var v6a = IpAddress.Parse("2001:db8::1");
        var v6b = IpAddress.Parse("2001:db8::2");
        foreach (var withOptions in new[] { false, true })
        {
            var tcp = new TcpHeader { SourcePort = 50388, DestinationPort = 9999, Seq = new SeqNum(1000), Ack = new SeqNum(2000), Flags = TcpFlags.Ack | TcpFlags.Psh, Window = 502 };
            if (withOptions)
            {
                var o = new TcpOptions { Mss = 1460, WindowScale = 7, SackPermitted = true, Timestamp = new TcpTimestamp(1, 2) };
                o.TryAddSack(new SackBlock(new SeqNum(3000), new SeqNum(4000)));
                tcp.Options = o;
            }

            var payload = "hello, fuzz"u8.ToArray();
            foreach (var (src, dst) in new[] { (v4a, v4b), (v6a, v6b) })
            {
                var segment = new byte[tcp.HeaderLength + payload.Length];
                tcp.Emit(segment, payload, src, dst);
                byte[] ip;
                if (src.IsIPv4)
                {
                    ip = new byte[20 + segment.Length];
                    new Ipv4Header { TimeToLive = 64, Protocol = IpProtocol.Tcp, Source = src, Destination = dst, DontFragment = true }.Emit(ip, segment.Length);
                }
                else
                {
                    ip = new byte[40 + segment.Length];
                    new Ipv6Header { NextHeader = IpProtocol.Tcp, HopLimit = 64, Source = src, Destination = dst }.Emit(ip, segment.Length);
                }

                segment.CopyTo(ip, ip.Length - segment.Length);
                ushort etherType = src.IsIPv4 ? EtherType.Ipv4 : EtherType.Ipv6;
                seeds.Add((LinkType.Raw, ip));
                seeds.Add((src.IsIPv4 ? LinkType.Ipv4 : LinkType.Ipv6, ip));
                seeds.Add((LinkType.Ethernet, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, (byte)(etherType >> 8), (byte)etherType, .. ip]));
                seeds.Add((LinkType.Ethernet, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x81, 0x00, 0x00, 0x05, 0x81, 0x00, 0x00, 0x06, (byte)(etherType >> 8), (byte)etherType, .. ip]));
                seeds.Add((LinkType.Null, [src.IsIPv4 ? (byte)2 : (byte)24, 0, 0, 0, .. ip]));
                seeds.Add((LinkType.Loop, [0, 0, 0, src.IsIPv4 ? (byte)2 : (byte)24, .. ip]));
                seeds.Add((LinkType.LinuxSll, [0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, (byte)(etherType >> 8), (byte)etherType, .. ip]));
                seeds.Add((LinkType.LinuxSll2, [(byte)(etherType >> 8), (byte)etherType, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, .. ip]));
            }
        }

        return seeds;
    }
}
