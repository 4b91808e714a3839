#!/usr/bin/env bash
# Simulated cache misses of one open+close run in the simulator, independent of the machine's load: callgrind
# with its cache simulation (first level as this machine's, last level 8 MB, 16-way) over one process that
# warms up with N/5 connections and then opens and closes N. With N above 28,232 a client port comes round,
# so MAY-2 reuse of connections in TIME-WAIT is part of the run. Tiered compilation is off, as in
# open-close-instructions.sh, so two builds run the same code paths. Prints the totals of the whole process
# (runtime start-up and JIT included, the same for both builds): use it to rank builds, not as a per-connection cost.
#
#   bench/open-close-cache-misses.sh [sim-open-close|sim-open-close-callbacks] [N]
set -euo pipefail
mode=${1:-sim-open-close}
n=${2:-60000}
source "$(dirname "$0")/benchmark-common.sh"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
run_benchmark_under_valgrind "$out/log" --tool=callgrind --cache-sim=yes --LL=8388608,16,64 --callgrind-out-file="$out/cg" -- "$mode" "$n" 1
events=$(grep -E "^events:" "$out/cg" | head -1 | cut -d' ' -f2-)
totals=$(grep -E "^totals:" "$out/cg" | tail -1 | cut -d' ' -f2-)
paste -d= <(tr ' ' '\n' <<<"$events") <(tr ' ' '\n' <<<"$totals") | tr '\n' ' '
echo "mode=$mode n=$n"
