using System.Buffers;
using System.IO.Pipelines;
using System.Security.Cryptography;
using CsCheck;
using TcpKit.Net.Simulation;
using TcpKit.Net.Tests.Host;
using TcpKit.Tcp;
using TcpKit.Wire.Tcp;

namespace TcpKit.Net.Tests.Sockets;

/// <summary>
/// Seeded transfers through connection pipes over an impaired simulated link, with random segment sizes, pause
/// thresholds, TCP buffers and write sizes: an echo closed with Output.Complete, or a one-way transfer closed with
/// Close. Every run must end with the bytes intact (SHA-256), both ends CLOSED and every pooled segment returned.
/// </summary>
public class PipeTransferProperties
{
    private static readonly int Runs = int.TryParse(Environment.GetEnvironmentVariable("TCPKIT_PROPERTY_RUNS"), out int n) ? Math.Max(1, n / 4) : 40;

    public sealed record Scenario(
        ulong Seed,
        double Loss,
        double Reorder,
        double Duplicate,
        int DelayMs,
        int Bytes,
        int SegmentSize,
        int InputPause,
        int OutputPause,
        int SendBuffer,
        int ReceiveBuffer,
        int WriteChunk,
        bool OneWayWithClose);

    private static readonly Gen<Scenario> Scenarios =
        from seed in Gen.ULong
        from loss in Gen.Double[0, 0.1]
        from reorder in Gen.Double[0, 0.1]
        from duplicate in Gen.Double[0, 0.05]
        from delay in Gen.Int[1, 30]
        from bytes in Gen.Int[0, 150_000]
        from segment in Gen.Int[64, 16_384]
        from inputPause in Gen.Int[1, 65_536]
        from outputPause in Gen.Int[1, 65_536]
        from sendBuffer in Gen.Int[512, 32_768]
        from receiveBuffer in Gen.Int[1024, 32_768]
        from chunk in Gen.Int[1, 20_000]
        from oneWay in Gen.Bool
        select new Scenario(seed, loss, reorder, duplicate, delay, bytes, segment, inputPause, outputPause, sendBuffer, receiveBuffer, chunk, oneWay);

    [Fact]
    public void Every_impaired_pipe_transfer_ends_with_identical_bytes_both_ends_closed_and_no_segment_rented()
    {
        Scenarios.Sample(RunScenario, iter: Runs, threads: 1);
    }

    private static void RunScenario(Scenario s)
    {
        var profile = new LinkProfile
        {
            Delay = TimeSpan.FromMilliseconds(s.DelayMs),
            LossRate = s.Loss,
            ReorderProbability = s.Reorder,
            ReorderDelay = TimeSpan.FromMilliseconds(s.DelayMs / 2.0 + 1),
            DuplicateProbability = s.Duplicate,
        };
        var config = TcpConfig.Linux with
        {
            SendBufferSize = s.SendBuffer,
            ReceiveBufferSize = s.ReceiveBuffer,
            // Linux's 60 s: a TIME-WAIT much shorter than the retransmission backoff under loss would answer a late
            // retransmitted FIN with a RST, a real outcome but not the one checked here.
            TimeWaitDuration = TimeSpan.FromSeconds(60),
            DataRetries = 30,
        };
        var pool = new CountingPool();
        var options = new TcpKitPipeOptions
        {
            Pool = pool,
            MinimumSegmentSize = s.SegmentSize,
            InputPauseThreshold = s.InputPause,
            InputResumeThreshold = s.InputPause / 2,
            OutputPauseThreshold = s.OutputPause,
            OutputResumeThreshold = s.OutputPause / 2,
        };
        var sim = new SimPair(s.Seed, profile, profile, config);
        var listener = new TcpKitListener(sim.Server, 4000) { Config = config };
        listener.Start();
        var data = new byte[s.Bytes];
        new Random((int)s.Seed).NextBytes(data);
        byte[]? received = null;
        bool? acknowledged = null;
        TcpKitClient? serverSide = null, clientSide = null;

        var server = sim.Loop.Start(async () =>
        {
            serverSide = await listener.AcceptTcpClientAsync();
            var pipe = serverSide.GetPipe(options);
            if (s.OneWayWithClose)
            {
                received = await HashUntilEndAsync(pipe.Input);
                await pipe.Output.CompleteAsync(); // our FIN after theirs
            }
            else
            {
                await PipeTests.EchoAsync(pipe);
            }
        });
        var client = sim.Loop.Start(async () =>
        {
            clientSide = new TcpKitClient(sim.Client) { Config = config };
            await clientSide.ConnectAsync(SimPair.ServerAddress, 4000);
            var pipe = clientSide.GetPipe(options);
            var reading = HashUntilEndAsync(pipe.Input);
            await WriteChunksAsync(pipe.Output, data, s.WriteChunk, complete: !s.OneWayWithClose);
            if (s.OneWayWithClose)
            {
                acknowledged = await clientSide.CloseAsync(); // the FIN after everything flushed
                await pipe.Output.CompleteAsync();
                await reading;
            }
            else
            {
                received = await reading;
            }
        });

        sim.Run(TimeSpan.FromHours(1), server, client);
        sim.Network.RunWhile(() => sim.Client.ConnectionCount + sim.Server.ConnectionCount > 0, sim.Network.Now + TimeSpan.FromHours(1));

        Assert.Equal(SHA256.HashData(data), received);
        if (s.OneWayWithClose)
        {
            Assert.True(acknowledged);
        }

        Assert.Equal(TcpState.Closed, clientSide!.State);
        Assert.Equal(TcpError.None, clientSide.Connection!.Tcb.Error);
        Assert.Equal(TcpState.Closed, serverSide!.State);
        Assert.Equal(TcpError.None, serverSide.Connection!.Tcb.Error);
        Assert.Equal(0, pool.Outstanding);
    }

    private static async Task WriteChunksAsync(PipeWriter output, byte[] data, int chunk, bool complete)
    {
        for (int i = 0; i < data.Length; i += chunk)
        {
            await output.WriteAsync(data.AsMemory(i, Math.Min(chunk, data.Length - i)));
        }

        if (complete)
        {
            await output.CompleteAsync();
        }
    }

    private static async Task<byte[]> HashUntilEndAsync(PipeReader input)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        while (true)
        {
            var result = await input.ReadAsync();
            foreach (var segment in result.Buffer)
            {
                hash.AppendData(segment.Span);
            }

            input.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
            {
                await input.CompleteAsync();
                return hash.GetHashAndReset();
            }
        }
    }
}
