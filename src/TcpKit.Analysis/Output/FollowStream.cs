using System.Globalization;
using System.Text;
using TcpKit.Analysis.Fields;
using TcpKit.Wire;
using TcpKit.Wire.Tcp;

namespace TcpKit.Analysis.Output;

/// <summary>
/// Reassembles the payload of one TCP stream in delivery order, the way tshark's <c>-z follow,tcp,FORMAT,N</c>
/// does: out-of-order segments are held until the gap fills, overlapping retransmissions contribute only their
/// new bytes, and a gap the receiver acknowledged becomes "[N bytes missing in capture file]".
/// Output formats: ascii, hex, raw.
/// </summary>
public sealed class FollowStream
{
    private readonly int _stream;
    private readonly List<Record> _records = [];
    private readonly List<Record>[] _pending = [[], []];
    private readonly uint[] _next = new uint[2];
    private readonly long[] _written = new long[2];
    private bool _haveClient;
    private IpAddress _clientAddress;
    private ushort _clientPort;
    private IpAddress _serverAddress;
    private ushort _serverPort;

    public FollowStream(int stream) => _stream = stream;

    /// <summary>One delivered chunk: who sent it, the frame it came from, its bytes.</summary>
    public sealed record Record(bool FromServer, long Frame, uint Seq, byte[] Data);

    public IReadOnlyList<Record> Records => _records;

    /// <summary>Feeds a frame; frames of other streams are ignored.</summary>
    public void Observe(in FieldContext c)
    {
        if (!c.HasTcp || c.Analysis.Conversation.StreamIndex != _stream)
        {
            return;
        }

        var p = c.Decoded;
        var a = c.Analysis;
        uint sequence = a.RelativeSeq + ((p.Flags & TcpFlags.Syn) != 0 ? 1u : 0u);
        uint length = (uint)a.Length;
        var payload = p.GetTcpPayload(c.Frame);
        if (!_haveClient)
        {
            _haveClient = true;
            _clientAddress = p.Source;
            _clientPort = p.SourcePort;
            _serverAddress = p.Destination;
            _serverPort = p.DestinationPort;
        }

        int side = p.Source == _clientAddress && p.SourcePort == _clientPort ? 0 : 1;

        // This frame's ACK may release held segments of the other direction (bytes the receiver got but the capture missed).
        if (_pending[1 - side].Count > 0)
        {
            while (CheckPending(1 - side, a.RelativeAck, c.Number, useAck: true))
            {
            }
        }

        if (_written[side] == 0 && _next[side] == 0)
        {
            _next[side] = sequence;
        }

        int offset = 0;
        int dataLength = payload.Length;
        if (new SeqNum(sequence) < new SeqNum(_next[side]))
        {
            uint nextseq = sequence + length;
            if (new SeqNum(nextseq) > new SeqNum(_next[side]))
            {
                // A retransmission carrying more than was seen: keep only the new bytes.
                offset = (int)(_next[side] - sequence);
                dataLength = dataLength <= offset ? 0 : dataLength - offset;
                length = nextseq - _next[side];
                sequence = _next[side];
            }
        }

        if (dataLength == 0 || new SeqNum(sequence) < new SeqNum(_next[side]))
        {
            return;
        }

        var record = new Record(side == 1, c.Number, sequence, payload.Slice(offset, dataLength).ToArray());
        if (sequence == _next[side])
        {
            _next[side] += length;
            _written[side] += record.Data.Length;
            _records.Add(record);
            while (CheckPending(side, 0, c.Number, useAck: false))
            {
            }
        }
        else
        {
            _pending[side].Add(record);
        }
    }

