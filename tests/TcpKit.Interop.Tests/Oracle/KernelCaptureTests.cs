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
            Assert.Equal(6, streams); // lesson, both ways, refused, reset over IPv4; lesson and both ways over IPv6
            var flagsSeen = Tool.Run("tshark", "-r", path, "-Y", "tcp.flags.reset==1 && ipv6", "-T", "fields", "-e", "frame.number");
            Assert.Empty(flagsSeen.Trim());
        }
    }
}
