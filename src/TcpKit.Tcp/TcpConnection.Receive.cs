using TcpKit.Wire;
using TcpKit.Wire.Tcp;

namespace TcpKit.Tcp;

/// <summary>The receive path: RFC 9293 section 3.10.7 "SEGMENT ARRIVES", in the RFC's order.</summary>
public sealed partial class TcpConnection
{
    /// <summary>SEGMENT ARRIVES (3.10.7). The header must already have passed the checksum (host stack).</summary>
    public void OnSegment(in TcpHeader seg, ReadOnlySpan<byte> payload, Instant now)
    {
        _now = now;
        SegmentsInCount++;
        BytesInCount += payload.Length;
        _cause = TransitionCause.FromSegment(new SegmentSummary(seg.Flags, seg.Seq, seg.Ack, payload.Length, seg.Window));

        if (seg.DestinationPort != LocalPort || (State is not (TcpState.Listen or TcpState.Closed) && seg.SourcePort != RemotePort))
        {
            Stats.Drop(DropReason.WrongPort);
            return;
        }

        switch (State)
        {
            case TcpState.Closed:
                OnSegmentClosed(seg, payload.Length);
                break;
            case TcpState.Listen:
                OnSegmentListen(seg, payload);
                break;
            case TcpState.SynSent:
                OnSegmentSynSent(seg, payload, now);
                break;
            default:
                OnSegmentSynchronized(seg, payload, now);
                break;
        }

    }

    // 3.10.7.1: CLOSED. Data is discarded; anything but a RST is answered with a RST.
    private void OnSegmentClosed(in TcpHeader seg, int payloadLength)
    {
        Stats.Drop(DropReason.Closed);
        if (MakeResetFor(seg, payloadLength, out TcpHeader rst))
        {
            EnqueueControl(rst);
        }
    }

    // 3.10.7.2: LISTEN.
    private void OnSegmentListen(in TcpHeader seg, ReadOnlySpan<byte> payload)
    {
        // 3.10.7.2 first: an incoming RST is ignored.
        if (seg.Has(TcpFlags.Rst))
        {
            Stats.Drop(DropReason.RstIgnored);
            return;
        }

        // 3.10.7.2 second: any ACK is bad in LISTEN: <SEQ=SEG.ACK><CTL=RST>.
        if (seg.Has(TcpFlags.Ack))
        {
            Stats.Drop(DropReason.BadAckInHandshake);
            EnqueueControl(new TcpHeader { SourcePort = LocalPort, DestinationPort = seg.SourcePort, Seq = seg.Ack, Flags = TcpFlags.Rst });
            return;
        }

        // 3.10.7.2 third: SYN. (Security/compartment checks do not apply: no IP security options are used.)
        if (seg.Has(TcpFlags.Syn))
        {
            RemotePort = seg.SourcePort;
            Irs = seg.Seq;
            RcvNxt = seg.Seq + 1;
            ApplySynOptions(seg.Options);
            OpenReceiveWindow();
            SndWnd = seg.Window; // A SYN's window is never scaled (RFC 7323 section 2.2).
            _maxSndWnd = SndWnd;
            SndWl1 = seg.Seq;
            SndUna = Iss;
            _sendNext = Iss;
            _sndMax = Iss;
            _synPending = true;
            if (payload.Length > 0)
            {
                // Text on a SYN is not queued (as in Linux without TFO): it is not acknowledged, so the peer resends it.
                Stats.Drop(DropReason.DataOnSyn);
            }

            SetState(TcpState.SynReceived);
            return;
        }

        // 3.10.7.2 fourth: other text or control: drop.
        Stats.Drop(DropReason.NoSyn);
    }

