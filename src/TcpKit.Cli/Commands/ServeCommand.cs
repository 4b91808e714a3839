using System.CommandLine;
using System.Globalization;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using TcpKit.Net;
using TcpKit.Net.Host;
using TcpKit.Net.Links;
using TcpKit.Tcp;
using TcpKit.Wire;
using TcpKit.Wire.Tcp;

namespace TcpKit.Cli.Commands;

/// <summary>
/// <c>tcpkit serve --tun NAME --addr 192.0.2.1/24 --port 9999</c>: a TcpKit server on a TUN interface that
/// the kernel's programs (nc, telnet, curl) connect to, printing every connection's state changes live.
/// </summary>
internal static class ServeCommand
{
    private enum Mode
    {
        Print,
        Echo,
        Discard,
        Send,
    }

    public static Command Create()
    {
        var tun = TunCommandSupport.CreateOptions();
        var port = new Option<int>("--port", "-p") { Description = "Port to listen on", DefaultValueFactory = _ => 9999 };
        var echo = new Option<bool>("--echo") { Description = "Send back everything received" };
        var discard = new Option<bool>("--discard") { Description = "Read and drop everything, then report the byte count" };
        var send = new Option<string?>("--send") { Description = "Send this file to each client, then close" };
        var backlog = new Option<int>("--backlog") { Description = "Listen backlog (SYN queue plus accept queue)", DefaultValueFactory = _ => 128 };
        var command = new Command("serve", "A TcpKit server on a Linux TUN interface: the kernel's programs (nc, telnet, curl) talk to it. Prints each connection's TCP state changes live; Ctrl+C closes the connections (TcpKit closes first) and exits.")
        {
            port, echo, discard, send, backlog,
        };
        TunCommandSupport.AddTo(command, tun);
        command.SetAction((parse, ct) =>
        {
            int modes = (parse.GetValue(echo) ? 1 : 0) + (parse.GetValue(discard) ? 1 : 0) + (parse.GetValue(send) is null ? 0 : 1);
            if (modes > 1)
            {
                return Task.FromResult(Cli.Fail("choose one of --echo, --discard and --send"));
            }

            int p = parse.GetValue(port);
            if (p is < 1 or > 65535)
            {
                return Task.FromResult(Cli.Fail("--port must be 1..65535"));
            }

            var mode = parse.GetValue(echo) ? Mode.Echo : parse.GetValue(discard) ? Mode.Discard : parse.GetValue(send) is not null ? Mode.Send : Mode.Print;
            if (!TunCommandSupport.TryReadFile(parse.GetValue(send), out var file, out int failure)
                || !TunCommandSupport.TryOpen(parse, tun, out var stack, out failure))
            {
                return Task.FromResult(failure);
            }

            return RunAsync(stack!, (ushort)p, parse.GetValue(backlog), mode, file);
        });
        return command;
    }

    private static async Task<int> RunAsync(TunStack stack, ushort port, int backlog, Mode mode, byte[]? file)
    {
        using var owned = stack;
        using var signals = new StopSignals();
        var output = Console.Out;
        var printer = new StatePrinter(output, stack.Loop);
        stack.Host.ConnectionEvent += printer.OnEvent;

        var open = new HashSet<TcpKitClient>();
        TcpKitListener listener;
        try
        {
            listener = await stack.Loop.InvokeAsync(() =>
            {
                var l = new TcpKitListener(stack.Host, port) { Config = stack.Host.Config };
                l.Start(backlog);
                return l;
            }).ConfigureAwait(false);
        }
        catch (SocketException e)
        {
            return Cli.Fail($"cannot listen on port {port}: {e.Message}");
        }

        output.WriteLine($"tcpkit serve: {TunCommandSupport.Describe(stack)}.");
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Listening on {stack.Address}:{port} ({mode.ToString().ToLowerInvariant()}). Try: nc {stack.Address} {port}   (Ctrl+C: TcpKit closes first and exits)"));
        output.Flush();

        var serving = stack.Loop.InvokeAsync(async () =>
        {
            while (true)
            {
                TcpKitClient client;
                try
                {
                    client = await listener.AcceptTcpClientAsync().ConfigureAwait(true);
                }
                catch (SocketException)
                {
                    return; // the listener was stopped
                }

                open.Add(client);
                _ = Handle(client);
            }
        });

        async Task Handle(TcpKitClient client)
        {
            var peer = client.Connection!.Key;
            string who = $"{peer.RemoteAddress}:{peer.RemotePort}";
            var stream = client.GetStream();
            var buffer = new byte[65536];
            long total = 0;
            try
            {
                if (mode == Mode.Send)
                {
                    await stream.WriteAsync(file).ConfigureAwait(true);
                    output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{printer.Stamp()}  sent {file!.Length} bytes to {who}"));
                    client.Shutdown(SocketShutdown.Send);
                }

                int n;
                while ((n = await stream.ReadAsync(buffer).ConfigureAwait(true)) > 0)
                {
                    total += n;
                    switch (mode)
                    {
                        case Mode.Print:
                            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{printer.Stamp()}  data from {who}: {Escape(buffer.AsSpan(0, n))} ({n} bytes)"));
                            break;
                        case Mode.Echo:
                            await stream.WriteAsync(buffer.AsMemory(0, n)).ConfigureAwait(true);
                            break;
                    }
                }

                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{printer.Stamp()}  {who} closed its side after {total} bytes; closing ours"));
            }
            catch (SocketException e)
            {
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{printer.Stamp()}  {who}: {e.SocketErrorCode} after {total} bytes"));
            }
            finally
            {
                client.Close();
                open.Remove(client);
            }
        }

        // Until Ctrl+C (or SIGTERM): then the server program is stopped, so TcpKit closes first.
        await signals.First.ConfigureAwait(false);
        int closing = await stack.Loop.InvokeAsync(() =>
        {
            listener.Stop();
            foreach (var c in open)
            {
                c.Close();
            }

            return open.Count;
        }).ConfigureAwait(false);
        output.WriteLine($"{printer.Stamp()}  stopping: closing {closing} connection(s); Ctrl+C again to quit at once");
        await serving.ConfigureAwait(false);
        await TunCommandSupport.WaitForClosingHandshakes(stack, signals.Second, output, printer).ConfigureAwait(false);
        TunCommandSupport.PrintLinkSummary(stack, output);
        return 0;
    }

