using TcpKit.Analysis.Tests.Support;
using static TcpKit.Wire.Tcp.TcpFlags;

namespace TcpKit.Analysis.Tests.States;

/// <summary>Each endpoint's RFC 9293 state around every segment, and Zeek's conn_state and history.</summary>
public class EndpointStateInferenceTests
{
    private static readonly string[] StateFields = ["tcpkit.state.sender", "tcpkit.state.client.before", "tcpkit.state.client.after", "tcpkit.state.server.before", "tcpkit.state.server.after"];

    private static List<string> States(Trace t) => t.Fields(StateFields);

    private static (string ConnState, string History) Summary(Trace t)
    {
        var last = t.Fields("tcpkit.conn_state", "tcpkit.history")[^1].Split('|');
        return (last[0], last[1]);
    }

    private static Trace ActiveCloseByClient() => new Trace()
        .Add(0.000, true, 100, 0, Syn, 1000)
        .Add(0.001, false, 500, 101, Syn | Ack, 1000)
        .Add(0.002, true, 101, 501, Ack, 1000)
        .Add(0.003, true, 101, 501, Psh | Ack, 1000, 10)
        .Add(0.004, false, 501, 111, Ack, 1000)
        .Add(0.005, true, 111, 501, Fin | Ack, 1000)
        .Add(0.006, false, 501, 112, Ack, 1000)
        .Add(0.007, false, 501, 112, Fin | Ack, 1000)
        .Add(0.008, true, 112, 502, Ack, 1000);

    [Fact]
    public void A_client_that_closes_first_goes_through_FIN_WAIT_1_FIN_WAIT_2_and_TIME_WAIT_while_the_server_passes_CLOSE_WAIT_and_LAST_ACK()
    {
        Assert.Equal(
            [
                "client|CLOSED|SYN-SENT|LISTEN|SYN-RECEIVED",
                "server|SYN-SENT|ESTABLISHED|SYN-RECEIVED|SYN-RECEIVED",
                "client|ESTABLISHED|ESTABLISHED|SYN-RECEIVED|ESTABLISHED",
                "client|ESTABLISHED|ESTABLISHED|ESTABLISHED|ESTABLISHED",
                "server|ESTABLISHED|ESTABLISHED|ESTABLISHED|ESTABLISHED",
                "client|ESTABLISHED|FIN-WAIT-1|ESTABLISHED|CLOSE-WAIT",
                "server|FIN-WAIT-1|FIN-WAIT-2|CLOSE-WAIT|CLOSE-WAIT",
                "server|FIN-WAIT-2|TIME-WAIT|CLOSE-WAIT|LAST-ACK",
                "client|TIME-WAIT|TIME-WAIT|LAST-ACK|CLOSED",
            ],
            States(ActiveCloseByClient()));
        Assert.Equal(("SF", "ShADaFf"), Summary(ActiveCloseByClient()));
    }

    [Fact]
    public void A_FIN_that_also_acknowledges_the_peers_FIN_takes_FIN_WAIT_1_straight_to_TIME_WAIT()
    {
        var t = new Trace()
            .Add(0.000, true, 100, 0, Syn, 1000)
            .Add(0.001, false, 500, 101, Syn | Ack, 1000)
            .Add(0.002, true, 101, 501, Ack, 1000)
            .Add(0.003, false, 501, 101, Fin | Ack, 1000)
            .Add(0.004, true, 101, 502, Fin | Ack, 1000)
            .Add(0.005, false, 502, 102, Ack, 1000);
        Assert.Equal(
            [
                "server|ESTABLISHED|CLOSE-WAIT|ESTABLISHED|FIN-WAIT-1",
                "client|CLOSE-WAIT|LAST-ACK|FIN-WAIT-1|TIME-WAIT",
                "server|LAST-ACK|CLOSED|TIME-WAIT|TIME-WAIT",
            ],
            States(t).Skip(3));
    }