    // 3.10.7.3: SYN-SENT.
    private void OnSegmentSynSent(in TcpHeader seg, ReadOnlySpan<byte> payload, Instant now)
    {
        // 3.10.7.3 first: check the ACK bit.
        if (seg.Has(TcpFlags.Ack) && (seg.Ack <= Iss || seg.Ack > _sndMax))
        {
            Stats.Drop(DropReason.BadAckInHandshake);
            if (!seg.Has(TcpFlags.Rst))
            {
                EnqueueControl(new TcpHeader { SourcePort = LocalPort, DestinationPort = RemotePort, Seq = seg.Ack, Flags = TcpFlags.Rst });
            }

            return;
        }

        bool ackAcceptable = seg.Has(TcpFlags.Ack); // SND.UNA < SEG.ACK =< SND.NXT was just checked.

        // 3.10.7.3 second: check the RST bit. Acceptable only if it acknowledges our SYN (RFC 5961 section 3.2).
        if (seg.Has(TcpFlags.Rst))
        {
            if (ackAcceptable)
            {
                _sendBuffer.Clear();
                Terminate(TcpError.Refused);
            }
            else
            {
                Stats.Drop(DropReason.RstIgnored);
            }

            return;
        }

        // 3.10.7.3 third: security (not applicable).

        // 3.10.7.3 fourth: check the SYN bit.
        if (!seg.Has(TcpFlags.Syn))
        {
            // 3.10.7.3 fifth: neither SYN nor RST: drop.
            Stats.Drop(DropReason.NoSyn);
            return;
        }

        Irs = seg.Seq;
        RcvNxt = seg.Seq + 1;
        ApplySynOptions(seg.Options);
        OpenReceiveWindow();
        SndWnd = seg.Window;
        _maxSndWnd = SndWnd;
        SndWl1 = seg.Seq;
        SndWl2 = seg.Ack;

        if (ackAcceptable)
        {
            SndUna = seg.Ack;
            SampleRtt(seg.Ack, now);
            _timers.Cancel(TimerKind.Retransmission);
            _timers.Cancel(TimerKind.UserTimeout);

            // Our SYN is acknowledged: ESTABLISHED, and <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>.
            OnEstablished(now);
            _ackNow = true;

            // "If there are other controls or text in the segment, continue processing at the sixth step".
            TcpFlags rest = seg.Flags & ~TcpFlags.Syn;
            ProcessUrgTextFin(seg, rest, seg.Seq + 1, payload, now);
            return;
        }

        // Simultaneous open: SYN-RECEIVED, and <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>.
        _synPending = true;
        if (payload.Length > 0)
        {
            Stats.Drop(DropReason.DataOnSyn);
        }

        SetState(TcpState.SynReceived);
    }

