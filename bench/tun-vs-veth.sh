#!/usr/bin/env bash
# Side by side, in one run: the Linux kernel talking to TcpKit over a TUN device, against the kernel
# talking to itself over a veth pair (offloads off, same MTU). Also the connections per second a TcpKit
# listener accepts from kernel clients. Everything happens in namespaces this script creates and deletes.
# Usage: bench/tun-vs-veth.sh [BYTES] [CONNECTIONS]    (needs root, python3, iperf3, iproute2, ethtool)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bytes=${1:-1000000000}
conns=${2:-2000}
[ "$(id -u)" = 0 ] || { echo "tun-vs-veth.sh: needs root" >&2; exit 1; }
dotnet build "$here/../src/TcpKit.Cli" -c Release -v q -nologo >/dev/null
tk="dotnet $here/../src/TcpKit.Cli/bin/Release/net10.0/tcpkit.dll"
ns=tkbtun$$; a=tkbva$$; b=tkbvb$$
pids=()
cleanup() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; sleep 0.5; for n in $ns $a $b; do ip netns del $n 2>/dev/null || true; done; }
trap cleanup EXIT
ip netns add $ns; ip -n $ns link set lo up

# A Python sender/sink/connector run by the kernel inside a namespace; prints seconds.
py() { ip netns exec "$1" python3 -c "$2" "${@:3}"; }
SEND='import socket,sys,time
n=int(sys.argv[3]); s=socket.create_connection((sys.argv[1],int(sys.argv[2]))); buf=b"x"*(1<<20); t=time.time(); left=n
while left>0:
    k=s.send(buf[:min(left,len(buf))]); left-=k
s.shutdown(socket.SHUT_WR)
while s.recv(65536): pass
print(time.time()-t)'
SINK='import socket,sys
l=socket.socket(); l.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1); l.bind((sys.argv[1],int(sys.argv[2]))); l.listen(1); print("ready",flush=True)
c,_=l.accept()
while c.recv(1<<20): pass
c.close()'
CONNECT='import socket,sys,time
n=int(sys.argv[3]); t=time.time()
for i in range(n):
    s=socket.create_connection((sys.argv[1],int(sys.argv[2]))); s.close()
print(time.time()-t)'

# 1. kernel -> TcpKit over TUN (tcpkit serve --discard).
ip netns exec $ns $tk serve --tun tkb0 --addr 192.0.2.1/24 --kernel-addr 192.0.2.2 --port 5001 --discard >/dev/null 2>&1 &
pids+=($!); sleep 3
s1=$(ip netns exec $ns python3 -c "$SEND" 192.0.2.1 5001 "$bytes")
echo "kernel -> tcpkit (TUN):  $(python3 -c "print(round($bytes*8/$s1/1e9,2))") Gbit/s ($bytes bytes in $s1 s)"
c1=$(ip netns exec $ns python3 -c "$CONNECT" 192.0.2.1 5001 "$conns")
echo "kernel clients -> tcpkit listener: $(python3 -c "print(round($conns/$c1))") connections/s ($conns connections in $c1 s)"
kill -TERM "${pids[-1]}" 2>/dev/null || true; sleep 2

# 2. TcpKit -> kernel over TUN (tcpkit connect --send to a kernel sink).
head -c "$bytes" /dev/zero > /tmp/tkbench-$$.bin
ip netns exec $ns python3 -c "$SINK" 0.0.0.0 5002 >/dev/null &
pids+=($!); sleep 0.5
s2=$( { /usr/bin/time -f %e ip netns exec $ns $tk connect --tun tkb1 --addr 192.0.2.1/24 --kernel-addr 192.0.2.2 --send /tmp/tkbench-$$.bin 192.0.2.2 5002 >/dev/null 2>/dev/null; } 2>&1 | tail -1 | tr -dc "0-9.")
rm -f /tmp/tkbench-$$.bin
echo "tcpkit -> kernel (TUN):  $(python3 -c "print(round($bytes*8/$s2/1e9,2))") Gbit/s ($bytes bytes in $s2 s, process start and TUN set-up included)"

# 3. kernel -> kernel over veth, offloads off, MTU 1500.
ip netns add $a; ip netns add $b
ip link add tkbv0 netns $a type veth peer name tkbv1 netns $b
ip -n $a addr add 198.18.0.1/24 dev tkbv0; ip -n $b addr add 198.18.0.2/24 dev tkbv1
ip netns exec $a ethtool -K tkbv0 tso off gso off gro off tx off rx off >/dev/null
ip netns exec $b ethtool -K tkbv1 tso off gso off gro off tx off rx off >/dev/null
ip -n $a link set tkbv0 up mtu 1500; ip -n $b link set tkbv1 up mtu 1500
py $b "$SINK" 198.18.0.2 5003 >/dev/null & pids+=($!); sleep 0.5
s3=$(py $a "$SEND" 198.18.0.2 5003 "$bytes")
echo "kernel -> kernel (veth): $(python3 -c "print(round($bytes*8/$s3/1e9,2))") Gbit/s ($bytes bytes in $s3 s)"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