    [Fact]
    public void Simultaneous_close_passes_both_ends_through_CLOSING_to_TIME_WAIT()
    {
        // The FINs cross: the server's FIN does not acknowledge the client's, so it had not received it.
        var t = new Trace()
            .Add(0.000, true, 100, 0, Syn, 1000)
            .Add(0.001, false, 500, 101, Syn | Ack, 1000)
            .Add(0.002, true, 101, 501, Ack, 1000)
            .Add(0.003, true, 101, 501, Fin | Ack, 1000)
            .Add(0.003, false, 501, 101, Fin | Ack, 1000)
            .Add(0.004, true, 102, 502, Ack, 1000)
            .Add(0.004, false, 502, 102, Ack, 1000);
        Assert.Equal(
            [
                "client|ESTABLISHED|FIN-WAIT-1|ESTABLISHED|CLOSE-WAIT",
                "server|FIN-WAIT-1|CLOSING|ESTABLISHED|FIN-WAIT-1",
                "client|CLOSING|CLOSING|FIN-WAIT-1|TIME-WAIT",
                "server|CLOSING|TIME-WAIT|TIME-WAIT|TIME-WAIT",
            ],
            States(t).Skip(3));
    }

    [Fact]
    public void Simultaneous_open_takes_both_ends_from_SYN_SENT_through_SYN_RECEIVED_to_ESTABLISHED()
    {
        var t = new Trace(5000, 6000)
            .Add(0.000, true, 100, 0, Syn, 1000)
            .Add(0.000, false, 500, 0, Syn, 1000)
            .Add(0.001, true, 100, 501, Syn | Ack, 1000)
            .Add(0.001, false, 500, 101, Syn | Ack, 1000);
        var states = States(t);
        Assert.Equal("client|CLOSED|SYN-SENT|LISTEN|SYN-RECEIVED", states[0]);
        // The server's own SYN shows it was not listening: it was CLOSED and opened actively too.
        Assert.Equal("server|SYN-SENT|SYN-RECEIVED|CLOSED|SYN-SENT", states[1]);
        Assert.Equal("client|SYN-RECEIVED|SYN-RECEIVED|SYN-SENT|ESTABLISHED", states[2]);
        Assert.Equal("server|SYN-RECEIVED|ESTABLISHED|ESTABLISHED|ESTABLISHED", states[3]);
    }

    [Fact]
    public void A_half_closed_connection_keeps_carrying_data_from_the_side_in_CLOSE_WAIT()
    {
        var t = new Trace()
            .Add(0.000, true, 100, 0, Syn, 1000)
            .Add(0.001, false, 500, 101, Syn | Ack, 1000)
            .Add(0.002, true, 101, 501, Ack, 1000)
            .Add(0.003, true, 101, 501, Fin | Ack, 1000)
            .Add(0.004, false, 501, 102, Ack, 1000)
            .Add(0.005, false, 501, 102, Psh | Ack, 1000, 100)
            .Add(0.006, true, 102, 601, Ack, 1000);
        Assert.Equal(
            [
                "server|FIN-WAIT-2|FIN-WAIT-2|CLOSE-WAIT|CLOSE-WAIT",
                "client|FIN-WAIT-2|FIN-WAIT-2|CLOSE-WAIT|CLOSE-WAIT",
            ],
            States(t).Skip(5));
        Assert.Equal("S2", Summary(t).ConnState);
    }

    [Fact]
    public void A_SYN_answered_by_a_reset_is_refused_and_Zeek_calls_it_REJ()
    {
        var t = new Trace()
            .Add(0.000, true, 100, 0, Syn, 1000)
            .Add(0.001, false, 0, 101, Rst | Ack, 0);
        Assert.Equal("server|SYN-SENT|CLOSED|SYN-RECEIVED|CLOSED", States(t)[1]);
        Assert.Equal(("REJ", "Sr"), Summary(t));
    }

    [Fact]
    public void A_client_reset_after_data_closes_both_ends_and_is_RSTO()
    {
        var t = new Trace()
            .Add(0.000, true, 100, 0, Syn, 1000)
            .Add(0.001, false, 500, 101, Syn | Ack, 1000)
            .Add(0.002, true, 101, 501, Ack, 1000)
            .Add(0.003, true, 101, 501, Psh | Ack, 1000, 5)
            .Add(0.004, false, 501, 106, Ack, 1000)
            .Add(0.005, true, 106, 501, Rst | Ack, 0);
        Assert.Equal("client|ESTABLISHED|CLOSED|ESTABLISHED|CLOSED", States(t)[5]);
        Assert.Equal(("RSTO", "ShADaR"), Summary(t));
    }

