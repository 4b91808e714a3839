using TcpKit.Net.Host;

namespace TcpKit.Net;

/// <summary>The byte stream of a <see cref="TcpKitClient"/>: ReadAsync returns 0 at the peer's FIN.</summary>
public sealed class TcpKitStream : Stream
{
    private readonly HostConnection _connection;

    internal TcpKitStream(HostConnection connection) => _connection = connection;

    public override bool CanRead => true;

    public override bool CanWrite => true;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        _connection.ReadAsync(buffer, cancellationToken);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        _connection.ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
        _connection.WriteAsync(buffer, cancellationToken);

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        _connection.WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <summary>Data is handed to TCP as it is written; PSH marks the end of each write. Nothing to flush.</summary>
    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count) => throw SyncNotSupported();

    public override void Write(byte[] buffer, int offset, int count) => throw SyncNotSupported();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    private static NotSupportedException SyncNotSupported() =>
        new("TcpKit runs connections on an event loop; blocking there would stop it. Use ReadAsync/WriteAsync.");
}
