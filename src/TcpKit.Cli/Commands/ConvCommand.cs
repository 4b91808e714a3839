using System.CommandLine;
using TcpKit.Analysis;
using TcpKit.Analysis.Fields;
using TcpKit.Analysis.Output;
using TcpKit.Cli.Progress;
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
            int rc = Analyse(parse.GetValue(file)!, null, p => pipeline = p);
            if (rc != 0)
            {
                return rc;
            }

            Write(ConversationTable.Format(pipeline!.Tracker.Conversations));
            return 0;
        });
        return command;
    }

    /// <summary>
    /// Runs every frame of a capture through the analysis pipeline, handing each frame's context to
    /// <paramref name="handler"/> (none: only the conversations are kept); returns an exit code.
    /// </summary>
    public static int Analyse(string path, FrameHandler? handler, Action<CapturePipeline>? done = null)
    {
        if (!File.Exists(path))
        {
            return Cli.Fail($"the file \"{path}\" does not exist.");
        }

        try
        {
            using var reader = OpenForAnalysis(path);
            var pipeline = new CapturePipeline();
            var progress = StderrProgress(reader, path);
            if (handler is null)
            {
                while (reader.TryRead(out var packet))
                {
                    pipeline.Advance(packet);
                    progress?.Report(reader.Position, pipeline.Count);
                }
            }
            else
            {
                while (reader.TryRead(out var packet))
                {
                    handler(pipeline.Next(packet));
                    progress?.Report(reader.Position, pipeline.Count);
                }
            }

            progress?.Finish();
            done?.Invoke(pipeline);
            return 0;
        }
        catch (Exception e) when (e is CaptureFormatException or IOException or UnauthorizedAccessException)
        {
            return Cli.Fail($"cannot read \"{path}\": {e.Message}");
        }
    }

    /// <summary>
    /// Opens a capture for one pass from start to end: large sequential reads into one buffer rather than a
    /// memory map, so resident memory stays a few megabytes however large the file (mapped pages would count).
    /// </summary>
    public static CaptureReader OpenForAnalysis(string path, bool lenient = false) =>
        CaptureReader.Open(path, new CaptureReadOptions { Access = CaptureAccess.Streaming, Lenient = lenient });

    /// <summary>A progress bar on stderr while a long capture is read, only when stderr is a terminal.</summary>
    public static CaptureProgressBar? StderrProgress(CaptureReader reader, string path) => CaptureProgressBar.ForStderr(reader, path);

    public static void Write(string text)
    {
        using var stdout = new StreamWriter(Console.OpenStandardOutput(), new System.Text.UTF8Encoding(false), 1 << 16);
        stdout.Write(text);
    }
}
