using System.Text;
using TcpKit.Analysis.Fields;
using TcpKit.Analysis.Filters;
using TcpKit.Analysis.Tests.Support;
using TcpKit.Wire.Capture;
using static TcpKit.Wire.Tcp.TcpFlags;

namespace TcpKit.Analysis.Tests.Analysis;

public class ConnectionStateTrackingTests
{
    /// <summary>A handshake, a loss repaired by a retransmission, duplicate ACKs, a zero window and a close.</summary>
    private static string Conversation() => new Trace()
        .Add(0, true, 1000, 0, Syn, 64000, options: Trace.Options(mss: 1000, windowScale: 7, sackPermitted: true))
        .Add(0.001, false, 5000, 1001, Syn | Ack, 64000, options: Trace.Options(mss: 1000, windowScale: 7, sackPermitted: true))
        .Add(0.002, true, 1001, 5001, Ack, 500)
        .Add(0.003, true, 1001, 5001, Ack, 500, 1000)
        .Add(0.003, true, 3001, 5001, Ack, 500, 1000)
        .Add(0.004, false, 5001, 2001, Ack, 500)
        .Add(0.005, false, 5001, 2001, Ack, 500, options: Trace.Options(sack: (3001, 4001)))
        .Add(0.006, false, 5001, 2001, Ack, 500, options: Trace.Options(sack: (3001, 4001)))
        .Add(0.007, true, 2001, 5001, Ack, 500, 1000)
        .Add(0.008, true, 2001, 5001, Ack, 500, 1000)
        .Add(0.009, false, 5001, 4001, Ack, 0)
        .Add(0.010, true, 4001, 5001, Fin | Ack, 500)
        .Add(0.011, false, 5001, 4002, Fin | Ack, 500)
        .Add(0.012, true, 4002, 5002, Ack, 500)
        .WritePcap();

    /// <summary>Every field's text for every frame, optionally skipping the fields named tcpkit.*.</summary>
    private static List<string> FieldValues(string path, bool trackStates, bool includeTcpKitFields)
    {
        using var reader = CaptureReader.Open(path);
        var pipeline = new CapturePipeline();
        pipeline.Tracker.TrackConnectionStates = trackStates;
        var values = new List<string>();
        var text = new StringBuilder();
        var names = FieldCatalog.Names.Where(n => includeTcpKitFields || !n.StartsWith("tcpkit", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();
        while (reader.TryRead(out var packet))
        {
            var context = pipeline.Next(packet);
            foreach (var name in names)
            {
                Assert.True(FieldCatalog.TryGet(name, out var writer));
                text.Clear();
                values.Add(writer(context, text) ? $"{pipeline.Count} {name}={text}" : $"{pipeline.Count} {name} absent");
            }
        }

        return values;
    }

    [Fact]
    public void Skipping_connection_state_inference_changes_no_field_outside_tcpkit()
    {
        var path = Conversation();
        try
        {
            var tracked = FieldValues(path, trackStates: true, includeTcpKitFields: false);
            var skipped = FieldValues(path, trackStates: false, includeTcpKitFields: false);
            Assert.Contains(tracked, v => v.Contains(" tcp.analysis.retransmission=", StringComparison.Ordinal));
            Assert.Equal(tracked, skipped);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Connection_states_are_inferred_by_default_so_tcpkit_fields_differ_when_skipped()
    {
        var path = Conversation();
        try
        {
            // The default keeps tcpkit.* fields right; turning tracking off is only for callers that never show them.
            Assert.True(new CapturePipeline().Tracker.TrackConnectionStates);
            var tracked = FieldValues(path, trackStates: true, includeTcpKitFields: true);
            var skipped = FieldValues(path, trackStates: false, includeTcpKitFields: true);
            Assert.NotEqual(tracked, skipped);
            Assert.Contains(tracked, v => v.Contains("tcpkit.conn_state=SF", StringComparison.Ordinal));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_bare_analysis_flag_filter_matches_exactly_the_frames_whose_field_is_present()
    {
        var path = Conversation();
        try
        {
            string[] names =
            [
                "tcp.analysis.retransmission", "tcp.analysis.fast_retransmission", "tcp.analysis.spurious_retransmission",
                "tcp.analysis.out_of_order", "tcp.analysis.lost_segment", "tcp.analysis.ack_lost_segment", "tcp.analysis.zero_window",
                "tcp.analysis.zero_window_probe", "tcp.analysis.zero_window_probe_ack", "tcp.analysis.window_full",
                "tcp.analysis.window_update", "tcp.analysis.keep_alive", "tcp.analysis.keep_alive_ack", "tcp.analysis.reused_ports",
            ];
            int matches = 0;
            foreach (var name in names)
            {
                Assert.True(FieldCatalog.TryGet(name, out var writer));
                // The filter's bit test and the negated form (which takes the same path) against the field's own writer.
                var bare = DisplayFilter.Compile(name);
                var negated = DisplayFilter.Compile($"!{name}");
                using var reader = CaptureReader.Open(path);
                var pipeline = new CapturePipeline();
                var text = new StringBuilder();
                while (reader.TryRead(out var packet))
                {
                    var context = pipeline.Next(packet);
                    bool present = writer(context, text.Clear());
                    Assert.Equal(present, bare.Matches(context));
                    Assert.Equal(!present, negated.Matches(context));
                    matches += present ? 1 : 0;
                }
            }

            // The trace has a retransmission, a fast retransmission, dup ACKs, a zero window and more.
            Assert.True(matches >= 4, $"{matches} flagged frames");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("tcpkit.conn_state == \"SF\"", true)]
    [InlineData("tcp.analysis.retransmission && tcpkit.history contains \"F\"", true)]
    [InlineData("tcpkit.history == ${tcpkit.history}", true)]
    [InlineData("frame contains \"tcpkit\"", true)]
    [InlineData("tcp.analysis.retransmission", false)]
    [InlineData("tcp.port in {80, 443} || frame.len > 100", false)]
    public void A_filter_asks_for_connection_states_when_its_text_names_a_tcpkit_field(string text, bool expected)
    {
        Assert.Equal(expected, DisplayFilter.Compile(text).NamesTcpKitFields);
    }
}