    internal static string Escape(ReadOnlySpan<byte> data)
    {
        var sb = new StringBuilder("\"");
        foreach (byte b in data[..Math.Min(data.Length, 200)])
        {
            sb.Append(b switch
            {
                (byte)'\r' => "\\r",
                (byte)'\n' => "\\n",
                (byte)'\t' => "\\t",
                (byte)'"' => "\\\"",
                (byte)'\\' => "\\\\",
                >= 32 and < 127 => ((char)b).ToString(),
                _ => string.Create(CultureInfo.InvariantCulture, $"\\x{b:x2}"),
            });
        }

        sb.Append(data.Length > 200 ? "\"..." : "\"");
        return sb.ToString();
    }
}

/// <summary>Prints each connection's state changes (and why) as they happen, with time since start.</summary>
internal sealed class StatePrinter(TextWriter output, IEventLoop loop)
{
    private readonly Instant _start = loop.Now;

    public string Stamp() => SummaryStamp(loop.Now - _start);

    public void OnEvent(HostConnection connection, TcpEvent e)
    {
        if (e.Kind == TcpEventKind.StateChanged)
        {
            output.WriteLine($"{Stamp()}  {connection.Key}  {e.OldState.ToRfcName()} -> {e.NewState.ToRfcName()}  ({e.Cause})");
        }
        else if (e.Kind == TcpEventKind.Closed && e.Error != TcpError.None)
        {
            output.WriteLine($"{Stamp()}  {connection.Key}  closed: {e.Error}");
        }
    }

    private static string SummaryStamp(TimeSpan elapsed) => elapsed.TotalSeconds.ToString("0.000000", CultureInfo.InvariantCulture).PadLeft(11);
}

/// <summary>Ctrl+C and SIGTERM: the first asks for an orderly stop, the second for an immediate one.</summary>
internal sealed class StopSignals : IDisposable
{
    private readonly TaskCompletionSource _first = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _second = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly PosixSignalRegistration? _term;
    private readonly CancellationTokenSource _stopping = new();
    private int _count;

    public StopSignals()
    {
        Console.CancelKeyPress += OnCancelKeyPress;
        if (!OperatingSystem.IsWindows())
        {
            _term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
            {
                context.Cancel = true;
                Signal();
            });
        }
    }

    public Task First => _first.Task;

    public Task Second => _second.Task;

    /// <summary>Cancelled at the first signal.</summary>
    public CancellationToken Stopping => _stopping.Token;

    /// <summary>Stops as if interrupted (the program's own end, e.g. when the peer closed).</summary>
    public void Signal()
    {
        if (Interlocked.Increment(ref _count) == 1)
        {
            _first.TrySetResult();
            _stopping.Cancel();
        }
        else
        {
            _second.TrySetResult();
        }
    }

    public void Dispose()
    {
        Console.CancelKeyPress -= OnCancelKeyPress;
        _term?.Dispose();
    }

    private void OnCancelKeyPress(object? sender, ConsoleCancelEventArgs e)
    {
        // The first Ctrl+C closes connections in an orderly way; the process exits once they are done.
        e.Cancel = _count == 0;
        Signal();
    }
}
