#!/usr/bin/env bash
# Runs the open+close benchmark in K separate processes, one after another, and prints each process's median
# with the machine's memory speed beside it and each round's rate with the machine's memory and core speed in
# that round, then the median of the medians and how many reached 200,000 per second. On a shared machine one
# process's rate depends on the machine's state while it runs (and differs from process to process by tens of
# percent), so a claim about the rate is a claim about this distribution.
#
#   bench/open-close-series.sh [sim-open-close|sim-open-close-callbacks] [K] [N] [ROUNDS]
set -euo pipefail
mode=${1:-sim-open-close}
k=${2:-10}
n=${3:-100000}
rounds=${4:-7}
if [ "$rounds" -lt 2 ]; then
  echo "ROUNDS must be 2 or more: a process reports its median of rounds" >&2
  exit 2
fi
source "$(dirname "$0")/benchmark-common.sh"
dll=$benchmark_dll
medians=()
for i in $(seq "$k"); do
  out=$(dotnet "$dll" "$mode" "$n" "$rounds")
  median=$(grep -o 'median_open_close_per_second=[0-9]*' <<<"$out" | cut -d= -f2)
  walk=$(grep -o 'machine_memory_steps_per_us=[0-9]*' <<<"$out" | cut -d= -f2 | sort -n | paste -sd, -)
  # Each round's rate with the machine's speed in that round: rate@memory_steps_per_us/compute_steps_per_ns
  # (MachineSpeed: a memory walk and a chain of dependent multiply-adds, each the slower of before and after).
  speeds=$(grep -o 'open_close_per_second=[0-9]* (after warm-up).*machine_compute_steps_per_ns=[0-9.]*' <<<"$out" |
    sed -E 's/open_close_per_second=([0-9]*) .*machine_memory_steps_per_us=([0-9]*) machine_compute_steps_per_ns=([0-9.]*)/\1@\2\/\3/' | paste -sd, -)
  echo "$(date -u +%H:%M:%S) process=$i median_open_close_per_second=$median machine_memory_steps_per_us=$walk rounds=$speeds"
  medians+=("$median")
done
printf '%s\n' "${medians[@]}" | sort -n | awk -v mode="$mode" '
  { v[NR] = $1; if ($1 >= 200000) ok++ }
  END {
    m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    printf "mode=%s processes=%d median_of_medians=%d lowest=%d highest=%d at_least_200000=%d\n", mode, NR, m, v[1], v[NR], ok + 0
  }'
