namespace TcpKit.Tcp;

/// <summary>
/// Retransmission timeout per RFC 6298: SRTT/RTTVAR smoothing (section 2), min/max bounds (2.4, 2.5),
/// exponential backoff (5.5). Karn's algorithm (section 3) is the caller's duty: never feed a sample
/// taken from a retransmitted segment.
/// </summary>
public sealed class RtoEstimator
{
    /// <summary>Clock granularity G of RFC 6298 section 2; our clock is exact, so 1 ms keeps RTO above SRTT.</summary>
    private static readonly TimeSpan Granularity = TimeSpan.FromMilliseconds(1);

    private TimeSpan _min;
    private TimeSpan _max;
    private TimeSpan _baseRto;

    public RtoEstimator(TimeSpan initial, TimeSpan min, TimeSpan max) => Reinitialize(initial, min, max);

    /// <summary>As new, for a recycled engine.</summary>
    internal void Reinitialize(TimeSpan initial, TimeSpan min, TimeSpan max)
    {
        _min = min;
        _max = max;
        _baseRto = Clamp(initial);
        Srtt = null;
        RttVar = null;
        Backoffs = 0;
    }

    public TimeSpan? Srtt { get; private set; }

    public TimeSpan? RttVar { get; private set; }

    /// <summary>Consecutive backoffs since the last RTT sample or new acknowledgement.</summary>
    public int Backoffs { get; private set; }

    /// <summary>The RTO to arm now: the estimate doubled once per backoff, capped at the maximum.</summary>
    public TimeSpan Rto
    {
        get
        {
            TimeSpan rto = _baseRto;
            for (int i = 0; i < Backoffs && rto < _max; i++)
            {
                rto += rto;
            }

            return rto > _max ? _max : rto;
        }
    }

    public bool HasSample => Srtt is not null;

    /// <summary>RFC 6298 sections 2.2 and 2.3.</summary>
    public void OnSample(TimeSpan r)
    {
        if (r < TimeSpan.Zero)
        {
            return;
        }

        // In ticks: TimeSpan's own * and / go through doubles and range checks on every ACK. The rounding is
        // the same (to the nearest tick, halves to even) as TimeSpan's operators.
        long rTicks = r.Ticks;
        if (Srtt is not TimeSpan srtt || RttVar is not TimeSpan rttvar)
        {
            Srtt = r;
            RttVar = new TimeSpan(DivideRounded(rTicks, 2));
        }
        else
        {
            long delta = Math.Abs(srtt.Ticks - rTicks);
            RttVar = new TimeSpan(DivideRounded(rttvar.Ticks * 3, 4) + DivideRounded(delta, 4));
            Srtt = new TimeSpan(DivideRounded(srtt.Ticks * 7, 8) + DivideRounded(rTicks, 8));
        }

        TimeSpan k = new(RttVar.Value.Ticks * 4);
        _baseRto = Clamp(Srtt.Value + (k > Granularity ? k : Granularity));
        Backoffs = 0;
    }

    /// <summary>RFC 6298 (5.5): the timer expired, double the RTO.</summary>
    public void Backoff()
    {
        if (Rto < _max)
        {
            Backoffs++;
        }
    }

    /// <summary>New data was acknowledged: forget the backoff (RFC 6298 5.7 recomputes from SRTT).</summary>
    public void ResetBackoff() => Backoffs = 0;

    /// <summary>RFC 6298 (5.7): after a SYN timed out, data transmission starts with an RTO of at least 3 s.</summary>
    public void FallBackAfterSynTimeout()
    {
        if (!HasSample)
        {
            TimeSpan three = TimeSpan.FromSeconds(3);
            _baseRto = Clamp(_baseRto > three ? _baseRto : three);
        }

        Backoffs = 0;
    }

    /// <summary>The estimator's state, so a connection reduced to a TIME-WAIT record can be rebuilt with it.</summary>
    internal readonly record struct Snapshot(TimeSpan BaseRto, TimeSpan? Srtt, TimeSpan? RttVar, int Backoffs);

    internal Snapshot Save() => new(_baseRto, Srtt, RttVar, Backoffs);

    internal void Restore(in Snapshot s)
    {
        _baseRto = s.BaseRto;
        Srtt = s.Srtt;
        RttVar = s.RttVar;
        Backoffs = s.Backoffs;
    }

    /// <summary>x / d for x &gt;= 0, rounded to the nearest integer with halves to even (Math.Round's default).</summary>
    internal static long DivideRounded(long x, int d)
    {
        long q = Math.DivRem(x, d, out long rem);
        long twice = rem * 2;
        return twice > d || (twice == d && (q & 1) != 0) ? q + 1 : q;
    }

    private TimeSpan Clamp(TimeSpan t) => t < _min ? _min : t > _max ? _max : t;
}