    [Fact]
    public void A_capture_that_starts_mid_connection_says_ESTABLISHED_inferred_until_something_changes()
    {
        var t = new Trace(50388, 443)
            .Add(0.000, false, 9000, 7000, Psh | Ack, 1000, 10)
            .Add(0.001, true, 7000, 9010, Ack, 1000)
            .Add(0.002, true, 7000, 9010, Fin | Ack, 1000);
        var states = States(t);
        Assert.Equal("server|ESTABLISHED (inferred)|ESTABLISHED (inferred)|ESTABLISHED (inferred)|ESTABLISHED (inferred)", states[0]);
        Assert.Equal("client|ESTABLISHED (inferred)|FIN-WAIT-1|ESTABLISHED (inferred)|CLOSE-WAIT", states[2]);
        // Zeek counts a side it only saw mid-stream as inactive, so a close from the other side is "SH".
        Assert.Equal(("SH", "dAF"), Summary(t));
    }

    [Fact]
    public void A_reset_after_a_complete_FIN_exchange_leaves_the_connection_SF_as_Zeek_reports_it()
    {
        // Zeek's UpdateClosedState ignores a RST once both sides have sent FIN (its pop3 starttls baseline: SF "ShAadDfFr").
        var t = ActiveCloseByClient().Add(0.009, false, 502, 0, Rst, 0);
        Assert.Equal(("SF", "ShADaFfr"), Summary(t));
    }

    [Fact]
    public void A_reset_after_only_one_FIN_is_still_a_reset()
    {
        var t = new Trace()
            .Add(0.000, true, 100, 0, Syn, 1000)
            .Add(0.001, false, 500, 101, Syn | Ack, 1000)
            .Add(0.002, true, 101, 501, Ack, 1000)
            .Add(0.003, true, 101, 501, Fin | Ack, 1000)
            .Add(0.004, false, 501, 0, Rst, 0);
        Assert.Equal("RSTR", Summary(t).ConnState);
    }

    [Fact]
    public void A_content_gap_is_data_acknowledged_but_never_seen_and_a_hole_filled_later_is_none()
    {
        var handshake = new Trace()
            .Add(0.000, true, 100, 0, Syn, 1000)
            .Add(0.001, false, 500, 101, Syn | Ack, 1000)
            .Add(0.002, true, 101, 501, Ack, 1000);

        // 101..111 is reordered: the hole is filled, so Zeek's reassembler never reports a gap.
        var reordered = handshake
            .Add(0.003, true, 111, 501, Psh | Ack, 1000, 10)
            .Add(0.004, true, 101, 501, Psh | Ack, 1000, 10)
            .Add(0.005, false, 501, 121, Ack, 1000);
        Assert.DoesNotContain('G', Summary(reordered).History);

        // 101..111 never appears, yet the server acknowledges it: a gap in the originator's data ("G").
        var missed = new Trace()
            .Add(0.000, true, 100, 0, Syn, 1000)
            .Add(0.001, false, 500, 101, Syn | Ack, 1000)
            .Add(0.002, true, 101, 501, Ack, 1000)
            .Add(0.003, true, 111, 501, Psh | Ack, 1000, 10)
            .Add(0.005, false, 501, 121, Ack, 1000);
        Assert.Contains('G', Summary(missed).History);
        Assert.DoesNotContain('g', Summary(missed).History);
    }

    [Fact]
    public void A_lone_SYN_is_S0_and_a_handshake_without_a_close_is_S1()
    {
        Assert.Equal(("S0", "S"), Summary(new Trace().Add(0, true, 1, 0, Syn, 1000).Add(1, true, 1, 0, Syn, 1000)));
        Assert.Equal("S1", Summary(new Trace().Add(0, true, 1, 0, Syn, 1000).Add(0.1, false, 9, 2, Syn | Ack, 1000).Add(0.2, true, 2, 10, Ack, 1000)).ConnState);
    }

    [Fact]
    public void A_SYN_followed_by_the_originators_reset_without_an_answer_is_RSTOS0()
    {
        Assert.Equal(("RSTOS0", "SR"), Summary(new Trace().Add(0, true, 1, 0, Syn, 1000).Add(0.5, true, 2, 0, Rst, 0)));
    }

    [Fact]
    public void Retransmissions_are_recorded_in_the_history_at_the_first_and_tenth_occurrence()
    {
        var t = new Trace().Add(0, true, 1, 0, Syn, 1000).Add(0.1, false, 9, 2, Syn | Ack, 1000).Add(0.2, true, 2, 10, Ack, 1000);
        for (int i = 0; i < 11; i++)
        {
            t.Add(1 + i, true, 2, 10, Psh | Ack, 1000, 10);
        }

        Assert.Equal("ShADTT", Summary(t).History);
    }
}
