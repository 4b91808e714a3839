using System.Xml.Linq;
using TcpKit.Analysis.Output.Graphs;
using TcpKit.Analysis.Tests.Support;
using static TcpKit.Wire.Tcp.TcpFlags;

namespace TcpKit.Analysis.Tests.Ladder;

public class StreamGraphTests
{
    [Fact]
    public void The_time_sequence_graph_draws_the_SYN_and_each_data_segment_retransmissions_in_red_and_the_ACK_and_window_lines()
    {
        var graph = new StreamGraph(0);
        new Trace()
            .Add(0, true, 1000, 0, Syn, 1000)
            .Add(0.01, false, 5000, 1001, Syn | Ack, 1000)
            .Add(0.02, true, 1001, 5001, Ack, 1000)
            .Add(0.03, true, 1001, 5001, Psh | Ack, 1000, 100)
            .Add(0.53, true, 1001, 5001, Psh | Ack, 1000, 100)
            .Add(0.54, false, 5001, 1101, Ack, 1000)
            .Each((in Fields.FieldContext c) => graph.Observe(c));
        var svg = XDocument.Parse(graph.RenderSvg(GraphKind.TimeSequence));
        XNamespace ns = "http://www.w3.org/2000/svg";
        var bars = svg.Descendants(ns + "line").Where(l => (string?)l.Attribute("stroke-width") == "1.5").ToList();
        Assert.Equal(["#1565c0", "#1565c0", "#c62828"], bars.Select(b => (string?)b.Attribute("stroke")));
        Assert.Single(svg.Descendants(ns + "polyline"), p => (string?)p.Attribute("class") == "ACK");
        Assert.Single(svg.Descendants(ns + "polyline"), p => (string?)p.Attribute("class") == "receive window");
    }
}
