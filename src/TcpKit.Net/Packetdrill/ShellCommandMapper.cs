using System.Globalization;
using TcpKit.Tcp;

namespace TcpKit.Net.Packetdrill;

/// <summary>
/// Backquoted shell lines are never run. Those that only load packetdrill's defaults or set a sysctl TcpKit
/// has an equivalent for become <see cref="TcpConfig"/> changes; anything else makes the script unsupported.
/// </summary>
public static partial class ShellCommandMapper
{
    /// <summary>Returns the configuration change the command stands for, or throws <see cref="PacketdrillUnsupportedException"/>.</summary>
    public static Func<TcpConfig, TcpConfig> Map(string command, int line) => Parse(command, line).Change;

    /// <summary>
    /// The command's sysctl assignments as written (for a target that applies them itself, like the kernel) and
    /// their TcpKit meaning; throws <see cref="PacketdrillUnsupportedException"/> for anything else.
    /// </summary>
    public static ShellSettings Parse(string command, int line)
    {
        ArgumentNullException.ThrowIfNull(command);
        var changes = new List<Func<TcpConfig, TcpConfig>>();
        var sysctls = new List<(string Name, string Value)>();
        // A backslash-continued set_sysctls.py line arrives as a newline followed by the next /proc/sys argument.
        string joined = ContinuedArgument().Replace(command, " /proc/sys/");
        foreach (var raw in joined.Split([';', '\n', '&'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var words = raw.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (words.Length == 0)
            {
                continue;
            }

            if (IsDefaults(words))
            {
                continue; // The profile already holds the defaults a packetdrill defaults.sh would load.
            }

            if (words[0] == "set_sysctls.py" || words[0].EndsWith("/set_sysctls.py", StringComparison.Ordinal))
            {
                // packetdrill's newer helper: set_sysctls.py /proc/sys/net/ipv4/tcp_x=value ... (values may be quoted).
                var matches = SetSysctlsArgument().Matches(raw);
                if (matches.Count == 0)
                {
                    throw new PacketdrillUnsupportedException(line, $"shell command `{raw}`");
                }

                foreach (System.Text.RegularExpressions.Match m in matches)
                {
                    string name = m.Groups[1].Value.Replace('/', '.'), value = m.Groups[2].Value.Trim('"', '\'');
                    changes.Add(MapSysctl(name, value, line));
                    sysctls.Add((name, value));
                }

                continue;
            }

            if (words[0] != "sysctl")
            {
                throw new PacketdrillUnsupportedException(line, $"shell command `{raw}`");
            }

            bool any = false;
            foreach (var w in words.Skip(1))
            {
                if (w.StartsWith('-'))
                {
                    if (w is "-q" or "-w" or "-qw" or "-wq")
                    {
                        continue;
                    }

                    throw new PacketdrillUnsupportedException(line, $"sysctl option {w}");
                }

                int eq = w.IndexOf('=', StringComparison.Ordinal);
                if (eq <= 0)
                {
                    throw new PacketdrillUnsupportedException(line, $"sysctl without a value: {w}");
                }

                string value = w[(eq + 1)..].Trim('"', '\'');
                changes.Add(MapSysctl(w[..eq], value, line));
                sysctls.Add((w[..eq], value));
                any = true;
            }

            if (!any)
            {
                throw new PacketdrillUnsupportedException(line, $"shell command `{raw}`");
            }
        }

        return new ShellSettings(command, sysctls, config =>
        {
            foreach (var change in changes)
            {
                config = change(config);
            }

            return config;
        });
    }

    [System.Text.RegularExpressions.GeneratedRegex("/proc/sys/(\\S+?)=(\"[^\"]*\"|'[^']*'|\\S+)")]
    private static partial System.Text.RegularExpressions.Regex SetSysctlsArgument();

    [System.Text.RegularExpressions.GeneratedRegex("\\s*\\n\\s*/proc/sys/")]
    private static partial System.Text.RegularExpressions.Regex ContinuedArgument();

    private static bool IsDefaults(string[] words)
    {
        int i = words[0] is "source" or "." ? 1 : 0;
        return i < words.Length && (words[i] == "defaults.sh" || words[i].EndsWith("/defaults.sh", StringComparison.Ordinal));
    }

    private static Func<TcpConfig, TcpConfig> MapSysctl(string name, string value, int line)
    {
        var parts = value.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
        long Int(int index = 0)
        {
            if (index < parts.Length && long.TryParse(parts[index], NumberStyles.Integer, CultureInfo.InvariantCulture, out long v) && v >= 0)
            {
                return v;
            }

            throw new PacketdrillUnsupportedException(line, $"sysctl {name}={value}");
        }

        Func<TcpConfig, TcpConfig> Negotiated(int max = 1)
        {
            // A feature that shows in packets (an option, the ECN flags): enabling it changes nothing the runner
            // cannot see, because any packet line using it is reported as unsupported.
            return Int() <= max ? static c => c : throw new PacketdrillUnsupportedException(line, $"sysctl {name}={value}");
        }

        Func<TcpConfig, TcpConfig> OnlyOff(string feature)
        {
            // TcpKit does not implement the feature yet: turning it off matches, turning it on cannot.
            return Int() == 0 ? static c => c : throw new PacketdrillUnsupportedException(line, $"sysctl {name}={value} ({feature} is not implemented)");
        }

        switch (name)
        {
            // Linux (net.ipv4.tcp_*).
            case "net.ipv4.tcp_keepalive_time":
                var idle = TimeSpan.FromSeconds(Int());
                return c => c with { Keepalive = c.Keepalive with { Idle = idle } };
            case "net.ipv4.tcp_keepalive_intvl":
                var interval = TimeSpan.FromSeconds(Int());
                return c => c with { Keepalive = c.Keepalive with { Interval = interval } };
            case "net.ipv4.tcp_keepalive_probes":
                int count = (int)Int();
                return c => c with { Keepalive = c.Keepalive with { Count = count } };
            case "net.ipv4.tcp_syn_retries":
            case "net.ipv4.tcp_synack_retries":
                int syn = (int)Int();
                return c => c with { SynRetries = syn };
            case "net.ipv4.tcp_retries2":
                int retries = (int)Int();
                return c => c with { DataRetries = retries };
            case "net.ipv4.tcp_rmem":
                int rmem = (int)Int(1);
                return c => c with { ReceiveBufferSize = rmem };
            case "net.ipv4.tcp_wmem":
                int wmem = (int)Int(1);
                return c => c with { SendBufferSize = wmem };
            case "net.ipv4.tcp_timestamps":
                return Negotiated();
            case "net.ipv4.tcp_sack":
            case "net.ipv4.tcp_dsack":
            case "net.ipv4.tcp_fack":
                return Negotiated();
            case "net.ipv4.tcp_window_scaling":
                return Negotiated();
            case "net.ipv4.tcp_ecn":
                return Negotiated(2);
            case "net.ipv4.tcp_fastopen":
                return OnlyOff("TCP Fast Open");
            case "net.ipv4.tcp_syn_linear_timeouts":
                // Linux 6.13+ retransmits the first SYNs at a constant 1 s; 0 restores RFC 6298 5.5 backoff from the start.
                return OnlyOff("linear SYN retransmission timeouts");
            case "net.ipv4.tcp_early_retrans":
                return OnlyOff("early retransmit and tail loss probes (RFC 5827, RFC 8985 7)");
            case "net.ipv4.tcp_recovery":
                return OnlyOff("RACK loss detection (RFC 8985)");
            case "net.ipv4.tcp_frto":
                return OnlyOff("F-RTO (RFC 5682)");
            case "net.ipv4.tcp_thin_linear_timeouts":
                return OnlyOff("linear timeouts for thin streams");
            case "net.ipv4.tcp_autocorking":
                return OnlyOff("autocorking of small writes");
            case "net.ipv4.tcp_no_metrics_save":
                // TcpKit keeps no per-destination metrics, as Linux with this set.
                return Int() == 1 ? static c => c : throw new PacketdrillUnsupportedException(line, $"sysctl {name}={value} (TcpKit keeps no per-destination metrics)");
            case "net.ipv4.tcp_rto_min_us":
                var rtoMin = TimeSpan.FromMicroseconds(Int());
                return c => c with { MinRto = rtoMin };
            case "net.ipv4.tcp_slow_start_after_idle":
                return Int() == 1 ? static c => c : throw new PacketdrillUnsupportedException(line, $"sysctl {name}={value} (TcpKit always restarts after idle, RFC 5681 4.1)");
            // FreeBSD (net.inet.tcp.*); times in milliseconds.
            case "net.inet.tcp.rexmit_min":
                var min = TimeSpan.FromMilliseconds(Int());
                return c => c with { MinRto = min };
            case "net.inet.tcp.rexmit_initial":
                var initial = TimeSpan.FromMilliseconds(Int());
                return c => c with { InitialRto = initial };
            case "net.inet.tcp.keepidle":
                var bsdIdle = TimeSpan.FromMilliseconds(Int());
                return c => c with { Keepalive = c.Keepalive with { Idle = bsdIdle } };
            case "net.inet.tcp.keepintvl":
                var bsdInterval = TimeSpan.FromMilliseconds(Int());
                return c => c with { Keepalive = c.Keepalive with { Interval = bsdInterval } };
            case "net.inet.tcp.keepcnt":
                int bsdCount = (int)Int();
                return c => c with { Keepalive = c.Keepalive with { Count = bsdCount } };
            case "net.inet.tcp.delayed_ack":
                bool delayed = Int() != 0;
                return c => c with { DelayedAck = delayed };
            case "net.inet.tcp.delacktime":
                var delack = TimeSpan.FromMilliseconds(Int());
                return c => c with { DelayedAckTimeout = delack };
            case "net.inet.tcp.msl":
                var msl = TimeSpan.FromMilliseconds(Int());
                return c => c with { TimeWaitDuration = msl * 2 };
            case "net.inet.tcp.insecure_rst":
            case "net.inet.tcp.insecure_syn":
                // 0: RST and SYN processing hardened per RFC 5961, which is what TcpKit does.
            case "net.inet.tcp.drop_synfin":
            case "net.inet.tcp.blackhole":
            case "net.inet.tcp.rexmit_slop":
            case "net.inet.tcp.rexmit_drop_options":
                // 0 is what TcpKit does: RST for closed ports, no RTO slop, SYN options kept on retransmission.
                return Int() == 0 ? static c => c : throw new PacketdrillUnsupportedException(line, $"sysctl {name}={value}");
            case "net.inet.tcp.hostcache.purgenow":
                // TcpKit keeps no per-host cache, so it is always as if just purged.
                _ = Int();
                return static c => c;
            case "kern.ipc.maxsockbuf":
                // Only a ceiling for setsockopt buffer sizes.
                _ = Int();
                return static c => c;
            case "net.inet.tcp.recvspace":
                int recvspace = (int)Int();
                return c => c with { ReceiveBufferSize = recvspace };
            case "net.inet.tcp.sendspace":
                int sendspace = (int)Int();
                return c => c with { SendBufferSize = sendspace };
            case "net.inet.tcp.rfc1323":
                return Negotiated();
            case "net.inet.tcp.sack.enable":
                return Negotiated();
            case "net.inet.tcp.ecn.enable":
                return Negotiated(2);
            default:
                throw new PacketdrillUnsupportedException(line, $"sysctl {name}");
        }
    }
}

/// <summary>
/// What a shell line of a script stands for: its sysctl assignments in order (name as <c>net.ipv4.tcp_x</c>,
/// value as written) and the matching change of TcpKit's configuration.
/// </summary>
public sealed record ShellSettings(string Command, IReadOnlyList<(string Name, string Value)> Sysctls, Func<TcpConfig, TcpConfig> Change);
