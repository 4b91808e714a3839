using System.Globalization;

namespace TcpKit.Wire.Capture;

/// <summary>
/// A one-line progress display while a long capture is read: percent of the file's bytes, packets per
/// second and the time left, redrawn in place with a carriage return. It is meant for a terminal only
/// (<see cref="ForTerminal"/> gives none otherwise), stays silent during the first half second so short
/// reads print nothing, and redraws at most ten times a second. <see cref="Report"/> reads the clock only
/// once every <see cref="PacketsPerClockRead"/> calls, so calling it for every packet costs a decrement.
/// </summary>
public sealed class CaptureProgress
{
    /// <summary>Calls to <see cref="Report"/> between two clock reads.</summary>
    public const int PacketsPerClockRead = 4096;

    /// <summary>Nothing is drawn before this much time has passed.</summary>
    public static readonly TimeSpan FirstDrawAfter = TimeSpan.FromMilliseconds(500);

    /// <summary>Shortest time between two redraws.</summary>
    public static readonly TimeSpan RedrawInterval = TimeSpan.FromMilliseconds(100);

    private readonly TextWriter _output;
    private readonly long _totalBytes;
    private readonly TimeProvider _time;
    private readonly long _start;
    private long _lastDraw;
    private int _countdown = PacketsPerClockRead;
    private int _drawnWidth;

    private CaptureProgress(TextWriter output, long totalBytes, TimeProvider time)
    {
        _output = output;
        _totalBytes = totalBytes;
        _time = time;
        _start = time.GetTimestamp();
        _lastDraw = _start;
    }

    /// <summary>Lines drawn so far.</summary>
    public int Draws { get; private set; }

    /// <summary>
    /// A progress display on <paramref name="output"/> when it is a terminal and the input's size is
    /// known; null otherwise (redirected output gets no progress at all).
    /// </summary>
    public static CaptureProgress? ForTerminal(TextWriter output, bool outputIsTerminal, long totalBytes, TimeProvider? time = null) =>
        outputIsTerminal && totalBytes > 0 ? new CaptureProgress(output, totalBytes, time ?? TimeProvider.System) : null;

    /// <summary>Called once per packet with the reader's position and the packets read so far.</summary>
    public void Report(long bytesRead, long packets)
    {
        if (--_countdown > 0)
        {
            return;
        }

        _countdown = PacketsPerClockRead;
        long now = _time.GetTimestamp();
        if (_time.GetElapsedTime(_start, now) < FirstDrawAfter || _time.GetElapsedTime(_lastDraw, now) < RedrawInterval)
        {
            return;
        }

        _lastDraw = now;
        string line = Format(bytesRead, _totalBytes, packets, _time.GetElapsedTime(_start, now));
        // Pad over the tail of a longer previous line instead of relying on terminal escape sequences.
        _output.Write('\r');
        _output.Write(line.PadRight(_drawnWidth));
        _output.Flush();
        _drawnWidth = line.Length;
        Draws++;
    }

    /// <summary>Erases the line if one was drawn, so later output starts on a clean line.</summary>
    public void Finish()
    {
        if (_drawnWidth == 0)
        {
            return;
        }

        _output.Write('\r');
        _output.Write(new string(' ', _drawnWidth));
        _output.Write('\r');
        _output.Flush();
        _drawnWidth = 0;
    }

    /// <summary>
    /// The progress line, e.g. <c>" 42% 64.3 of 153.0 MB, 1.25 M packets/s, 0:03 left"</c>. The time left assumes the
    /// rest of the file goes at the average byte rate so far.
    /// </summary>
    public static string Format(long bytesRead, long totalBytes, long packets, TimeSpan elapsed)
    {
        bytesRead = Math.Clamp(bytesRead, 0, Math.Max(totalBytes, 0));
        double fraction = totalBytes > 0 ? (double)bytesRead / totalBytes : 0;
        double seconds = elapsed.TotalSeconds;
        string rate = seconds > 0 ? FormatCount(packets / seconds) + " packets/s" : "- packets/s";
        string left = bytesRead > 0 && seconds > 0
            ? FormatDuration(seconds * (totalBytes - bytesRead) / bytesRead) + " left"
            : "- left";
        return string.Create(CultureInfo.InvariantCulture,
            $"{(int)(fraction * 100),3}% {bytesRead / 1e6:0.0} of {totalBytes / 1e6:0.0} MB, {rate}, {left}");
    }

    private static string FormatCount(double perSecond) => perSecond switch
    {
        >= 1e6 => (perSecond / 1e6).ToString("0.00", CultureInfo.InvariantCulture) + " M",
        >= 1e3 => (perSecond / 1e3).ToString("0.0", CultureInfo.InvariantCulture) + " k",
        _ => perSecond.ToString("0", CultureInfo.InvariantCulture),
    };

    private static string FormatDuration(double seconds)
    {
        long s = (long)Math.Ceiling(Math.Min(seconds, 359_999));
        return s >= 3600
            ? string.Create(CultureInfo.InvariantCulture, $"{s / 3600}:{s / 60 % 60:00}:{s % 60:00}")
            : string.Create(CultureInfo.InvariantCulture, $"{s / 60}:{s % 60:00}");
    }
}
