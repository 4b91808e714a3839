using System.Globalization;
using System.Text.RegularExpressions;

namespace TcpKit.Net.Packetdrill;

/// <summary>
/// What a script says about running against the Linux kernel, in comments packetdrill itself ignores:
/// <code>
/// // tcpkit-kernel: differs at line 14: Linux starts in quick-ACK mode and acknowledges at once
/// // tcpkit-kernel: differs from line 15: Linux doubles SO_SNDBUF and counts buffer overhead
/// // tcpkit-kernel: any-psh: Linux also pushes the segment that fills half the peer's window
/// </code>
/// <c>differs</c> means RFC and Linux genuinely differ and the script tests the RFC: against the kernel the script
/// must fail exactly at that line (everything before it is checked against Linux), and is then reported as
/// "differs from Linux: reason". <c>differs from line N</c> accepts a failure at N or after, for a difference
/// whose first visible line varies from run to run. Failing before is a failure, and passing means the mark is
/// stale, also a failure. <c>any-psh</c> leaves the PSH bit unchecked against the kernel (RFC 9293 3.9.1 lets the sender choose
/// where to push). Every mark carries its reason; an unknown mark is a syntax error, so a typo cannot hide a failure.
/// </summary>
public sealed partial record KernelDirectives(int? DiffersAtLine, string? DiffersReason, bool AnyPush)
{
    public static KernelDirectives None { get; } = new(null, null, false);

    /// <summary>Whether a failure at any line from <see cref="DiffersAtLine"/> on is the difference (<c>differs from line N</c>).</summary>
    public bool DiffersFromLineOn { get; init; }

    /// <summary>Reads the marks of a script's text; throws <see cref="PacketdrillSyntaxException"/> for a malformed one.</summary>
    public static KernelDirectives Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var result = None;
        int lineNumber = 0;
        foreach (var line in text.Split('\n'))
        {
            lineNumber++;
            var mark = Mark().Match(line);
            if (!mark.Success)
            {
                continue;
            }

            string body = mark.Groups[1].Value.Trim();
            if (Differs().Match(body) is { Success: true } d)
            {
                if (result.DiffersAtLine is not null)
                {
                    throw new PacketdrillSyntaxException(lineNumber, "a script differs from Linux at one line only");
                }

                result = result with
                {
                    DiffersAtLine = int.Parse(d.Groups[2].Value, CultureInfo.InvariantCulture),
                    DiffersReason = d.Groups[3].Value.Trim(),
                    DiffersFromLineOn = d.Groups[1].Value == "from",
                };
            }
            else if (AnyPsh().IsMatch(body))
            {
                result = result with { AnyPush = true };
            }
            else
            {
                throw new PacketdrillSyntaxException(lineNumber, $"unknown tcpkit-kernel mark `{body}` (known: `differs at line N: reason`, `differs from line N: reason`, `any-psh: reason`)");
            }
        }

        return result;
    }

    /// <summary>Turns the kernel's result into the verdict the marks call for.</summary>
    public ScriptResult Judge(ScriptResult kernelResult)
    {
        ArgumentNullException.ThrowIfNull(kernelResult);
        if (DiffersAtLine is not int line)
        {
            return kernelResult;
        }

        bool marked = kernelResult.Line is int failed && (failed == line || (DiffersFromLineOn && failed > line));
        string where = DiffersFromLineOn ? $"from line {line} on" : $"at line {line}";
        return kernelResult.Verdict switch
        {
            ScriptVerdict.Fail when marked => new ScriptResult(ScriptVerdict.Differs, $"{DiffersReason} [{kernelResult.Message}]", kernelResult.Line),
            ScriptVerdict.Pass => new ScriptResult(ScriptVerdict.Fail, $"marked as differing from Linux {where} but passes against the kernel: remove the tcpkit-kernel mark", line),
            ScriptVerdict.Fail => kernelResult with { Message = $"{kernelResult.Message} (marked as differing from Linux only {where})" },
            _ => kernelResult,
        };
    }

    [GeneratedRegex(@"^\s*//\s*tcpkit-kernel:(.*)$")]
    private static partial Regex Mark();

    [GeneratedRegex(@"^differs (at|from) line (\d{1,6}):(.*\S.*)$")]
    private static partial Regex Differs();

    [GeneratedRegex(@"^any-psh:.*\S")]
    private static partial Regex AnyPsh();
}
