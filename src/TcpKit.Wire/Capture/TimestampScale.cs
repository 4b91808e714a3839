namespace TcpKit.Wire.Capture;

/// <summary>
/// Exact integer conversion between pcapng timestamp units and nanoseconds since the epoch
/// (pcapng draft section 4.2: if_tsresol with bit 7 clear is 10^-v s, set is 2^-v s;
/// if_tsoffset is whole seconds added). No floating point: sub-nanosecond units are floored.
/// </summary>
internal readonly struct TimestampScale
{
    private const long NsPerSecond = 1_000_000_000;

    private enum Mode : byte
    {
        Multiply,
        Divide,
        Shift,
        Zero,
    }

    private readonly Mode _mode;
    private readonly long _factor;
    private readonly UInt128 _divisor;
    private readonly int _shift;
    private readonly Int128 _offsetNs;
    private readonly bool _hasOffset;

    public TimestampScale(byte tsResolution, long offsetSeconds)
    {
        _offsetNs = (Int128)offsetSeconds * NsPerSecond;
        _hasOffset = offsetSeconds != 0;
        _factor = 1;
        _divisor = 1;
        if ((tsResolution & 0x80) != 0)
        {
            _mode = Mode.Shift;
            _shift = tsResolution & 0x7F;
        }
        else if (tsResolution <= 9)
        {
            _mode = Mode.Multiply;
            _factor = Pow10(9 - tsResolution);
        }
        else if (tsResolution - 9 <= 38)
        {
            _mode = Mode.Divide;
            UInt128 d = 1;
            for (int i = 0; i < tsResolution - 9; i++)
            {
                d *= 10;
            }

            _divisor = d;
        }
        else
        {
            // 10^39 and beyond exceed any 64-bit count of units: every timestamp is below 1 ns.
            _mode = Mode.Zero;
        }
    }

    public long ToNanoseconds(ulong units)
    {
        if (_mode == Mode.Multiply && !_hasOffset && units <= (ulong)(long.MaxValue / _factor))
        {
            return (long)units * _factor;
        }

        Int128 ns = _mode switch
        {
            Mode.Multiply => (Int128)units * _factor,
            Mode.Divide => (Int128)(units / _divisor),
            Mode.Shift => (Int128)(((UInt128)units * NsPerSecond) >> _shift),
            _ => 0,
        };
        ns += _offsetNs;
        if (ns > long.MaxValue)
        {
            return long.MaxValue;
        }

        return ns < long.MinValue ? long.MinValue : (long)ns;
    }

    /// <summary>
    /// The unit count for <paramref name="ns"/> (floored), or false when it is not representable
    /// as an unsigned 64-bit count (before the interface's offset, or too large).
    /// </summary>
    public bool TryFromNanoseconds(long ns, out ulong units)
    {
        Int128 rel = (Int128)ns - _offsetNs;
        units = 0;
        if (rel < 0)
        {
            return false;
        }

        UInt128 r = (UInt128)rel;
        if (r == 0)
        {
            return true;
        }

        UInt128 u = _mode switch
        {
            Mode.Multiply => r / (ulong)_factor,
            Mode.Divide => r <= UInt128.MaxValue / _divisor ? r * _divisor : UInt128.MaxValue,
            Mode.Shift => _shift <= 64 ? (r << _shift) / NsPerSecond : UInt128.MaxValue,
            _ => UInt128.MaxValue,
        };
        if (u > ulong.MaxValue)
        {
            return false;
        }

        units = (ulong)u;
        return true;
    }

    private static long Pow10(int n)
    {
        long r = 1;
        for (int i = 0; i < n; i++)
        {
            r *= 10;
        }

        return r;
    }
}
