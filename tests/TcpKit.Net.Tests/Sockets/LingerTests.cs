using System.Net.Sockets;
using TcpKit.Tcp;
using TcpKit.Wire.Tcp;

namespace TcpKit.Net.Tests.Sockets;

/// <summary>
/// LingerState with a non-zero LingerTime, Windows' meaning: Close returns at once, the FIN follows the queued
/// data, and a send side not finished (data and FIN acknowledged) LingerTime seconds after Close is reset.
/// </summary>
public class LingerTests
{
    private static readonly TimeSpan Linger3 = TimeSpan.FromSeconds(3);

    [Fact]
    public void Close_with_a_3_second_linger_resets_a_peer_whose_window_never_opens_exactly_3_seconds_later()
    {
        var pair = ZeroWindowPeer();
        pair.Client.LingerState = new LingerOption(true, 3);
        var closedAt = pair.Now;
        int before = pair.Wire.Count;

        pair.Client.Close();
        pair.RunFor(Linger3 - TimeSpan.FromMilliseconds(1));

        Assert.Equal(TcpState.FinWait1, pair.Client.State); // still trying: the FIN waits behind the data
        Assert.True(pair.Client.PendingClose!.LingerArmed);
        Assert.DoesNotContain(pair.Wire.Skip(before), s => s.FromClient && (s.Has(TcpFlags.Rst) || s.Has(TcpFlags.Fin)));

        pair.RunFor(TimeSpan.FromSeconds(10));

        var fromClient = pair.Wire.Skip(before).Where(s => s.FromClient).ToList();
        var rst = Assert.Single(fromClient, s => s.Has(TcpFlags.Rst));
        Assert.Equal(closedAt + Linger3, rst.Time);
        Assert.Same(rst, fromClient[^1]); // nothing after it
        Assert.DoesNotContain(fromClient, s => s.Has(TcpFlags.Fin));
        Assert.Equal(TcpState.Closed, pair.Client.State);
        Assert.Equal(TcpError.Aborted, pair.Client.Connection!.Tcb.Error);
        Assert.Equal(TcpError.Reset, pair.Server.Connection!.Tcb.Error); // the peer took the RST: its sequence number is at its RCV.NXT
        Assert.False(pair.Client.PendingClose.LingerArmed);
    }

    [Fact]
    public void Close_with_a_linger_to_a_peer_that_acknowledges_promptly_ends_with_FINs_and_no_RST()
    {
        var pair = WirePair.Connect();
        var data = new byte[5000];
        var server = pair.Start(async () =>
        {
            var stream = pair.Server.GetStream();
            var buffer = new byte[1000];
            while (await stream.ReadAsync(buffer) > 0)
            {
            }

            pair.Server.Close();
        });
        var write = pair.Start(() => pair.Client.GetStream().WriteAsync(data).AsTask());
        pair.Client.LingerState = new LingerOption(true, 3);
        var closedAt = pair.Now;

        pair.Client.Close();
        pair.RunFor(TimeSpan.FromMilliseconds(100)); // data and FIN acknowledged within a couple of round trips

        Assert.True(write.IsCompletedSuccessfully);
        Assert.True(server.IsCompletedSuccessfully);
        Assert.Equal(TcpState.TimeWait, pair.Client.State);
        Assert.True(pair.Client.PendingClose!.Finished);
        Assert.False(pair.Client.PendingClose.LingerArmed); // the linger timer was released when the FIN was acknowledged
        int afterClose = pair.Wire.Count;

        pair.RunFor(TimeSpan.FromSeconds(10)); // past the linger time

        Assert.Equal(afterClose, pair.Wire.Count);
        Assert.DoesNotContain(pair.Wire, s => s.Has(TcpFlags.Rst));
        var clientFin = Assert.Single(pair.Wire, s => s.FromClient && s.Has(TcpFlags.Fin));
        Assert.Equal(closedAt, clientFin.Time); // the FIN rode with the last data at once
        Assert.Single(pair.Wire, s => !s.FromClient && s.Has(TcpFlags.Fin));
        Assert.Equal(TcpState.TimeWait, pair.Client.State);
        Assert.Equal(data.Length, pair.Wire.Where(s => s.FromClient).Sum(s => s.Length));
    }

