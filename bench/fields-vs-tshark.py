#!/usr/bin/env python3
"""Field-by-field agreement of `tcpkit read -T fields` with `tshark -T fields` over many captures.

Usage: bench/fields-vs-tshark.py CAPTURE_OR_DIR... [--tcpkit "dotnet src/TcpKit.Cli/bin/Release/net10.0/tcpkit.dll"]
                                 [--show N] [--only-tcp]

For every capture (directories are searched for *.pcap, *.pcapng, *.trace, *.cap) both tools print every
field of tcpkit's catalog (read from src/TcpKit.Analysis/Fields/FieldCatalog.cs) (tcpkit.* fields excepted: tshark has no such fields) for every frame, with
tshark's checksum validation on. Prints, per field, how many frames disagree, then the first N
disagreements, and a summary line. Captures tshark itself cannot read completely are skipped and counted.
It is a report: exit status 0 always.
"""
import collections, os, re, shlex, subprocess, sys

def captures(paths):
    for p in paths:
        if os.path.isdir(p):
            for root, _, files in os.walk(p):
                for f in sorted(files):
                    if f.endswith((".pcap", ".pcapng", ".trace", ".cap")):
                        yield os.path.join(root, f)
        else:
            yield p

def main():
    args = sys.argv[1:]
    tcpkit = shlex.split("dotnet src/TcpKit.Cli/bin/Release/net10.0/tcpkit.dll")
    show, only_tcp, paths = 20, False, []
    i = 0
    while i < len(args):
        if args[i] == "--tcpkit":
            tcpkit = shlex.split(args[i + 1]); i += 2
        elif args[i] == "--show":
            show = int(args[i + 1]); i += 2
        elif args[i] == "--only-tcp":
            only_tcp = True; i += 1
        else:
            paths.append(args[i]); i += 1
    if not paths:
        print(__doc__); return
    catalog = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src", "TcpKit.Analysis", "Fields", "FieldCatalog.cs")
    names = re.findall(r'\["([a-z0-9_.]+)"\] = \(in FieldContext', open(catalog).read())
    fields = [n for n in names if not n.startswith("tcpkit.")]
    per_field = collections.Counter()
    per_capture = collections.Counter()
    examples = []
    files = frames = skipped = 0
    for cap in captures(paths):
        base = ["-T", "fields", "-E", "header=n"]
        for f in fields:
            base += ["-e", f]
        flt = ["-Y", "tcp"] if only_tcp else []
        t = subprocess.run(["tshark", "-n", "-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE", "-r", cap] + flt + base,
                           capture_output=True, text=True, errors="replace")
        if t.returncode != 0 or "appears to have been cut short" in t.stderr or "isn't a capture file" in t.stderr:
            skipped += 1
            continue
        o = subprocess.run(tcpkit + ["read", "-r", cap, "--lenient"] + flt + base, capture_output=True, text=True, errors="replace")
        tl, ol = t.stdout.splitlines(), o.stdout.splitlines()
        if o.returncode != 0 or len(tl) != len(ol):
            examples.append(f"{cap}: tshark {len(tl)} lines, tcpkit {len(ol)} (exit {o.returncode}: {o.stderr.strip()[:200]})")
            per_field["<frame count>"] += 1
            files += 1
            continue
        files += 1
        for a, b in zip(tl, ol):
            frames += 1
            av, bv = a.split("\t"), b.split("\t")
            for k, name in enumerate(fields):
                x = av[k] if k < len(av) else ""
                y = bv[k] if k < len(bv) else ""
                if x != y:
                    per_field[name] += 1
                    per_capture[cap] += 1
                    if len(examples) < 10000:
                        examples.append(f"{cap} frame {av[fields.index('frame.number')] if 'frame.number' in fields else '?'} {name}: tshark '{x[:80]}' tcpkit '{y[:80]}'")
    for name, n in per_field.most_common():
        print(f"{name:40} {n} frames disagree")
    print()
    for cap, n in per_capture.most_common(show):
        print(f"{n:8} disagreeing values in {cap}")
    print()
    for e in examples[:show]:
        print(e)
    cells = frames * len(fields)
    bad = sum(per_field.values())
    print(f"\n{files} captures ({skipped} skipped: tshark could not read them whole), {frames} frames x {len(fields)} fields: "
          f"{bad} disagreements ({100.0 * (cells - bad) / cells if cells else 100:.3f} % agreement)")

if __name__ == "__main__":
    main()
