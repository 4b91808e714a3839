using System.Net.Sockets;
using System.Security.Cryptography;
using CsCheck;
using TcpKit.Net.Simulation;
using TcpKit.Tcp;
using TcpKit.Wire.Tcp;

namespace TcpKit.Net.Tests.Host;

/// <summary>
/// Seeded runs of a whole transfer through two host stacks over an impaired simulated link: loss up
/// to 20 %, reordering, duplication, single-bit corruption, tiny buffers, random write and read sizes
/// and a random close order. Every run must end in bounded virtual time with the bytes intact
/// (SHA-256) and both ends CLOSED. Longer campaigns: set TCPKIT_PROPERTY_RUNS (see bench/README.md).
/// </summary>
public class ImpairedTransferProperties
{
    private static readonly int Runs = int.TryParse(Environment.GetEnvironmentVariable("TCPKIT_PROPERTY_RUNS"), out int n) ? n : 150;

    public sealed record Scenario(
        ulong Seed,
        double Loss,
        double Reorder,
        double Duplicate,
        double Corrupt,
        int DelayMs,
        int UpBytes,
        int DownBytes,
        int SendBuffer,
        int ReceiveBuffer,
        int WriteChunk,
        int ReadChunk,
        bool ClientClosesFirst,
        bool NoDelay);

    private static readonly Gen<Scenario> Scenarios =
        from seed in Gen.ULong
        from loss in Gen.Double[0, 0.2]
        from reorder in Gen.Double[0, 0.2]
        from duplicate in Gen.Double[0, 0.1]
        from corrupt in Gen.Double[0, 0.05]
        from delay in Gen.Int[1, 50]
        from up in Gen.Int[0, 60_000]
        from down in Gen.Int[0, 30_000]
        from sendBuffer in Gen.Int[512, 16_384]
        from receiveBuffer in Gen.Int[1024, 16_384]
        from write in Gen.Int[1, 5000]
        from read in Gen.Int[1, 5000]
        from clientFirst in Gen.Bool
        from noDelay in Gen.Bool
        select new Scenario(seed, loss, reorder, duplicate, corrupt, delay, up, down, sendBuffer, receiveBuffer, write, read, clientFirst, noDelay);

    [Fact]
    public void Every_impaired_transfer_ends_with_identical_bytes_and_both_ends_closed()
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
            CorruptProbability = s.Corrupt,
            MaxCorruptBits = 1,
        };
        var config = TcpConfig.Linux with
        {
            SendBufferSize = s.SendBuffer,
            ReceiveBufferSize = s.ReceiveBuffer,
            NoDelay = s.NoDelay,
            TimeWaitDuration = TimeSpan.FromSeconds(2),
            DataRetries = 30,
        };
        var sim = new SimPair(s.Seed, profile, profile, config);
        var listener = new TcpKitListener(sim.Server, 4000) { Config = config };
        listener.Start();
        var random = new Random((int)s.Seed);
        var up = new byte[s.UpBytes];
        var down = new byte[s.DownBytes];
        random.NextBytes(up);
        random.NextBytes(down);
        byte[]? gotUp = null, gotDown = null;
        TcpKitClient? serverSide = null, clientSide = null;

        var server = sim.Loop.Start(async () =>
        {
            serverSide = await listener.AcceptTcpClientAsync();
            var stream = serverSide.GetStream();
            var reading = ReadAll(stream, s.ReadChunk);
            await WriteChunks(stream, down, s.WriteChunk);
            if (!s.ClientClosesFirst)
            {
                serverSide.Shutdown(SocketShutdown.Send);
            }

            gotUp = await reading;
            serverSide.Close();
        });
        var client = sim.Loop.Start(async () =>
        {
            clientSide = new TcpKitClient(sim.Client) { Config = config };
            await clientSide.ConnectAsync(SimPair.ServerAddress, 4000);
            var stream = clientSide.GetStream();
            var reading = ReadAll(stream, s.ReadChunk);
            await WriteChunks(stream, up, s.WriteChunk);
            if (s.ClientClosesFirst)
            {
                clientSide.Shutdown(SocketShutdown.Send);
            }

            gotDown = await reading;
            clientSide.Close();
        });

        sim.Run(TimeSpan.FromHours(1), server, client);
        // Let FIN retransmissions and TIME-WAIT run out.
        sim.Network.RunWhile(() => sim.Client.ConnectionCount + sim.Server.ConnectionCount > 0, sim.Network.Now + TimeSpan.FromHours(1));

        Assert.Equal(SHA256.HashData(up), SHA256.HashData(gotUp!));
        Assert.Equal(SHA256.HashData(down), SHA256.HashData(gotDown!));
        Assert.Equal(TcpState.Closed, clientSide!.State);
        Assert.Equal(TcpState.Closed, serverSide!.State);
        Assert.Equal(0, sim.Client.ConnectionCount + sim.Server.ConnectionCount);
    }

    private static async Task WriteChunks(Stream stream, byte[] data, int chunk)
    {
        for (int i = 0; i < data.Length; i += chunk)
        {
            await stream.WriteAsync(data.AsMemory(i, Math.Min(chunk, data.Length - i)));
        }
    }

    private static async Task<byte[]> ReadAll(Stream stream, int chunk)
    {
        var ms = new MemoryStream();
        var buffer = new byte[chunk];
        int n;
        while ((n = await stream.ReadAsync(buffer)) > 0)
        {
            ms.Write(buffer, 0, n);
        }

        return ms.ToArray();
    }
}
