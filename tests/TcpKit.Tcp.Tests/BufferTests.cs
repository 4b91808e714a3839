using CsCheck;
using TcpKit.Wire;
using TcpKit.Wire.Tcp;

namespace TcpKit.Tcp.Tests;

public class BufferTests
{
    [Fact]
    public void Send_buffer_wraps_around_and_drops_acknowledged_bytes()
    {
        var b = new SendBuffer(8);
        Assert.Equal(6, b.Write("abcdef"u8));
        b.Drop(4);
        Assert.Equal(6, b.Write("ghijklmn"u8));
        Assert.Equal(0, b.Free);
        var dst = new byte[8];
        Assert.Equal(8, b.Peek(0, dst));
        Assert.Equal("efghijkl"u8.ToArray(), dst);
        Assert.Equal(3, b.Peek(5, dst));
        Assert.Equal("jkl"u8.ToArray(), dst[..3]);
        Assert.Equal(0, b.Peek(8, dst));
    }

    [Fact]
    public void Receive_buffer_keeps_out_of_order_bytes_when_the_reader_empties_it()
    {
        var b = new ReceiveBuffer(8);
        b.WriteAt(0, "ab"u8);
        b.Commit(2);
        b.WriteAt(2, "ef"u8); // bytes 4..5 arrive early
        var dst = new byte[8];
        Assert.Equal(2, b.Read(dst));
        b.WriteAt(0, "cd"u8);
        b.Commit(4);
        Assert.Equal(4, b.Read(dst));
        Assert.Equal("cdef"u8.ToArray(), dst[..4]);
    }

    [Fact]
    public void Receive_buffer_refuses_writes_beyond_its_free_space()
    {
        var b = new ReceiveBuffer(4);
        Assert.Throws<ArgumentOutOfRangeException>(() => b.WriteAt(2, "abc"u8));
    }

    [Fact]
    public void Reassembler_merges_overlapping_and_touching_ranges()
    {
        var r = new Reassembler(4);
        var s = new SeqNum(uint.MaxValue - 10);
        Assert.True(r.TryAdd(s + 10, s + 20));
        Assert.True(r.TryAdd(s + 30, s + 40));
        Assert.True(r.TryAdd(s + 20, s + 30));
        Assert.Equal(1, r.RangeCount);
        Assert.Equal((s + 10, s + 40), r.GetRange(0));
        Assert.Equal(0, r.TakeContiguous(s));
        Assert.Equal(30, r.TakeContiguous(s + 10));
        Assert.True(r.IsEmpty);
    }

    [Fact]
    public void Reassembler_holds_at_most_its_configured_number_of_ranges()
    {
        var r = new Reassembler(3);
        var s = new SeqNum(0);
        Assert.True(r.TryAdd(s + 10, s + 11));
        Assert.True(r.TryAdd(s + 20, s + 21));
        Assert.True(r.TryAdd(s + 30, s + 31));
        Assert.False(r.TryAdd(s + 40, s + 41));
        Assert.True(r.TryAdd(s + 11, s + 20)); // merging is always possible
        Assert.Equal(2, r.RangeCount);
    }

    [Fact]
    public void Reassembler_agrees_with_a_bitmap_model()
    {
        Gen.Int[0, 200].Select(Gen.Int[1, 30]).Array[1, 40].Sample(ops =>
        {
            var r = new Reassembler(64);
            var model = new bool[256];
            var baseSeq = new SeqNum(uint.MaxValue - 100);
            foreach ((int start, int len) in ops)
            {
                Assert.True(r.TryAdd(baseSeq + start, baseSeq + start + len));
                for (int i = start; i < start + len; i++)
                {
                    model[i] = true;
                }
            }

            var fromRanges = new bool[256];
            for (int i = 0; i < r.RangeCount; i++)
            {
                (SeqNum a, SeqNum b) = r.GetRange(i);
                Assert.True(a < b);
                if (i > 0)
                {
                    Assert.True(r.GetRange(i - 1).End < a); // disjoint and not touching
                }

                for (int k = a - baseSeq; k < b - baseSeq; k++)
                {
                    fromRanges[k] = true;
                }
            }

            Assert.Equal(model, fromRanges);
        });
    }

    [Fact]
    public void Too_many_out_of_order_holes_are_dropped_and_counted_not_stored()
    {
        var h = Harness.Pair(serverConfig: TcpConfig.Linux with { MaxReassemblyRanges = 2 });
        h.RunUntilMs(100);
        var server = h.Server!;
        SeqNum next = server.RcvNxt;
        foreach (int off in new[] { 10, 30, 50 })
        {
            h.Inject(toServer: true, Harness.SegmentTo(server, TcpFlags.Ack, next + off, server.SndNxt), "xxxxx"u8);
        }

        Assert.Equal(1, server.Stats.Drops(DropReason.ReassemblyFull));
        Assert.Equal(3, server.Stats.OutOfOrderSegments);
    }
}

