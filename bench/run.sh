#!/usr/bin/env bash
# `make bench` (quick), `make bench-full` and `make soak`: installs what the benchmarks need
# when it is missing (Debian packages; the npm packages and Chromium come from
# `make deps-test`), runs bench/bench.py, and writes bench/RESULTS.md from what it measured.
# full also runs both 10-minute soaks (bench/soak.py with plain viewers, then with LL-HLS
# viewers: --ll) after the other sections; soak runs only the soaks (soak plain / soak ll: only
# one; both by default) and rewrites only their part of the soak section of bench/RESULTS.md.
# Exits 1 when a soak fails its criteria (after writing RESULTS.md).
# Usage: bench/run.sh [quick|full|soak [both|plain|ll]]
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-quick}
which=${2:-both}
case "$mode" in quick|full|soak) ;; *) echo "usage: $0 [quick|full|soak [both|plain|ll]]" >&2; exit 2 ;; esac
case "$which" in both|plain|ll) ;; *) echo "usage: $0 soak [both|plain|ll]" >&2; exit 2 ;; esac

# Runs the soaks `which` names (both: plain, then LL, the second even when the first failed);
# sets soak=(report.py arguments) and rc=1 when one failed.
run_soaks() {
  soak=()
  if [ "$which" != ll ]; then
    python3 bench/soak.py --out build/bench/soak.json || rc=$?
    soak+=(--soak build/bench/soak.json)
  fi
  if [ "$which" != plain ]; then
    python3 bench/soak.py --ll --out build/bench/soak-ll.json || rc=$?
    soak+=(--soak-ll build/bench/soak-ll.json)
  fi
}

if [ "$mode" = soak ]; then  # hlsd and python3 only: nothing to install
  start=$(date +%s)
  mkdir -p build/bench
  rc=0
  run_soaks
  python3 bench/report.py "${soak[@]}" --update bench/RESULTS.md
  echo "bench/RESULTS.md: soak section written from ${soak[*]} ($(( $(date +%s) - start )) s)"
  exit $rc
fi

packages=(nginx wrk time valgrind linux-perf iproute2 binutils ffmpeg chromium nodejs python3)
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
rc=0
soak=()
if [ "$mode" = full ]; then
  which=both
  run_soaks
fi
python3 bench/report.py build/bench/results.json "${soak[@]}" > bench/RESULTS.md
echo "bench/RESULTS.md written from build/bench/results.json ${soak[*]} ($(( $(date +%s) - start )) s, mode $mode)"
exit $rc
