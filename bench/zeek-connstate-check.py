#!/usr/bin/env python3
"""Check tcpkit's Zeek-style conn_state and history against Zeek's own test baselines.

Zeek (github.com/zeek/zeek) keeps, under testing/btest, packet traces (Traces/) and the
conn.log that Zeek itself wrote for them (Baseline/<test>/conn.log), next to the test that
names the trace (<test path>.zeek, '@TEST-EXEC: zeek ... -r $TRACES/x.pcap'). Zeek is not
packaged for this machine's Debian, so its baselines are the oracle: for every TCP connection
in every such conn.log we compare conn_state and history with what tcpkit reports for the
same conversation (the tcpkit.conn_state / tcpkit.history fields of its last frame).

Usage: bench/zeek-connstate-check.py ZEEK_BTEST_DIR [TCPKIT_COMMAND...]
  ZEEK_BTEST_DIR  a zeek checkout's testing/btest (not part of this repository)
  TCPKIT_COMMAND  default: dotnet src/TcpKit.Cli/bin/Release/net10.0/tcpkit.dll
Prints one line per disagreement and a summary; exit status 0 always (it is a report).
"""
import collections, os, re, subprocess, sys

def tests_with_traces(btest):
    """Yield (baseline_dir, trace_path, zeek_args) for tests whose baseline has a conn.log."""
    base = os.path.join(btest, "Baseline")
    for name in sorted(os.listdir(base)):
        conn = os.path.join(base, name, "conn.log")
        if not os.path.isfile(conn):
            continue
        parts = name.split(".")
        test = None
        for ext in (".zeek", ".test", ".bro"):
            cand = os.path.join(btest, *parts) + ext
            if os.path.isfile(cand):
                test = cand
                break
        if test is None:
            continue
        runs = [l for l in open(test, encoding="utf-8", errors="replace")
                if "@TEST-EXEC:" in l and re.search(r"\bzeek\b", l) and " -r " in l]
        if len(runs) != 1:  # several runs append to one conn.log or use other inputs: skip
            continue
        m = re.search(r"-r\s+\$\{?TRACES\}?/(\S+)", runs[0])
        if not m:
            continue
        trace = os.path.join(btest, "Traces", m.group(1))
        if os.path.isfile(trace):
            yield name, conn, trace, runs[0].strip()

def zeek_tcp_conns(conn_log):
    fields, rows = None, []
    for line in open(conn_log, encoding="utf-8", errors="replace"):
        line = line.rstrip("\n")
        if line.startswith("#fields"):
            fields = line.split("\t")[1:]
        elif line and not line.startswith("#") and fields:
            row = dict(zip(fields, line.split("\t")))
            if row.get("proto") == "tcp" and all(k in row for k in ("conn_state", "history", "id.orig_h", "id.resp_p")):
                rows.append(row)
    return rows

def tcpkit_conns(cmd, trace):
    fields = ["tcp.stream", "ip.src", "ipv6.src", "tcp.srcport", "ip.dst", "ipv6.dst", "tcp.dstport",
              "tcpkit.conn_state", "tcpkit.history"]
    args = cmd + ["read", "-r", trace, "--lenient", "-T", "fields", "-E", "separator=/t"]
    for f in fields:
        args += ["-e", f]
    p = subprocess.run(args, capture_output=True, text=True)
    if p.returncode != 0:
        return None, p.stderr.strip().splitlines()[-1:] or ["exit %d" % p.returncode]
    last = {}
    for line in p.stdout.splitlines():
        c = line.split("\t")
        if len(c) < 9 or not c[0]:
            continue
        src = c[1] or c[2]
        dst = c[4] or c[5]
        if "," in c[0]:  # ICMP-quoted or tunnelled: several TCP layers, not a plain conversation
            continue
        last[int(c[0])] = (src, c[3], dst, c[6], c[7], c[8])
    return last, None

def main():
    if len(sys.argv) < 2:
        print(__doc__)
        sys.exit(2)
    btest = sys.argv[1]
    cmd = sys.argv[2:] or ["dotnet", "src/TcpKit.Cli/bin/Release/net10.0/tcpkit.dll"]
    total = state_ok = hist_ok = unmatched = 0
    by_state = collections.Counter()
    bad_state = collections.Counter()
    traces = 0
    for name, conn_log, trace, run in tests_with_traces(btest):
        zconns = zeek_tcp_conns(conn_log)
        if not zconns:
            continue
        ours, err = tcpkit_conns(cmd, trace)
        if ours is None:
            print(f"{name}: tcpkit failed on {os.path.relpath(trace, btest)}: {err}")
            continue
        traces += 1
        # Index our conversations by unordered endpoint pair, in first-seen order.
        pool = collections.defaultdict(list)
        for stream in sorted(ours):
            s, sp, d, dp, st, hi = ours[stream]
            pool[frozenset([(s, sp), (d, dp)])].append((stream, s, sp, st, hi))
        for z in zconns:
            key = frozenset([(z["id.orig_h"], z["id.orig_p"]), (z["id.resp_h"], z["id.resp_p"])])
            cands = pool.get(key)
            total += 1
            by_state[z["conn_state"]] += 1
            if not cands:
                unmatched += 1
                print(f"{name}: no tcpkit conversation for {z['id.orig_h']}:{z['id.orig_p']} -> "
                      f"{z['id.resp_h']}:{z['id.resp_p']} (zeek {z['conn_state']} {z['history']})")
                continue
            stream, s, sp, st, hi = cands.pop(0)
            same_state = st == z["conn_state"]
            same_hist = hi == z["history"]
            state_ok += same_state
            hist_ok += same_hist
            if not same_state:
                bad_state[z["conn_state"]] += 1
            if not (same_state and same_hist):
                print(f"{name}: stream {stream} {z['id.orig_h']}:{z['id.orig_p']} -> {z['id.resp_h']}:{z['id.resp_p']}: "
                      f"zeek {z['conn_state']} {z['history']}, tcpkit {st} {hi}")
    print()
    print(f"traces: {traces}, zeek TCP connections: {total}, matched: {total - unmatched}")
    if total:
        print(f"conn_state agreement: {state_ok}/{total} ({100.0 * state_ok / total:.1f} %)")
        print(f"history agreement:    {hist_ok}/{total} ({100.0 * hist_ok / total:.1f} %)")
        print("zeek conn_state counts: " + ", ".join(f"{k} {v}" for k, v in sorted(by_state.items())))
        if bad_state:
            print("disagreements by zeek conn_state: " + ", ".join(f"{k} {v}" for k, v in sorted(bad_state.items())))

if __name__ == "__main__":
    main()
