using TcpKit.Net;
using TcpKit.Net.Host;
using TcpKit.Net.Links;
using TcpKit.Wire;
using TcpKit.Wire.Ip;
using TcpKit.Wire.Tcp;

namespace TcpKit.Interop.Tests.Kernel;

/// <summary>
/// A TcpHost behind a link that reports batches (as <see cref="TunLink"/> does for the packets of one
/// wake-up): in-order data that arrives together is answered with one cumulative ACK at the batch's end,
/// while out-of-order data still gets its immediate duplicate ACK. The peer is written by hand, segment by
/// segment, and nothing runs on a thread or a clock, so the exact segments TcpKit sends are checked.
/// </summary>
public sealed class LinkBatchTests
{
    private const int Mss = 1460;
    private static readonly IpAddress Host = IpAddress.Parse("192.0.2.1");
    private static readonly IpAddress Peer = IpAddress.Parse("192.0.2.2");

    [Fact]
    public void Twenty_in_order_segments_in_one_batch_are_answered_with_one_cumulative_ACK()
    {
        var (host, link, peer) = Established();

        host.OnBatchStart();
        for (int i = 0; i < 20; i++)
        {
            host.OnPacket(peer.Data(Mss), Instant.Zero);
        }

        Assert.Empty(link.Sent); // nothing until the batch is over
        host.OnBatchEnd(Instant.Zero);

        var ack = Assert.Single(link.Sent);
        Assert.Equal(TcpFlags.Ack, ack.Flags);
        Assert.Equal(peer.Next, ack.Ack);
    }

    [Fact]
    public void Without_batches_the_same_segments_get_an_ACK_for_every_second_one()
    {
        var (host, link, peer) = Established();

        for (int i = 0; i < 20; i++)
        {
            host.OnPacket(peer.Data(Mss), Instant.Zero);
        }

        // RFC 9293 section 3.8.6.3: at least every second full-sized segment.
        Assert.Equal(10, link.Sent.Count);
        Assert.All(link.Sent, s => Assert.Equal(TcpFlags.Ack, s.Flags));
        Assert.Equal(peer.Next, link.Sent[^1].Ack);
    }

    [Fact]
    public void Out_of_order_segments_in_a_batch_are_answered_at_once_with_duplicate_ACKs()
    {
        var (host, link, peer) = Established();

        host.OnBatchStart();
        host.OnPacket(peer.Data(Mss), Instant.Zero); // in order: deferred
        var hole = peer.Next;
        peer.Skip(Mss); // lost
        for (int i = 0; i < 3; i++)
        {
            host.OnPacket(peer.Data(Mss), Instant.Zero);
        }

        // RFC 5681 section 4.2 / 3.2: each out-of-order segment is acknowledged at once, so the sender's fast
        // retransmit sees its three duplicate ACKs even though they arrived in one batch.
        Assert.Equal(3, link.Sent.Count);
        Assert.All(link.Sent, s => Assert.Equal(hole, s.Ack));
        host.OnBatchEnd(Instant.Zero);
        Assert.All(link.Sent, s => Assert.Equal(hole, s.Ack));
    }

    [Fact]
    public void A_FIN_in_a_batch_is_answered_at_once_and_the_data_before_it_is_covered()
    {
        var (host, link, peer) = Established();

        host.OnBatchStart();
        host.OnPacket(peer.Data(Mss), Instant.Zero);
        host.OnPacket(peer.Fin(), Instant.Zero);
        host.OnBatchEnd(Instant.Zero);

        // The FIN is no in-order data, so it is pumped when it arrives: its ACK covers the data and the FIN.
        Assert.Contains(link.Sent, s => s.Ack == peer.Next);
        var connection = Assert.Single(host.Connections);
        Assert.Equal(TcpState.CloseWait, connection.Tcb.State);
    }

    [Fact]
    public void A_connection_reset_after_deferred_data_in_the_same_batch_is_gone_and_the_batch_end_sends_nothing_for_it()
    {
        var (host, link, peer) = Established();

        host.OnBatchStart();
        host.OnPacket(peer.Data(Mss), Instant.Zero);
        host.OnPacket(peer.Data(Mss), Instant.Zero);
        host.OnPacket(peer.Rst(), Instant.Zero);
        host.OnBatchEnd(Instant.Zero);

        // RFC 9293 section 3.10.7.4: an in-window RST closes the connection; nothing is sent in reply.
        Assert.Empty(link.Sent);
        Assert.Equal(0, host.ConnectionCount);
    }

