using System.Buffers;

namespace TcpKit.Net.Tests.Sockets;

/// <summary>A pool that counts the segments rented and not yet returned.</summary>
internal sealed class CountingPool : MemoryPool<byte>
{
    public int Rented { get; private set; }

    public int Outstanding { get; private set; }

    public override int MaxBufferSize => 1 << 20;

    public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
    {
        Rented++;
        Outstanding++;
        return new Owner(this, ArrayPool<byte>.Shared.Rent(minBufferSize <= 0 ? 4096 : minBufferSize));
    }

    protected override void Dispose(bool disposing)
    {
    }

    private sealed class Owner(CountingPool pool, byte[] array) : IMemoryOwner<byte>
    {
        private byte[]? _array = array;

        public Memory<byte> Memory => _array ?? throw new ObjectDisposedException(nameof(Owner));

        public void Dispose()
        {
            if (_array is { } a)
            {
                _array = null;
                pool.Outstanding--;
                ArrayPool<byte>.Shared.Return(a);
            }
        }
    }
}
