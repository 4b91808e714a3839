# Shared by the benchmark scripts (source it): builds the benchmark project, sets benchmark_dll, and defines
# run_benchmark_under_valgrind, which runs one benchmark process under a valgrind tool and fails loudly
# when the process did not finish its measured round.
#
# The .NET runtime's W^X protection maps JIT code twice (written through one mapping, run from the other).
# Valgrind does not see code written through the other mapping, keeps running its stale translation of the
# old bytes at that address, and the process then fails in ways that have nothing to do with its code (an
# IndexOutOfRangeException in TimeWaitTable, reproduced under valgrind 5 times out of 5, never natively,
# gone with W^X off). So W^X is off under valgrind, and tiered compilation too: every method is compiled
# once with full optimisation, and two builds run the same code paths.
#
# Valgrind also maps the process's memory below 4 GiB by default. The JIT then gets handles and addresses that
# fit in 32 bits, its optimising compile of most methods fails, and it compiles them again with MinOpts (no
# inlining, no register allocation across statements): counts made that way measure code that never runs
# natively (79,837 instructions per async open+close against 43,671 with full optimisation). So valgrind maps
# above 4 GiB ($valgrind_address_space), and the run's JIT summary is checked (fail_if_jit_fell_back): a run
# that compiled any method of TcpKit with MinOpts fails.
bench_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
dotnet build "$bench_dir/TcpKit.Benchmarks" -c Release -v q -nologo >/dev/null
benchmark_dll="$bench_dir/TcpKit.Benchmarks/bin/Release/net10.0/TcpKit.Benchmarks.dll"
valgrind_address_space=--aspace-minaddr=0x100000000

# fail_if_jit_fell_back JIT_SUMMARY WHAT: fails when the run whose DOTNET_JitDisasmSummary went to JIT_SUMMARY
# compiled a TcpKit method with MinOpts.
fail_if_jit_fell_back() {
  if grep "TcpKit" "$1" | grep -q "MinOpts"; then
    echo "the JIT compiled TcpKit methods with MinOpts under valgrind ($2), so the counts are not those of optimised code:" >&2
    grep "TcpKit" "$1" | grep "MinOpts" | head -5 >&2
    return 1
  fi
}

# run_benchmark_under_valgrind LOG VALGRIND_OPTION... -- BENCHMARK_ARGUMENT...
run_benchmark_under_valgrind() {
  local log=$1
  shift
  local options=()
  while [ "$1" != "--" ]; do
    options+=("$1")
    shift
  done
  shift
  local jit_summary="$log.jit"
  rm -f "$jit_summary"
  DOTNET_EnableWriteXorExecute=0 DOTNET_TieredCompilation=0 DOTNET_JitDisasmSummary=1 DOTNET_JitStdOutFile="$jit_summary" \
    valgrind "$valgrind_address_space" "${options[@]}" dotnet "$benchmark_dll" "$@" >"$log" 2>&1 || true
  if ! grep -q "open_close_per_second=" "$log"; then
    echo "the benchmark did not finish under valgrind ($*):" >&2
    grep -v "^==" "$log" | tail -20 >&2
    return 1
  fi
  fail_if_jit_fell_back "$jit_summary" "$*"
}