    // 3.10.7.4: SYN-RECEIVED, ESTABLISHED, FIN-WAIT-1/2, CLOSE-WAIT, CLOSING, LAST-ACK, TIME-WAIT.
    private void OnSegmentSynchronized(in TcpHeader seg, ReadOnlySpan<byte> payload, Instant now)
    {
        TcpFlags flags = seg.Flags;
        SeqNum seq = seg.Seq;

        if (State == TcpState.SynReceived && seq == Irs && (flags & TcpFlags.Syn) != 0)
        {
            if ((flags & TcpFlags.Ack) == 0)
            {
                // A retransmission of the SYN we answered: our SYN-ACK was probably lost, send it again.
                _synPending = true;
                _synIsRetransmission = true;
                return;
            }

            // Simultaneous open: the peer's SYN-ACK repeats the SYN we already took; only its ACK is new
            // (the old part of a segment is ignored, 3.10.7.4 "straddle" rule), so process it without the SYN.
            flags &= ~TcpFlags.Syn;
            seq += 1;
        }

        bool syn = (flags & TcpFlags.Syn) != 0;
        bool fin = (flags & TcpFlags.Fin) != 0;
        int segLen = payload.Length + (syn ? 1 : 0) + (fin ? 1 : 0);
        int rcvWnd = RcvWnd;

        // 3.10.7.4 first: check the sequence number (the four cases of the acceptability test).
        if (!IsAcceptable(seq, segLen, RcvNxt, rcvWnd))
        {
            bool zeroWindowProbe = rcvWnd == 0 && segLen > 0 && seq == RcvNxt;
            if (!zeroWindowProbe)
            {
                Stats.Drop(DropReason.NotAcceptable);
                if ((flags & (TcpFlags.Rst | TcpFlags.Syn)) == TcpFlags.Syn && State != TcpState.TimeWait)
                {
                    // RFC 5961 section 4.2: a SYN in a synchronized state, in window or not, gets a rate-limited challenge ACK.
                    SendChallengeAck(now);
                }
                else if ((flags & TcpFlags.Rst) == 0)
                {
                    // <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>
                    _ackNow = true;
                    if (State == TcpState.TimeWait && fin && seq + segLen == RcvNxt)
                    {
                        // A retransmitted FIN in TIME-WAIT: acknowledge it and restart the 2 MSL timeout.
                        _timers.Set(TimerKind.TimeWait, now + _config.TimeWaitDuration);
                    }
                }

                return;
            }

            // RCV.WND is zero: text is not acceptable, but valid ACKs, URGs and RSTs are processed (3.10.7.4).
            _ackNow = true;
            Stats.Drop(DropReason.NotAcceptable);
            payload = default;
            flags &= ~TcpFlags.Fin;
            fin = false;
        }

        // Keep only the part of the text inside the window: drop old bytes at the front, beyond-window bytes at the end.
        SeqNum dataSeq = seq + (syn ? 1 : 0);
        if (dataSeq < RcvNxt && payload.Length > 0)
        {
            int old = Math.Min(RcvNxt - dataSeq, payload.Length);
            payload = payload[old..];
            dataSeq += old;
            Stats.Drop(DropReason.DuplicateData);
        }

        SeqNum windowEnd = RcvNxt + rcvWnd;
        if (dataSeq + payload.Length > windowEnd)
        {
            payload = payload[..Math.Max(0, windowEnd - dataSeq)];
            flags &= ~TcpFlags.Fin; // The FIN lies beyond the window.
        }

        if (IsSynchronized)
        {
            RestartKeepalive(now);
        }

        // 3.10.7.4 second: check the RST bit (RFC 5961 section 3.2: only an exact match resets).
        if ((flags & TcpFlags.Rst) != 0)
        {
            if (seq != RcvNxt)
            {
                Stats.Drop(DropReason.RstIgnored);
                SendChallengeAck(now);
                return;
            }

            if (State == TcpState.SynReceived)
            {
                if (_passiveOpen)
                {
                    ReturnToListen();
                }
                else
                {
                    _sendBuffer.Clear();
                    Terminate(TcpError.Refused);
                }

                return;
            }

            // ESTABLISHED, FIN-WAIT-1/2, CLOSE-WAIT: "connection reset"; CLOSING, LAST-ACK, TIME-WAIT: delete the TCB.
            // In TIME-WAIT both FINs were already exchanged, so the close stays orderly (TcpError.None); the
            // RST only cuts the 2 MSL wait short (the hazard RFC 1337 describes).
            _sendBuffer.Clear();
            Terminate(State == TcpState.TimeWait ? TcpError.None : TcpError.Reset);
            return;
        }

        // 3.10.7.4 third: security (not applicable).

        // 3.10.7.4 fourth: check the SYN bit.
        if (syn)
        {
            if (State == TcpState.SynReceived && _passiveOpen)
            {
                ReturnToListen();
                return;
            }

            // RFC 5961 section 4: any SYN in a synchronized state gets a challenge ACK, whatever its sequence number.
            Stats.Drop(DropReason.SynInSynchronizedState);
            SendChallengeAck(now);
            return;
        }

        // 3.10.7.4 fifth: check the ACK field.
        if ((flags & TcpFlags.Ack) == 0)
        {
            Stats.Drop(DropReason.NoAck);
            return;
        }

        if (State == TcpState.SynReceived)
        {
            if (!(SndUna < seg.Ack && seg.Ack <= _sndMax))
            {
                // <SEQ=SEG.ACK><CTL=RST>
                Stats.Drop(DropReason.BadAckInHandshake);
                EnqueueControl(new TcpHeader { SourcePort = LocalPort, DestinationPort = RemotePort, Seq = seg.Ack, Flags = TcpFlags.Rst });
                return;
            }

            SndWnd = seg.Window << _negotiated.SendWindowShift;
            _maxSndWnd = Math.Max(_maxSndWnd, SndWnd);
            SndWl1 = seq;
            SndWl2 = seg.Ack;
            OnEstablished(now);
        }

        if (!ProcessAck(seg, seq, payload.Length, flags, now))
        {
            return;
        }

        ProcessUrgTextFin(seg, flags, dataSeq, payload, now);
    }

