using TcpKit.Wire;
using TcpKit.Wire.Capture;

namespace TcpKit.Net.Links;

/// <summary>
/// Writes what one or more links carry into a single pcapng file, one interface per link, with each
/// packet's direction in its flags (like dumpcap on several interfaces). Wrap a link with
/// <see cref="Tap"/> and give the returned link to the host instead.
/// </summary>
/// <remarks>Not thread-safe: use it from links that deliver on one thread (the simulator), or lock around it.</remarks>
public sealed class PcapngCapture : IDisposable
{
    private readonly PcapngWriter _writer;

    public PcapngCapture(string path, string? comment = null) => _writer = PcapngWriter.Create(path, sectionComment: comment);

    public PcapngCapture(Stream stream, string? comment = null) => _writer = new PcapngWriter(stream, sectionComment: comment);

    public long PacketsWritten => _writer.PacketsWritten;

    /// <summary>Adds an interface named <paramref name="name"/> and returns <paramref name="link"/> wrapped so everything it carries is written there.</summary>
    public CaptureTap Tap(ILink link, IClock clock, string name, string? description = null)
    {
        ArgumentNullException.ThrowIfNull(link);
        int id = _writer.AddInterface(link.LinkType, name: name, description: description);
        return new CaptureTap(link, clock, (direction, frame, time) =>
            _writer.WritePacket(id, time.Nanoseconds, frame, flags: direction == LinkDirection.Inbound ? 1u : 2u));
    }

    public void Flush() => _writer.Flush();

    public void Dispose() => _writer.Dispose();
}
