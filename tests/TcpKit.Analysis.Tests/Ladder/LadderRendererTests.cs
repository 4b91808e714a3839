using TcpKit.Analysis.Output.Ladder;
using TcpKit.Wire.Tcp;

namespace TcpKit.Analysis.Tests.Ladder;

public class LadderRendererTests
{
    private const string Client = "client 192.0.2.1:50388";
    private const string Server = "server 192.0.2.2:9999";

    private static readonly LadderRow[] Handshake =
    [
        new()
        {
            Frame = 1, TimeNs = 0, Sender = LadderSide.Client, Flags = TcpFlags.Syn, Seq = 0, Window = 64240,
            ClientBefore = new(TcpState.Closed), ClientAfter = new(TcpState.SynSent),
            ServerBefore = new(TcpState.Listen), ServerAfter = new(TcpState.SynReceived),
            Explanation = "the client asks to open",
        },
        new()
        {
            Frame = 2, TimeNs = 52_000, Sender = LadderSide.Server, Flags = TcpFlags.Syn | TcpFlags.Ack, Seq = 0, Ack = 1, Window = 65160,
            ClientBefore = new(TcpState.SynSent), ClientAfter = new(TcpState.Established),
            ServerBefore = new(TcpState.SynReceived), ServerAfter = new(TcpState.SynReceived),
        },
        new()
        {
            Frame = 3, TimeNs = 1_500_000_000, Sender = LadderSide.Client, Flags = TcpFlags.Psh | TcpFlags.Ack, Seq = 1, Ack = 1, Length = 1, Window = 502,
            Payload = "a", Expert = ["TCP Retransmission"],
            ClientBefore = new(TcpState.Established), ClientAfter = new(TcpState.Established),
            ServerBefore = new(TcpState.SynReceived), ServerAfter = new(TcpState.Established),
        },
    ];

    [Fact]
    public void Three_segments_render_as_arrows_with_labels_states_and_explanation()
    {
        var text = LadderRenderer.Render(Client, Server, Handshake, new LadderOptions { Width = 110 });
        Assert.Equal(
            """
             No.        Time         client 192.0.2.1:50388                                  server 192.0.2.2:9999
                                                   CLOSED |                                  | LISTEN
                1   0.000000                              |  [SYN] Seq=0 Win=64240 Len=0     |
                                       CLOSED -> SYN-SENT |--------------------------------->| LISTEN -> SYN-RECEIVED
                                                          |  the client asks to open         |
                2   0.000052                              |          [SYN, ACK] Seq=0 Ack=1  |
                                                          |                 Win=65160 Len=0  |
                                  SYN-SENT -> ESTABLISHED |<---------------------------------|
                3   1.500000                              |  [TCP Retransmission] [PSH, ACK] |
                                                          |  Seq=1 Ack=1 Win=502 Len=1 "a"   |
                                                          |--------------------------------->| SYN-RECEIVED -> ESTABLISHED

            """.Replace("\r\n", "\n"),
            text);
    }

    [Fact]
    public void Colour_marks_SYN_green_data_white_and_expert_tags_yellow_without_changing_the_layout()
    {
        var plain = LadderRenderer.Render(Client, Server, Handshake, new LadderOptions { Width = 110 });
        var colored = LadderRenderer.Render(Client, Server, Handshake, new LadderOptions { Width = 110, Color = true });
        Assert.Contains("\e[32m[SYN]\e[0m", colored);
        Assert.Contains("\e[97m[PSH, ACK]\e[0m", colored);
        Assert.Contains("\e[33m[TCP Retransmission]\e[0m", colored);
        Assert.Equal(plain, System.Text.RegularExpressions.Regex.Replace(colored, "\e\\[[0-9;]*m", ""));
    }

    [Fact]
    public void Rows_written_one_at_a_time_equal_the_whole_ladder_with_the_same_state_width()
    {
        var options = new LadderOptions { Width = 110, StateWidth = 27 };
        var renderer = new LadderRenderer(Client, Server, options);
        using var w = new StringWriter { NewLine = "\n" };
        renderer.WriteHeader(w, new(TcpState.Closed), new(TcpState.Listen));
        foreach (var row in Handshake)
        {
            renderer.WriteRow(w, row);
        }

        Assert.Equal(LadderRenderer.Render(Client, Server, Handshake, options), w.ToString());
    }

    [Fact]
    public void An_inferred_state_says_so_and_an_unchanged_state_prints_nothing()
    {
        Assert.Equal("ESTABLISHED (inferred) -> FIN-WAIT-1", LadderRenderer.Transition(new(TcpState.Established, Inferred: true), new(TcpState.FinWait1)));
        Assert.Equal("", LadderRenderer.Transition(new(TcpState.CloseWait), new(TcpState.CloseWait)));
        Assert.Equal("TIME-WAIT", LadderRenderer.Transition(null, new(TcpState.TimeWait)));
    }

    [Fact]
    public void The_svg_ladder_is_well_formed_with_one_coloured_arrow_per_segment()
    {
        var svg = LadderSvgRenderer.Render(Client, Server, Handshake);
        var doc = System.Xml.Linq.XDocument.Parse(svg);
        System.Xml.Linq.XNamespace ns = "http://www.w3.org/2000/svg";
        var groups = doc.Descendants(ns + "g").ToList();
        Assert.Equal(["1", "2", "3"], groups.Select(g => (string?)g.Attribute("data-frame")));
        var arrows = groups.Select(g => g.Element(ns + "line")!).ToList();
        Assert.Equal(["url(#head-green)", "url(#head-green)", "url(#head-white)"], arrows.Select(a => (string?)a.Attribute("marker-end")));
        Assert.True((int)arrows[0].Attribute("x1")! < (int)arrows[0].Attribute("x2")!, "the client's SYN goes left to right");
        Assert.True((int)arrows[1].Attribute("x1")! > (int)arrows[1].Attribute("x2")!, "the server's SYN-ACK goes right to left");
        Assert.Contains("CLOSED -&gt; SYN-SENT", svg);
        Assert.Contains("the client asks to open", svg);
    }
}