    [Fact]
    public void A_LingerTime_changed_after_connecting_is_the_one_Close_uses()
    {
        var pair = ZeroWindowPeer(beforeConnect: c => c.LingerState = new LingerOption(true, 30));
        pair.Client.LingerState = new LingerOption(true, 2);
        var closedAt = pair.Now;

        pair.Client.Close();
        pair.RunFor(TimeSpan.FromSeconds(5));

        var rst = Assert.Single(pair.Wire, s => s.FromClient && s.Has(TcpFlags.Rst));
        Assert.Equal(closedAt + TimeSpan.FromSeconds(2), rst.Time);
        Assert.Equal(TcpError.Aborted, pair.Client.Connection!.Tcb.Error);
    }

    [Fact]
    public void A_LingerState_set_before_connecting_applies_to_the_connection_it_makes()
    {
        var pair = ZeroWindowPeer(beforeConnect: c => c.LingerState = new LingerOption(true, 1));
        var closedAt = pair.Now;

        pair.Client.Close();
        pair.RunFor(TimeSpan.FromSeconds(5));

        var rst = Assert.Single(pair.Wire, s => s.FromClient && s.Has(TcpFlags.Rst));
        Assert.Equal(closedAt + TimeSpan.FromSeconds(1), rst.Time);
    }

    [Fact]
    public void Dispose_with_a_linger_resets_an_unfinished_close_after_LingerTime_as_Close_does()
    {
        var pair = ZeroWindowPeer();
        pair.Client.LingerState = new LingerOption(true, 3);
        var closedAt = pair.Now;

        pair.Client.Dispose();
        pair.RunFor(TimeSpan.FromSeconds(10));

        var rst = Assert.Single(pair.Wire, s => s.FromClient && s.Has(TcpFlags.Rst));
        Assert.Equal(closedAt + Linger3, rst.Time);
        Assert.Equal(TcpError.Aborted, pair.Client.Connection!.Tcb.Error);
    }

    [Fact]
    public void Close_with_a_linger_resets_the_peer_when_its_acknowledgments_stop_arriving()
    {
        var pair = WirePair.Connect();
        var write = pair.Start(() => pair.Client.GetStream().WriteAsync(new byte[3000]).AsTask());
        pair.BlackHoleServerToClient = true; // the server receives everything; the client never hears back
        pair.Client.LingerState = new LingerOption(true, 3);
        var closedAt = pair.Now;

        pair.Client.Close();
        pair.RunFor(TimeSpan.FromSeconds(10));

        Assert.True(write.IsCompletedSuccessfully);
        var fromClient = pair.Wire.Where(s => s.FromClient).ToList();
        Assert.Contains(fromClient, s => s.Has(TcpFlags.Fin));
        Assert.Contains(fromClient, s => s.Length > 0 && s.Time > closedAt); // retransmissions, never acknowledged
        var rst = Assert.Single(fromClient, s => s.Has(TcpFlags.Rst));
        Assert.Equal(closedAt + Linger3, rst.Time);
        Assert.Same(rst, fromClient[^1]);
        Assert.Equal(TcpState.Closed, pair.Server.State);
        Assert.Equal(TcpError.Reset, pair.Server.Connection!.Tcb.Error);
    }

    [Fact]
    public void A_zero_LingerTime_still_resets_at_once_discarding_queued_data_without_a_timer()
    {
        var pair = ZeroWindowPeer();
        pair.Client.LingerState = new LingerOption(true, 0);
        var closedAt = pair.Now;
        int before = pair.Wire.Count;

        pair.Client.Close();

        Assert.Equal(TcpState.Closed, pair.Client.State);
        Assert.Null(pair.Client.PendingClose);
        pair.RunFor(TimeSpan.FromSeconds(5));
        var rst = Assert.Single(pair.Wire.Skip(before), s => s.FromClient);
        Assert.True(rst.Has(TcpFlags.Rst));
        Assert.Equal(closedAt, rst.Time);
        Assert.Equal(0, pair.Client.Connection!.Tcb.SendBufferCount);
    }

