using TcpKit.Wire.Tcp;

namespace TcpKit.Tcp.Tests;

public class TcpStateNameTests
{
    [Theory]
    [InlineData(TcpState.SynSent, "SYN-SENT")]
    [InlineData(TcpState.TimeWait, "TIME-WAIT")]
    [InlineData(TcpState.FinWait2, "FIN-WAIT-2")]
    public void States_print_with_their_RFC_9293_names(TcpState state, string name) => Assert.Equal(name, state.ToRfcName());
}
