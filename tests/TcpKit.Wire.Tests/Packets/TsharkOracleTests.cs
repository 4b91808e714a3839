using System.Diagnostics;
using System.Globalization;
using TcpKit.Wire.Checksums;
using TcpKit.Wire.Link;
using TcpKit.Wire.Tcp;

namespace TcpKit.Wire.Tests.Packets;

/// <summary>Wireshark is the reference for parsing: frames we build and decode are dissected by tshark and compared.</summary>
public class TsharkOracleTests
{
    private static readonly string? Tshark = FindTshark();

    private static string? FindTshark()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':'))
        {
            var path = Path.Combine(dir, "tshark");
            if (dir.Length > 0 && File.Exists(path))
            {
                return path;
            }
        }

        return null;
    }

    /// <summary>Runs tshark over a pcap and returns one array of field values per frame.</summary>
    private static List<string[]> Dissect(string pcap, params string[] fields)
    {
        var psi = new ProcessStartInfo(Tshark!)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { "-n", "-r", pcap, "-o", "tcp.check_checksum:TRUE", "-o", "tcp.relative_sequence_numbers:FALSE", "-T", "fields", "-E", "separator=|", "-E", "occurrence=f" })
        {
            psi.ArgumentList.Add(a);
        }

        foreach (var f in fields)
        {
            psi.ArgumentList.Add("-e");
            psi.ArgumentList.Add(f);
        }

        using var process = Process.Start(psi)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var lines = new List<string[]>();
        string? line;
        while ((line = process.StandardOutput.ReadLine()) != null)
        {
            lines.Add(line.Split('|'));
        }

        process.WaitForExit();
        Assert.True(process.ExitCode == 0, stderr.Result);
        return lines;
    }

    private static string ChecksumStatus(ChecksumVerdict v) => v switch
    {
        // Wireshark's proto_checksum_enum_e: BAD 0, GOOD 1, UNVERIFIED 2.
        ChecksumVerdict.Bad => "0",
        ChecksumVerdict.Good => "1",
        _ => "2",
    };

    [SkippableFact]
    public void Checksum_verdicts_match_tshark_for_good_bad_and_truncated_frames()
    {
        Skip.If(Tshark is null, "tshark is not installed");
        var syn = TestFrames.LinuxSyn();
        var payload = new byte[1000];
        new Random(1).NextBytes(payload);
        var good4 = TestFrames.Ethernet(TestFrames.IpPacket(syn, payload, TestFrames.ClientV4, TestFrames.ServerV4), EtherType.Ipv4);
        var bad4 = (byte[])good4.Clone();
        bad4[^3] ^= 0x40;
        var good6 = TestFrames.Ethernet(TestFrames.IpPacket(syn, payload.AsSpan(0, 333), TestFrames.ClientV6, TestFrames.ServerV6), EtherType.Ipv6, vlans: 1, outer: 7);
        var bad6 = (byte[])good6.Clone();
        bad6[70] ^= 0x01; // inside the TCP header (window)
        var records = new[] { (good4, good4.Length), (bad4, bad4.Length), (good6, good6.Length), (bad6, bad6.Length), (good4[..200], good4.Length) };

        var dir = Directory.CreateTempSubdirectory("tcpkit-wire-");
        try
        {
            var pcap = Path.Combine(dir.FullName, "checksums.pcap");
            PcapFile.Write(pcap, LinkType.Ethernet, 65535, records);
            var rows = Dissect(pcap, "tcp.checksum.status");
            Assert.Equal(records.Length, rows.Count);
            for (int i = 0; i < records.Length; i++)
            {
                var (frame, original) = records[i];
                Assert.Equal(DecodeStatus.Ok, PacketDecoder.Decode(LinkType.Ethernet, frame, original, out var p));
                Assert.Equal(rows[i][0], ChecksumStatus(p.VerifyTcpChecksum(frame)));
            }

            Assert.Equal(["1", "0", "1", "0", "2"], rows.Select(r => r[0]));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [SkippableFact]
    public void Decoded_fields_of_random_segments_match_tshark()
    {
        Skip.If(Tshark is null, "tshark is not installed");
        var random = new Random(20261126);
        var frames = new List<(byte[] Frame, int Original)>();
        for (int i = 0; i < 60; i++)
        {
            var (sport, dport) = ((ushort)random.Next(1, 65536), (ushort)random.Next(1, 65536));
            var (seq, ack) = ((uint)random.NextInt64(0, 1L << 32), (uint)random.NextInt64(0, 1L << 32));
            var (flags, window, payloadLength) = (random.Next(0, 0x200), (ushort)random.Next(0, 65536), random.Next(0, 601));
            var h = new TcpHeader
            {
                SourcePort = sport,
                DestinationPort = dport,
                Seq = new SeqNum(seq),
                Ack = new SeqNum(ack),
                Flags = (TcpFlags)flags | TcpFlags.Ack,
                Window = window,
            };
            if (random.Next(2) == 0)
            {
                h.Options.Mss = (ushort)random.Next(536, 9000);
                h.Options.WindowScale = (byte)random.Next(0, 15);
                h.Options.SackPermitted = random.Next(2) == 0;
            }

            if (random.Next(2) == 0)
            {
                h.Options.Timestamp = new TcpTimestamp((uint)random.NextInt64(0, uint.MaxValue), (uint)random.NextInt64(0, uint.MaxValue));
            }

            var payload = new byte[payloadLength];
            random.NextBytes(payload);
            bool v6 = random.Next(2) == 0;
            var src = v6 ? IpAddress.FromIPv6((ulong)random.NextInt64(), (ulong)random.Next(0, 3)) : IpAddress.FromIPv4((uint)random.NextInt64(0, uint.MaxValue));
            var dst = v6 ? IpAddress.FromIPv6(0x2001_0db8_0000_0000, (ulong)random.NextInt64()) : IpAddress.FromIPv4((uint)random.NextInt64(0, uint.MaxValue));
            int vlans = random.Next(3);
            var frame = TestFrames.Ethernet(TestFrames.IpPacket(h, payload, src, dst, (byte)random.Next(1, 256)), v6 ? EtherType.Ipv6 : EtherType.Ipv4, vlans, (ushort)random.Next(1, 4095), (ushort)random.Next(1, 4095));
            // A quarter of the frames are cut by "snaplen" inside the payload, headers whole.
            int captured = random.Next(4) == 0 && payloadLength > 0 ? frame.Length - payloadLength + random.Next(payloadLength) : frame.Length;
            frames.Add((frame[..captured], frame.Length));
        }

        var dir = Directory.CreateTempSubdirectory("tcpkit-wire-");
        try
        {
            var pcap = Path.Combine(dir.FullName, "random.pcap");
            PcapFile.Write(pcap, LinkType.Ethernet, 65535, frames.ToArray());
            var rows = Dissect(pcap,
                "ip.src", "ipv6.src", "ip.dst", "ipv6.dst", "ip.ttl", "ipv6.hlim", "ieee8021ad.id", "vlan.id",
                "tcp.srcport", "tcp.dstport", "tcp.seq_raw", "tcp.ack_raw", "tcp.flags", "tcp.window_size_value",
                "tcp.hdr_len", "tcp.len", "tcp.checksum.status", "tcp.options.mss_val", "tcp.options.wscale.shift",
                "tcp.options.timestamp.tsval", "tcp.options.timestamp.tsecr");
            Assert.Equal(frames.Count, rows.Count);
            for (int i = 0; i < frames.Count; i++)
            {
                var (frame, original) = frames[i];
                var r = rows[i];
                Assert.Equal(DecodeStatus.Ok, PacketDecoder.Decode(LinkType.Ethernet, frame, original, out var p));
                var options = p.GetTcp(frame).ParseOptions();
                string[] ours =
                [
                    p.IpVersion == 4 ? p.Source.ToString() : "", p.IpVersion == 6 ? p.Source.ToString() : "",
                    p.IpVersion == 4 ? p.Destination.ToString() : "", p.IpVersion == 6 ? p.Destination.ToString() : "",
                    p.IpVersion == 4 ? Str(p.Ttl) : "", p.IpVersion == 6 ? Str(p.Ttl) : "", 
                    // tshark shows an 802.1ad S-tag as ieee8021ad.id and the 802.1Q C-tag as vlan.id.
                    p.VlanCount == 2 ? Str(p.OuterVlanId) : "", p.VlanCount switch { 1 => Str(p.OuterVlanId), 2 => Str(p.InnerVlanId), _ => "" },
                    Str(p.SourcePort), Str(p.DestinationPort), Str(p.Seq.Value), Str(p.Ack.Value), "0x" + ((int)p.Flags).ToString("x4", CultureInfo.InvariantCulture), Str(p.Window),
                    Str(p.TcpHeaderLength), Str(p.TcpPayloadLength), ChecksumStatus(p.VerifyTcpChecksum(frame)),
                    options.Mss is { } mss ? Str(mss) : "", options.WindowScale is { } ws ? Str(ws) : "",
                    options.Timestamp is { } ts ? Str(ts.Value) : "", options.Timestamp is { } ts2 ? Str(ts2.EchoReply) : "",
                ];
                Assert.Equal(string.Join('|', r), string.Join('|', ours));
            }
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [SkippableFact]
    public void Ipv6_address_text_matches_tshark()
    {
        Skip.If(Tshark is null, "tshark is not installed");
        string[] inputs = ["::ffff:0:102", "::ffff:0:0", "1::5efe:1.2.3.4", "::1.2.3.4", "::ffff:1.2.3.4", "1:0:0:1:0:0:0:1", "::1", "::", "::0.0.1.2", "fe80::1:0:0:0", "2001:db8:0:0:1:0:0:1", "::ffff:0:1.2.3.4", "0:0:1::"];
        var records = new List<(byte[], int)>();
        foreach (var text in inputs)
        {
            var packet = new byte[40];
            var a = IpAddress.Parse(text);
            new Ip.Ipv6Header { NextHeader = IpProtocol.NoNextHeader, HopLimit = 1, Source = a, Destination = a }.Emit(packet, 0);
            records.Add((packet, 40));
        }

        var dir = Directory.CreateTempSubdirectory("tcpkit-wire-");
        try
        {
            var pcap = Path.Combine(dir.FullName, "v6.pcap");
            PcapFile.Write(pcap, LinkType.Ipv6, 65535, records.ToArray());
            var rows = Dissect(pcap, "ipv6.src");
            Assert.Equal(inputs.Select(t => IpAddress.Parse(t).ToString()), rows.Select(r => r[0]));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [SkippableTheory]
    [InlineData(LinkType.Null, "02000000", 4)]
    [InlineData(LinkType.Null, "0000001e", 6)]
    [InlineData(LinkType.Null, "1c000000", 6)]
    [InlineData(LinkType.Loop, "00000018", 6)]
    [InlineData(LinkType.LinuxSll, "00000001000602000000000100000800", 4)]
    [InlineData(LinkType.LinuxSll, "0004000100060200000000010000810000210800", 4)]
    [InlineData(LinkType.LinuxSll2, "86dd000000000003000104060200000000010000", 6)]
    [InlineData(LinkType.Raw, "", 6)]
    [InlineData(LinkType.Ipv4, "", 4)]
    public void Every_link_type_decodes_to_what_tshark_dissects(LinkType link, string headerHex, int version)
    {
        Skip.If(Tshark is null, "tshark is not installed");
        var header = Convert.FromHexString(headerHex);
        var (src, dst) = version == 4 ? (TestFrames.ClientV4, TestFrames.ServerV4) : (TestFrames.ClientV6, TestFrames.ServerV6);
        var frame = TestFrames.Concat(header, TestFrames.IpPacket(TestFrames.LinuxSyn(), "GET /"u8, src, dst));
        var dir = Directory.CreateTempSubdirectory("tcpkit-wire-");
        try
        {
            var pcap = Path.Combine(dir.FullName, "link.pcap");
            PcapFile.Write(pcap, link, 65535, (frame, frame.Length));
            var row = Assert.Single(Dissect(pcap, version == 4 ? "ip.src" : "ipv6.src", "tcp.srcport", "tcp.len", "tcp.checksum.status", "vlan.id"));
            Assert.Equal(DecodeStatus.Ok, PacketDecoder.Decode(link, frame, out var p));
            string vlan = p.VlanCount > 0 ? Str(p.OuterVlanId) : "";
            Assert.Equal(string.Join('|', row), string.Join('|', p.Source.ToString(), Str(p.SourcePort), Str(p.TcpPayloadLength), ChecksumStatus(p.VerifyTcpChecksum(frame)), vlan));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [SkippableFact]
    public void Lying_and_zero_ip_lengths_are_read_as_tshark_reads_them()
    {
        Skip.If(Tshark is null, "tshark is not installed");
        var h = TestFrames.LinuxSyn();
        h.Options = default;
        h.Flags = TcpFlags.Ack | TcpFlags.Psh;
        var payload = new byte[50];
        var v4 = TestFrames.IpPacket(h, payload, TestFrames.ClientV4, TestFrames.ServerV4);
        var v6 = TestFrames.IpPacket(h, payload, TestFrames.ClientV6, TestFrames.ServerV6);

        byte[] WithLength(byte[] packet, int lengthField)
        {
            var copy = (byte[])packet.Clone();
            if (copy[0] >> 4 == 4)
            {
                copy[2] = (byte)(lengthField >> 8);
                copy[3] = (byte)lengthField;
                copy[10] = copy[11] = 0;
                ushort cs = InternetChecksum.Compute(copy.AsSpan(0, 20));
                copy[10] = (byte)(cs >> 8);
                copy[11] = (byte)cs;
            }
            else
            {
                copy[4] = (byte)(lengthField >> 8);
                copy[5] = (byte)lengthField;
            }

            return copy;
        }

        var records = new (byte[] Frame, int Original)[]
        {
            (WithLength(v4, v4.Length + 100), v4.Length), // claims more than was on the wire
            (WithLength(v4, v4.Length + 100), v4.Length + 100), // cut by snaplen
            (WithLength(v4, 0), v4.Length), // TSO left the length at zero
            (WithLength(v4, 0)[..60], v4.Length),
            (WithLength(v6, v6.Length - 40 + 100), v6.Length),
            (WithLength(v6, v6.Length - 40 + 100), v6.Length + 100),
            (WithLength(v6, 0), v6.Length), // Wireshark 4.0: an empty payload, so TCP is malformed
        };
        var dir = Directory.CreateTempSubdirectory("tcpkit-wire-");
        try
        {
            var pcap = Path.Combine(dir.FullName, "lengths.pcap");
            PcapFile.Write(pcap, LinkType.Raw, 65535, records);
            var rows = Dissect(pcap, "tcp.len", "tcp.checksum.status");
            Assert.Equal(records.Length, rows.Count);
            for (int i = 0; i < records.Length; i++)
            {
                var (frame, original) = records[i];
                var status = PacketDecoder.Decode(LinkType.Raw, frame, original, out var p);
                string ours = status == DecodeStatus.Ok ? Str(p.TcpPayloadLength) + "|" + ChecksumStatus(p.VerifyTcpChecksum(frame)) : "|";
                Assert.True(string.Join('|', rows[i]) == ours, $"record {i}: tshark {string.Join('|', rows[i])}, ours {ours} ({status})");
                Assert.Equal(i is 0 or 4, p.IpLengthExceedsFrame);
            }
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [SkippableFact]
    public void Checksum_under_a_segment_routing_header_matches_tshark()
    {
        Skip.If(Tshark is null, "tshark is not installed");
        var final = IpAddress.Parse("2001:db8:ffff::99");
        var segment = TestFrames.Segment(TestFrames.LinuxSyn(), "data"u8, TestFrames.ClientV6, final);
        var srh = Ipv6PacketTests.Srh(IpProtocol.Tcp, 1, final, TestFrames.ServerV6);
        var packet = new byte[40 + srh.Length + segment.Length];
        new Ip.Ipv6Header { NextHeader = IpProtocol.Ipv6Routing, HopLimit = 64, Source = TestFrames.ClientV6, Destination = TestFrames.ServerV6 }
            .Emit(packet, srh.Length + segment.Length);
        srh.CopyTo(packet, 40);
        segment.CopyTo(packet, 40 + srh.Length);
        var wrong = (byte[])packet.Clone();
        wrong[^1] ^= 0x20;
        var dir = Directory.CreateTempSubdirectory("tcpkit-wire-");
        try
        {
            var pcap = Path.Combine(dir.FullName, "srh.pcap");
            PcapFile.Write(pcap, LinkType.Ipv6, 65535, (packet, packet.Length), (wrong, wrong.Length));
            var rows = Dissect(pcap, "tcp.checksum.status");
            PacketDecoder.Decode(LinkType.Ipv6, packet, packet.Length, out var p);
            PacketDecoder.Decode(LinkType.Ipv6, wrong, wrong.Length, out var q);
            Assert.Equal(rows.Select(r => r[0]), new[] { ChecksumStatus(p.VerifyTcpChecksum(packet)), ChecksumStatus(q.VerifyTcpChecksum(wrong)) });
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static string Str<T>(T value) where T : IFormattable => value.ToString(null, CultureInfo.InvariantCulture);
}
