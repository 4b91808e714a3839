using TcpKit.Wire;
using TcpKit.Wire.Capture;
using TcpKit.Wire.Ip;
using TcpKit.Wire.Link;
using TcpKit.Wire.Tcp;
using static TcpKit.Wire.Tcp.TcpFlags;

namespace TcpKit.Analysis.Tests.Analysis;

/// <summary>Streaming with constant memory per conversation: a finished conversation keeps its counters, not its segments.</summary>
/// <summary>
/// GC.GetTotalMemory counts the whole process: tests measuring retained memory run alone, after the parallel
/// ones, so another test's allocations and collections cannot land inside a measurement.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessMemoryMeasurements
{
    public const string Name = "Process-wide memory measurements";
}

[Collection(ProcessMemoryMeasurements.Name)]
public class ConversationMemoryTests
{
    /// <summary>
    /// A pcap (in memory) of <paramref name="conversations"/> connections one after another, each a handshake,
    /// <paramref name="inFlight"/> 10-byte segments sent before the receiver acknowledges them all at once,
    /// and a close by FIN from both sides (or a RST from the client after the ACK).
    /// </summary>
    private static byte[] FinishedConversations(int conversations, int inFlight, bool reset)
    {
        var ms = new MemoryStream();
        using (var w = new PcapWriter(ms, LinkType.Ethernet, leaveOpen: true))
        {
            IpAddress.TryParse("10.1.0.1", out var client);
            IpAddress.TryParse("10.1.0.2", out var server);
            long ns = 1_000_000_000;
            var frame = new byte[14 + 20 + 20 + 10];
            void Add(bool fromClient, ushort clientPort, uint seq, uint ack, TcpFlags flags, int length)
            {
                var tcp = new TcpHeader
                {
                    SourcePort = fromClient ? clientPort : (ushort)80,
                    DestinationPort = fromClient ? (ushort)80 : clientPort,
                    Seq = new SeqNum(seq),
                    Ack = new SeqNum(ack),
                    Flags = flags,
                    Window = 65535,
                };
                var src = fromClient ? client : server;
                var dst = fromClient ? server : client;
                var f = frame.AsSpan(0, 54 + length);
                new EthernetHeader { Source = new MacAddress(1), Destination = new MacAddress(2), EtherType = 0x0800 }.Emit(f);
                new Ipv4Header { TimeToLive = 64, Protocol = 6, Source = src, Destination = dst }.Emit(f[14..], 20 + length);
                tcp.Emit(f[34..], new byte[length], src, dst);
                w.WritePacket(ns += 1000, f);
            }

            for (int c = 0; c < conversations; c++)
            {
                ushort port = (ushort)(10_000 + c);
                uint cs = 1000, ss = 9000;
                Add(true, port, cs, 0, Syn, 0);
                Add(false, port, ss, cs + 1, Syn | Ack, 0);
                Add(true, port, cs + 1, ss + 1, Ack, 0);
                uint seq = cs + 1;
                for (int i = 0; i < inFlight; i++, seq += 10)
                {
                    Add(true, port, seq, ss + 1, Ack | Psh, 10);
                }

                Add(false, port, ss + 1, seq, Ack, 0);
                if (reset)
                {
                    Add(true, port, seq, ss + 1, Rst, 0);
                    continue;
                }

                Add(true, port, seq, ss + 1, Fin | Ack, 0);
                Add(false, port, ss + 1, seq + 1, Fin | Ack, 0);
                Add(true, port, seq + 1, ss + 2, Ack, 0);
            }
        }

        return ms.ToArray();
    }

    /// <summary>Bytes still reachable from the pipeline after reading the whole capture.</summary>
    private static long RetainedBytes(byte[] capture, out CapturePipeline pipeline)
    {
        long before = GC.GetTotalMemory(forceFullCollection: true);
        pipeline = new CapturePipeline();
        using (var reader = CaptureReader.Open(capture))
        {
            while (reader.TryRead(out var packet))
            {
                pipeline.Advance(packet);
            }
        }

        return GC.GetTotalMemory(forceFullCollection: true) - before;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_finished_conversation_keeps_the_same_memory_however_many_segments_it_had_in_flight(bool reset)
    {
        const int conversations = 200;
        var few = FinishedConversations(conversations, 4, reset);
        var many = FinishedConversations(conversations, 1000, reset);

        long fewBytes = RetainedBytes(few, out var fewPipeline);
        long manyBytes = RetainedBytes(many, out var manyPipeline);

        Assert.Equal(conversations, fewPipeline.Tracker.Conversations.Count);
        Assert.Equal(conversations, manyPipeline.Tracker.Conversations.Count);
        var last = manyPipeline.Tracker.Conversations[^1];
        Assert.Equal(3 + 1000 + 1 + (reset ? 1 : 3), last.Directions[0].Frames + last.Directions[1].Frames);

        // Keeping 1,000 unacked-segment slots per conversation would cost 32 KB each (6.4 MB here); what is
        // left is the conversation's own record, the same for both captures.
        long perFew = fewBytes / conversations;
        long perMany = manyBytes / conversations;
        // GC.GetTotalMemory also sees the runtime's own allocations (JIT, runner threads): a couple of KB per
        // conversation of noise here, against the ~26 KB per conversation that keeping the slots would cost.
        Assert.True(perMany < perFew + 8192, $"{perMany} bytes per conversation with 1,000 segments in flight, {perFew} with 4");
        Assert.True(perMany < 12_288, $"{perMany} bytes per finished conversation");
        GC.KeepAlive(fewPipeline);
        GC.KeepAlive(manyPipeline);
    }

    [Fact]
    public void An_open_conversation_still_matches_acks_to_every_segment_in_flight()
    {
        // The release happens only once a conversation closes: before that, the ACK of segment 1,000 finds it.
        var capture = FinishedConversations(1, 1000, reset: false);
        var pipeline = new CapturePipeline();
        long acksFrame = 0;
        using var reader = CaptureReader.Open(capture);
        while (reader.TryRead(out var packet))
        {
            var c = pipeline.Next(packet);
            if (c.Number == 3 + 1000 + 1)
            {
                acksFrame = c.Analysis.AcksFrame;
            }
        }

        Assert.Equal(3 + 1000, acksFrame);
    }
}
