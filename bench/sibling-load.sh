#!/usr/bin/env bash
# What a busy second CPU does to this machine's speed: the memory-walk probe (machine-speed) and the open+close
# benchmark, each run alone and then beside a compute loop pinned to the other CPU, alternating PAIRS times.
# When the hypervisor runs this machine's two CPUs on the two hyperthreads of one core, they share its caches
# and pipeline, and the loop alone takes the probe and the benchmark down to the numbers of the slow windows
# that other tenants' work causes (the probe's walk in 1 MiB from ~130 to 40-110 steps/us). When it runs them
# on two cores, the loop changes little. What it shows: sharing the core is enough to give the slow windows' numbers.
#
#   bench/sibling-load.sh [PAIRS] [N] [ROUNDS]
set -euo pipefail
pairs=${1:-3}
n=${2:-100000}
rounds=${3:-5}
if [ "$rounds" -lt 2 ]; then
  echo "ROUNDS must be 2 or more: a process reports its median of rounds" >&2
  exit 2
fi
source "$(dirname "$0")/benchmark-common.sh"
dll=$benchmark_dll
if [ "$(nproc)" -lt 2 ]; then
  echo "needs two CPUs" >&2
  exit 1
fi

busy_pid=
start_busy() {
  taskset -c 1 bash -c 'while :; do :; done' &
  busy_pid=$!
  sleep 0.2
}
stop_busy() {
  kill "$busy_pid" 2>/dev/null || true
  wait "$busy_pid" 2>/dev/null || true
  busy_pid=
}
trap stop_busy EXIT

probe() { taskset -c 0 dotnet "$dll" machine-speed 15 | tr -s ' ' | sed 's/ $//'; }
bench() {
  dotnet "$dll" sim-open-close "$n" "$rounds" | grep -o 'median_open_close_per_second=[0-9]*' | cut -d= -f2
}

for i in $(seq "$pairs"); do
  echo "$(date -u +%H:%M:%S) pair=$i other_cpu=idle machine_memory_steps_per_us=[$(probe)] median_open_close_per_second=$(bench)"
  start_busy
  echo "$(date -u +%H:%M:%S) pair=$i other_cpu=busy machine_memory_steps_per_us=[$(probe)] median_open_close_per_second=$(bench)"
  stop_busy
done
