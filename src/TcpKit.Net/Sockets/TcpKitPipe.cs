using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using TcpKit.Net.Host;
using TcpKit.Tcp;
using TcpKit.Wire.Tcp;

namespace TcpKit.Net;

/// <summary>
/// A connection as an <see cref="IDuplexPipe"/>, built as Kestrel's socket transport is: two
/// <see cref="Pipe"/>s and two pumps on the host's loop. The receive pump reads TCP into Input's rented
/// segments and stops reading while Input holds its pause threshold (the TCB's buffer then fills and the
/// advertised window closes); the send pump hands Output's segments to TCP and, while TCP's send buffer is
/// full, leaves them in Output, whose FlushAsync then waits at its pause threshold. Each byte is copied
/// once each way, as through the Stream; a quiet connection holds no pooled segment (the receive pump waits on
/// a one-byte buffer of its own). Neither pump ever ends with an exception: connection errors go to the
/// pipes' completion.
/// </summary>
internal sealed class TcpKitPipe : IDuplexPipe
{
    private readonly HostConnection _connection;
    private readonly Pipe _receive; // connection -> application (Input)
    private readonly Pipe _send; // application -> connection (Output)
    private readonly int _readSize;
    private readonly byte[] _wake = new byte[1];
    private FinRequest _finRequested;
    private bool _sendDone;

    public TcpKitPipe(HostConnection connection, TcpKitPipeOptions options)
    {
        options.Validate();
        _connection = connection;
        _readSize = options.MinimumSegmentSize;
        // Inline schedulers with the synchronization context: every continuation resumes on the loop it was
        // awaited from (the loop posts it), never on a thread pool thread.
        _receive = new Pipe(new PipeOptions(
            options.Pool, PipeScheduler.Inline, PipeScheduler.Inline, options.InputPauseThreshold, options.InputResumeThreshold, options.MinimumSegmentSize, useSynchronizationContext: true));
        _send = new Pipe(new PipeOptions(
            options.Pool, PipeScheduler.Inline, PipeScheduler.Inline, options.OutputPauseThreshold, options.OutputResumeThreshold, options.MinimumSegmentSize, useSynchronizationContext: true));

        // The pumps capture the loop's context whatever the caller's, so they always resume on the loop.
        var previous = SynchronizationContext.Current;
        SynchronizationContext.SetSynchronizationContext(connection.Host.Loop.Context);
        try
        {
            Receiving = ReceiveAsync();
            Sending = SendAsync();
        }
        finally
        {
            SynchronizationContext.SetSynchronizationContext(previous);
        }
    }

    public PipeReader Input => _receive.Reader;

    public PipeWriter Output => _send.Writer;

    /// <summary>The receive pump; completes (never faults) once it stopped reading from the connection.</summary>
    internal Task Receiving { get; }

    /// <summary>The send pump; completes (never faults) once it stopped writing to the connection.</summary>
    internal Task Sending { get; }

    /// <summary>Orderly close: the FIN goes after what the application already flushed to Output.</summary>
    public void Close() => RequestFin(FinRequest.Close);

    /// <summary>Half-close: the FIN goes after what the application already flushed to Output; Input goes on.</summary>
    public void Shutdown() => RequestFin(FinRequest.Shutdown);

    private void RequestFin(FinRequest request)
    {
        if (_sendDone)
        {
            SendFin(request);
            return;
        }

        // The send pump sends the FIN once it has handed over what Output holds.
        if (request > _finRequested)
        {
            _finRequested = request;
        }

        _send.Reader.CancelPendingRead();
    }

    /// <summary>The connection was aborted: the send pump stops waiting for Output.</summary>
    public void OnAborted()
    {
        if (!_sendDone)
        {
            _send.Reader.CancelPendingRead();
        }
    }

