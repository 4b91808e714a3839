namespace TcpKit.Analysis.Filters;

/// <summary>A display filter that cannot be compiled; <see cref="Column"/> (0-based) and <see cref="Length"/> mark the culprit.</summary>
public sealed class FilterException : Exception
{
    public FilterException(string message, string filter, int column, int length)
        : base(message)
    {
        Filter = filter;
        Column = column;
        Length = Math.Max(1, length);
    }

    public FilterException()
    {
        Filter = "";
    }

    public FilterException(string message)
        : base(message)
    {
        Filter = "";
    }

    public FilterException(string message, Exception inner)
        : base(message, inner)
    {
        Filter = "";
    }

    public string Filter { get; }

    public int Column { get; }

    public int Length { get; }

    /// <summary>The message, the filter, and a caret line under the culprit.</summary>
    public string Describe() => $"{Message}\n  {Filter}\n  {new string(' ', Column)}^{new string('~', Length - 1)}";
}
