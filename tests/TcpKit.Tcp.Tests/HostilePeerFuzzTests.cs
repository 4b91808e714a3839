using CsCheck;
using TcpKit.Wire;
using TcpKit.Wire.Tcp;

namespace TcpKit.Tcp.Tests;

/// <summary>A hostile or broken peer: arbitrary segments and user calls must never crash the engine or break its invariants.</summary>
public class HostilePeerFuzzTests
{
    private enum Action : byte
    {
        Segment,
        Timer,
        Send,
        Receive,
        Close,
        Shutdown,
        Abort,
    }

    private sealed record Step(Action Action, ushort Flags, int SeqOffset, int AckOffset, ushort Window, ushort Urgent, ushort? Mss, int PayloadLength, int Millis);

    private static readonly Gen<Step> Steps =
        from action in Gen.Frequency((20, Gen.Const(Action.Segment)), (4, Gen.Const(Action.Timer)), (3, Gen.Const(Action.Send)), (3, Gen.Const(Action.Receive)),
            (1, Gen.Const(Action.Close)), (1, Gen.Const(Action.Shutdown)), (1, Gen.Const(Action.Abort)))
        from flags in Gen.UShort[0, 0x3f]
        from seqOffset in Gen.OneOf(Gen.Int[-3, 3], Gen.Int[-70_000, 70_000], Gen.Int)
        from ackOffset in Gen.OneOf(Gen.Int[-3, 3], Gen.Int[-70_000, 70_000], Gen.Int)
        from window in Gen.OneOf(Gen.Const((ushort)0), Gen.UShort)
        from urgent in Gen.UShort
        from mss in Gen.OneOf(Gen.Const((ushort?)null), Gen.UShort.Select(m => (ushort?)m))
        from len in Gen.OneOf(Gen.Const(0), Gen.Int[1, 3000])
        from millis in Gen.Int[0, 5000]
        select new Step(action, flags, seqOffset, ackOffset, window, urgent, mss, len, millis);

    [Fact]
    public void Arbitrary_segments_and_calls_never_throw_and_keep_the_invariants()
    {
        Gen.Select(Gen.Int[0, 3], Gen.UInt, Steps.Array[1, 60]).Sample((start, iss, steps) =>
        {
            var config = TcpConfig.Linux with { ReceiveBufferSize = 4000, SendBufferSize = 5000, MaxReassemblyRanges = 4 };
            TcpConnection c = start switch
            {
                0 => TcpConnection.Listen(config, 80, new SeqNum(iss)),
                1 => TcpConnection.Connect(config, 40000, 80, new SeqNum(iss), Instant.Zero),
                _ => Established(config, iss),
            };

            var now = Instant.FromSeconds(1);
            byte[] payload = new byte[3000];
            byte[] outBuf = new byte[1500];
            foreach (Step s in steps)
            {
                now += TimeSpan.FromMilliseconds(s.Millis);
                switch (s.Action)
                {
                    case Action.Segment:
                        var options = default(TcpOptions);
                        options.Mss = s.Mss;
                        var h = new TcpHeader
                        {
                            SourcePort = c.RemotePort == 0 ? (ushort)5555 : c.RemotePort,
                            DestinationPort = c.LocalPort,
                            Seq = c.RcvNxt + s.SeqOffset,
                            Ack = c.SndUna + s.AckOffset,
                            Flags = (TcpFlags)s.Flags,
                            Window = s.Window,
                            UrgentPointer = s.Urgent,
                            Options = options,
                        };
                        c.OnSegment(h, payload.AsSpan(0, s.PayloadLength), now);
                        break;
                    case Action.Timer:
                        now = Instant.Max(now, c.NextDeadline == Instant.Never ? now : c.NextDeadline);
                        c.OnTimer(now);
                        break;
                    case Action.Send:
                        if (c.CanSend)
                        {
                            c.Send(payload.AsSpan(0, s.PayloadLength));
                        }

                        break;
                    case Action.Receive:
                        c.Receive(outBuf);
                        break;
                    case Action.Close:
                        c.Close();
                        break;
                    case Action.Shutdown:
                        c.Shutdown();
                        break;
                    case Action.Abort:
                        c.Abort();
                        break;
                }

                int polled = 0;
                while (c.TryPollSegment(now, outBuf, out TcpHeader seg, out int len))
                {
                    Assert.True(len <= c.EffectiveSendMss);
                    Assert.True(polled++ < 200, "a single input produced an unbounded burst");
                    Assert.True(seg.Options.Mss is null || seg.Has(TcpFlags.Syn)); // MUST-65
                }

                while (c.TryPollEvent(out _))
                {
                }

                Assert.InRange(c.RcvWnd, 0, 65535);
                Assert.InRange(c.BytesAvailable, 0, 4000);
                Assert.True(c.BytesAvailable + c.RcvWnd <= 4000);
                Assert.True(c.SndUna <= c.SndNxt);
                Assert.True(c.NextDeadline == Instant.Never || c.NextDeadline >= Instant.FromSeconds(1));
                if (c.State == TcpState.Closed)
                {
                    Assert.Equal(Instant.Never, c.NextDeadline);
                }
            }
        }, iter: 3000);
    }

    private static TcpConnection Established(TcpConfig config, uint iss)
    {
        var c = TcpConnection.Connect(config, 40000, 80, new SeqNum(iss), Instant.Zero);
        Assert.True(c.TryPollSegment(Instant.Zero, new byte[1500], out _, out _));
        var synAck = new TcpHeader { SourcePort = 80, DestinationPort = 40000, Seq = new SeqNum(iss ^ 0x5555_5555), Ack = new SeqNum(iss) + 1, Flags = TcpFlags.Syn | TcpFlags.Ack, Window = 8000 };
        c.OnSegment(synAck, default, Instant.FromMilliseconds(10));
        Assert.Equal(TcpState.Established, c.State);
        return c;
    }
}
