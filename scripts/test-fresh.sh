#!/usr/bin/env bash
# The README's two commands in a fresh Debian root, as a new user would run them: a minimal
# root (mmdebstrap: apt, make, git, sudo, CA certificates), a clone of HEAD, then `make run`
# until the test pattern is served (its /healthz answers 200, checked from here), then
# `make test`. Each installs what it needs itself; a missing install step fails here first.
#
# Usage: scripts/test-fresh.sh bookworm|trixie [--keep] [--quick]
#   --keep   reuse the root of an earlier run (its packages; the clone is always fresh)
#   --quick  `make test CTEST_ARGS='-LE timing'`: everything but the timing tests (~10 min less)
# As root. Roots live in /var/tmp/hlsd-fresh-DIST (~1.5 GB each); `rm -rf` one to start over.
# Exit status: make test's (or 1 when `make run` did not serve).
set -euo pipefail
cd "$(dirname "$0")/.."
dist=${1:?usage: scripts/test-fresh.sh bookworm|trixie [--keep] [--quick]}
shift
keep=0 quick=0
for a in "$@"; do
  case $a in
    --keep) keep=1 ;;
    --quick) quick=1 ;;
    *) echo "test-fresh: unknown option $a" >&2; exit 2 ;;
  esac
done
case $dist in bookworm|trixie) ;; *) echo "test-fresh: DIST is bookworm or trixie" >&2; exit 2 ;; esac
[ "$(id -u)" -eq 0 ] || { echo "test-fresh: run as root (chroot, mounts)" >&2; exit 2; }
scripts/apt-ensure.sh mmdebstrap curl

root=/var/tmp/hlsd-fresh-$dist
. scripts/chroot-lib.sh
log() { echo "[test-fresh $dist $(date +%T)] $*"; }
cleanup() {
  # Whatever the root still runs (a test that failed to stop its server) is named, then killed.
  local left
  left=$(for p in /proc/[0-9]*; do
    [ "$(readlink "$p/root" 2>/dev/null)" = "$root" ] && echo "${p#/proc/}"
  done || true)
  if [ -n "$left" ]; then
    log "processes left in the root:"
    ps -o pid,args -p $left || true
    kill -9 $left 2>/dev/null || true
  fi
  root_leave
}
trap cleanup EXIT

if [ $keep -eq 0 ] || [ ! -x "$root/usr/bin/make" ]; then
  rm -rf "$root"
  log "creating the root in $root"
  mmdebstrap --variant=apt --include=ca-certificates,make,git,sudo "$dist" "$root" \
    "deb http://deb.debian.org/debian $dist main"
fi
root_enter
rm -rf "$root/src/hlsd"
mkdir -p "$root/src"
git clone -q . "$root/src/hlsd"
log "clone of $(git rev-parse --short HEAD)"

# 1. make run, on a free loopback port: served once /healthz says the first segment exists.
t0=$(date +%s)
run_log=$root/tmp/make-run.log
setsid chroot "$root" "${root_env[@]}" \
  bash -c "cd /src/hlsd && exec make run ARGS='--listen 127.0.0.1:0'" >"$run_log" 2>&1 &
run_pid=$!
served=0
for _ in $(seq 1 1200); do  # deps + build: up to 20 min
  if ! kill -0 $run_pid 2>/dev/null; then break; fi
  url=$(grep -o 'serving on http://[^ ]*' "$run_log" | head -1 | sed 's/serving on //' || true)
  port=${url##*:}
  port=${port%/}
  if [ -n "$url" ] && curl -fsS -m 2 "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then
    served=1
    break
  fi
  sleep 1
done
kill -TERM -- -$run_pid 2>/dev/null || true
wait $run_pid 2>/dev/null || true
if [ $served -eq 0 ]; then
  log "make run did not serve; its output:"
  tail -40 "$run_log"
  exit 1
fi
log "make run served the test pattern on port $port after $(($(date +%s) - t0)) s"

# 2. make test.
t0=$(date +%s)
args=""
[ $quick -eq 1 ] && args="CTEST_ARGS='-LE timing'"
rc=0
root_run "make test $args" >"$root/tmp/make-test.log" 2>&1 || rc=$?
grep -E "tests passed|tests failed|Failed|\*\*\*" "$root/tmp/make-test.log" | tail -30 || true
log "make test: exit $rc after $(($(date +%s) - t0)) s (log: $root/tmp/make-test.log)"
exit $rc
