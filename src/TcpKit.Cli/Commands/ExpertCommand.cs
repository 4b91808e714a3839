using System.CommandLine;
using TcpKit.Analysis.Expert;
using TcpKit.Analysis.Fields;

namespace TcpKit.Cli.Commands;

/// <summary><c>tcpkit expert</c>: counts of TCP expert items by severity, like <c>tshark -q -z expert</c>.</summary>
internal static class ExpertCommand
{
    public static Command Create()
    {
        var file = new Option<string>("--read-file", "-r") { Description = "Capture file to read (pcap or pcapng)", Required = true };
        var command = new Command("expert", "Summarise Wireshark's TCP expert items (retransmissions, dup ACKs, zero windows...) by severity") { file };
        command.SetAction(parse =>
        {
            var summary = new ExpertSummary();
            int rc = ConvCommand.Analyse(parse.GetValue(file)!, (in FieldContext c) => summary.Observe(c));
            if (rc == 0)
            {
                ConvCommand.Write(summary.Format());
            }

            return rc;
        });
        return command;
    }
}
