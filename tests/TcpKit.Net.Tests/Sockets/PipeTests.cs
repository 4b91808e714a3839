using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Security.Cryptography;
using TcpKit.Net.Simulation;
using TcpKit.Tcp;
using TcpKit.Wire.Tcp;

namespace TcpKit.Net.Tests.Sockets;

/// <summary>TcpKitClient.GetPipe: a connection as an IDuplexPipe, driven in virtual time.</summary>
public class PipeTests
{
    private const int OneMegabyte = 1 << 20;

    [Theory]
    [InlineData(0.0, 1UL)]
    [InlineData(0.03, 2UL)]
    [InlineData(0.03, 3UL)]
    public void An_echo_server_over_pipes_returns_1_MB_intact(double loss, ulong seed)
    {
        var profile = new LinkProfile { Delay = TimeSpan.FromMilliseconds(10), LossRate = loss };
        var pair = WirePair.Connect(profile: profile, record: false, seed: seed);
        var data = new byte[OneMegabyte];
        new Random((int)seed).NextBytes(data);
        var serverPipe = pair.Server.GetPipe();
        var clientPipe = pair.Client.GetPipe();
        var echo = pair.Start(() => EchoAsync(serverPipe));
        var send = pair.Start(() => WriteInChunksAsync(clientPipe.Output, data, new Random((int)seed + 100)));
        byte[]? echoedHash = null;
        long echoed = 0;
        var receive = pair.Start(async () => (echoedHash, echoed) = await HashUntilEndAsync(clientPipe.Input));

        pair.Run(TimeSpan.FromMinutes(5), echo, send, receive);

        Assert.Equal(data.Length, echoed);
        Assert.Equal(SHA256.HashData(data), echoedHash);
        pair.RunFor(TimeSpan.FromSeconds(5));
        Assert.Equal(TcpState.Closed, pair.Server.State); // the server's FIN came last: LAST-ACK, then CLOSED
        Assert.Equal(TcpError.None, pair.Server.Connection!.Tcb.Error);
        Assert.Equal(TcpState.TimeWait, pair.Client.State);
        AssertPumpsEndedCleanly(clientPipe, serverPipe);
    }

    [Fact]
    public void Output_Complete_sends_a_FIN_after_the_data_while_data_keeps_flowing_back()
    {
        var pair = WirePair.Connect();
        var clientPipe = pair.Client.GetPipe();
        var serverPipe = pair.Server.GetPipe();
        var reply = new byte[100_000];
        new Random(5).NextBytes(reply);
        var server = pair.Start(async () =>
        {
            var (_, requestLength) = await HashUntilEndAsync(serverPipe.Input); // ends at the client's FIN
            Assert.Equal(3, requestLength);
            Assert.Equal(TcpState.CloseWait, pair.Server.State);
            await WriteInChunksAsync(serverPipe.Output, reply, new Random(6));
        });
        var client = pair.Start(async () =>
        {
            await clientPipe.Output.WriteAsync("GET"u8.ToArray());
            await clientPipe.Output.CompleteAsync();
        });
        byte[]? replyHash = null;
        long replied = 0;
        var receive = pair.Start(async () => (replyHash, replied) = await HashUntilEndAsync(clientPipe.Input));

        pair.Run(TimeSpan.FromSeconds(30), server, client, receive);

        Assert.Equal(reply.Length, replied);
        Assert.Equal(SHA256.HashData(reply), replyHash);
        var clientFin = Assert.Single(pair.Wire, s => s.FromClient && s.Has(TcpFlags.Fin));
        Assert.Equal(pair.Client.Connection!.Tcb.Iss + 1 + 3, clientFin.Header.Seq + clientFin.Length); // right after "GET"
        var replyData = pair.Wire.Where(s => !s.FromClient && s.Length > 0).ToList();
        Assert.Equal(reply.Length, replyData.Sum(s => s.Length));
        Assert.All(replyData, s => Assert.True(s.Time > clientFin.Time)); // all of it after the half-close
        Assert.Equal(TcpState.TimeWait, pair.Client.State);
    }

