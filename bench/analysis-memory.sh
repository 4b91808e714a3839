#!/usr/bin/env bash
# Peak resident memory of tcpkit against packet count: each capture given is read by `tcpkit conv` and
# `tcpkit read -Y tcp.analysis.retransmission` (RUNS times, default 3), and once by `tshark -q -z conv,tcp`
# for comparison (TSHARK=0 skips it). /usr/bin/time -f %M reports the peak RSS.
# Usage: bench/analysis-memory.sh FILE.pcap [FILE2.pcap ...]   e.g. captures from bench/make-capture.sh with
# 1400M and 2800M bytes (about 1.1 M and 2.1 M packets). tcpkit: as in analysis-vs-tshark.sh (TK=...).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
native=$here/../src/TcpKit.Cli/bin/Release/net10.0/linux-x64/publish/tcpkit
if [ -z "${TK:-}" ]; then
  if [ -x "$native" ]; then TK=$native; else TK="dotnet $here/../src/TcpKit.Cli/bin/Release/net10.0/tcpkit.dll"; fi
fi
tmp=$(mktemp)
trap 'rm -f $tmp' EXIT
m() { /usr/bin/time -f "%M %e" -o $tmp "$@" >/dev/null 2>&1 || true; read -r kb s < $tmp; echo "$((kb / 1024)) MB (${s} s)"; }
echo "tcpkit: $TK; uptime: $(uptime)"
for f in "$@"; do
  n=$(capinfos -c -M "$f" | tail -1 | tr -s ' ' | cut -d' ' -f4)
  echo "$f: $n packets, $(du -h "$f" | cut -f1)"
  for run in $(seq 1 ${RUNS:-3}); do
    echo "  run $run: tcpkit conv $(m $TK conv -r "$f") | tcpkit read -Y retransmission $(m $TK read -r "$f" -Y tcp.analysis.retransmission)"
  done
  if [ "${TSHARK:-1}" != 0 ]; then echo "  tshark -q -z conv,tcp $(m tshark -q -r "$f" -z conv,tcp)"; fi
done
