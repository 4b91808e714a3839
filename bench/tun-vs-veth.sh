#!/usr/bin/env bash
# Side by side, alternating in one run: the Linux kernel talking to TcpKit over a TUN device (both directions),
# against the kernel talking to itself over a veth pair with offloads off at the same MTU. Each round runs the
# three transfers one after the other, so a change in the machine's load hits all three alike; the summary
# gives the median of each and the ratios of the medians. Also the connections per second a TcpKit listener
# accepts from kernel clients. Everything happens in namespaces this script creates and deletes. Every transfer
# is timed by the kernel-side Python socket, from connect/accept to the end of the data (process start and TUN
# set-up are not included).
# Usage: bench/tun-vs-veth.sh [BYTES] [CONNECTIONS] [MTU] [ROUNDS]   (needs root, python3, iproute2, ethtool)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bytes=${1:-1000000000}
conns=${2:-2000}
mtu=${3:-1500}
rounds=${4:-5}
[ "$(id -u)" = 0 ] || { echo "tun-vs-veth.sh: needs root" >&2; exit 1; }
dotnet build "$here/../src/TcpKit.Cli" -c Release -v q -nologo >/dev/null
tk="dotnet $here/../src/TcpKit.Cli/bin/Release/net10.0/tcpkit.dll"
nr=tkbr$$; ns=tkbs$$; a=tkbva$$; b=tkbvb$$
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; sleep 0.5; for n in $nr $ns $a $b; do ip netns del $n 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT

# Kernel-side Python: a sender (times connect to the peer's close), a sink (times accept to end of data,
# written to the file given), a connector loop.
SEND='import socket,sys,time
n=int(sys.argv[3]); t=time.time(); s=socket.create_connection((sys.argv[1],int(sys.argv[2]))); buf=b"x"*(1<<20); left=n
while left>0:
    k=s.send(buf[:min(left,len(buf))]); left-=k
s.shutdown(socket.SHUT_WR)
while s.recv(65536): pass
print(time.time()-t)'
SINK='import socket,sys,time
l=socket.socket(); l.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1); l.bind((sys.argv[1],int(sys.argv[2]))); l.listen(1)
c,_=l.accept(); t=time.time(); n=0
while True:
    b=c.recv(1<<20)
    if not b: break
    n+=len(b)
el=time.time()-t; c.close(); open(sys.argv[3],"w").write("%d %f\n"%(n,el))'
CONNECT='import socket,sys,time
n=int(sys.argv[3]); t=time.time()
for i in range(n):
    s=socket.create_connection((sys.argv[1],int(sys.argv[2]))); s.close()
print(time.time()-t)'
gbit() { python3 -c "print(round($1*8/$2/1e9,2))"; }
median() { python3 -c "import statistics,sys; print(round(statistics.median(float(x) for x in sys.argv[1:]),2))" "$@"; }
load() { cut -d' ' -f1 /proc/loadavg; }

# kernel -> TcpKit: one long-lived tcpkit serve --discard in its own namespace.
ip netns add $nr; ip -n $nr link set lo up
ip netns exec $nr $tk serve --tun tkb0 --addr 192.0.2.1/24 --kernel-addr 192.0.2.2 --mtu "$mtu" --port 5001 --discard >/dev/null 2>&1 &
pids+=($!)
for i in $(seq 50); do ip -n $nr link show tkb0 >/dev/null 2>&1 && break; sleep 0.1; done; sleep 0.5
# A warm-up transfer first, so the figures are steady state rather than the JIT's tiering (the TcpKit -> kernel
# runs are one process per transfer; give them enough BYTES, 1 GB by default, to amortise the same).
ip netns exec $nr python3 -c "$SEND" 192.0.2.1 5001 $((bytes / 4)) >/dev/null

# TcpKit -> kernel: a kernel sink in a second namespace, one tcpkit connect --send per round.
ip netns add $ns; ip -n $ns link set lo up
head -c "$bytes" /dev/zero > "$tmp/data.bin"

# kernel -> kernel: a veth pair between two namespaces, offloads off, the same MTU.
ip netns add $a; ip netns add $b
ip link add tkbv0 netns $a type veth peer name tkbv1 netns $b
ip -n $a addr add 198.18.0.1/24 dev tkbv0; ip -n $b addr add 198.18.0.2/24 dev tkbv1
ip netns exec $a ethtool -K tkbv0 tso off gso off gro off tx off rx off >/dev/null
ip netns exec $b ethtool -K tkbv1 tso off gso off gro off tx off rx off >/dev/null
ip -n $a link set tkbv0 up mtu "$mtu"; ip -n $b link set tkbv1 up mtu "$mtu"

echo "round  load   kernel->tcpkit  tcpkit->kernel  kernel->kernel (Gbit/s, MTU $mtu, $bytes bytes each)"
rs=(); ss=(); vs=()
for round in $(seq "$rounds"); do
    l=$(load)
    s1=$(ip netns exec $nr python3 -c "$SEND" 192.0.2.1 5001 "$bytes")
    r1=$(gbit "$bytes" "$s1")

    ip netns exec $ns python3 -c "$SINK" 0.0.0.0 5002 "$tmp/sink2" & sp=$!; sleep 0.3
    ip netns exec $ns $tk connect --tun tkb1 --addr 198.18.1.1/24 --kernel-addr 198.18.1.2 --mtu "$mtu" --send "$tmp/data.bin" 198.18.1.2 5002 >/dev/null 2>&1
    wait $sp
    read -r n2 s2 < "$tmp/sink2"
    r2=$(gbit "$n2" "$s2")

    ip netns exec $b python3 -c "$SINK" 198.18.0.2 5003 "$tmp/sink3" & sp=$!; sleep 0.3
    ip netns exec $a python3 -c "$SEND" 198.18.0.2 5003 "$bytes" >/dev/null
    wait $sp
    read -r n3 s3 < "$tmp/sink3"
    r3=$(gbit "$n3" "$s3")
    printf '%5s  %5s  %14s  %14s  %14s\n' "$round" "$l" "$r1" "$r2" "$r3"
    rs+=("$r1"); ss+=("$r2"); vs+=("$r3")
done
m1=$(median "${rs[@]}"); m2=$(median "${ss[@]}"); m3=$(median "${vs[@]}")
printf 'median        %14s  %14s  %14s\n' "$m1" "$m2" "$m3"
echo "ratio of medians to kernel<->kernel: receiving $(python3 -c "print(round($m1/$m3,2))")x, sending $(python3 -c "print(round($m2/$m3,2))")x (MTU $mtu on both)"

c1=$(ip netns exec $nr python3 -c "$CONNECT" 192.0.2.1 5001 "$conns")
echo "kernel clients -> tcpkit listener: $(python3 -c "print(round($conns/$c1))") connections/s ($conns connections in $c1 s, one client at a time)"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
