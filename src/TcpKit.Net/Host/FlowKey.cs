using System.Runtime.InteropServices;
using TcpKit.Wire;

namespace TcpKit.Net.Host;

/// <summary>A connection's 4-tuple as the local host sees it.</summary>
/// <remarks>Auto layout puts the two ports together after the addresses: 56 bytes instead of 64.</remarks>
[StructLayout(LayoutKind.Auto)]
public readonly record struct FlowKey(IpAddress LocalAddress, ushort LocalPort, IpAddress RemoteAddress, ushort RemotePort)
{
    public override string ToString() => $"{Format(LocalAddress, LocalPort)} <-> {Format(RemoteAddress, RemotePort)}";

    internal static string Format(IpAddress a, ushort port) => a.IsIPv6 ? $"[{a}]:{port}" : $"{a}:{port}";
}
