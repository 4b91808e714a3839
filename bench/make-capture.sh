#!/usr/bin/env bash
# Makes the benchmark capture: a bulk Linux TCP transfer with random loss between two network
# namespaces (veth, offloads off, MTU 1500), captured by tcpdump with snaplen 128.
# Usage: bench/make-capture.sh [OUT.pcap] [BYTES] [LOSS_PERCENT]
# Default: bench/data/bulk-loss.pcap, 1.4 GB (about 1,100,000 packets), 1 % loss.
set -euo pipefail
out=${1:-$(dirname "$0")/data/bulk-loss.pcap}
bytes=${2:-1400M}
loss=${3:-1}
[ "$(id -u)" = 0 ] || { echo "make-capture.sh: needs root for network namespaces" >&2; exit 1; }
for t in ip tcpdump iperf3 nft ethtool; do command -v $t >/dev/null || { echo "make-capture.sh: needs $t" >&2; exit 1; }; done
mkdir -p "$(dirname "$out")"
a=tkbench-a; b=tkbench-b
cleanup() { ip netns del $a 2>/dev/null || true; ip netns del $b 2>/dev/null || true; }
trap cleanup EXIT
cleanup
ip netns add $a; ip netns add $b
ip link add tkb0 netns $a type veth peer name tkb1 netns $b
ip -n $a addr add 198.18.0.1/24 dev tkb0; ip -n $b addr add 198.18.0.2/24 dev tkb1
for ns in $a $b; do ip -n $ns link set lo up; done
ip netns exec $a ethtool -K tkb0 tso off gso off gro off >/dev/null
ip netns exec $b ethtool -K tkb1 tso off gso off gro off >/dev/null
ip -n $a link set tkb0 up; ip -n $b link set tkb1 up
# Random loss on the receiver's input: retransmissions, dup ACKs, SACK, out-of-order.
ip netns exec $b nft -f - <<NFT
table inet tkbench {
  chain input { type filter hook input priority 0; tcp dport 5201 numgen random mod 100 < $loss drop; }
}
NFT
ip netns exec $b iperf3 -s -1 -B 198.18.0.2 >/dev/null &
server=$!
sleep 0.5
ip netns exec $a tcpdump -i tkb0 -s 128 -w "$out" --immediate-mode -B 65536 2>/tmp/tkbench-tcpdump.err &
dump=$!
sleep 1
ip netns exec $a iperf3 -c 198.18.0.2 -n "$bytes" -M 1460 >/dev/null
sleep 0.5
kill -INT $dump; wait $dump || true
wait $server || true
tail -3 /tmp/tkbench-tcpdump.err >&2
echo "$out"
