using System.Numerics;

namespace TcpKit.Net.Simulation;

/// <summary>
/// Packet buffers for one simulated network. <see cref="System.Buffers.ArrayPool{T}.Shared"/> keeps only
/// a few dozen arrays per size, fewer than the packets a long fat path holds in flight, so beyond that
/// every packet would allocate. The simulator is single-threaded, so plain stacks per power-of-two
/// size class suffice: after warm-up, with at most the peak number of packets in flight retained,
/// no packet allocates.
/// </summary>
internal sealed class PacketBufferPool
{
    private const int MinShift = 6;   // 64 bytes
    private const int MaxShift = 16;  // 64 KiB, the largest IPv4 packet; larger ones are not pooled
    private const int MaxRetainedPerClass = 1 << 16;

    private readonly Stack<byte[]>[] _classes = new Stack<byte[]>[MaxShift - MinShift + 1];

    public PacketBufferPool()
    {
        for (int i = 0; i < _classes.Length; i++)
        {
            _classes[i] = new Stack<byte[]>();
        }
    }

    public byte[] Rent(int length)
    {
        int shift = ShiftFor(length);
        if (shift > MaxShift)
        {
            return new byte[length];
        }

        Stack<byte[]> stack = _classes[shift - MinShift];
        return stack.Count > 0 ? stack.Pop() : new byte[1 << shift];
    }

    /// <summary>Takes a buffer back; arrays not from this pool (by size) are left to the GC.</summary>
    public void Return(byte[] buffer)
    {
        int shift = BitOperations.Log2((uint)buffer.Length);
        if (buffer.Length != 1 << shift || shift < MinShift || shift > MaxShift)
        {
            return;
        }

        Stack<byte[]> stack = _classes[shift - MinShift];
        if (stack.Count < MaxRetainedPerClass)
        {
            stack.Push(buffer);
        }
    }

    private static int ShiftFor(int length) => length <= 1 << MinShift ? MinShift : BitOperations.Log2((uint)length - 1) + 1;
}
