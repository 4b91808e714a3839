using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("TcpKit.Tcp.Tests")]