    [Fact]
    public void A_reset_surfaces_as_a_SocketException_on_Input_and_Output()
    {
        var pair = WirePair.Connect();
        var clientPipe = pair.Client.GetPipe();
        var read = pair.Start(async () => await clientPipe.Input.ReadAsync());
        pair.RunFor(TimeSpan.FromMilliseconds(50));
        Assert.False(read.IsCompleted);

        pair.Server.LingerState = new LingerOption(true, 0);
        pair.Server.Close();
        pair.RunFor(TimeSpan.FromMilliseconds(50));

        var reset = Assert.IsType<SocketException>(read.Exception?.InnerException);
        Assert.Equal(SocketError.ConnectionReset, reset.SocketErrorCode);
        var flush = pair.Start(async () => await clientPipe.Output.WriteAsync(new byte[10]));
        pair.RunFor(TimeSpan.FromMilliseconds(1));
        Assert.Equal(SocketError.ConnectionReset, Assert.IsType<SocketException>(flush.Exception?.InnerException).SocketErrorCode);
        AssertPumpsEndedCleanly(clientPipe);
    }

    [Fact]
    public void An_Input_nobody_reads_closes_the_TCP_window_and_reading_reopens_it()
    {
        var options = new TcpKitPipeOptions { InputPauseThreshold = 8192, InputResumeThreshold = 4096 };
        var pair = WirePair.Connect(clientConfig: TcpConfig.Linux with { ReceiveBufferSize = 16_384 });
        var clientPipe = pair.Client.GetPipe(options);
        var data = new byte[200_000];
        new Random(9).NextBytes(data);
        var write = pair.Start(() => pair.Server.GetStream().WriteAsync(data).AsTask());

        pair.RunFor(TimeSpan.FromSeconds(3));

        Assert.False(write.IsCompleted);
        Assert.Contains(pair.Wire, s => s.FromClient && s.Header.Window == 0);
        Assert.Equal(0, pair.Client.Connection!.Tcb.RcvWnd);
        Assert.True(pair.Client.Connection.Tcb.BytesAvailable > 0); // the pipe stopped taking bytes from TCP
        Assert.True(clientPipe.Input.TryRead(out var held));
        Assert.InRange(held.Buffer.Length, options.InputPauseThreshold, options.InputPauseThreshold + options.MinimumSegmentSize);
        clientPipe.Input.AdvanceTo(held.Buffer.Start); // consumed nothing
        // Bounded: what the client holds is the pipe's threshold (plus a segment) and the TCB's receive buffer.
        Assert.InRange(held.Buffer.Length + pair.Client.Connection.Tcb.BytesAvailable, 0, options.InputPauseThreshold + options.MinimumSegmentSize + 16_384);

        byte[]? hash = null;
        long received = 0;
        var read = pair.Start(async () => (hash, received) = await HashUntilEndAsync(clientPipe.Input));
        pair.Run(TimeSpan.FromSeconds(30), write);
        pair.Server.Close();
        pair.Run(TimeSpan.FromSeconds(30), read);

        Assert.Equal(data.Length, received);
        Assert.Equal(SHA256.HashData(data), hash);
    }

    [Fact]
    public void Output_FlushAsync_waits_while_the_send_buffer_is_full_and_resumes_when_the_peer_reads()
    {
        var options = new TcpKitPipeOptions { OutputPauseThreshold = 8192, OutputResumeThreshold = 4096 };
        var pair = WirePair.Connect(
            clientConfig: TcpConfig.Linux with { SendBufferSize = 8192 },
            serverConfig: TcpConfig.Linux with { ReceiveBufferSize = 4096 });
        var clientPipe = pair.Client.GetPipe(options);
        var data = new byte[64 * 1024];
        new Random(11).NextBytes(data);
        var flush = pair.Start(async () =>
        {
            clientPipe.Output.Write(data);
            var result = await clientPipe.Output.FlushAsync();
            Assert.False(result.IsCompleted);
        });

        pair.RunFor(TimeSpan.FromSeconds(3));

        Assert.False(flush.IsCompleted);
        Assert.Equal(8192, pair.Client.Connection!.Tcb.SendBufferCount); // TCP's send buffer is full
        Assert.Equal(0, pair.Server.Connection!.Tcb.RcvWnd);

        var read = pair.Start(async () =>
        {
            var stream = pair.Server.GetStream();
            var buffer = new byte[data.Length];
            int total = 0;
            while (total < data.Length)
            {
                total += await stream.ReadAsync(buffer.AsMemory(total));
            }

            Assert.Equal(data, buffer);
        });
        pair.Run(TimeSpan.FromSeconds(30), flush, read);
    }

