namespace TcpKit.Wire.Tcp;

/// <summary>The twelve-bit TCP control field (RFC 9293 section 3.1, RFC 3168 ECE/CWR, RFC 9768 AE).</summary>
[Flags]
public enum TcpFlags : ushort
{
    None = 0,
    Fin = 0x001,
    Syn = 0x002,
    Rst = 0x004,
    Psh = 0x008,
    Ack = 0x010,
    Urg = 0x020,
    Ece = 0x040,
    Cwr = 0x080,
    /// <summary>Accurate ECN (formerly NS, RFC 3540).</summary>
    Ae = 0x100,
    /// <summary>The three reserved bits above AE, as found on the wire.</summary>
    Reserved = 0xE00,
}
