#!/bin/sh
# The sanitizer builds' report directory (log_path of ASAN/UBSAN/TSAN_OPTIONS, which every test
# and every hlsd it starts inherits): `clear DIR` empties it before the tests, `check DIR` after
# them prints every report written and fails if there is one, so a report in a child process
# fails the run even when the test that started it did not look at how it exited.
set -eu
mode=$1 dir=$2
case $mode in
clear)
  rm -rf "$dir"
  mkdir -p "$dir"
  ;;
check)
  [ -d "$dir" ] || { echo "no report directory $dir (was the clear step run?)" >&2; exit 1; }
  count=0
  for f in "$dir"/*; do
    [ -e "$f" ] || continue
    count=$((count + 1))
    echo "==== $f"
    cat "$f"
  done
  echo "$count sanitizer report(s) in $dir"
  [ "$count" -eq 0 ]
  ;;
*)
  echo "usage: $0 clear|check DIR" >&2
  exit 2
  ;;
esac
