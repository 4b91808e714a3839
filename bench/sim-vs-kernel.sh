#!/usr/bin/env bash
# Side by side, in one run: TcpKit <-> TcpKit bulk throughput over the simulated network (one process,
# MTU 1500, no impairment) against the Linux kernel's own TCP between two network namespaces over a
# veth pair with offloads off at MTU 1500 (iperf3). Also the simulator's connection open+close rate and
# memory per idle connection. Usage: bench/sim-vs-kernel.sh [BYTES] [RUNS]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bytes=${1:-2000000000}
runs=${2:-3}
dotnet build "$here/TcpKit.Benchmarks" -c Release -v q -nologo >/dev/null
bin="$here/TcpKit.Benchmarks/bin/Release/net10.0/TcpKit.Benchmarks.dll"
echo "tcpkit sim bulk:      $(dotnet "$bin" sim-bulk "$bytes" "$runs")"
if [ "$(id -u)" = 0 ] && command -v iperf3 >/dev/null && command -v ip >/dev/null; then
  a=tkperf-a; b=tkperf-b
  cleanup() { ip netns del $a 2>/dev/null || true; ip netns del $b 2>/dev/null || true; }
  trap cleanup EXIT
  cleanup
  ip netns add $a; ip netns add $b
  ip link add tkp0 netns $a type veth peer name tkp1 netns $b
  ip -n $a addr add 198.18.0.1/24 dev tkp0; ip -n $b addr add 198.18.0.2/24 dev tkp1
  ip netns exec $a ethtool -K tkp0 tso off gso off gro off tx off rx off >/dev/null
  ip netns exec $b ethtool -K tkp1 tso off gso off gro off tx off rx off >/dev/null
  ip -n $a link set tkp0 up mtu 1500; ip -n $b link set tkp1 up mtu 1500
  results=()
  for _ in $(seq "$runs"); do
    ip netns exec $b iperf3 -s -1 -B 198.18.0.2 >/dev/null 2>&1 &
    sleep 0.3
    g=$(ip netns exec $a iperf3 -c 198.18.0.2 -n "$bytes" -J | python3 -c 'import json,sys; print(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/1e9)')
    results+=("$g")
    wait || true
  done
  median=$(printf '%s\n' "${results[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  echo "kernel veth iperf3:   payload_gbit_per_second=$median runs=$runs"
else
  echo "kernel veth iperf3:   skipped (needs root, iperf3 and iproute2)"
fi
echo "tcpkit open+close:    $(dotnet "$bin" sim-open-close 100000)"
echo "tcpkit idle memory:   $(dotnet "$bin" sim-idle 100000)"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