    /// <summary>3.10.7.4 fifth step for ESTABLISHED and the closing states. Returns false when processing stops.</summary>
    private bool ProcessAck(in TcpHeader seg, SeqNum seq, int payloadLength, TcpFlags flags, Instant now)
    {
        SeqNum ack = seg.Ack;

        // RFC 5961 section 5.2: acceptable ACKs lie in [SND.UNA - MAX.SND.WND, SND.NXT]; others get an ACK and are dropped.
        if (ack > _sndMax || ack < SndUna - _maxSndWnd)
        {
            Stats.Drop(DropReason.AckOutOfRange);
            _ackNow = true;
            return false;
        }

        int window = seg.Window << _negotiated.SendWindowShift;
        if (ack > SndUna)
        {
            int flightBefore = _sndMax - SndUna;
            int dataAcked = Math.Clamp(ack - _sendBufferSeq, 0, _sendBuffer.Count);
            _sendBuffer.Drop(dataAcked);
            _sendBuffer.Release(); // everything acknowledged: an idle connection holds no send ring
            if (_sendBuffer.Capacity > _sendBuffer.Limit)
            {
                _sendBuffer.Resize(_sendBuffer.Limit); // a smaller size waited for queued bytes to be acknowledged
            }

            _sendBufferSeq += dataAcked;
            SndUna = ack;
            if (_sendNext < SndUna)
            {
                _sendNext = SndUna;
            }

            TimeSpan? sample = SampleRtt(ack, now);
            _rto.ResetBackoff();
            _retries = 0;

            // RFC 6298 (5.2) and (5.3).
            _timers.Cancel(TimerKind.Retransmission);
            _timers.Cancel(TimerKind.UserTimeout);
            if (SndUna != _sndMax && _sendNext > SndUna)
            {
                _timers.Set(TimerKind.Retransmission, now + _rto.Rto);
                if (_config.UserTimeout is TimeSpan ut)
                {
                    _timers.Set(TimerKind.UserTimeout, now + ut);
                }
            }

            // Congestion control counts data bytes (RFC 5681), not the sequence numbers of SYN and FIN.
            CongestionAction action = CongestionControl.OnAck(new AckEvent(now, ack, dataAcked, 0, false, flightBefore, _sndMax, sample));
            if (action != CongestionAction.None)
            {
                _retransmitHead = true;
            }

            if (_writeBlocked && _sendBuffer.Space > 0)
            {
                _writeBlocked = false;
                Emit(new TcpEvent(TcpEventKind.Writable, State, State, _cause, TcpError.None));
            }
        }
        else if (ack == SndUna && payloadLength == 0 && (flags & (TcpFlags.Syn | TcpFlags.Fin)) == 0 && window == SndWnd && window > 0 && _sndMax > SndUna)
        {
            // A duplicate ACK in the sense of RFC 5681 section 2. Answers to zero-window probes (window 0)
            // are not: they say the window is still closed, not that a segment was lost.
            Stats.DuplicateAcksReceived++;
            CongestionAction action = CongestionControl.OnAck(new AckEvent(now, ack, 0, 0, true, _sndMax - SndUna, _sndMax, null));
            if (action == CongestionAction.FastRetransmit)
            {
                Stats.FastRetransmits++;
                _retransmitHead = true;
            }
        }

        // Send window update, only from a segment newer than the last one used (SND.WL1, SND.WL2).
        if (SndUna <= ack && (SndWl1 < seq || (SndWl1 == seq && SndWl2 <= ack)))
        {
            SndWnd = window;
            SndWl1 = seq;
            SndWl2 = ack;
            if (window > _maxSndWnd)
            {
                _maxSndWnd = window;
            }

            if (window > 0)
            {
                _timers.Cancel(TimerKind.Persist);
                _persistBackoff = 0;
            }
        }

        switch (State)
        {
            case TcpState.FinWait1 when FinAcked:
                SetState(TcpState.FinWait2);
                break;
            case TcpState.Closing when FinAcked:
                SetState(TcpState.TimeWait);
                break;
            case TcpState.Closing:
                return false; // "otherwise ignore the segment"
            case TcpState.LastAck when FinAcked:
                Terminate(TcpError.None);
                return false;
        }

        return true;
    }

