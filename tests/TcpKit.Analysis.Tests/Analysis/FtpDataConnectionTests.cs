using TcpKit.Analysis.Conversations;
using TcpKit.Analysis.Tests.Support;
using TcpKit.Wire;
using static TcpKit.Wire.Tcp.TcpFlags;

namespace TcpKit.Analysis.Tests.Analysis;

/// <summary>
/// FTP data connections announced on the control connection start in a conversation Wireshark's FTP dissector
/// made beforehand, which changes tcp.completeness (the first SYN's bit is lost, a first data segment counts).
/// Expected values are tshark 4.0.17's on the same frames (crafted captures with each announcement form).
/// </summary>
public class FtpDataConnectionTests
{
    private const string Client = "10.0.0.1", Server = "10.0.0.2";

    /// <summary>A control connection (client 40000 to server 21) that carries one request and its reply.</summary>
    private static Trace Control(string request, string reply)
    {
        uint c = 1001, s = 5001;
        return new Trace(40000, 21, Client, Server)
            .Add(0.00, true, 1000, 0, Syn, 1000)
            .Add(0.01, false, 5000, 1001, Syn | Ack, 1000)
            .Add(0.02, true, 1001, 5001, Ack, 1000)
            .AddText(0.03, true, c, s, request + "\r\n")
            .AddText(0.04, false, s, c + (uint)request.Length + 2, reply + "\r\n");
    }

    /// <summary>A whole data connection from <paramref name="opener"/> (SYN, SYN-ACK, ACK, 5 bytes, FIN both ways).</summary>
    private static Trace Data(string opener, ushort openerPort, string acceptor, ushort acceptorPort, double start, bool withSyn = true)
    {
        var t = new Trace(openerPort, acceptorPort, opener, acceptor);
        if (withSyn)
        {
            t.Add(start, true, 7000, 0, Syn, 1000)
             .Add(start + 0.01, false, 9000, 7001, Syn | Ack, 1000)
             .Add(start + 0.02, true, 7001, 9001, Ack, 1000);
        }

        return t.Add(start + 0.03, true, 7001, 9001, Psh | Ack, 1000, 5)
            .Add(start + 0.04, false, 9001, 7006, Ack, 1000)
            .Add(start + 0.05, true, 7006, 9001, Fin | Ack, 1000)
            .Add(start + 0.06, false, 9001, 7007, Fin | Ack, 1000)
            .Add(start + 0.07, true, 7007, 9002, Ack, 1000);
    }

    private static string DataCompleteness(Trace trace) =>
        string.Join(",", trace.Fields("tcp.stream", "tcp.completeness").Where(l => l.StartsWith("1|", StringComparison.Ordinal)).Select(l => l[2..]));

    private const string Normal = "0,1,3,7,15,15,31,31";
    private const string Announced = "0,0,2,6,14,14,30,30";

    [Theory]
    [InlineData("PASV", "227 Entering Passive Mode (10,0,0,2,117,48).", 30000, Announced)]
    [InlineData("PASV", "227 Data transfer will passively listen to 10,0,0,2,117,48", 30000, Announced)]
    [InlineData("PASV", "227 Entering Passive Mode (192,0,2,9,117,48).", 30000, Normal)]
    [InlineData("EPSV", "229 Entering Extended Passive Mode (|||30000|)", 30000, Announced)]
    [InlineData("EPSV", "229 Entering Extended Passive Mode (!!!30000!)", 30000, Announced)]
    [InlineData("PASV", "227 Entering Passive Mode (10,0,0,2,117,48).", 30001, Normal)]
    [InlineData("PASV", "200 Entering Passive Mode (10,0,0,2,117,48).", 30000, Normal)]
    public void A_passive_data_connection_announced_by_the_server_loses_its_SYN_from_completeness(string request, string reply, ushort dataPort, string expected)
    {
        var trace = Control(request, reply).Then(Data(Client, 40005, Server, dataPort, 1.0));
        Assert.Equal(expected, DataCompleteness(trace));
    }

    [Theory]
    [InlineData("PORT 10,0,0,1,156,65", 20, Announced)]
    [InlineData("PORT 10,0,0,1,156,65", 30000, Normal)]
    [InlineData("PORT 10,0,0,9,156,65", 20, Normal)]
    [InlineData("EPRT |1|10.0.0.1|40001|", 20, Normal)]
    public void An_active_data_connection_is_announced_only_from_the_servers_port_20(string request, ushort serverPort, string expected)
    {
        var trace = Control(request, "200 Command okay.").Then(Data(Server, serverPort, Client, 40001, 1.0));
        Assert.Equal(expected, DataCompleteness(trace));
    }

    [Fact]
    public void A_data_connection_seen_from_its_first_data_segment_counts_that_segment()
    {
        var trace = Control("PASV", "227 Entering Passive Mode (10,0,0,2,117,48).").Then(Data(Client, 40009, Server, 30000, 1.0, withSyn: false));
        Assert.Equal("0,8,12,28,28", DataCompleteness(trace));
    }

    [Fact]
    public void An_announcement_is_used_up_by_the_first_connection_that_matches_it()
    {
        var trace = Control("PASV", "227 Entering Passive Mode (10,0,0,2,117,48).")
            .Then(Data(Client, 40010, Server, 30000, 1.0))
            .Then(Data(Client, 40011, Server, 30000, 2.0));
        var streams = trace.Fields("tcp.stream", "tcp.completeness");
        Assert.Equal(Announced, string.Join(",", streams.Where(l => l.StartsWith("1|", StringComparison.Ordinal)).Select(l => l[2..])));
        Assert.Equal(Normal, string.Join(",", streams.Where(l => l.StartsWith("2|", StringComparison.Ordinal)).Select(l => l[2..])));
    }