    /// <summary>A host listening on port 80 with one connection from the hand-written peer, handshake done.</summary>
    private static (TcpHost Host, RecordingLink Link, HandPeer Peer) Established()
    {
        var link = new RecordingLink();
        var host = new TcpHost("batch", link, new ManualLoop());
        host.AddAddress(Host);
        new TcpKitListener(host, 80).Start();

        var peer = new HandPeer(new SeqNum(1000));
        host.OnPacket(peer.Syn(), Instant.Zero);
        var synAck = Assert.Single(link.Sent);
        Assert.Equal(TcpFlags.Syn | TcpFlags.Ack, synAck.Flags);
        peer.Acked(synAck.Seq + 1);
        host.OnPacket(peer.Ack(), Instant.Zero);
        link.Sent.Clear();
        Assert.Equal(TcpState.Established, Assert.Single(host.Connections).Tcb.State);
        return (host, link, peer);
    }

    /// <summary>The peer's side of one connection, 192.0.2.2:40000 -> 192.0.2.1:80, built segment by segment.</summary>
    private sealed class HandPeer(SeqNum iss)
    {
        private SeqNum _ack;

        public SeqNum Next { get; private set; } = iss;

        public void Acked(SeqNum ack) => _ack = ack;

        public void Skip(int bytes) => Next += bytes;

        public byte[] Syn()
        {
            var options = new TcpOptions { Mss = Mss };
            var packet = Build(new TcpHeader { Seq = Next, Flags = TcpFlags.Syn, Window = 65535, Options = options }, []);
            Next += 1;
            return packet;
        }

        public byte[] Ack() => Build(new TcpHeader { Seq = Next, Ack = _ack, Flags = TcpFlags.Ack, Window = 65535 }, []);

        public byte[] Data(int length)
        {
            var packet = Build(new TcpHeader { Seq = Next, Ack = _ack, Flags = TcpFlags.Ack | TcpFlags.Psh, Window = 65535 }, new byte[length]);
            Next += length;
            return packet;
        }

        public byte[] Rst() => Build(new TcpHeader { Seq = Next, Flags = TcpFlags.Rst, Window = 0 }, []);

        public byte[] Fin()
        {
            var packet = Build(new TcpHeader { Seq = Next, Ack = _ack, Flags = TcpFlags.Ack | TcpFlags.Fin, Window = 65535 }, []);
            Next += 1;
            return packet;
        }

        private static byte[] Build(TcpHeader header, byte[] payload)
        {
            header.SourcePort = 40000;
            header.DestinationPort = 80;
            var buffer = new byte[Ipv4Packet.MinHeaderLength + header.HeaderLength + payload.Length];
            int segment = header.Emit(buffer.AsSpan(Ipv4Packet.MinHeaderLength), payload, Peer, Host);
            new Ipv4Header { Protocol = IpProtocol.Tcp, TimeToLive = 64, Source = Peer, Destination = Host }.Emit(buffer, segment);
            return buffer;
        }
    }

    /// <summary>Keeps the TCP header of every packet the host sends.</summary>
    private sealed class RecordingLink : ILink
    {
        public List<TcpHeader> Sent { get; } = [];

        public int Mtu => 1500;

        public LinkType LinkType => LinkType.Raw;

        public void Send(ReadOnlySpan<byte> ipPacket)
        {
            Assert.True(Ipv4Packet.TryParse(ipPacket, out var ip));
            Assert.True(TcpSegment.TryParse(ip.Payload, out var segment));
            Sent.Add(segment.ToHeader());
        }

        public void SetReceiver(ILinkReceiver? receiver)
        {
        }
    }

    /// <summary>A loop that never runs anything by itself: the clock stands still and timers never fire.</summary>
    private sealed class ManualLoop : IEventLoop
    {
        public Instant Now => Instant.Zero;

        public SynchronizationContext Context { get; } = new();

        public ILoopTimer CreateTimer(Action callback) => new IdleTimer();

        public void Post(Action action)
        {
        }

        private sealed class IdleTimer : ILoopTimer
        {
            public void Set(Instant deadline)
            {
            }

            public void Cancel()
            {
            }
        }
    }
}
