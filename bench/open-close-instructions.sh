#!/usr/bin/env bash
# Instructions per connection open+close in the simulator, independent of the machine's load. callgrind
# counts every instruction of two runs of the same process that differ only in the number of measured
# rounds (R1 and R2 rounds of N connections each, after the same warm-up); the difference divided by
# (R2 - R1) * N is the steady-state cost, with the JIT's work and the warm-up cancelled out. Tiered
# compilation stays on (with dynamic PGO, as in a normal run); its call-counting delay is 0 so methods
# reach their final tier during the first rounds rather than by wall-clock time.
#
#   bench/open-close-instructions.sh [sim-open-close|sim-open-close-callbacks] [N] [R1] [R2]
set -euo pipefail
mode=${1:-sim-open-close}
n=${2:-10000}
r1=${3:-2}
r2=${4:-4}
here=$(cd "$(dirname "$0")" && pwd)
dotnet build "$here/TcpKit.Benchmarks" -c Release -v q -nologo >/dev/null
dll="$here/TcpKit.Benchmarks/bin/Release/net10.0/TcpKit.Benchmarks.dll"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
count() {
  DOTNET_TC_CallCountingDelayMs=0 valgrind --tool=callgrind --callgrind-out-file="$out/cg.$1" \
    dotnet "$dll" "$mode" "$n" "$1" >"$out/log.$1" 2>&1
  grep -E "^summary:|^totals:" "$out/cg.$1" | head -1 | awk '{print $2}'
}
i1=$(count "$r1")
i2=$(count "$r2")
echo "mode=$mode n=$n rounds1=$r1 instructions1=$i1 rounds2=$r2 instructions2=$i2 instructions_per_connection=$(( (i2 - i1) / ((r2 - r1) * n) ))"
