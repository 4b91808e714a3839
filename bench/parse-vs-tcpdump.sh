#!/usr/bin/env bash
# Side by side, in one run: TcpKit parsing every frame of a capture down to the TCP header and options
# (one thread) against `tcpdump -nn -r FILE > /dev/null`. Prints medians of RUNS runs and the ratio.
# Usage: bench/parse-vs-tcpdump.sh [CAPTURE] [RUNS]   (default capture: bench/make-capture.sh's output)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
file=${1:-$here/data/bulk-loss.pcap}
runs=${2:-5}
[ -f "$file" ] || { echo "no capture at $file: run bench/make-capture.sh first" >&2; exit 1; }
dotnet build "$here/TcpKit.Benchmarks" -c Release -v q -nologo >/dev/null
bin="$here/TcpKit.Benchmarks/bin/Release/net10.0/TcpKit.Benchmarks.dll"
ours=$(dotnet "$bin" parse "$file" "$runs")
echo "tcpkit:  $ours"
times=()
for _ in $(seq "$runs"); do
  s=$(date +%s.%N); tcpdump -nn -r "$file" > /dev/null 2>&1; e=$(date +%s.%N)
  times+=("$(echo "$e - $s" | bc -l)")
done
median=$(printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
packets=$(echo "$ours" | sed -E 's/.*packets=([0-9]+).*/\1/')
ourmedian=$(echo "$ours" | sed -E 's/.*median_seconds=([0-9.]+).*/\1/')
echo "tcpdump: median_seconds=$median packets_per_second=$(echo "$packets / $median" | bc)"
echo "ratio (tcpdump time / tcpkit time): $(echo "scale=1; $median / $ourmedian" | bc)"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(uname -r)"
