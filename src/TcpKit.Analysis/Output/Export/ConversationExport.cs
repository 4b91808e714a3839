using TcpKit.Analysis.Conversations;

namespace TcpKit.Analysis.Output.Export;

/// <summary>
/// One row per TCP conversation (the streams <c>tcpkit conv</c> lists, in tcp.stream order): endpoints, when it
/// started and how long it lasted, frames and bytes each way, the initial RTT, each endpoint's final RFC 9293
/// state and Zeek's conn_state and history.
/// </summary>
public static class ConversationExport
{
    public static readonly ExportColumn[] Columns =
    [
        new("stream", ExportType.Int64),
        new("client_address", ExportType.String),
        new("client_port", ExportType.Int64),
        new("server_address", ExportType.String),
        new("server_port", ExportType.Int64),
        new("first_frame", ExportType.Int64),
        new("start", ExportType.Double),
        new("duration", ExportType.Double),
        new("client_frames", ExportType.Int64),
        new("client_bytes", ExportType.Int64),
        new("server_frames", ExportType.Int64),
        new("server_bytes", ExportType.Int64),
        new("initial_rtt", ExportType.Double),
        new("client_state", ExportType.String),
        new("server_state", ExportType.String),
        new("conn_state", ExportType.String),
        new("history", ExportType.String),
    ];

    /// <summary>Writes every conversation with frames of its own (not those known only from ICMP quotes).</summary>
    public static async Task WriteAsync(IReadOnlyList<TcpConversation> conversations, ExportTable table)
    {
        ArgumentNullException.ThrowIfNull(conversations);
        ArgumentNullException.ThrowIfNull(table);
        foreach (var c in conversations)
        {
            var client = c.Directions[0];
            var server = c.Directions[1];
            if (client.Frames + server.Frames == 0)
            {
                continue;
            }

            table.Add(c.StreamIndex);
            table.Add(c.InitiatorAddress.ToString());
            table.Add(c.InitiatorPort);
            table.Add(c.ResponderAddress.ToString());
            table.Add(c.ResponderPort);
            table.Add(c.FirstFrame);
            table.Add(c.StartRelativeNs / 1e9);
            table.Add((c.StopRelativeNs - c.StartRelativeNs) / 1e9);
            table.Add(client.Frames);
            table.Add(client.Bytes);
            table.Add(server.Frames);
            table.Add(server.Bytes);
            table.Add(c.InitialRttNs > 0 ? c.InitialRttNs / 1e9 : null);
            table.Add(c.States.Client.ToString());
            table.Add(c.States.Server.ToString());
            table.Add(c.States.ConnState);
            table.Add(c.States.History);
            await table.EndRowAsync().ConfigureAwait(false);
        }
    }
}