    [Fact]
    public void A_disabled_LingerState_with_a_time_closes_in_the_background_without_a_RST()
    {
        var pair = ZeroWindowPeer();
        pair.Client.LingerState = new LingerOption(false, 1);

        pair.Client.Close();
        pair.RunFor(TimeSpan.FromSeconds(10));

        Assert.Null(pair.Client.PendingClose);
        Assert.DoesNotContain(pair.Wire, s => s.Has(TcpFlags.Rst));
        Assert.Equal(TcpState.FinWait1, pair.Client.State); // still probing the zero window
    }

    [Fact]
    public void CloseAsync_reports_false_when_the_linger_time_runs_out_at_that_instant()
    {
        var pair = ZeroWindowPeer();
        pair.Client.LingerState = new LingerOption(true, 3);
        var closedAt = pair.Now;
        var finishedAt = Wire.Instant.Never;
        var close = pair.Start(async () =>
        {
            bool acknowledged = await pair.Client.CloseAsync();
            finishedAt = pair.Now;
            Assert.False(acknowledged);
        });

        pair.Run(TimeSpan.FromSeconds(10), close);

        Assert.Equal(closedAt + Linger3, finishedAt);
    }

    [Fact]
    public void CloseAsync_reports_true_once_the_peer_acknowledged_the_data_and_the_FIN()
    {
        var pair = WirePair.Connect();
        pair.Client.LingerState = new LingerOption(true, 3);
        bool? acknowledged = null;
        var close = pair.Start(async () =>
        {
            await pair.Client.GetStream().WriteAsync(new byte[3000]);
            acknowledged = await pair.Client.CloseAsync();
        });

        pair.Run(TimeSpan.FromSeconds(1), close);

        Assert.True(acknowledged);
        Assert.Equal(TcpState.FinWait2, pair.Client.State); // the server has not closed its side
        var ack = pair.Wire.Last(s => !s.FromClient);
        Assert.Equal(pair.Client.Connection!.Tcb.SndNxt, ack.Header.Ack); // everything, the FIN included
        Assert.Equal(ack.Time + TimeSpan.FromMilliseconds(10), pair.Now); // completed when that ACK arrived
    }

    [Fact]
    public void CloseAsync_without_a_linger_waits_for_the_acknowledgment_and_can_stop_waiting()
    {
        var pair = ZeroWindowPeer();
        using var cts = new CancellationTokenSource();
        pair.Sim.Network.Schedule(TimeSpan.FromSeconds(5), cts.Cancel);
        var close = pair.Start(() => pair.Client.CloseAsync(cts.Token));

        pair.RunFor(TimeSpan.FromSeconds(6));

        Assert.True(close.IsCanceled);
        Assert.Equal(TcpState.FinWait1, pair.Client.State); // the close itself goes on
        Assert.False(pair.Client.PendingClose!.LingerArmed);
    }

    [Fact]
    public void A_linger_on_a_close_whose_FIN_was_already_acknowledged_arms_no_timer()
    {
        var pair = WirePair.Connect();
        pair.Client.Shutdown(SocketShutdown.Send);
        pair.RunFor(TimeSpan.FromMilliseconds(100));
        Assert.Equal(TcpState.FinWait2, pair.Client.State);
        pair.Client.LingerState = new LingerOption(true, 3);

        pair.Client.Close();

        Assert.True(pair.Client.PendingClose!.Finished);
        Assert.False(pair.Client.PendingClose.LingerArmed);
    }

