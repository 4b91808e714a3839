#!/usr/bin/env bash
# Runs the whole packetdrill corpus (tests/packetdrill) against the Linux kernel: every script in a fresh network
# namespace over TUN, in real time, so that each script is checked against a real reference. Needs root.
# Prints the per-script table and the pass / fail / unsupported / differ-from-Linux counts; the exit code is 0
# only when nothing fails. Takes about 15 minutes; update
# tests/TcpKit.Interop.Tests/Packetdrill/kernel-corpus-results.md from its output.
#
#   bench/packetdrill-vs-kernel.sh [OUTPUT-FILE] [SCRIPT-OR-DIRECTORY]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-/tmp/packetdrill-kernel.txt}
corpus=${2:-tests/packetdrill}
dotnet build src/TcpKit.Cli -c Release -v q -nologo > /dev/null
echo "kernel $(uname -r), $(nproc) cores, $(date -u '+%Y-%m-%d %H:%M UTC')" | tee "$out"
dotnet src/TcpKit.Cli/bin/Release/net10.0/tcpkit.dll script --target kernel "$corpus" | tee -a "$out"
