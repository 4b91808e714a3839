using System.CommandLine;
using TcpKit.Cli.Commands;

namespace TcpKit.Cli;

public static class Program
{
    public static int Main(string[] args)
    {
        var root = new RootCommand("tcpkit: TCP you can see. A user-space TCP/IP stack and a TCP capture analyzer.")
        {
            DemoCommand.Create(),
            ReadCommand.Create(),
            LadderCommand.Create(),
            ConvCommand.Create(),
            ExpertCommand.Create(),
            FollowCommand.Create(),
            ScriptCommand.Create(),
            GraphCommand.Create(),
            ServeCommand.Create(),
            ConnectCommand.Create(),
            CaptureCommand.Create(),
            ExportCommand.Create(),
        };
        return root.Parse(args).Invoke();
    }
}