    /// <summary>3.10.7.4 sixth (URG), seventh (text) and eighth (FIN) steps.</summary>
    private void ProcessUrgTextFin(in TcpHeader seg, TcpFlags flags, SeqNum dataSeq, ReadOnlySpan<byte> payload, Instant now)
    {
        bool receiving = State is TcpState.Established or TcpState.FinWait1 or TcpState.FinWait2;

        // 3.10.7.4 sixth: check the URG bit. Urgent data stays in the stream (RFC 6093); it is only counted.
        if ((flags & TcpFlags.Urg) != 0 && receiving)
        {
            Stats.UrgentSegments++;
            SeqNum up = seg.Seq + seg.UrgentPointer; // SEG.UP is an offset from the segment's own SEQ
            if (up > RcvUp)
            {
                // Signal once per continuous sequence of urgent data: when the previous one was already consumed.
                bool newUrgentSequence = UrgentBytesPending == 0;
                RcvUp = up;
                if (newUrgentSequence)
                {
                    Emit(new TcpEvent(TcpEventKind.UrgentData, State, State, _cause, TcpError.None));
                }
            }
        }

        // 3.10.7.4 seventh: process the segment text.
        if (payload.Length > 0)
        {
            if (_closeCalled && receiving)
            {
                // RFC 1122 4.2.2.13: the application closed, so new data cannot be delivered: reset (as Linux does).
                Stats.Drop(DropReason.DataAfterFin);
                _sendBuffer.Clear();
                EnqueueControl(new TcpHeader { SourcePort = LocalPort, DestinationPort = RemotePort, Seq = RstSeq, Flags = TcpFlags.Rst });
                Terminate(TcpError.Aborted);
                return;
            }

            if (receiving && !_finReceived)
            {
                AcceptText(dataSeq, payload, now);
            }
            else
            {
                Stats.Drop(DropReason.DataAfterFin);
            }
        }

        // 3.10.7.4 eighth: check the FIN bit.
        if ((flags & TcpFlags.Fin) != 0 && !_finReceived)
        {
            SeqNum finSeq = dataSeq + payload.Length;
            if (finSeq == RcvNxt)
            {
                ProcessFin(now);
            }
            else if (finSeq > RcvNxt)
            {
                _outOfOrderFin = finSeq; // Processed when the data before it arrives.
                _ackNow = true;
            }
        }
    }

    private void AcceptText(SeqNum dataSeq, ReadOnlySpan<byte> payload, Instant now)
    {
        if (payload.Length > _rcvMssEstimate)
        {
            _rcvMssEstimate = Math.Min(payload.Length, _config.Mss);
        }

        if (dataSeq == RcvNxt)
        {
            _recvBuffer.WriteAt(0, payload);
            _recvBuffer.Commit(payload.Length);
            RcvNxt += payload.Length;
            if (!ReassemblyEmpty)
            {
                int more = _reassembler!.TakeContiguous(RcvNxt);
                if (more > 0)
                {
                    _recvBuffer.Commit(more);
                    RcvNxt += more;
                }

                // RFC 5681 section 4.2: ACK at once when the segment fills (part of) a hole.
                _ackNow = true;
            }
            else
            {
                // RFC 9293 3.8.6.3 / RFC 1122 4.2.3.2: ACK at least every second full-sized segment,
                // and within DelayedAckTimeout otherwise.
                _unackedBytes += payload.Length;
                if (!_config.DelayedAck || _unackedBytes >= 2 * _rcvMssEstimate)
                {
                    _ackNow = true;
                }
                else if (!_timers.IsArmed(TimerKind.DelayedAck))
                {
                    _timers.Set(TimerKind.DelayedAck, now + _config.DelayedAckTimeout);
                }
            }

            SignalReadable();
            if (_outOfOrderFin is SeqNum f && f == RcvNxt)
            {
                ProcessFin(now);
            }

            return;
        }

        // Out of order: store it in place (it lies within the advertised window, hence within free space).
        Stats.OutOfOrderSegments++;
        _ackNow = true; // RFC 5681 section 4.2: an immediate duplicate ACK.
        if (!(_reassembler ??= new Reassembler(_config.MaxReassemblyRanges)).TryAdd(dataSeq, dataSeq + payload.Length))
        {
            Stats.Drop(DropReason.ReassemblyFull);
            return;
        }

        _recvBuffer.WriteAt(dataSeq - RcvNxt, payload);
    }

