using System.Buffers.Binary;
using TcpKit.Net.Links;
using TcpKit.Wire;

namespace TcpKit.Net.Tests.Simulation;

/// <summary>Minimal raw IP packets: enough header for the simulator to route, a sequence number for the test to identify them.</summary>
internal static class TestPackets
{
    public static readonly byte[] HostA4 = [10, 0, 0, 1];
    public static readonly byte[] HostB4 = [10, 0, 0, 2];
    public static readonly byte[] HostC4 = [10, 0, 0, 3];

    public static byte[] V6(byte last) => [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, last];

    /// <summary>An IPv4-shaped packet to <paramref name="destination"/> carrying <paramref name="seq"/> at offset 20.</summary>
    public static byte[] Ipv4(ReadOnlySpan<byte> destination, int length, int seq)
    {
        var p = new byte[Math.Max(length, 24)];
        p[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(2), (ushort)p.Length);
        p[9] = 6;
        destination.CopyTo(p.AsSpan(16));
        BinaryPrimitives.WriteInt32BigEndian(p.AsSpan(20), seq);
        for (int i = 24; i < p.Length; i++)
        {
            p[i] = (byte)(i * 7);
        }

        return p;
    }

    /// <summary>An IPv6-shaped packet to <paramref name="destination"/> carrying <paramref name="seq"/> at offset 40.</summary>
    public static byte[] Ipv6(ReadOnlySpan<byte> destination, int length, int seq)
    {
        var p = new byte[Math.Max(length, 44)];
        p[0] = 0x60;
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(4), (ushort)(p.Length - 40));
        p[6] = 6;
        p[7] = 64;
        destination.CopyTo(p.AsSpan(24));
        BinaryPrimitives.WriteInt32BigEndian(p.AsSpan(40), seq);
        return p;
    }

    public static int SeqOf(byte[] packet) =>
        (packet[0] >> 4) == 6 ? BinaryPrimitives.ReadInt32BigEndian(packet.AsSpan(40)) : BinaryPrimitives.ReadInt32BigEndian(packet.AsSpan(20));
}

/// <summary>Keeps a copy of every packet a link delivers, with its arrival time.</summary>
internal sealed class Recorder : ILinkReceiver
{
    public List<(Instant At, byte[] Packet)> Received { get; } = [];

    public void OnPacket(ReadOnlySpan<byte> packet, Instant now) => Received.Add((now, packet.ToArray()));

    public List<int> Seqs()
    {
        var seqs = new List<int>(Received.Count);
        foreach ((Instant _, byte[] p) in Received)
        {
            seqs.Add(TestPackets.SeqOf(p));
        }

        return seqs;
    }
}
