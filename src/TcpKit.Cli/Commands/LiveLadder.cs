using System.Globalization;
using TcpKit.Analysis.Fields;
using TcpKit.Analysis.Output.Ladder;
using TcpKit.Wire;

namespace TcpKit.Cli.Commands;

/// <summary>
/// <c>tcpkit capture --ladder</c>: each analysed TCP segment drawn as it arrives with the renderer that
/// <c>tcpkit ladder</c> uses for a file. Every stream gets its own columns (client on the left, as the ladder
/// command chooses them); when packets of another stream arrive, a new header for that stream is printed.
/// </summary>
internal sealed class LiveLadder(LadderOptions options)
{
    /// <summary>
    /// The state columns cannot be sized to the widest transition before it is seen, so they are fixed
    /// wide enough for "SYN-RECEIVED -> ESTABLISHED" and most inferred states.
    /// </summary>
    public const int StateWidth = 28;

    private readonly Dictionary<int, LadderRenderer> _renderers = [];
    private int _current = -1;

    /// <summary>Segments drawn; packets that are not TCP are skipped (a ladder has no place for them).</summary>
    public long Rows { get; private set; }

    public void Write(TextWriter output, in FieldContext context)
    {
        if (!context.HasTcp)
        {
            return;
        }

        var conversation = context.Analysis.Conversation;
        int stream = conversation.StreamIndex;
        if (!_renderers.TryGetValue(stream, out var renderer))
        {
            bool initiatorIsClient = conversation.States.ClientDirection == 0;
            string client = "client " + Endpoint(initiatorIsClient ? conversation.InitiatorAddress : conversation.ResponderAddress, initiatorIsClient ? conversation.InitiatorPort : conversation.ResponderPort);
            string server = "server " + Endpoint(initiatorIsClient ? conversation.ResponderAddress : conversation.InitiatorAddress, initiatorIsClient ? conversation.ResponderPort : conversation.InitiatorPort);
            renderer = new LadderRenderer(client, server, options);
            _renderers.Add(stream, renderer);
        }

        var row = StreamLadder.Row(context);
        if (stream != _current)
        {
            if (_current >= 0)
            {
                output.WriteLine();
            }

            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"tcp.stream {stream}"));
            renderer.WriteHeader(output, row.ClientBefore, row.ServerBefore);
            _current = stream;
        }

        renderer.WriteRow(output, row);
        Rows++;
    }

    private static string Endpoint(IpAddress address, ushort port) =>
        address.IsIPv6 ? $"[{address}]:{port.ToString(CultureInfo.InvariantCulture)}" : $"{address}:{port.ToString(CultureInfo.InvariantCulture)}";
}
