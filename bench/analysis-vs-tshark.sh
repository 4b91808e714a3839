#!/usr/bin/env bash
# Side-by-side timing of tcpkit and tshark on one large capture (bulk transfers with nftables loss,
# snaplen 128), made here in two network namespaces that the script creates and deletes.
# Usage: bench/analysis-vs-tshark.sh [SECONDS_OF_TRAFFIC] ; needs root, iperf3, tcpdump, nft, tshark, a Release build of tcpkit.
set -euo pipefail
secs=${1:-6}
dir=$(mktemp -d /tmp/tcpkit-bench-XXXX)
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
echo "capture: $(capinfos -c -M $f | tail -1)  size $(du -h $f | cut -f1)"
tk="dotnet $(dirname "$0")/../src/TcpKit.Cli/bin/Release/net10.0/tcpkit.dll"
t() { local s=$(date +%s.%N); "$@" >/dev/null 2>&1; local e=$(date +%s.%N); echo "$(echo "$e - $s" | bc)"; }
[ "${RUNS:-3}" -gt 0 ] || { echo "kept $f"; exit 0; }
for run in $(seq 1 ${RUNS:-3}); do
  echo "run $run: tshark conv $(t tshark -q -r $f -z conv,tcp) s | tcpkit conv $(t $tk conv -r $f) s | tshark -Y retrans $(t tshark -r $f -Y tcp.analysis.retransmission) s | tcpkit -Y retrans $(t $tk read -r $f -Y tcp.analysis.retransmission) s | tcpdump $(t tcpdump -nn -r $f) s"
done
if [ -n "${KEEP:-}" ]; then echo "kept $f"; else rm -rf $dir; fi
