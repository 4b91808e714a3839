using System.Security.Cryptography;
using CsCheck;
using TcpKit.Wire;
using TcpKit.Wire.Tcp;

namespace TcpKit.Tcp.Tests;

public class ImpairedTransferPropertyTests
{
    public sealed record Scenario(
        double Loss,
        double Reorder,
        double Duplicate,
        int ClientBytes,
        int ServerBytes,
        int MaxWrite,
        int MaxRead,
        int ReceiveBuffer,
        bool NoDelay,
        uint ClientIss,
        uint ServerIss,
        int Seed);

    private static readonly Gen<Scenario> Scenarios =
        from loss in Gen.Double[0, 0.2]
        from reorder in Gen.Double[0, 0.3]
        from dup in Gen.Double[0, 0.1]
        from clientBytes in Gen.Int[0, 120_000]
        from serverBytes in Gen.Int[0, 60_000]
        from maxWrite in Gen.Int[1, 20_000]
        from maxRead in Gen.Int[1, 20_000]
        from rcvBuf in Gen.Int[1_000, 65_536]
        from noDelay in Gen.Bool
        from ciss in Gen.UInt
        from siss in Gen.UInt
        from seed in Gen.Int
        select new Scenario(loss, reorder, dup, clientBytes, serverBytes, maxWrite, maxRead, rcvBuf, noDelay, ciss, siss, seed);

    [Fact]
    public void Bytes_arrive_intact_through_loss_reordering_and_duplication_and_both_ends_close()
    {
        Scenarios.Sample(Run, iter: 100);
    }

    private static void Run(Scenario s)
    {
        var config = TcpConfig.Linux with { ReceiveBufferSize = s.ReceiveBuffer, NoDelay = s.NoDelay, SendBufferSize = 32 * 1024 };
        var h = Harness.Pair(config, config, s.ClientIss, s.ServerIss);
        var rng = new Random(s.Seed);
        h.AutoReadClient = false;
        h.AutoReadServer = false;
        h.Impair = _ => new Impairment(
            rng.NextDouble() < s.Loss,
            rng.NextDouble() < s.Reorder ? TimeSpan.FromMilliseconds(rng.Next(1, 50)) : TimeSpan.Zero,
            rng.NextDouble() < s.Duplicate);

        byte[] clientData = new byte[s.ClientBytes];
        byte[] serverData = new byte[s.ServerBytes];
        rng.NextBytes(clientData);
        rng.NextBytes(serverData);
        var toServer = new MemoryStream();
        var toClient = new MemoryStream();
        int clientSent = 0;
        int serverSent = 0;
        byte[] readBuf = new byte[20_000];

        h.App = harness =>
        {
            Write(harness.Client, clientData, ref clientSent);
            Write(harness.Server!, serverData, ref serverSent);
            Read(harness.Client, toClient);
            Read(harness.Server!, toServer);
        };

        void Write(TcpConnection c, byte[] data, ref int sent)
        {
            if (!c.CanSend || c.State is TcpState.SynSent or TcpState.SynReceived)
            {
                return;
            }

            while (sent < data.Length)
            {
                int n = c.Send(data.AsSpan(sent, Math.Min(rng.Next(1, s.MaxWrite + 1), data.Length - sent)));
                if (n == 0)
                {
                    return;
                }

                sent += n;
            }

            c.Shutdown();
        }

        void Read(TcpConnection c, MemoryStream into)
        {
            int n;
            while ((n = c.Receive(readBuf.AsSpan(0, rng.Next(1, s.MaxRead + 1)))) > 0)
            {
                into.Write(readBuf, 0, n);
            }
        }

        h.RunUntil(Instant.FromSeconds(900));

        Assert.True(h.Client.State == TcpState.Closed, $"client ended in {h.Client.State} ({s})");
        Assert.True(h.Server!.State == TcpState.Closed, $"server ended in {h.Server.State} ({s})");
        Assert.Equal(TcpError.None, h.Client.Error);
        Assert.Equal(TcpError.None, h.Server.Error);
        Assert.Equal(SHA256.HashData(clientData), SHA256.HashData(toServer.ToArray()));
        Assert.Equal(SHA256.HashData(serverData), SHA256.HashData(toClient.ToArray()));
    }
}
