#!/usr/bin/env bash
# Side-by-side timing of tcpkit, tshark and tcpdump on one large capture (bulk transfers with nftables
# loss, snaplen 128): wall seconds and peak RSS (/usr/bin/time), every tool in every run.
# Usage: bench/analysis-vs-tshark.sh [FILE.pcap | SECONDS_OF_TRAFFIC]
#   FILE: time on an existing capture (e.g. bench/data/bulk-loss.pcap from bench/make-capture.sh);
#   SECONDS (default 6): first make a capture in two network namespaces that the script creates and
#   deletes (needs root, iperf3, tcpdump, nft).
# Needs tshark, tcpdump and tcpkit: the native build from bench/publish-native.sh when present
# (TK=... overrides, e.g. TK="dotnet src/TcpKit.Cli/bin/Release/net10.0/tcpkit.dll"). RUNS=3 by default.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
native=$here/../src/TcpKit.Cli/bin/Release/net10.0/linux-x64/publish/tcpkit
if [ -z "${TK:-}" ]; then
  if [ -x "$native" ]; then TK=$native; else TK="dotnet $here/../src/TcpKit.Cli/bin/Release/net10.0/tcpkit.dll"; fi
fi
dir=$(mktemp -d /tmp/tcpkit-bench-XXXX)
if [ -f "${1:-}" ]; then
  f=$1
else
  secs=${1:-6}
  a=tkbench$$a; b=tkbench$$b
  cleanup() { ip netns del $a 2>/dev/null || true; ip netns del $b 2>/dev/null || true; }
  trap cleanup EXIT
  ip netns add $a; ip netns add $b
  ip link add tkb0 netns $a type veth peer name tkb1 netns $b
  ip -n $a addr add 198.18.0.1/24 dev tkb0; ip -n $b addr add 198.18.0.2/24 dev tkb1
  ip -n $a link set tkb0 up; ip -n $b link set tkb1 up; ip -n $a link set lo up; ip -n $b link set lo up
  for ns in $a $b; do ip netns exec $ns ethtool -K $([ $ns = $a ] && echo tkb0 || echo tkb1) tso off gso off gro off >/dev/null 2>&1 || true; done
  ip netns exec $b nft add table inet loss
  ip netns exec $b nft add chain inet loss input '{ type filter hook input priority 0 ; }'
  ip netns exec $b nft add rule inet loss input tcp dport 5201 numgen random mod 1000 '<' 5 drop
  ip netns exec $b iperf3 -s -D -1 >/dev/null
  sleep 0.5
  ip netns exec $a tcpdump -i tkb0 -s 128 -w $dir/bulk.pcap -U >/dev/null 2>&1 &
  tp=$!
  sleep 1
  ip netns exec $a iperf3 -c 198.18.0.2 -t $secs -P 4 -b 1200M >/dev/null
  sleep 0.5; kill -INT $tp; wait $tp || true
  f=$dir/bulk.pcap
fi
empty=$dir/empty.pcap
printf '\xd4\xc3\xb2\xa1\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\x00\x00\x01\x00\x00\x00' > $empty
echo "capture: $f, $(capinfos -c -M $f | tail -1 | tr -s ' '), $(du -h $f | cut -f1); tcpkit: $TK"
echo "uptime: $(uptime)"
# t LABEL CMD...: "LABEL 1.23 s wall 0.98 s cpu 45 MB" (wall seconds, user+system CPU seconds, peak RSS), output
# discarded. On a loaded machine the CPU time is the steadier measure: wall time includes waiting for a core.
t() {
  local label=$1; shift
  /usr/bin/time -f "%e %U %S %M" -o $dir/time "$@" >/dev/null 2>&1 || true
  read -r s u y kb < $dir/time
  echo "$label $s s wall $(echo "$u + $y" | bc) s cpu $((kb / 1024)) MB"
}
for run in $(seq 1 ${RUNS:-3}); do
  echo "run $run:"
  t "  tcpkit start-up (empty pcap)        " $TK read -r $empty
  t "  tshark -q -z conv,tcp                " tshark -q -r $f -z conv,tcp
  t "  tcpkit conv                          " $TK conv -r $f
  t "  tshark -Y tcp.analysis.retransmission" tshark -r $f -Y tcp.analysis.retransmission
  t "  tcpkit read -Y tcp.analysis.retrans.." $TK read -r $f -Y tcp.analysis.retransmission
  t "  tcpdump -nn -r                       " tcpdump -nn -r $f
done
echo "uptime: $(uptime)"
if [ -n "${KEEP:-}" ]; then echo "kept $dir"; else rm -rf $dir; fi
