namespace TcpKit.Wire.Tests.Capture;

/// <summary>A non-seekable stream that returns 1..13 bytes per read, to exercise every buffer boundary.</summary>
internal sealed class TrickleStream(byte[] data) : Stream
{
    private int _pos;
    private int _step;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count)
    {
        _step = (_step % 13) + 1;
        int n = Math.Min(Math.Min(count, _step), data.Length - _pos);
        Array.Copy(data, _pos, buffer, offset, n);
        _pos += n;
        return n;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