    private async Task ReceiveAsync()
    {
        var writer = _receive.Writer;
        Exception? error = null;
        try
        {
            while (true)
            {
                if (_connection.Engine.BytesAvailable == 0)
                {
                    // Quiet connection: wait with a one-byte buffer of our own, so that an idle pipe holds no pooled
                    // segment (Kestrel's "wait for data before allocating a buffer").
                    int first = await _connection.ReadAsync(_wake).ConfigureAwait(true);
                    if (first == 0)
                    {
                        break; // the peer's FIN, or the connection ended without an error to report (a local abort)
                    }

                    writer.GetSpan(1)[0] = _wake[0];
                    writer.Advance(1);
                }

                if (_connection.Engine.BytesAvailable > 0)
                {
                    // Bytes are there: this read completes at once, into a rented segment.
                    Memory<byte> buffer = writer.GetMemory(_readSize);
                    int n = await _connection.ReadAsync(buffer).ConfigureAwait(true);
                    writer.Advance(n);
                }

                // Waits while Input holds its pause threshold: nothing is read from TCP meanwhile, so the TCB's
                // receive buffer fills and the window it advertises closes (RFC 9293 section 3.8.6).
                FlushResult flush = await writer.FlushAsync().ConfigureAwait(true);
                if (flush.IsCompleted)
                {
                    break; // the application completed Input: it reads no more
                }
            }
        }
        catch (Exception e)
        {
            error = e; // the connection was reset or timed out: Input's reader gets the SocketException
        }

        await writer.CompleteAsync(error).ConfigureAwait(true);
        if (_connection.State == TcpState.Closed)
        {
            OnAborted(); // the connection is gone: an idle send pump need not wait for Output any longer
        }
    }

    private async Task SendAsync()
    {
        var reader = _send.Reader;
        Exception? error = null;
        try
        {
            while (true)
            {
                ReadResult result;
                try
                {
                    result = await reader.ReadAsync().ConfigureAwait(true);
                }
                catch (Exception)
                {
                    // The application completed Output with an exception: abortive close (RST).
                    _connection.Abort();
                    break;
                }

                if (_connection.State == TcpState.Closed)
                {
                    reader.AdvanceTo(result.Buffer.End);
                    error = ClosedError();
                    break;
                }

                await WriteAllAsync(reader, result.Buffer).ConfigureAwait(true);
                if (_finRequested != FinRequest.None)
                {
                    // Close or Shutdown: what the application flushed before goes first, then the FIN.
                    while (reader.TryRead(out result) && !result.Buffer.IsEmpty)
                    {
                        await WriteAllAsync(reader, result.Buffer).ConfigureAwait(true);
                    }

                    SendFin(_finRequested);
                    break;
                }

                if (result.IsCompleted)
                {
                    SendFin(FinRequest.Shutdown); // Output.Complete(): half-close, Input goes on
                    break;
                }
            }
        }
        catch (SocketException e)
        {
            error = _connection.Engine.Error == TcpError.Aborted ? null : e; // a local abort is no error to the writer
        }
        catch (Exception e)
        {
            error = e;
        }

        _sendDone = true;
        await reader.CompleteAsync(error).ConfigureAwait(true);
        if (_finRequested == FinRequest.Close && _connection.State != TcpState.Closed)
        {
            _connection.Close(); // Close came while the send side was failing: close anyway
        }
    }

    /// <summary>Hands <paramref name="buffer"/> to TCP, waiting for send-buffer space as needed, then releases it from Output.</summary>
    private async ValueTask WriteAllAsync(PipeReader reader, ReadOnlySequence<byte> buffer)
    {
        try
        {
            foreach (var segment in buffer)
            {
                await _connection.WriteAsync(segment).ConfigureAwait(true);
            }
        }
        finally
        {
            reader.AdvanceTo(buffer.End);
        }
    }

    private void SendFin(FinRequest request)
    {
        if (request == FinRequest.Close)
        {
            _connection.Close();
        }
        else
        {
            _connection.Shutdown();
        }
    }

    /// <summary>What a writer learns when the connection ended under it: nothing after a local abort, the error otherwise.</summary>
    private SocketException? ClosedError() => _connection.Engine.Error is TcpError.None or TcpError.Aborted
        ? null
        : HostConnection.ErrorFor(_connection.Engine.Error, connecting: false);

    private enum FinRequest
    {
        None,
        Shutdown,
        Close,
    }
}
