namespace TcpKit.Analysis.Output.Ladder;

/// <summary>How <see cref="LadderRenderer"/> lays out a ladder.</summary>
public sealed record LadderOptions
{
    /// <summary>Colour flags with ANSI escapes (SYN green, FIN blue, RST red, data white, expert yellow).</summary>
    public bool Color { get; init; }

    /// <summary>Total line width in columns; the arrow area takes what the gutter and state columns leave (at least 30).</summary>
    public int Width { get; init; } = 120;

    /// <summary>Width of each state column. Null: sized to the longest transition when all rows are known up front, else 28.</summary>
    public int? StateWidth { get; init; }

    /// <summary>Print the frame number and time in a left gutter.</summary>
    public bool ShowFrameAndTime { get; init; } = true;

    /// <summary>Decimal digits of the time column.</summary>
    public int TimeDigits { get; init; } = 6;
}
