using System.Diagnostics;
using System.Globalization;
using TcpKit.Wire;
using TcpKit.Wire.Capture;
using TcpKit.Wire.Tcp;

namespace TcpKit.Benchmarks.SideBySide;

/// <summary>
/// The side-by-side parse benchmark: read every frame of a capture and decode it down to the TCP header
/// and every option, on one thread. Prints the median of several runs as packets per second.
/// </summary>
internal static class ParseCapture
{
    public static int Run(string path, int runs)
    {
        var times = new List<double>();
        long packets = 0, tcp = 0, options = 0;
        for (int r = 0; r < runs; r++)
        {
            var sw = Stopwatch.StartNew();
            (packets, tcp, options) = ParseOnce(path);
            sw.Stop();
            times.Add(sw.Elapsed.TotalSeconds);
        }

        times.Sort();
        double median = times[times.Count / 2];
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"packets={packets} tcp={tcp} options={options} median_seconds={median:F4} packets_per_second={packets / median:F0} runs={runs}"));
        return 0;
    }

    private static (long Packets, long Tcp, long Options) ParseOnce(string path)
    {
        long packets = 0, tcp = 0, options = 0;
        using var reader = CaptureReader.Open(path, new CaptureReadOptions { Access = CaptureAccess.MemoryMapped });
        while (reader.TryRead(out var packet))
        {
            packets++;
            var frame = packet.Data;
            if (PacketDecoder.Decode(packet.LinkType, frame, out var p) != DecodeStatus.Ok)
            {
                continue;
            }

            tcp++;
            foreach (var o in p.GetTcpOptions(frame))
            {
                // Touch the values so the parse is not optimised away.
                options += o.Kind switch
                {
                    TcpOptionKind.Timestamps when !o.IsMalformed => o.TimestampValue & 1,
                    TcpOptionKind.Sack when !o.IsMalformed => o.SackBlockCount,
                    _ => 1,
                };
            }
        }

        return (packets, tcp, options);
    }
}
