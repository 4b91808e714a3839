using System.Diagnostics.Tracing;

namespace TcpKit.Benchmarks;

/// <summary>
/// Bytes allocated per type, from the runtime's GCAllocationTick events (one sample per ~100 KB allocated), for
/// <c>sim-open-close-allocations</c>: where an open+close spends its allocations.
/// </summary>
internal sealed class AllocProbe : EventListener
{
    public readonly Dictionary<string, long> Bytes = new();
    protected override void OnEventSourceCreated(EventSource source)
    {
        if (source.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(source, EventLevel.Verbose, (EventKeywords)0x1);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs e)
    {
        if (e.EventName?.StartsWith("GCAllocationTick", StringComparison.Ordinal) == true && e.Payload is { } p)
        {
            int ti = e.PayloadNames!.IndexOf("TypeName");
            int ai = e.PayloadNames!.IndexOf("AllocationAmount64");
            string t = (string)p[ti]!;
            long a = ai >= 0 ? (long)(ulong)p[ai]! : 100_000;
            lock (Bytes)
            {
                Bytes[t] = Bytes.GetValueOrDefault(t) + a;
            }
        }
    }
}
