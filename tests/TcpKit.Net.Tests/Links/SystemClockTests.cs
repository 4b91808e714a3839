using TcpKit.Net.Links;
using TcpKit.Wire;

namespace TcpKit.Net.Tests.Links;

public class SystemClockTests
{
    [Fact]
    public void System_time_is_nanoseconds_since_the_unix_epoch_and_never_runs_backwards()
    {
        var clock = new SystemClock();
        long wallNow = (DateTime.UtcNow - DateTime.UnixEpoch).Ticks * 100;
        Instant previous = clock.Now;
        Assert.InRange(previous.Nanoseconds, wallNow - 5_000_000_000, wallNow + 5_000_000_000);
        for (int i = 0; i < 10_000; i++)
        {
            Instant now = clock.Now;
            Assert.True(now >= previous);
            previous = now;
        }
    }
}
