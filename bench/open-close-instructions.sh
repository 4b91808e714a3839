#!/usr/bin/env bash
# Instructions per connection open+close in the simulator, independent of the machine's load: callgrind
# counts every instruction of two runs, N1 and N2 measured connections in one round each; each run warms up
# with one round of N/5 (under valgrind one round outlasts the 2 s warm-up), so the difference divided by
# 1.2 (N2 - N1) is the cost of one open+close. Tiered compilation is off, so every method is compiled once
# with full optimisation and runs the same in both runs (with tiering, when a method reaches its final tier
# under valgrind depends on thread scheduling, and the difference wanders by tens of percent). The count is
# therefore that of code without dynamic PGO, and CoreLib runs its precompiled (ReadyToRun) code: it ranks
# builds, it is not the instruction count of a normal run. Runtime settings under valgrind: benchmark-common.sh.
#
#   bench/open-close-instructions.sh [sim-open-close|sim-open-close-callbacks] [N1] [N2]
set -euo pipefail
mode=${1:-sim-open-close}
n1=${2:-5000}
n2=${3:-20000}
source "$(dirname "$0")/benchmark-common.sh"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
count() {
  run_benchmark_under_valgrind "$out/log.$1" --tool=callgrind --callgrind-out-file="$out/cg.$1" -- "$mode" "$1" 1 || return 1
  grep -E "^totals:" "$out/cg.$1" | awk '{print $2}'
}
i1=$(count "$n1")
i2=$(count "$n2")
echo "mode=$mode n1=$n1 instructions1=$i1 n2=$n2 instructions2=$i2 instructions_per_connection=$(( (i2 - i1) * 5 / ((n2 - n1) * 6) ))"
