using BenchmarkDotNet.Attributes;
using TcpKit.Wire;
using TcpKit.Wire.Capture;

namespace TcpKit.Benchmarks.Capture;

/// <summary>
/// Reading a generated 100,000-packet capture (sizes 54..1514 bytes, as on a busy link) through the
/// memory-mapped and the streaming path, for pcap and pcapng (every 10th packet has a comment).
/// Each run touches every packet's bytes (sum of the first byte) so nothing is skipped.
/// </summary>
[MemoryDiagnoser]
public class ReadBenchmarks
{
    private const int Packets = 100_000;
    private string _dir = "";
    private string _pcap = "";
    private string _pcapng = "";

    [GlobalSetup]
    public void Setup()
    {
        _dir = Path.Combine(Path.GetTempPath(), $"tcpkit-bench-{Environment.ProcessId}");
        Directory.CreateDirectory(_dir);
        _pcap = Path.Combine(_dir, "100k.pcap");
        _pcapng = Path.Combine(_dir, "100k.pcapng");
        var rng = new Random(42);
        var frame = new byte[1514];
        rng.NextBytes(frame);
        using var pcap = PcapWriter.Create(_pcap, LinkType.Ethernet, precision: PcapTimestampPrecision.Nanoseconds);
        using var ng = PcapngWriter.Create(_pcapng);
        ng.AddInterface(LinkType.Ethernet, 262_144, "eth0");
        long t = 1_700_000_000_000_000_000;
        for (int i = 0; i < Packets; i++)
        {
            int length = rng.Next(4) == 0 ? 1514 : rng.Next(54, 200);
            t += rng.Next(1, 100_000);
            pcap.WritePacket(t, frame.AsSpan(0, length));
            ng.WritePacket(0, t, frame.AsSpan(0, length), comment: i % 10 == 0 ? "ESTABLISHED" : null);
        }
    }

    [GlobalCleanup]
    public void Cleanup() => Directory.Delete(_dir, recursive: true);

    private static long ReadAll(string path, CaptureAccess access)
    {
        using var reader = CaptureReader.Open(path, new CaptureReadOptions { Access = access });
        long sum = 0;
        while (reader.TryRead(out var p))
        {
            sum += p.CapturedLength + p.Data[0] + (p.TimestampNs & 1);
        }

        return sum;
    }

    [Benchmark(Baseline = true)]
    public long Pcap_MemoryMapped() => ReadAll(_pcap, CaptureAccess.MemoryMapped);

    [Benchmark]
    public long Pcap_Streaming() => ReadAll(_pcap, CaptureAccess.Streaming);

    [Benchmark]
    public long Pcapng_MemoryMapped() => ReadAll(_pcapng, CaptureAccess.MemoryMapped);

    [Benchmark]
    public long Pcapng_Streaming() => ReadAll(_pcapng, CaptureAccess.Streaming);
}
