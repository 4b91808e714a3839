using System.Diagnostics;
using System.Globalization;
using Spectre.Console;
using Spectre.Console.Rendering;
using TcpKit.Wire.Capture;

namespace TcpKit.Cli.Progress;

/// <summary>
/// A Spectre.Console progress bar on stderr while a long capture is read: the file's name, a bar of the
/// bytes read, the percentage, megabytes read of the total, packets per second and the time left.
/// <para>
/// The reading loop only calls <see cref="Report"/>, which publishes the position once every
/// <see cref="PacketsPerPublish"/> packets (a decrement otherwise), so the per-packet path stays free of
/// clocks, locks and console I/O. Drawing happens on a thread-pool task that waits
/// <see cref="FirstDrawAfter"/> before showing anything (short reads print nothing at all) and then lets
/// Spectre redraw about ten times a second. <see cref="Finish"/> removes the bar, so later output starts on
/// a clean line.
/// </para>
/// </summary>
public sealed class CaptureProgressBar
{
    /// <summary>Packets between two publications of the reader's position.</summary>
    public const int PacketsPerPublish = 4096;

    /// <summary>Nothing is drawn before this much time has passed.</summary>
    public static readonly TimeSpan FirstDrawAfter = TimeSpan.FromMilliseconds(500);

    /// <summary>Time between two updates of the bar.</summary>
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromMilliseconds(100);

    private const string RateKey = "packets/s";

    private readonly IAnsiConsole _console;
    private readonly string _description;
    private readonly long _totalBytes;
    private readonly TaskCompletionSource _finished = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _display;
    private readonly long _started = Stopwatch.GetTimestamp();
    private long _bytesRead;
    private long _packets;
    private int _countdown = PacketsPerPublish;

    private CaptureProgressBar(IAnsiConsole console, string description, long totalBytes, TimeSpan firstDrawAfter)
    {
        _console = console;
        _description = description;
        _totalBytes = totalBytes;
        _display = Task.Run(() => ShowAsync(firstDrawAfter));
    }

    /// <summary>True once the bar has been drawn at least once.</summary>
    public bool Shown { get; private set; }

    /// <summary>
    /// A progress bar on stderr for <paramref name="reader"/>, or null when stderr is redirected (scripts
    /// that capture it never see a bar) or the input's size is unknown (a pipe).
    /// </summary>
    public static CaptureProgressBar? ForStderr(CaptureReader reader, string path)
    {
        if (Console.IsErrorRedirected || reader.Length <= 0)
        {
            return null;
        }

        // Spectre would judge interactivity by stdout, which is often redirected to a file here; the bar goes to
        // stderr, and stderr is a terminal.
        var stderr = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(Console.Error),
            Interactive = InteractionSupport.Yes,
        });
        return Start(stderr, Path.GetFileName(path), reader.Length, FirstDrawAfter);
    }

    /// <summary>A progress bar on <paramref name="console"/> for an input of <paramref name="totalBytes"/> bytes.</summary>
    public static CaptureProgressBar Start(IAnsiConsole console, string description, long totalBytes, TimeSpan firstDrawAfter)
    {
        ArgumentNullException.ThrowIfNull(console);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(totalBytes);
        return new CaptureProgressBar(console, description, totalBytes, firstDrawAfter);
    }

    /// <summary>Called once per packet with the reader's position and the packets read so far.</summary>
    public void Report(long bytesRead, long packets)
    {
        if (--_countdown > 0)
        {
            return;
        }

        _countdown = PacketsPerPublish;
        Publish(bytesRead, packets);
    }

    /// <summary>Stops the display and erases the bar if one was drawn.</summary>
    public void Finish()
    {
        _finished.TrySetResult();
        _display.GetAwaiter().GetResult();
    }

    private void Publish(long bytesRead, long packets)
    {
        Volatile.Write(ref _packets, packets);
        Volatile.Write(ref _bytesRead, bytesRead);
    }

    private async Task ShowAsync(TimeSpan firstDrawAfter)
    {
        if (await Task.WhenAny(_finished.Task, Task.Delay(firstDrawAfter)).ConfigureAwait(false) == _finished.Task)
        {
            return;
        }

        try
        {
            await _console.Progress()
                .AutoClear(true)
                .Columns(
                    new TaskDescriptionColumn(),
                    new ProgressBarColumn(),
                    new PercentageColumn(),
                    new DownloadedColumn { Culture = CultureInfo.InvariantCulture, Base = FileSizeBase.Decimal },
                    new PacketRateColumn(),
                    new RemainingTimeColumn())
                .StartAsync(async context =>
                {
                    var task = context.AddTask(_description, autoStart: true, maxValue: _totalBytes);
                    while (!_finished.Task.IsCompleted)
                    {
                        Update(task);
                        context.Refresh();
                        Shown = true;
                        await Task.WhenAny(_finished.Task, Task.Delay(RefreshInterval)).ConfigureAwait(false);
                    }

                    // The last position reported is drawn once before the bar is erased.
                    Update(task);
                    context.Refresh();
                }).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or InvalidOperationException)
        {
            // A terminal that goes away (closed, resized to nothing) ends the display, never the analysis.
        }
    }

    private void Update(ProgressTask task)
    {
        // The rate counts from the start of the read, not from the bar's first draw half a second later.
        double seconds = Stopwatch.GetElapsedTime(_started).TotalSeconds;
        double rate = seconds > 0 ? Volatile.Read(ref _packets) / seconds : 0;
        task.State.Update<double>(RateKey, _ => rate);
        task.Value = Math.Min(Volatile.Read(ref _bytesRead), _totalBytes);
    }

    /// <summary>Packets per second since the read started, e.g. "1.25 M packets/s".</summary>
    private sealed class PacketRateColumn : ProgressColumn
    {
        public override IRenderable Render(RenderOptions options, ProgressTask task, TimeSpan deltaTime) =>
            new Text(FormatRate(task.State.Get<double>(RateKey)));
    }

    /// <summary>A packet rate with a k or M multiplier: "950 packets/s", "12.5 k packets/s", "1.25 M packets/s".</summary>
    public static string FormatRate(double perSecond) => perSecond switch
    {
        >= 1e6 => (perSecond / 1e6).ToString("0.00", CultureInfo.InvariantCulture) + " M packets/s",
        >= 1e3 => (perSecond / 1e3).ToString("0.0", CultureInfo.InvariantCulture) + " k packets/s",
        _ => perSecond.ToString("0", CultureInfo.InvariantCulture) + " packets/s",
    };
}
