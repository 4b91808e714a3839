#!/usr/bin/env bash
# Long fuzz campaign for TcpKit.Wire.Capture's reader.
# Usage: bench/fuzz/run-capture-fuzz.sh [inputs=1000000] [seed=random] [findings-dir=$TMPDIR/tcpkit-capture-fuzz]
# Each input is read strictly and leniently through three read paths; any exception other than
# CaptureFormatException, any disagreement between paths, or a hang (>30 s) is saved and reported.
# Turn every finding into a regression test in tests/TcpKit.Wire.Tests/Capture/BadInputTests.cs.
set -euo pipefail
cd "$(dirname "$0")/../.."
dotnet run -c Release --project bench/fuzz/CaptureFuzz/CaptureFuzz.csproj -- "$@"
