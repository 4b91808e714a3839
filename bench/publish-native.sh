#!/usr/bin/env bash
# Publishes tcpkit as a native (ahead-of-time compiled) executable, the binary the side-by-side analyzer
# benchmarks time, and prints its path. Usage: bench/publish-native.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dotnet publish "$root/src/TcpKit.Cli" -c Release -r linux-x64 >/dev/null
echo "$root/src/TcpKit.Cli/bin/Release/net10.0/linux-x64/publish/tcpkit"
