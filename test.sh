#!/usr/bin/env bash
# Runs every TcpKit test. Installs the third-party oracles the tests compare against
# (tshark, tcpdump, iproute2, nftables, ethtool, iperf3; a font for PNG labels) through apt-get when they are missing.
# Ends with one line: "N passed, N failed[, N skipped]".
set -uo pipefail
cd "$(dirname "$0")"

need=()
command -v tshark   >/dev/null 2>&1 || need+=(tshark)
command -v capinfos >/dev/null 2>&1 || need+=(wireshark-common)
command -v tcpdump  >/dev/null 2>&1 || need+=(tcpdump)
command -v ip       >/dev/null 2>&1 || need+=(iproute2)
command -v nft      >/dev/null 2>&1 || need+=(nftables)
command -v ethtool  >/dev/null 2>&1 || need+=(ethtool)
command -v iperf3   >/dev/null 2>&1 || need+=(iperf3)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)   # PNG graph labels
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "test.sh: installing ${need[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections 2>/dev/null || true
    apt-get update -qq >/dev/null 2>&1 || true
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null 2>&1 \
      || echo "test.sh: apt-get could not install ${need[*]}; tests that need them will skip" >&2
  else
    echo "test.sh: missing ${need[*]} and not root with apt-get; tests that need them will skip" >&2
  fi
fi

log=$(mktemp)
dotnet test TcpKit.slnx -c Release --nologo "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}

# Sum the per-assembly summaries: "Passed!  - Failed: 0, Passed: 12, Skipped: 1, Total: 13".
read -r passed failed skipped < <(grep -Eo 'Failed: +[0-9]+, Passed: +[0-9]+, Skipped: +[0-9]+' "$log" |
  awk -F'[:,]' '{f+=$2; p+=$4; s+=$6} END {print p+0, f+0, s+0}')
rm -f "$log"
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
  failed=1   # the build or a test host failed before any test could report
fi
if [ "$skipped" -gt 0 ]; then
  echo "$passed passed, $failed failed, $skipped skipped"
else
  echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
