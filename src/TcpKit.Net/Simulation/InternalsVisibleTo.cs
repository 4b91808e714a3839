using System.Runtime.CompilerServices;

// The tests check the simulator's packet buffer pool directly.
[assembly: InternalsVisibleTo("TcpKit.Net.Tests")]
