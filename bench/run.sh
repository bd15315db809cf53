#!/usr/bin/env bash
# `make bench` (quick) and `make bench-full`: installs what the benchmarks need when it is
# missing (Debian packages; the npm packages and Chromium come from `make deps-test`), runs
# bench/bench.py, and writes bench/RESULTS.md from what it measured.
# Usage: bench/run.sh [quick|full]
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-quick}
case "$mode" in quick|full) ;; *) echo "usage: $0 [quick|full]" >&2; exit 2 ;; esac

packages=(nginx wrk time valgrind iproute2 binutils ffmpeg chromium nodejs python3)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "Installing Debian packages: ${missing[*]}"
  # Installing nginx must not start the system's nginx service on port 80: the benchmark runs
  # its own nginx with its own config. policy-rc.d (101 = action forbidden) only during this.
  ours=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
    $sudo chmod +x /usr/sbin/policy-rc.d
    ours=1
    trap '$sudo rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -q
  $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
  if [ "$ours" = 1 ]; then
    $sudo rm -f /usr/sbin/policy-rc.d
    trap - EXIT
  fi
fi
[ -d tests/browser/node_modules/playwright-core ] || scripts/install-deps.sh test

start=$(date +%s)
mkdir -p build/bench
python3 bench/bench.py --mode "$mode" --out build/bench/results.json
python3 bench/report.py build/bench/results.json > bench/RESULTS.md
echo "bench/RESULTS.md written from build/bench/results.json ($(( $(date +%s) - start )) s, mode $mode)"
