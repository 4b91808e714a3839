using System.CommandLine;
using System.Globalization;
using System.Net.Sockets;
using TcpKit.Net;
using TcpKit.Net.Links;
using TcpKit.Wire;

namespace TcpKit.Cli.Commands;

/// <summary>
/// <c>tcpkit connect --tun NAME --addr 192.0.2.1/24 HOST PORT</c>: a TcpKit client on a TUN interface that
/// connects to a kernel program (nc -l, a web server); typed lines are sent, received bytes printed.
/// State changes and status go to stderr so stdout carries only the received data.
/// </summary>
internal static class ConnectCommand
{
    public static Command Create()
    {
        var tun = TunCommandSupport.CreateOptions();
        var host = new Argument<string>("HOST") { Description = "Address to connect to, usually the kernel's (--kernel-addr)" };
        var port = new Argument<int>("PORT") { Description = "Port to connect to" };
        var send = new Option<string?>("--send") { Description = "Send this file, half-close, print what comes back until the server closes" };
        var interactive = new Option<bool>("--interactive", "-i") { Description = "Send each line typed on stdin (the default without --send); end of input half-closes" };
        var command = new Command("connect", "A TcpKit client on a Linux TUN interface talking to a kernel program (nc -l, a web server), printing its TCP state changes live")
        {
            host, port, send, interactive,
        };
        TunCommandSupport.AddTo(command, tun);
        command.SetAction((parse, ct) =>
        {
            if (parse.GetValue(send) is not null && parse.GetValue(interactive))
            {
                return Task.FromResult(Cli.Fail("choose --send or --interactive"));
            }

            if (!IpAddress.TryParse(parse.GetValue(host), out var remote))
            {
                return Task.FromResult(Cli.Fail($"'{parse.GetValue(host)}' is not an IPv4 or IPv6 address"));
            }

            int p = parse.GetValue(port);
            if (p is < 1 or > 65535)
            {
                return Task.FromResult(Cli.Fail("PORT must be 1..65535"));
            }

            if (!TunCommandSupport.TryReadFile(parse.GetValue(send), out var file, out int failure)
                || !TunCommandSupport.TryOpen(parse, tun, out var stack, out failure))
            {
                return Task.FromResult(failure);
            }

            return RunAsync(stack!, remote, p, file);
        });
        return command;
    }

    private static async Task<int> RunAsync(TunStack stack, IpAddress remote, int port, byte[]? file)
    {
        using var owned = stack;
        using var signals = new StopSignals();
        var status = Console.Error;
        var printer = new StatePrinter(status, stack.Loop);
        stack.Host.ConnectionEvent += printer.OnEvent;
        status.WriteLine($"tcpkit connect: {TunCommandSupport.Describe(stack)}; connecting to {remote}:{port}");
        if (remote.IsIPv4 != stack.Address.IsIPv4)
        {
            return Cli.Fail($"{remote} and TcpKit's address {stack.Address} are not the same IP version");
        }

        TcpKitClient client;
        try
        {
            client = await stack.Loop.InvokeAsync(async () =>
            {
                var c = new TcpKitClient(stack.Host) { Config = stack.Host.Config };
                await c.ConnectAsync(remote, port, signals.Stopping).ConfigureAwait(true);
                return c;
            }).ConfigureAwait(false);
        }
        catch (SocketException e)
        {
            TunCommandSupport.PrintLinkSummary(stack, status);
            return Cli.Fail($"cannot connect to {remote}:{port}: {e.Message}");
        }
        catch (OperationCanceledException)
        {
            return Cli.Fail("interrupted while connecting");
        }

        // Everything the server sends goes to stdout as it arrives, until it closes its side.
        long received = 0;
        var stdout = Console.OpenStandardOutput();
        var reading = stack.Loop.InvokeAsync(async () =>
        {
            var buffer = new byte[65536];
            var stream = client.GetStream();
            try
            {
                int n;
                while ((n = await stream.ReadAsync(buffer).ConfigureAwait(true)) > 0)
                {
                    received += n;
                    stdout.Write(buffer, 0, n);
                    stdout.Flush();
                }

                status.WriteLine($"{printer.Stamp()}  the server closed its side after {received} bytes");
            }
            catch (SocketException e)
            {
                status.WriteLine($"{printer.Stamp()}  {e.SocketErrorCode} after {received} bytes");
            }
        });

        if (file is not null)
        {
            await stack.Loop.InvokeAsync(async () =>
            {
                await client.GetStream().WriteAsync(file).ConfigureAwait(true);
                client.Shutdown(SocketShutdown.Send);
            }).ConfigureAwait(false);
            status.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{printer.Stamp()}  sent {file.Length} bytes and half-closed"));
        }
        else
        {
            // stdin blocks, so it is read off the loop; each line is handed to the loop to send.
            _ = Task.Run(async () =>
            {
                string? line;
                while ((line = await Console.In.ReadLineAsync().ConfigureAwait(false)) is not null)
                {
                    var bytes = System.Text.Encoding.UTF8.GetBytes(line + "\n");
                    await stack.Loop.InvokeAsync(async () => await client.GetStream().WriteAsync(bytes).ConfigureAwait(true)).ConfigureAwait(false);
                }

                await stack.Loop.InvokeAsync(() => client.Shutdown(SocketShutdown.Send)).ConfigureAwait(false);
            });
        }

        await Task.WhenAny(reading, signals.First).ConfigureAwait(false);
        await stack.Loop.InvokeAsync(client.Close).ConfigureAwait(false);
        await TunCommandSupport.WaitForClosingHandshakes(stack, signals.Second, status, printer).ConfigureAwait(false);
        TunCommandSupport.PrintLinkSummary(stack, status);
        return 0;
    }
}