    [Fact]
    public void Lingering_closes_of_two_connections_on_one_host_end_each_on_its_own()
    {
        var pair = ZeroWindowPeer();
        var second = new TcpKitClient(pair.Sim.Client);
        TcpKitClient? secondServer = null;
        var accept = pair.Start(async () => secondServer = await pair.Listener.AcceptTcpClientAsync());
        var connect = pair.Start(async () => await second.ConnectAsync(Host.SimPair.ServerAddress, 80)); // resumes on the loop
        pair.Run(TimeSpan.FromSeconds(1), accept, connect);
        pair.Client.LingerState = new LingerOption(true, 2);
        second.LingerState = new LingerOption(true, 2);
        var closedAt = pair.Now;

        pair.Client.Close(); // its data can never be delivered
        second.Close(); // nothing queued: its FIN is acknowledged in one round trip
        pair.RunFor(TimeSpan.FromMilliseconds(100));

        Assert.Equal(TcpState.FinWait2, second.State);
        Assert.True(second.PendingClose!.Finished);
        Assert.False(second.PendingClose.LingerArmed);
        Assert.True(pair.Client.PendingClose!.LingerArmed);

        pair.RunFor(TimeSpan.FromSeconds(5));

        var rst = Assert.Single(pair.Wire, s => s.Has(TcpFlags.Rst));
        Assert.Equal(pair.Client.Connection!.Key.LocalPort, rst.Header.SourcePort);
        Assert.Equal(closedAt + TimeSpan.FromSeconds(2), rst.Time);
        Assert.Equal(TcpState.FinWait2, second.State);
        Assert.Equal(TcpState.CloseWait, secondServer!.State);
    }

    [Fact]
    public void A_lingering_close_from_CLOSE_WAIT_finishes_when_LAST_ACK_is_acknowledged()
    {
        var pair = WirePair.Connect();
        pair.Client.Shutdown(SocketShutdown.Send);
        pair.RunFor(TimeSpan.FromMilliseconds(100));
        Assert.Equal(TcpState.CloseWait, pair.Server.State);
        pair.Server.LingerState = new LingerOption(true, 3);
        bool? acknowledged = null;
        var close = pair.Start(async () => acknowledged = await pair.Server.CloseAsync());

        pair.Run(TimeSpan.FromSeconds(1), close);
        pair.RunFor(TimeSpan.FromSeconds(5));

        Assert.True(acknowledged);
        Assert.Equal(TcpState.Closed, pair.Server.State);
        Assert.Equal(TcpError.None, pair.Server.Connection!.Tcb.Error);
        Assert.False(pair.Server.PendingClose!.LingerArmed);
        Assert.DoesNotContain(pair.Wire, s => s.Has(TcpFlags.Rst));
    }

    [Fact]
    public void A_peer_reset_during_the_linger_ends_it_without_a_RST_of_our_own()
    {
        var pair = ZeroWindowPeer();
        pair.Client.LingerState = new LingerOption(true, 3);
        bool? acknowledged = null;
        var close = pair.Start(async () => acknowledged = await pair.Client.CloseAsync());
        pair.RunFor(TimeSpan.FromSeconds(1));
        pair.Server.LingerState = new LingerOption(true, 0);

        pair.Server.Close();
        pair.RunFor(TimeSpan.FromSeconds(5));

        Assert.True(close.IsCompletedSuccessfully);
        Assert.False(acknowledged);
        Assert.Equal(TcpError.Reset, pair.Client.Connection!.Tcb.Error);
        Assert.False(pair.Client.PendingClose!.LingerArmed);
        Assert.DoesNotContain(pair.Wire, s => s.FromClient && s.Has(TcpFlags.Rst));
    }

    [Fact]
    public void A_negative_LingerTime_is_refused()
    {
        var client = new TcpKitClient(new Host.SimPair().Client);

        Assert.Throws<ArgumentOutOfRangeException>(() => client.LingerState = new LingerOption(true, -1));
    }

    /// <summary>A connected pair whose server never reads, with 20,000 bytes queued at the client against its closed window.</summary>
    private static WirePair ZeroWindowPeer(Action<TcpKitClient>? beforeConnect = null)
    {
        var pair = WirePair.Connect(serverConfig: TcpConfig.Linux with { ReceiveBufferSize = 2000 }, beforeConnect: beforeConnect);
        var write = pair.Start(() => pair.Client.GetStream().WriteAsync(new byte[20_000]).AsTask());
        pair.RunFor(TimeSpan.FromSeconds(2));
        Assert.True(write.IsCompletedSuccessfully);
        Assert.Equal(0, pair.Server.Connection!.Tcb.RcvWnd);
        Assert.True(pair.Client.Connection!.Tcb.SendBufferCount > 0);
        return pair;
    }
}
