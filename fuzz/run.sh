#!/usr/bin/env bash
# `make fuzz`: builds the libFuzzer targets (clang, ASan + UBSan, in $FUZZ_BUILD) and runs each
# for $FUZZ_SECONDS seconds on one core. Fails when any target found a crash, a leak, a timeout
# or an out-of-memory; the input that caused it is saved in $FUZZ_BUILD/crashes/<target>/
# (copy it to fuzz/regressions/<target>/ once fixed: `make test` then replays it for good).
# Usage: fuzz/run.sh [TARGET...]   (default: router config input)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-60}
build=${FUZZ_BUILD:-build-fuzz}
jobs=${JOBS:-2}
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(router config input)

# Per target: input size, time per input (s) and memory (MB) limits.
declare -A options=(
  [router]="-max_len=512 -timeout=5 -rss_limit_mb=1024 -dict=fuzz/router.dict"
  [config]="-max_len=8192 -timeout=10 -rss_limit_mb=1024 -dict=fuzz/config.dict"
  [input]="-max_len=65536 -timeout=30 -rss_limit_mb=2048"
)

if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S . -B "$build" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DHLSD_FUZZ=ON -DHLSD_WERROR=ON -DBUILD_TESTING=OFF
fi
cmake --build "$build" -j "$jobs" --target "${targets[@]/#/fuzz_}"

failed=()
for t in "${targets[@]}"; do
  [ -n "${options[$t]:-}" ] || { echo "unknown fuzz target: $t" >&2; exit 2; }
  corpus=$build/corpus/$t        # grows from run to run; the committed seeds stay as they are
  crashes=$build/crashes/$t
  mkdir -p "$corpus" "$crashes"
  echo "== fuzz_$t for ${seconds} s (log: $build/fuzz-$t.log)"
  # shellcheck disable=SC2086
  if "$build/fuzz/fuzz_$t" "$corpus" "fuzz/corpus/$t" "fuzz/regressions/$t" ${options[$t]} \
      -max_total_time="$seconds" -artifact_prefix="$crashes/" -print_final_stats=1 \
      >"$build/fuzz-$t.log" 2>&1; then
    grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' \
      "$build/fuzz-$t.log" || true
  else
    echo "fuzz_$t FAILED:" >&2
    grep -E 'ERROR:|invariant broken|SUMMARY|Test unit written|runtime error' \
      "$build/fuzz-$t.log" | head -20 >&2 || true
    failed+=("$t")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzzing found problems in: ${failed[*]} (inputs in $build/crashes/)" >&2
  exit 1
fi
echo "fuzzing: no crash in ${targets[*]} (${seconds} s each)"