public class IsnGeneratorTests
{
    [Fact]
    public void SipHash_matches_the_reference_test_vector()
    {
        // SipHash-2-4 paper, appendix A: key 00..0f, message 00..0e.
        byte[] msg = Enumerable.Range(0, 15).Select(i => (byte)i).ToArray();
        Assert.Equal(0xa129ca6149be45e5UL, IsnGenerator.SipHash24(0x0706050403020100UL, 0x0f0e0d0c0b0a0908UL, msg));
    }

    [Fact]
    public void ISN_depends_on_the_four_tuple_and_the_secret_and_advances_with_a_4_microsecond_clock()
    {
        byte[] key = Enumerable.Range(1, 16).Select(i => (byte)i).ToArray();
        var g = new IsnGenerator(key);
        byte[] a = [10, 0, 0, 1];
        byte[] b = [10, 0, 0, 2];
        SeqNum x = g.Generate(a, 1000, b, 80, Instant.Zero);
        Assert.Equal(x, new IsnGenerator(key).Generate(a, 1000, b, 80, Instant.Zero));
        Assert.NotEqual(x, g.Generate(a, 1001, b, 80, Instant.Zero));
        Assert.NotEqual(x, g.Generate(b, 1000, a, 80, Instant.Zero));
        Assert.NotEqual(x, new IsnGenerator(new byte[16]).Generate(a, 1000, b, 80, Instant.Zero));
        Assert.Equal(x + 250_000, g.Generate(a, 1000, b, 80, Instant.FromSeconds(1)));
    }

    [Fact]
    public void ISN_generator_rejects_bad_keys_and_addresses()
    {
        Assert.Throws<ArgumentException>(() => new IsnGenerator(new byte[8]));
        var g = new IsnGenerator();
        Assert.Throws<ArgumentException>(() => g.Generate(new byte[17], 1, new byte[4], 2, Instant.Zero));
    }
}

public class RingBufferPropertyTests
{
    [Fact]
    public void Send_buffer_behaves_like_a_byte_queue()
    {
        Gen.Select(Gen.Int[1, 64], Gen.Select(Gen.Bool, Gen.Int[0, 100]).Array[1, 50]).Sample((capacity, ops) =>
        {
            var b = new SendBuffer(capacity);
            var model = new List<byte>();
            byte next = 0;
            foreach ((bool write, int n) in ops)
            {
                if (write)
                {
                    byte[] data = new byte[n];
                    for (int i = 0; i < n; i++)
                    {
                        data[i] = next++;
                    }

                    int taken = b.Write(data);
                    Assert.Equal(Math.Min(n, capacity - model.Count), taken);
                    model.AddRange(data[..taken]);
                    next = (byte)(data.Length == 0 ? next : data[0] + taken); // continue after the accepted bytes
                }
                else
                {
                    int drop = Math.Min(n, model.Count);
                    b.Drop(drop);
                    model.RemoveRange(0, drop);
                }

                Assert.Equal(model.Count, b.Count);
                var all = new byte[model.Count];
                Assert.Equal(model.Count, b.Peek(0, all));
                Assert.Equal(model, all);
                if (model.Count > 1)
                {
                    var tail = new byte[model.Count - 1];
                    Assert.Equal(model.Count - 1, b.Peek(1, tail));
                    Assert.Equal(model.Skip(1), tail);
                }
            }
        });
    }

    [Fact]
    public void Receive_buffer_reads_back_what_was_committed_in_order()
    {
        Gen.Select(Gen.Int[1, 64], Gen.Select(Gen.Bool, Gen.Int[0, 100]).Array[1, 50]).Sample((capacity, ops) =>
        {
            var b = new ReceiveBuffer(capacity);
            var model = new Queue<byte>();
            byte next = 0;
            foreach ((bool write, int n) in ops)
            {
                if (write)
                {
                    int len = Math.Min(n, b.Free);
                    byte[] data = new byte[len];
                    for (int i = 0; i < len; i++)
                    {
                        data[i] = next++;
                        model.Enqueue(data[i]);
                    }

                    // Write the second half first (out of order), then the first half, then commit both.
                    int half = len / 2;
                    b.WriteAt(half, data.AsSpan(half));
                    b.WriteAt(0, data.AsSpan(0, half));
                    b.Commit(len);
                }
                else
                {
                    byte[] dst = new byte[n];
                    int got = b.Read(dst);
                    Assert.Equal(Math.Min(n, model.Count), got);
                    for (int i = 0; i < got; i++)
                    {
                        Assert.Equal(model.Dequeue(), dst[i]);
                    }
                }

                Assert.Equal(model.Count, b.Count);
            }
        });
    }
}
