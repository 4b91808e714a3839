#!/usr/bin/env bash
# Instructions per connection open+close of the code a normal run executes: tiered compilation with dynamic
# PGO, counted by callgrind over whole measured rounds only. The benchmark runs under valgrind with counting
# off through its warm-up and between rounds (RoundGate in the benchmark waits at each round's start and end);
# this script switches counting on for each round (callgrind_control) and prints each round's instructions per
# connection. The first rounds still run (and compile) code below its final tier; from about the fifth round of
# 10,000 connections on, the count settles within a few percent, so the figure to quote is the median of the
# second half of the rounds, printed last. Rounds differ by their place in the workload (where the client's ports
# wrap and reopen TIME-WAIT connections) in the same way for every build, and the runtime's background compiling
# lands in some of them: to rank two builds, run both at once (one per CPU, so both see the same timing) and compare
# them round by round. The call-counting delay is off so that methods tier up as soon as they are called often
# enough. Runtime settings under valgrind: benchmark-common.sh (here with tiering left on).
#
#   bench/open-close-instructions-tiered.sh [sim-open-close|sim-open-close-callbacks] [N] [ROUNDS]
set -euo pipefail
mode=${1:-sim-open-close}
n=${2:-10000}
rounds=${3:-8}
source "$(dirname "$0")/benchmark-common.sh"
gate=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; [ -n "${KEEP_GATE:-}" ] || rm -rf "$gate"' EXIT
wait_for() {
  while [ ! -e "$gate/$1" ]; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "the benchmark ended before $1:" >&2
      grep -v "^==" "$gate/log" | tail -20 >&2
      exit 1
    fi
    sleep 0.2
  done
}
TCPKIT_BENCH_GATE_DIR=$gate DOTNET_TC_CallCountingDelayMs=0 DOTNET_EnableWriteXorExecute=0 DOTNET_JitDisasmSummary=1 DOTNET_JitStdOutFile="$gate/jit" \
  valgrind "$valgrind_address_space" --tool=callgrind --instr-atstart=no --callgrind-out-file="$gate/cg.%p" \
  dotnet "$benchmark_dll" "$mode" "$n" "$rounds" >"$gate/log" 2>&1 &
pid=$!
per_round=()
for r in $(seq 0 $((rounds - 1))); do
  wait_for "ready.$r"
  callgrind_control -z "$pid" >/dev/null 2>&1
  callgrind_control -i on "$pid" >/dev/null 2>&1
  touch "$gate/go.$r"
  wait_for "done.$r"
  callgrind_control -i off "$pid" >/dev/null 2>&1
  callgrind_control -d "round$r" "$pid" >/dev/null 2>&1
  touch "$gate/resume.$r"
  dump=$(ls -t "$gate"/cg.* | head -1)
  total=$(grep -E "^totals:" "$dump" | tail -1 | awk '{print $2}')
  echo "mode=$mode round=$r connections=$n instructions=$total instructions_per_connection=$((total / n))"
  per_round+=("$((total / n))")
done
wait "$pid"
fail_if_jit_fell_back "$gate/jit" "$mode $n $rounds"
half=("${per_round[@]:$((rounds / 2))}")
printf '%s\n' "${half[@]}" | sort -n | awk -v mode="$mode" '
  { v[NR] = $1 }
  END { m = NR % 2 ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2); print "mode=" mode " rounds_counted=" NR " median_instructions_per_connection=" m }'