    [Fact]
    public void A_cancelled_Input_ReadAsync_throws_at_that_instant_and_the_next_read_gets_the_data()
    {
        var pair = WirePair.Connect();
        var clientPipe = pair.Client.GetPipe();
        using var cts = new CancellationTokenSource();
        var start = pair.Now;
        pair.Sim.Network.Schedule(TimeSpan.FromSeconds(1), cts.Cancel);
        var cancelledAt = Wire.Instant.Never;
        var reader = pair.Start(async () =>
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await clientPipe.Input.ReadAsync(cts.Token));
            cancelledAt = pair.Now;
            var result = await clientPipe.Input.ReadAsync();
            Assert.Equal("late"u8.ToArray(), result.Buffer.ToArray());
            clientPipe.Input.AdvanceTo(result.Buffer.End);
        });
        pair.Sim.Network.Schedule(TimeSpan.FromSeconds(2), () => pair.Start(() => pair.Server.GetStream().WriteAsync("late"u8.ToArray()).AsTask()));

        pair.Run(TimeSpan.FromSeconds(5), reader);

        Assert.Equal(start + TimeSpan.FromSeconds(1), cancelledAt);
    }

    [Fact]
    public void An_abortive_Close_ends_both_pipes_without_exceptions()
    {
        var pair = WirePair.Connect(serverConfig: TcpConfig.Linux with { ReceiveBufferSize = 2000 });
        var clientPipe = pair.Client.GetPipe();
        var read = pair.Start(async () => await clientPipe.Input.ReadAsync());
        var write = pair.Start(async () => await clientPipe.Output.WriteAsync(new byte[200_000])); // waits: the server never reads
        pair.RunFor(TimeSpan.FromSeconds(1));
        Assert.False(read.IsCompleted);
        Assert.False(write.IsCompleted);
        pair.Client.LingerState = new LingerOption(true, 0);
        var closedAt = pair.Now;

        pair.Client.Close();
        pair.RunFor(TimeSpan.FromSeconds(1));

        Assert.True(Completed(read).IsCompleted);
        Assert.True(Completed(write).IsCompleted);
        var rst = Assert.Single(pair.Wire, s => s.Has(TcpFlags.Rst));
        Assert.Equal(closedAt, rst.Time);
        var later = pair.Start(async () => await clientPipe.Output.WriteAsync(new byte[10]));
        pair.RunFor(TimeSpan.FromMilliseconds(1));
        Assert.True(Completed(later).IsCompleted);
        AssertPumpsEndedCleanly(clientPipe);
    }

    [Fact]
    public void Output_Complete_with_an_exception_resets_the_connection_at_once()
    {
        var pair = WirePair.Connect();
        var clientPipe = pair.Client.GetPipe();
        var read = pair.Start(async () => await clientPipe.Input.ReadAsync());
        var closedAt = pair.Now;

        clientPipe.Output.Complete(new InvalidOperationException("application failed"));
        pair.RunFor(TimeSpan.FromSeconds(1));

        var rst = Assert.Single(pair.Wire);
        Assert.True(rst.FromClient && rst.Has(TcpFlags.Rst));
        Assert.Equal(closedAt, rst.Time);
        Assert.Equal(TcpError.Reset, pair.Server.Connection!.Tcb.Error);
        Assert.True(Completed(read).IsCompleted); // the local abort ends Input without an error
        AssertPumpsEndedCleanly(clientPipe);
    }

    [Fact]
    public void Close_sends_what_was_flushed_to_Output_before_its_FIN()
    {
        var pair = WirePair.Connect(clientConfig: TcpConfig.Linux with { SendBufferSize = 4096 });
        var clientPipe = pair.Client.GetPipe();
        var data = new byte[50_000];
        new Random(13).NextBytes(data);
        var flush = pair.Start(async () => await clientPipe.Output.WriteAsync(data));
        Assert.True(pair.Client.Connection!.Tcb.SendBufferCount <= 4096); // most of it still waits in the pipe

        pair.Client.Close();
        byte[]? hash = null;
        long received = 0;
        var read = pair.Start(async () => (hash, received) = await HashUntilEndAsync(pair.Server.GetPipe().Input));
        pair.Run(TimeSpan.FromSeconds(30), read);

        Assert.Equal(data.Length, received);
        Assert.Equal(SHA256.HashData(data), hash);
        var fin = Assert.Single(pair.Wire, s => s.FromClient && s.Has(TcpFlags.Fin));
        Assert.Equal(pair.Client.Connection.Tcb.Iss + 1 + data.Length, fin.Header.Seq + fin.Length);
        Assert.True(flush.IsCompletedSuccessfully);
    }

    [Fact]
    public void Close_with_a_linger_resets_a_pipe_whose_data_cannot_be_delivered_in_time()
    {
        var pair = WirePair.Connect(serverConfig: TcpConfig.Linux with { ReceiveBufferSize = 2000 });
        var clientPipe = pair.Client.GetPipe();
        var write = pair.Start(async () => await clientPipe.Output.WriteAsync(new byte[200_000]));
        pair.RunFor(TimeSpan.FromSeconds(1));
        pair.Client.LingerState = new LingerOption(true, 2);
        var closedAt = pair.Now;

        pair.Client.Close();
        pair.RunFor(TimeSpan.FromSeconds(5));

        var rst = Assert.Single(pair.Wire, s => s.Has(TcpFlags.Rst));
        Assert.Equal(closedAt + TimeSpan.FromSeconds(2), rst.Time);
        Assert.DoesNotContain(pair.Wire, s => s.FromClient && s.Has(TcpFlags.Fin)); // the data never drained
        Assert.True(Completed(write).IsCompleted);
        AssertPumpsEndedCleanly(clientPipe);
    }

    [Fact]
    public void Completing_Input_stops_reading_so_later_data_closes_the_window_and_Close_then_resets()
    {
        var pair = WirePair.Connect(clientConfig: TcpConfig.Linux with { ReceiveBufferSize = 4096 });
        var clientPipe = pair.Client.GetPipe();
        clientPipe.Input.Complete();
        var write = pair.Start(() => pair.Server.GetStream().WriteAsync(new byte[20_000]).AsTask());

        pair.RunFor(TimeSpan.FromSeconds(2));

        Assert.True(write.IsCompletedSuccessfully);
        Assert.True(pair.Server.Connection!.Tcb.SendBufferCount > 0); // undelivered: the client's window is closed
        Assert.Equal(4096, pair.Client.Connection!.Tcb.BytesAvailable);
        Assert.Contains(pair.Wire, s => s.FromClient && s.Header.Window == 0);
        int before = pair.Wire.Count;

        pair.Client.Close();
        pair.RunFor(TimeSpan.FromMilliseconds(100));

        Assert.Single(pair.Wire.Skip(before), s => s.FromClient && s.Has(TcpFlags.Rst));
        Assert.Equal(TcpError.Reset, pair.Server.Connection!.Tcb.Error);
        AssertPumpsEndedCleanly(clientPipe);
    }

    [Fact]
    public void A_connection_is_used_through_its_stream_or_its_pipe_not_both()
    {
        var pair = WirePair.Connect(record: false);

        var pipe = pair.Client.GetPipe();

        Assert.Same(pipe, pair.Client.GetPipe());
        Assert.Throws<InvalidOperationException>(() => pair.Client.GetStream());
        pair.Server.GetStream();
        Assert.Throws<InvalidOperationException>(() => pair.Server.GetPipe());
        Assert.Throws<InvalidOperationException>(() => new TcpKitClient(pair.Sim.Client).GetPipe());
    }

    [Fact]
    public void Pipe_buffers_come_from_the_given_pool_and_an_idle_or_finished_pipe_holds_none()
    {
        var pool = new CountingPool();
        var pair = WirePair.Connect(record: false);
        var options = new TcpKitPipeOptions { Pool = pool };
        var clientPipe = pair.Client.GetPipe(options);
        var serverPipe = pair.Server.GetPipe(options);
        var echo = pair.Start(() => EchoAsync(serverPipe));
        var data = new byte[300_000];
        new Random(17).NextBytes(data);
        long echoed = 0;
        var exchange = pair.Start(async () =>
        {
            await clientPipe.Output.WriteAsync(data);
            while (echoed < data.Length)
            {
                var result = await clientPipe.Input.ReadAsync();
                echoed += result.Buffer.Length;
                clientPipe.Input.AdvanceTo(result.Buffer.End);
            }
        });
        pair.Run(TimeSpan.FromSeconds(30), exchange);
        Assert.True(pool.Rented > 10);

        pair.RunFor(TimeSpan.FromSeconds(1)); // idle: everything read, nothing in flight

        Assert.Equal(0, pool.Outstanding);
        var finish = pair.Start(async () =>
        {
            await clientPipe.Output.CompleteAsync();
            var (_, rest) = await HashUntilEndAsync(clientPipe.Input);
            Assert.Equal(0, rest);
        });
        pair.Run(TimeSpan.FromSeconds(30), finish, echo);
        Assert.Equal(0, pool.Outstanding);
        AssertPumpsEndedCleanly(clientPipe, serverPipe);
    }

    /// <summary>Echoes Input to Output until the peer's FIN, then completes both (shared with the pipe property tests).</summary>
    internal static async Task EchoAsync(IDuplexPipe pipe)
    {
        while (true)
        {
            var result = await pipe.Input.ReadAsync();
            foreach (var segment in result.Buffer)
            {
                pipe.Output.Write(segment.Span);
            }

            pipe.Input.AdvanceTo(result.Buffer.End);
            var flush = await pipe.Output.FlushAsync();
            if (result.IsCompleted || flush.IsCompleted)
            {
                break;
            }
        }

        await pipe.Output.CompleteAsync();
        await pipe.Input.CompleteAsync();
    }

    /// <summary>Writes <paramref name="data"/> in random chunks of up to 20,000 bytes, flushing each, then completes Output.</summary>
    private static async Task WriteInChunksAsync(PipeWriter output, byte[] data, Random random)
    {
        int offset = 0;
        while (offset < data.Length)
        {
            int n = Math.Min(random.Next(1, 20_000), data.Length - offset);
            data.AsSpan(offset, n).CopyTo(output.GetSpan(n));
            output.Advance(n);
            var flush = await output.FlushAsync();
            Assert.False(flush.IsCompleted);
            offset += n;
        }

        await output.CompleteAsync();
    }

    private static async Task<(byte[] Hash, long Length)> HashUntilEndAsync(PipeReader input)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long length = 0;
        while (true)
        {
            var result = await input.ReadAsync();
            foreach (var segment in result.Buffer)
            {
                hash.AppendData(segment.Span);
            }

            length += result.Buffer.Length;
            input.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
            {
                await input.CompleteAsync();
                return (hash.GetHashAndReset(), length);
            }
        }
    }

    private static T Completed<T>(Task<T> task)
    {
        Assert.True(task.IsCompletedSuccessfully, $"{task.Status}: {task.Exception}");
        return task.GetAwaiter().GetResult();
    }

    private static void AssertPumpsEndedCleanly(params IDuplexPipe[] pipes)
    {
        foreach (var pipe in pipes)
        {
            var p = Assert.IsType<TcpKitPipe>(pipe);
            Assert.True(p.Receiving.IsCompletedSuccessfully);
            Assert.True(p.Sending.IsCompletedSuccessfully);
        }
    }
}