    private void ProcessFin(Instant now)
    {
        _outOfOrderFin = null;
        _finReceived = true;
        RcvNxt += 1;
        _ackNow = true;
        SignalReadable();
        switch (State)
        {
            case TcpState.SynReceived:
            case TcpState.Established:
                SetState(TcpState.CloseWait);
                break;
            case TcpState.FinWait1:
                SetState(FinAcked ? TcpState.TimeWait : TcpState.Closing);
                break;
            case TcpState.FinWait2:
                SetState(TcpState.TimeWait);
                break;
            case TcpState.TimeWait:
                _timers.Set(TimerKind.TimeWait, now + _config.TimeWaitDuration);
                break;
        }
    }

    /// <summary>The four cases of the acceptability test (3.10.7.4, MUST-? "Receiver check").</summary>
    public static bool IsAcceptable(SeqNum seq, int segLen, SeqNum rcvNxt, int rcvWnd)
    {
        SeqNum end = rcvNxt + rcvWnd;
        if (segLen == 0)
        {
            return rcvWnd == 0 ? seq == rcvNxt : seq.InHalfOpen(rcvNxt, end);
        }

        if (rcvWnd == 0)
        {
            return false;
        }

        return seq.InHalfOpen(rcvNxt, end) || (seq + (segLen - 1)).InHalfOpen(rcvNxt, end);
    }

    private TimeSpan? SampleRtt(SeqNum ack, Instant now)
    {
        if (!_rttTiming || ack <= _rttSeq)
        {
            return null;
        }

        _rttTiming = false;
        TimeSpan sample = now - _rttStart;
        _rto.OnSample(sample);
        return sample;
    }

    private void SendChallengeAck(Instant now)
    {
        if (now - _challengeWindowStart >= ChallengeAckWindow || _challengeWindowStart > now)
        {
            _challengeWindowStart = now;
            _challengeAcksInWindow = 0;
        }

        if (_challengeAcksInWindow >= _config.ChallengeAckLimitPerSecond)
        {
            Stats.ChallengeAcksSuppressed++;
            return;
        }

        _challengeAcksInWindow++;
        Stats.ChallengeAcks++;
        _ackNow = true;
    }

    private void ApplySynOptions(in TcpOptions options)
    {
        int peerMss = options.Mss is ushort m ? Math.Max((int)m, NegotiatedOptions.MinimumPeerMss) : _config.DefaultPeerMss;
        _negotiated = _negotiated with { PeerMss = peerMss };
    }

    private void OpenReceiveWindow()
    {
        _rcvEdge = RcvNxt + Math.Min(_recvBuffer.Space, 65535);
        RcvUp = RcvNxt;
    }

    /// <summary>RST (or new SYN) in SYN-RECEIVED after a passive OPEN: back to LISTEN (3.10.7.4).</summary>
    private void ReturnToListen()
    {
        _timers.CancelAll();
        _sendBuffer.Clear();
        _reassembler?.Clear();
        _controlCount = 0;
        RemotePort = 0;
        Irs = default;
        RcvNxt = default;
        _rcvEdge = default;
        SndUna = Iss;
        _sendNext = Iss;
        _sndMax = Iss;
        SndWnd = 0;
        _retries = 0;
        _rto.ResetBackoff();
        _rttTiming = false;
        _synPending = false;
        _synIsRetransmission = false;
        _synRetransmitted = false;
        _finQueued = false;
        _finReceived = false;
        _outOfOrderFin = null;
        _ackNow = false;
        _negotiated = NegotiatedOptions.Initial with { PeerMss = _config.DefaultPeerMss };
        SetState(TcpState.Listen);
    }
}
