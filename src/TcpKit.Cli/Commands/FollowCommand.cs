using System.CommandLine;
using TcpKit.Analysis.Fields;
using TcpKit.Analysis.Output;

namespace TcpKit.Cli.Commands;

/// <summary><c>tcpkit follow</c>: the payload of one TCP stream in delivery order, like <c>tshark -q -z follow,tcp,ascii,N</c>.</summary>
internal static class FollowCommand
{
    public static Command Create()
    {
        var file = new Option<string>("--read-file", "-r") { Description = "Capture file to read (pcap or pcapng)", Required = true };
        var stream = new Option<int>("--stream") { Description = "The conversation to follow (tcp.stream)", Required = true };
        var format = new Option<string>("--format") { Description = "ascii (default), hex or raw", DefaultValueFactory = _ => "ascii" };
        format.AcceptOnlyFromAmong("ascii", "hex", "raw");
        var command = new Command("follow", "Print the bytes of one TCP stream in order, client chunks flush left and server chunks indented") { file, stream, format };
        command.SetAction(parse =>
        {
            var follow = new FollowStream(parse.GetValue(stream));
            int rc = ConvCommand.Analyse(parse.GetValue(file)!, (in FieldContext c) => follow.Observe(c));
            if (rc == 0)
            {
                ConvCommand.Write(follow.Format(parse.GetValue(format)!));
            }

            return rc;
        });
        return command;
    }
}
