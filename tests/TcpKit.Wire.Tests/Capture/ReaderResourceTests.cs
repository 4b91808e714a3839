using TcpKit.Wire.Capture;

namespace TcpKit.Wire.Tests.Capture;

public class ReaderResourceTests
{
    private static byte[] ManyPackets(int count, bool pcapng)
    {
        var ms = new MemoryStream();
        var frame = new byte[1514];
        new Random(1).NextBytes(frame);
        if (pcapng)
        {
            using var w = new PcapngWriter(ms, leaveOpen: true);
            w.AddInterface(LinkType.Ethernet);
            for (int i = 0; i < count; i++)
            {
                w.WritePacket(0, i * 1000L, frame.AsSpan(0, 60 + (i * 37 % 1454)), comment: i % 5 == 0 ? "ESTABLISHED" : null, flags: 1);
            }
        }
        else
        {
            using var w = new PcapWriter(ms, LinkType.Ethernet, leaveOpen: true);
            for (int i = 0; i < count; i++)
            {
                w.WritePacket(i * 1000L, frame.AsSpan(0, 60 + (i * 37 % 1454)));
            }
        }

        return ms.ToArray();
    }

    [Theory]
    [InlineData(false, CaptureAccess.Streaming)]
    [InlineData(true, CaptureAccess.Streaming)]
    [InlineData(false, CaptureAccess.MemoryMapped)]
    [InlineData(true, CaptureAccess.MemoryMapped)]
    public void Reading_packets_allocates_nothing_per_packet(bool pcapng, CaptureAccess access)
    {
        var file = ManyPackets(20_000, pcapng);
        string path = Path.GetTempFileName();
        File.WriteAllBytes(path, file);
        try
        {
            CaptureReader Open() => access == CaptureAccess.Streaming
                ? CaptureReader.Open(new MemoryStream(file), new CaptureReadOptions { Access = access })
                : CaptureReader.Open(path, new CaptureReadOptions { Access = access });

            // A first pass gets every path jitted; the measured second pass then shows steady state.
            for (int pass = 0; pass < 2; pass++)
            {
                using var reader = Open();
                Assert.True(reader.TryRead(out _)); // first packet: the buffer is in place
                long before = GC.GetAllocatedBytesForCurrentThread();
                long sum = 0;
                while (reader.TryRead(out var p))
                {
                    sum += p.CapturedLength + p.CommentUtf8.Length + p.Flags;
                }

                long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
                Assert.Equal(20_000, reader.Counters.PacketsRead);
                Assert.True(sum > 0);
                // 20,000 packets: even one small allocation per packet would be hundreds of KB. The
                // slack covers runtime bookkeeping (tiering) that can land on this thread.
                Assert.True(pass == 0 || allocated < 1024, $"allocated {allocated} bytes reading 20,000 packets");
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Auto_access_maps_regular_files_and_streams_everything_else()
    {
        var file = ManyPackets(3, pcapng: true);
        string path = Path.GetTempFileName();
        string empty = Path.GetTempFileName();
        File.WriteAllBytes(path, file);
        try
        {
            using (var r = CaptureReader.Open(path))
            {
                Assert.Equal(CaptureAccess.MemoryMapped, r.Access);
                Assert.Equal(path, r.Path);
            }

            using (var r = CaptureReader.Open(path, new CaptureReadOptions { Access = CaptureAccess.Streaming }))
            {
                Assert.Equal(CaptureAccess.Streaming, r.Access);
            }

            using (var r = CaptureReader.Open(new MemoryStream(file)))
            {
                Assert.Equal(CaptureAccess.Streaming, r.Access);
            }

            using (var fs = File.OpenRead(path))
            using (var r = CaptureReader.Open(fs, new CaptureReadOptions { Access = CaptureAccess.MemoryMapped }, leaveOpen: true))
            {
                Assert.Equal(CaptureAccess.MemoryMapped, r.Access);
            }

            Assert.Throws<ArgumentException>(() => CaptureReader.Open(new MemoryStream(file), new CaptureReadOptions { Access = CaptureAccess.MemoryMapped }));
            var e = Assert.Throws<CaptureFormatException>(() => CaptureReader.Open(empty));
            Assert.Equal(CaptureErrorKind.TruncatedFileHeader, e.Kind);
        }
        finally
        {
            File.Delete(path);
            File.Delete(empty);
        }
    }

    [Fact]
    public void Stream_reader_buffer_stays_bounded_for_a_capture_much_larger_than_it()
    {
        // 60 MB of packets through a non-seekable stream: the reader keeps one bounded buffer.
        var file = ManyPackets(40_000, pcapng: true);
        long before = GC.GetAllocatedBytesForCurrentThread();
        using (var reader = CaptureReader.Open(new NonSeekable(new MemoryStream(file))))
        {
            while (reader.TryRead(out _))
            {
            }

            Assert.Equal(40_000, reader.Counters.PacketsRead);
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(file.Length > 25_000_000);
        Assert.True(allocated < 2 * CaptureReadOptions.MaxBlockLength + 64 * 1024, $"allocated {allocated} bytes");
    }

    [Fact]
    public void More_interfaces_than_the_reader_keeps_are_an_error()
    {
        var b = new PcapngBuilder().Shb(false);
        for (int i = 0; i <= 65_536; i++)
        {
            b.Idb(1, 0);
        }

        var file = b.ToArray();
        using var reader = CaptureReader.Open(file.AsMemory());
        var e = Assert.Throws<CaptureFormatException>(() => reader.TryRead(out _));
        Assert.Equal(CaptureErrorKind.TooManyInterfaces, e.Kind);
        Assert.Equal($"offset {28 + (65_536 * 20)}: more than 65536 interface description blocks", e.Message);
    }

    private sealed class NonSeekable(Stream inner) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
