using TcpKit.Net.Tests.Host;

namespace TcpKit.Net.Tests.Sockets;

/// <summary>
/// The ValueTasks of accepts and reads come from reusable waits: awaiting one a second time is a misuse that
/// must fail clearly (as a pooled ValueTask does), not hand out an empty result: a read would return 0, which
/// means end of stream, and an accept a client without a connection.
/// </summary>
public class ValueTaskContractTests
{
    [Fact]
    public void An_accept_or_a_read_awaited_twice_throws_instead_of_answering_again()
    {
        var sim = new SimPair();
        var readStarted = new TaskCompletionSource();
        var listener = new TcpKitListener(sim.Server, 7300);
        listener.Start();
        var server = sim.Loop.Start(async () =>
        {
            var accept = listener.AcceptTcpClientAsync(CancellationToken.None);
            Assert.False(accept.IsCompleted); // it waits: the host's accept wait behind it
            using var peer = await accept;
            Assert.NotNull(peer.Connection);
            await Assert.ThrowsAsync<InvalidOperationException>(async () => await accept);

            var buffer = new byte[10];
            var read = peer.GetStream().ReadAsync(buffer);
            Assert.False(read.IsCompleted); // nothing sent yet: the read waits
            readStarted.SetResult();
            Assert.Equal(3, await read);
            await Assert.ThrowsAsync<InvalidOperationException>(async () => await read);
        });
        var client = sim.Loop.Start(async () =>
        {
            using var c = new TcpKitClient(sim.Client);
            await c.ConnectAsync(SimPair.ServerAddress, 7300);
            await readStarted.Task;
            await c.GetStream().WriteAsync("abc"u8.ToArray());
        });
        sim.Run(TimeSpan.FromSeconds(5), server, client);
    }
}
