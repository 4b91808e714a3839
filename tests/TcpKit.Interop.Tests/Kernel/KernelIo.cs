using System.Net.Sockets;
using System.Security.Cryptography;

namespace TcpKit.Interop.Tests.Kernel;

/// <summary>Moving and hashing bytes on kernel sockets and TcpKit streams.</summary>
internal static class KernelIo
{
    public static readonly TimeSpan Patience = TimeSpan.FromMinutes(3);

    public static byte[] RandomBytes(int size, int seed)
    {
        var data = new byte[size];
        new Random(seed).NextBytes(data);
        return data;
    }

    /// <summary>Reads to end of stream; returns the SHA-256 and byte count.</summary>
    public static async Task<(byte[] Hash, long Count)> HashToEnd(Stream stream)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[65536];
        long total = 0;
        int n;
        while ((n = await stream.ReadAsync(buffer)) > 0)
        {
            sha.AppendData(buffer, 0, n);
            total += n;
        }

        return (sha.GetHashAndReset(), total);
    }

    /// <summary>Writes in chunks the size applications typically use.</summary>
    public static async Task WriteAll(Stream stream, byte[] data, int chunk = 32768)
    {
        for (int off = 0; off < data.Length; off += chunk)
        {
            await stream.WriteAsync(data.AsMemory(off, Math.Min(chunk, data.Length - off)));
        }
    }

    public static async Task<(byte[] Hash, long Count)> HashToEnd(Socket socket)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[65536];
        long total = 0;
        int n;
        while ((n = await socket.ReceiveAsync(buffer, SocketFlags.None)) > 0)
        {
            sha.AppendData(buffer, 0, n);
            total += n;
        }

        return (sha.GetHashAndReset(), total);
    }

    public static async Task SendAll(Socket socket, byte[] data)
    {
        for (int off = 0; off < data.Length;)
        {
            off += await socket.SendAsync(data.AsMemory(off, Math.Min(65536, data.Length - off)), SocketFlags.None);
        }
    }
}
