using TcpKit.Interop.Tests.Infrastructure;

namespace TcpKit.Interop.Tests.Oracle;

[Collection(KernelCaptureCollection.Name)]
public class KernelCaptureTests(KernelCaptures captures)
{
    [SkippableFact]
    public void The_namespace_captures_hold_every_scenario_in_both_formats()
    {
        Skip.If(captures.SkipReason is not null, captures.SkipReason);
        foreach (var path in captures.Paths)
        {
            var streams = Tool.Run("tshark", "-r", path, "-T", "fields", "-e", "tcp.stream")
                .Split('\n', StringSplitOptions.RemoveEmptyEntries).Distinct().Count();
            // lesson, both ways, refused, reset, rejected by ICMP over IPv4; lesson, both ways, rejected by ICMPv6 over IPv6
            Assert.Equal(Tool.Exists("nft") ? 8 : 6, streams);
            var icmpErrors = Tool.Run("tshark", "-r", path, "-Y", "(icmp.type == 3 || icmpv6.type == 1) && tcp", "-T", "fields", "-e", "frame.number");
            Assert.Equal(Tool.Exists("nft"), icmpErrors.Trim().Length > 0);
            var flagsSeen = Tool.Run("tshark", "-r", path, "-Y", "tcp.flags.reset==1 && ipv6", "-T", "fields", "-e", "frame.number");
            Assert.Empty(flagsSeen.Trim());
        }
    }
}
