using TcpKit.Interop.Tests.Infrastructure;

namespace TcpKit.Interop.Tests.Analysis;

/// <summary>
/// Real Linux captures for the expert-analysis oracle, one file per scenario, made once per test run in
/// namespaces created and deleted here. Captured with tcpdump on the client (sender) side.
/// </summary>
public sealed class AnalysisCaptures : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tcpkit-analysis-").FullName;
    private readonly Dictionary<string, string> _paths = [];

    public static readonly string[] Scenarios = ["loss-v4", "loss-v6", "zero-window", "keep-alive", "resets", "port-reuse", "capture-gaps"];

    public AnalysisCaptures()
    {
        SkipReason = NetnsPair.UnavailableReason()
            ?? (Tool.Exists("tcpdump") ? null : "needs tcpdump")
            ?? (Tool.Exists("tshark") ? null : "needs tshark")
            ?? (Tool.Exists("nft") ? null : "needs nft (nftables)");
        if (SkipReason is not null)
        {
            return;
        }

        using var net = NetnsPair.Create();
        Capture(net, "loss-v4", () =>
        {
            using var loss = AnalysisTraffic.DropIncoming(net.NsB, 7001, 4);
            AnalysisTraffic.Bulk(net, NetnsPair.AddressB, 7001, 3_000_000);
        });
        Capture(net, "loss-v6", () =>
        {
            using var loss = AnalysisTraffic.DropIncoming(net.NsB, 7002, 3);
            AnalysisTraffic.Bulk(net, NetnsPair.Address6B, 7002, 2_000_000);
        });
        Capture(net, "zero-window", () => AnalysisTraffic.StalledReader(net, NetnsPair.AddressB, 7003, 600_000, TimeSpan.FromSeconds(2.5)));
        Capture(net, "keep-alive", () => AnalysisTraffic.KeepAlive(net, NetnsPair.AddressB, 7004, TimeSpan.FromSeconds(3.5)));
        Capture(net, "resets", () =>
        {
            KernelTraffic.Refused(net, NetnsPair.AddressB, 7005);
            KernelTraffic.Reset(net, NetnsPair.AddressB, 7006);
            KernelTraffic.Refused(net, NetnsPair.Address6B, 7005);
            KernelTraffic.Reset(net, NetnsPair.Address6B, 7006);
        });
        Capture(net, "port-reuse", () => AnalysisTraffic.PortReuse(net, NetnsPair.AddressB, 7007, 45678, 5));

        // The capture itself misses packets (every 64th IP ID, both directions), as when a sniffer drops:
        // "previous segment not captured", "ACKed unseen segment", dup ACKs of unseen ACKs.
        var gaps = Path.Combine(_dir, "capture-gaps.pcap");
        Tool.Run("tcpdump", "-r", _paths["loss-v4"], "-w", gaps, "not (ip[4:2] & 0x3f == 5)");
        _paths["capture-gaps"] = gaps;
    }

    /// <summary>Why the captures could not be made, or null.</summary>
    public string? SkipReason { get; }

    public string this[string scenario] => _paths[scenario];

    private void Capture(NetnsPair net, string name, Action traffic)
    {
        var path = Path.Combine(_dir, name + ".pcap");
        net.StartCapture(net.NsA, NetnsPair.IfA, path, "tcpdump");

        try
        {
            traffic();
        }
        finally
        {
            net.StopCaptures();
        }

        _paths[name] = path;
    }

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
public sealed class AnalysisCaptureCollection : ICollectionFixture<AnalysisCaptures>
{
    public const string Name = "analysis captures";
}
