using TcpKit.Net.Links;
using TcpKit.Net.Simulation;
using TcpKit.Wire;
using TcpKit.Wire.Capture;

namespace TcpKit.Net.Tests.Host;

public class PcapngCaptureTests
{
    [Fact]
    public void A_capture_of_two_links_has_an_interface_per_link_and_every_packet_with_its_direction()
    {
        var network = new SimulatedNetwork(5);
        var a = network.AddHost("a");
        var b = network.AddHost("b");
        network.Connect(a, b, new LinkProfile { Delay = TimeSpan.FromMilliseconds(1) });
        var stream = new MemoryStream();
        using (var capture = new PcapngCapture(stream))
        {
            var tapA = capture.Tap(a, network, "a-eth0");
            var tapB = capture.Tap(b, network, "b-eth0");
            tapA.Send([0x45, 0, 0, 20, 0, 0, 0, 0, 64, 6, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2]);
            network.RunFor(TimeSpan.FromMilliseconds(5));
            tapB.Send([0x45, 0, 0, 20, 0, 0, 0, 0, 64, 6, 0, 0, 192, 0, 2, 2, 192, 0, 2, 1]);
            network.RunFor(TimeSpan.FromMilliseconds(5));
        }

        using var reader = CaptureReader.Open(new ReadOnlyMemory<byte>(stream.ToArray()));
        var seen = new List<(string? Interface, uint Flags, long Ns)>();
        while (reader.TryRead(out var packet))
        {
            seen.Add((reader.Interfaces[packet.InterfaceIndex].Name, packet.Flags, packet.TimestampNs));
        }

        Assert.Equal(
            [("a-eth0", 2u, 0L), ("b-eth0", 1u, 1_000_000L), ("b-eth0", 2u, 5_000_000L), ("a-eth0", 1u, 6_000_000L)],
            seen);
        Assert.All(reader.Interfaces, i => Assert.Equal(LinkType.Raw, i.LinkType));
    }
}