    [Fact]
    public void A_retransmitted_reply_is_not_read_again()
    {
        // The reply is sent twice; the copy is a retransmission, which Wireshark does not hand to the FTP
        // dissector, so only one data connection is announced.
        string reply = "227 Entering Passive Mode (10,0,0,2,117,48).\r\n";
        var trace = Control("NOOP", "200 OK.")
            .AddText(0.05, false, 5009, 1007, reply)
            .AddText(0.30, false, 5009, 1007, reply)
            .Then(Data(Client, 40010, Server, 30000, 1.0))
            .Then(Data(Client, 40011, Server, 30000, 2.0));
        var streams = trace.Fields("tcp.stream", "tcp.completeness");
        Assert.Equal(Announced, string.Join(",", streams.Where(l => l.StartsWith("1|", StringComparison.Ordinal)).Select(l => l[2..])));
        Assert.Equal(Normal, string.Join(",", streams.Where(l => l.StartsWith("2|", StringComparison.Ordinal)).Select(l => l[2..])));
    }

    [Theory]
    [InlineData("Entering Passive Mode (127,0,0,1,4,51)", "127.0.0.1", 1075)]
    [InlineData("Entering passive mode. 127,0,0,1,4,51", "127.0.0.1", 1075)]
    [InlineData("=1,2,3,4,5,6 (7,8,9,10,11,12)", "1.2.3.4", 1286)]
    [InlineData("(10, 0, 0, 2, 117, 48)", "10.0.0.2", 30000)]
    [InlineData("port 21 then 10,0,0,2,1,2", "10.0.0.2", 258)]
    [InlineData("(10,0,0,2,300,-1)", "10.0.0.2", 11519)]
    public void Six_numbers_are_found_anywhere_in_a_227_reply(string text, string address, int port)
    {
        Assert.True(FtpDataConnections.TryParseSixNumbers(System.Text.Encoding.ASCII.GetBytes(text), out var a, out ushort p));
        Assert.Equal(address, a.ToString());
        Assert.Equal(port, p);
    }

    [Theory]
    [InlineData("Entering Passive Mode")]
    [InlineData("1,2,3,4,5")]
    [InlineData("")]
    public void A_227_reply_without_six_numbers_announces_nothing(string text) =>
        Assert.False(FtpDataConnections.TryParseSixNumbers(System.Text.Encoding.ASCII.GetBytes(text), out _, out _));

    [Theory]
    [InlineData("|1|132.235.1.2|6275|", "132.235.1.2", 6275)]
    [InlineData("|2|1080::8:800:200C:417A|5282|", "1080::8:800:200c:417a", 5282)]
    [InlineData("!1!10.0.0.1!20!", "10.0.0.1", 20)]
    public void EPRT_arguments_follow_RFC_2428(string text, string address, int port)
    {
        Assert.True(FtpDataConnections.TryParseEprt(System.Text.Encoding.ASCII.GetBytes(text), out var a, out ushort p));
        Assert.Equal(IpAddress.TryParse(address, out var expected) ? expected : default, a);
        Assert.Equal(port, p);
    }

    [Theory]
    [InlineData("|3|10.0.0.1|20|")]
    [InlineData("|1|10.0.0.1|70000|")]
    [InlineData("|2|10.0.0.1|20|")]
    [InlineData("|1|10.0.0.1|20")]
    [InlineData("a1a10.0.0.1a20a")]
    [InlineData("||10.0.0.1|20|")]
    public void Malformed_EPRT_arguments_announce_nothing(string text) =>
        Assert.False(FtpDataConnections.TryParseEprt(System.Text.Encoding.ASCII.GetBytes(text), out _, out _));

    [Theory]
    [InlineData("Entering Extended Passive Mode (|||6446|)", true, 6446)]
    [InlineData("Extended (mode) (|||6446|)", false, 0)]
    [InlineData("Entering Extended Passive Mode (|||6446", false, 0)]
    [InlineData("Entering Extended Passive Mode (|||99999|)", false, 0)]
    public void EPSV_replies_give_the_port_between_the_delimiters(string text, bool found, int port)
    {
        Assert.Equal(found, FtpDataConnections.TryParseEpsv(System.Text.Encoding.ASCII.GetBytes(text), out ushort p));
        Assert.Equal(port, p);
    }

    [Fact]
    public void Unclaimed_announcements_are_bounded()
    {
        var ftp = new FtpDataConnections();
        IpAddress.TryParse(Server, out var server);
        IpAddress.TryParse(Client, out var client);
        var reply = new DecodedPacket { Source = server, Destination = client, SourcePort = 21, DestinationPort = 40000 };
        for (int i = 0; i < FtpDataConnections.Capacity + 10; i++)
        {
            ftp.Inspect(reply, System.Text.Encoding.ASCII.GetBytes($"227 Entering Passive Mode (10,0,0,2,{i / 256},{i % 256}).\r\n"));
        }

        Assert.Equal(FtpDataConnections.Capacity + 10, ftp.Announced);
        Assert.Equal(10, ftp.Dropped);
        Assert.False(ftp.TryClaim(client, 50000, server, 0));
        Assert.True(ftp.TryClaim(client, 50000, server, 10));
        Assert.False(ftp.TryClaim(client, 50000, server, 10));
    }
}