    private bool CheckPending(int side, uint acknowledged, long frame, bool useAck)
    {
        var list = _pending[side];
        if (list.Count == 0)
        {
            return false;
        }

        uint lowest = list[0].Seq;
        for (int i = 0; i < list.Count; i++)
        {
            var f = list[i];
            if (new SeqNum(lowest) > new SeqNum(f.Seq))
            {
                lowest = f.Seq;
            }

            if (new SeqNum(f.Seq) < new SeqNum(_next[side]))
            {
                uint end = f.Seq + (uint)f.Data.Length;
                if (new SeqNum(end) > new SeqNum(_next[side]))
                {
                    int newPos = (int)(_next[side] - f.Seq);
                    if (f.Data.Length > newPos)
                    {
                        int size = f.Data.Length - newPos;
                        _records.Add(new Record(side == 1, f.Frame, _next[side] + (uint)size, f.Data[newPos..]));
                    }

                    _next[side] += (uint)(f.Data.Length - newPos);
                }

                list.RemoveAt(i);
                return true;
            }

            if (f.Seq == _next[side])
            {
                if (f.Data.Length > 0)
                {
                    _records.Add(f);
                }

                _next[side] += (uint)f.Data.Length;
                list.RemoveAt(i);
                return true;
            }
        }

        if (useAck && new SeqNum(acknowledged) > new SeqNum(lowest))
        {
            // The receiver acknowledged bytes that never appear in the capture.
            var text = string.Create(CultureInfo.InvariantCulture, $"[{(int)(lowest - _next[side])} bytes missing in capture file]");
            var bytes = new byte[text.Length + 1];
            Encoding.ASCII.GetBytes(text, bytes);
            _records.Add(new Record(side == 1, frame, lowest, bytes));
            _next[side] = lowest;
            return true;
        }

        return false;
    }

    /// <summary>The report, exactly as tshark prints it for <paramref name="format"/> (ascii, hex or raw).</summary>
    public string Format(string format)
    {
        const string separator = "===================================================================\n";
        var sb = new StringBuilder();
        sb.Append('\n').Append(separator);
        sb.Append("Follow: tcp,").Append(format).Append('\n');
        sb.Append("Filter: tcp.stream eq ").Append(_stream.ToString(CultureInfo.InvariantCulture)).Append('\n');
        sb.Append("Node 0: ").Append(Node(_clientAddress, _clientPort)).Append('\n');
        sb.Append("Node 1: ").Append(Node(_serverAddress, _serverPort)).Append('\n');
        uint clientPos = 0, serverPos = 0;
        foreach (var r in _records)
        {
            string prefix = r.FromServer ? "\t" : "";
            switch (format)
            {
                case "ascii":
                    sb.Append(prefix).Append(r.Data.Length.ToString(CultureInfo.InvariantCulture)).Append('\n');
                    foreach (byte b in r.Data)
                    {
                        sb.Append(b is (byte)'\r' or (byte)'\n' or (>= 0x20 and < 0x7F) ? (char)b : '.');
                    }

                    sb.Append('\n');
                    break;
                case "raw":
                    sb.Append(prefix).Append(Convert.ToHexStringLower(r.Data)).Append('\n');
                    break;
                case "hex":
                    ref uint pos = ref r.FromServer ? ref serverPos : ref clientPos;
                    AppendHex(sb, prefix, pos, r.Data);
                    pos += (uint)r.Data.Length;
                    break;
                default:
                    throw new ArgumentException($"unknown follow format \"{format}\" (ascii, hex, raw)", nameof(format));
            }
        }

        sb.Append(separator);
        return sb.ToString();
    }

    /// <summary>16 bytes a line: 8-digit hex offset, hex bytes with a gap after the eighth, then the printable text.</summary>
    private static void AppendHex(StringBuilder sb, string prefix, uint offset, byte[] data)
    {
        for (int start = 0; start < data.Length; start += 16)
        {
            int n = Math.Min(16, data.Length - start);
            sb.Append(prefix).Append((offset + (uint)start).ToString("X8", CultureInfo.InvariantCulture)).Append("  ");
            var hex = new StringBuilder(50);
            var text = new StringBuilder(17);
            for (int i = 0; i < n; i++)
            {
                byte b = data[start + i];
                hex.Append(b.ToString("x2", CultureInfo.InvariantCulture)).Append(' ');
                text.Append(b is >= 0x20 and < 0x7F ? (char)b : '.');
                if (i == 7)
                {
                    hex.Append(' ');
                    text.Append(' ');
                }
            }

            sb.Append(hex.ToString().PadRight(50));
            if (text.Length > 0 && text[^1] == ' ')
            {
                text.Length--;
            }

            sb.Append(text).Append('\n');
        }
    }

    private string Node(IpAddress address, ushort port)
    {
        if (!_haveClient)
        {
            return ":0";
        }

        return address.IsIPv6
            ? "[" + address + "]:" + port.ToString(CultureInfo.InvariantCulture)
            : address + ":" + port.ToString(CultureInfo.InvariantCulture);
    }
}
