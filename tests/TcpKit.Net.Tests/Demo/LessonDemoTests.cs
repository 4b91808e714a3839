using TcpKit.Net.Demo;
using TcpKit.Wire.Tcp;
using Xunit.Abstractions;

namespace TcpKit.Net.Tests.Demo;

public class LessonDemoTests(ITestOutputHelper output)
{
    [Fact]
    public void The_lesson_is_eleven_segments_with_the_textbook_states()
    {
        var trace = LessonDemo.Run(new LessonOptions { PcapPath = null });
        foreach (var s in trace.Steps)
        {
            output.WriteLine($"{s.Number,2} {s.Time} {s.From,-6} {s.Flags,-12} seq={s.RelativeSeq} ack={s.RelativeAck} len={s.Length} win={s.Window} client {s.Client} server {s.Server} | {s.Explanation}");
        }

        var segments = trace.Steps.Where(s => s.IsSegment).ToList();
        Assert.Equal(11, segments.Count);
        Assert.Equal(
            [
                (LessonSide.Client, TcpFlags.Syn),
                (LessonSide.Server, TcpFlags.Syn | TcpFlags.Ack),
                (LessonSide.Client, TcpFlags.Ack),
                (LessonSide.Client, TcpFlags.Psh | TcpFlags.Ack),
                (LessonSide.Server, TcpFlags.Ack),
                (LessonSide.Client, TcpFlags.Psh | TcpFlags.Ack),
                (LessonSide.Server, TcpFlags.Ack),
                (LessonSide.Server, TcpFlags.Fin | TcpFlags.Ack),
                (LessonSide.Client, TcpFlags.Ack),
                (LessonSide.Client, TcpFlags.Fin | TcpFlags.Ack),
                (LessonSide.Server, TcpFlags.Ack),
            ],
            segments.Select(s => (s.From, s.Flags)));
        Assert.Equal(new StateChange(TcpState.Closed, TcpState.SynSent), segments[0].Client);
        Assert.Equal(new StateChange(TcpState.Listen, TcpState.SynReceived), segments[0].Server);
        Assert.Equal(new StateChange(TcpState.SynSent, TcpState.Established), segments[1].Client);
        Assert.Equal(new StateChange(TcpState.SynReceived, TcpState.Established), segments[2].Server);
        Assert.Equal(new StateChange(TcpState.Established, TcpState.FinWait1), segments[7].Server);
        Assert.Equal(new StateChange(TcpState.Established, TcpState.CloseWait), segments[7].Client);
        Assert.Equal(new StateChange(TcpState.FinWait1, TcpState.FinWait2), segments[8].Server);
        Assert.Equal(new StateChange(TcpState.CloseWait, TcpState.LastAck), segments[9].Client);
        Assert.Equal(new StateChange(TcpState.FinWait2, TcpState.TimeWait), segments[9].Server);
        Assert.Equal(new StateChange(TcpState.LastAck, TcpState.Closed), segments[10].Client);
        var last = trace.Steps[^1];
        Assert.False(last.IsSegment);
        Assert.Equal(new StateChange(TcpState.TimeWait, TcpState.Closed), last.Server);
        Assert.Equal(("a", 1u, 1), (segments[3].Payload, segments[3].RelativeSeq, segments[3].Length));
        Assert.Equal(("b", 2u, 1), (segments[5].Payload, segments[5].RelativeSeq, segments[5].Length));
    }
}

public class LessonDemoDeterminismTests
{
    [Fact]
    public void The_same_seed_writes_a_byte_identical_capture_and_another_seed_does_not()
    {
        var paths = new[] { Path.GetTempFileName(), Path.GetTempFileName(), Path.GetTempFileName() };
        try
        {
            LessonDemo.Run(new LessonOptions { Seed = 9, Loss = 0.2, PcapPath = paths[0] });
            LessonDemo.Run(new LessonOptions { Seed = 9, Loss = 0.2, PcapPath = paths[1] });
            LessonDemo.Run(new LessonOptions { Seed = 10, Loss = 0.2, PcapPath = paths[2] });
            Assert.Equal(File.ReadAllBytes(paths[0]), File.ReadAllBytes(paths[1]));
            Assert.NotEqual(File.ReadAllBytes(paths[0]), File.ReadAllBytes(paths[2]));
        }
        finally
        {
            foreach (var p in paths)
            {
                File.Delete(p);
            }
        }
    }
}
