namespace TcpKit.Interop.Tests.Infrastructure;

/// <summary>
/// Real captures of Linux TCP made once per test run inside namespaces created and deleted here:
/// the same traffic written by tcpdump (pcap) and by dumpcap (pcapng).
/// </summary>
public sealed class KernelCaptures : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tcpkit-captures-").FullName;

    public KernelCaptures()
    {
        SkipReason = NetnsPair.UnavailableReason()
            ?? (Tool.Exists("tcpdump") ? null : "needs tcpdump")
            ?? (Tool.Exists("dumpcap") ? null : "needs dumpcap (wireshark-common)")
            ?? (Tool.Exists("tshark") ? null : "needs tshark");
        if (SkipReason is not null)
        {
            return;
        }

        PcapPath = Path.Combine(_dir, "kernel.pcap");
        PcapngPath = Path.Combine(_dir, "kernel.pcapng");
        using var net = NetnsPair.Create();
        net.StartCapture(net.NsA, NetnsPair.IfA, PcapPath, "tcpdump");
        net.StartCapture(net.NsB, NetnsPair.IfB, PcapngPath, "dumpcap");
        KernelTraffic.Lesson(net, NetnsPair.AddressB, 9999);
        KernelTraffic.BothWays(net, NetnsPair.AddressB, 5001, 300_000);
        KernelTraffic.Refused(net, NetnsPair.AddressB, 5002);
        KernelTraffic.Reset(net, NetnsPair.AddressB, 5003);
        KernelTraffic.RejectedByIcmp(net, NetnsPair.AddressB, 5004);
        KernelTraffic.Lesson(net, NetnsPair.Address6B, 9999);
        KernelTraffic.BothWays(net, NetnsPair.Address6B, 5001, 100_000);
        KernelTraffic.RejectedByIcmp(net, NetnsPair.Address6B, 5004);
        net.StopCaptures();
    }

    /// <summary>Why the captures could not be made, or null.</summary>
    public string? SkipReason { get; }

    public string PcapPath { get; } = "";

    public string PcapngPath { get; } = "";

    public IEnumerable<string> Paths => [PcapPath, PcapngPath];

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, true);
        }
        catch (IOException)
        {
        }
    }
}

[CollectionDefinition(Name)]
public sealed class KernelCaptureCollection : ICollectionFixture<KernelCaptures>
{
    public const string Name = "kernel captures";
}
