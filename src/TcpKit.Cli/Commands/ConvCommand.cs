using System.CommandLine;
using TcpKit.Analysis;
using TcpKit.Analysis.Fields;
using TcpKit.Analysis.Output;
using TcpKit.Wire.Capture;

namespace TcpKit.Cli.Commands;

/// <summary><c>tcpkit conv</c>: the TCP conversation table, laid out like <c>tshark -q -z conv,tcp</c>.</summary>
internal static class ConvCommand
{
    public delegate void FrameHandler(in FieldContext context);

    public static Command Create()
    {
        var file = new Option<string>("--read-file", "-r") { Description = "Capture file to read (pcap or pcapng)", Required = true };
        var command = new Command("conv", "List TCP conversations: frames and bytes each way, start and duration (like tshark -z conv,tcp)") { file };
        command.SetAction(parse =>
        {
            CapturePipeline? pipeline = null;
            int rc = Analyse(parse.GetValue(file)!, static (in FieldContext _) => { }, p => pipeline = p);
            if (rc != 0)
            {
                return rc;
            }

            Write(ConversationTable.Format(pipeline!.Tracker.Conversations));
            return 0;
        });
        return command;
    }

    /// <summary>Runs every frame of a capture through the analysis pipeline; returns an exit code.</summary>
    public static int Analyse(string path, FrameHandler handler, Action<CapturePipeline>? done = null)
    {
        if (!File.Exists(path))
        {
            return Cli.Fail($"the file \"{path}\" does not exist.");
        }

        try
        {
            using var reader = CaptureReader.Open(path);
            var pipeline = new CapturePipeline();
            while (reader.TryRead(out var packet))
            {
                handler(pipeline.Next(packet));
            }

            done?.Invoke(pipeline);
            return 0;
        }
        catch (Exception e) when (e is CaptureFormatException or IOException or UnauthorizedAccessException)
        {
            return Cli.Fail($"cannot read \"{path}\": {e.Message}");
        }
    }

    public static void Write(string text)
    {
        using var stdout = new StreamWriter(Console.OpenStandardOutput(), new System.Text.UTF8Encoding(false), 1 << 16);
        stdout.Write(text);
    }
}
