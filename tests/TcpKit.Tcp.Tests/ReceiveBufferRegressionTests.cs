namespace TcpKit.Tcp.Tests;

public class ReceiveBufferRegressionTests
{
    [Fact]
    public void Out_of_order_bytes_keep_their_place_when_the_application_drains_the_in_order_bytes()
    {
        // Found by the host stack's loss test: the ring reset its head when it emptied, moving bytes
        // already stored beyond a hole.
        var ring = new ReceiveBuffer(16);
        ring.WriteAt(0, "abc"u8);
        ring.Commit(3);
        ring.WriteAt(2, "fg"u8); // out of order: "de" is missing
        var read = new byte[3];
        Assert.Equal(3, ring.Read(read));
        ring.WriteAt(0, "de"u8); // the hole is filled after the application read everything
        ring.Commit(4);
        var rest = new byte[4];
        Assert.Equal(4, ring.Read(rest));
        Assert.Equal("defg"u8.ToArray(), rest);
    }
}
