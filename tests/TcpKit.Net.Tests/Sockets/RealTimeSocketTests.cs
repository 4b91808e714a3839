using System.IO.Pipelines;
using System.Net.Sockets;
using System.Security.Cryptography;
using TcpKit.Net.Host;
using TcpKit.Net.Tests.RealTime;
using TcpKit.Tcp;
using TcpKit.Wire;
using TcpKit.Wire.Tcp;

namespace TcpKit.Net.Tests.Sockets;

/// <summary>Pipes and lingering closes on the real-time event loop (its own thread, wall-clock timers).</summary>
public class RealTimeSocketTests
{
    private static readonly IpAddress ClientAddress = IpAddress.Parse("192.0.2.1");
    private static readonly IpAddress ServerAddress = IpAddress.Parse("192.0.2.2");

    [Fact]
    public async Task An_echo_over_pipes_on_the_real_time_loop_returns_a_megabyte_intact_and_resumes_only_on_the_loop()
    {
        using var loop = new RealTimeEventLoop();
        loop.Start();
        var data = new byte[1 << 20];
        new Random(3).NextBytes(data);
        var threads = new HashSet<int>();
        var (hash, loopThread) = await loop.InvokeAsync(async () =>
        {
            var (client, server) = await ConnectAsync(loop, TcpConfig.Linux);
            var serverPipe = server.GetPipe();
            var clientPipe = client.GetPipe();
            var echo = EchoAsync(serverPipe);
            var send = WriteAllAsync(clientPipe.Output, data);
            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            while (true)
            {
                var result = await clientPipe.Input.ReadAsync();
                threads.Add(Environment.CurrentManagedThreadId);
                foreach (var segment in result.Buffer)
                {
                    sha.AppendData(segment.Span);
                }

                clientPipe.Input.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted)
                {
                    break;
                }
            }

            await Task.WhenAll(echo, send);
            return (sha.GetHashAndReset(), Environment.CurrentManagedThreadId);
        }).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(SHA256.HashData(data), hash);
        Assert.Equal([loopThread], threads);
    }

    [Fact]
    public async Task A_one_second_linger_on_the_real_time_loop_resets_an_undeliverable_close_after_a_second()
    {
        using var loop = new RealTimeEventLoop();
        loop.Start();
        var (acknowledged, waited, clientState, clientError) = await loop.InvokeAsync(async () =>
        {
            var (client, server) = await ConnectAsync(loop, TcpConfig.Linux with { ReceiveBufferSize = 2000 });
            await client.GetStream().WriteAsync(new byte[20_000]); // the server never reads: its window closes
            client.LingerState = new LingerOption(true, 1);
            var start = loop.Now;
            bool ok = await client.CloseAsync();
            return (ok, loop.Now - start, client.State, client.Connection!.Tcb.Error);
        }).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.False(acknowledged);
        Assert.InRange(waited, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5));
        Assert.Equal(TcpState.Closed, clientState);
        Assert.Equal(TcpError.Aborted, clientError); // reset by the linger, not closed in order
    }

    private static async Task<(TcpKitClient Client, TcpKitClient Server)> ConnectAsync(RealTimeEventLoop loop, TcpConfig serverConfig)
    {
        var (linkA, linkB) = LoopbackLinkPair.Create(loop);
        var serverHost = new TcpHost("server", linkB, loop, seed: 1);
        serverHost.AddAddress(ServerAddress);
        var clientHost = new TcpHost("client", linkA, loop, seed: 2);
        clientHost.AddAddress(ClientAddress);
        var listener = new TcpKitListener(serverHost, 80) { Config = serverConfig };
        listener.Start();
        var accept = listener.AcceptTcpClientAsync();
        var client = new TcpKitClient(clientHost);
        await client.ConnectAsync(ServerAddress, 80);
        return (client, await accept);
    }

    private static async Task EchoAsync(IDuplexPipe pipe)
    {
        while (true)
        {
            var result = await pipe.Input.ReadAsync();
            foreach (var segment in result.Buffer)
            {
                await pipe.Output.WriteAsync(segment);
            }

            pipe.Input.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
            {
                break;
            }
        }

        await pipe.Output.CompleteAsync();
        await pipe.Input.CompleteAsync();
    }

    private static async Task WriteAllAsync(PipeWriter output, byte[] data)
    {
        for (int offset = 0; offset < data.Length; offset += 10_000)
        {
            await output.WriteAsync(data.AsMemory(offset, Math.Min(10_000, data.Length - offset)));
        }

        await output.CompleteAsync();
    }
}
