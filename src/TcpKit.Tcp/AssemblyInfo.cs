using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("TcpKit.Tcp.Tests")]

// Locals are not zeroed on entry: C#'s definite assignment covers every local, and the one stackalloc
// (IsnGenerator) is written before it is read. The engine's methods hold TCP headers of about 80 bytes as
// locals, and zeroing them in each prologue was measurable per segment.
[module: SkipLocalsInit]
