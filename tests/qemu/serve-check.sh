#!/usr/bin/env bash
# hlsd built for another architecture and run under qemu-user (packaging/cross.sh test): the
# test pattern, small enough for emulation to keep real time, served on loopback; then the
# playlist with its LL-HLS tags, a blocking reload answered when the segment completes, the
# preload-hinted part (held until it exists), and every listed segment and a part, each with
# the init section, decoded by this machine's ffprobe without an error.
# Usage: tests/qemu/serve-check.sh EMULATOR HLSD_BINARY
set -euo pipefail
emulator=$1 binary=$2
work=$(mktemp -d /tmp/hlsd-qemu.XXXXXX)
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
passed=0
check() {  # check "what" command...
  local what=$1; shift
  if "$@"; then echo "PASS: $what"; passed=$((passed + 1)); else echo "FAIL: $what"; exit 1; fi
}

"$emulator" "$binary" --source test --width 320 --height 240 --fps 15 --bitrate 200k \
  --listen 127.0.0.1:0 >"$work/log" 2>&1 &
pid=$!
url=""
for _ in $(seq 1 600); do  # start-up under emulation: seconds
  url=$(grep -oE 'http://[^ ]+:[0-9]+/' "$work/log" | head -n 1 | sed -E 's|//[^:/]+:|//127.0.0.1:|' || true)
  [ -n "$url" ] && curl -sf -o /dev/null "${url}healthz" && break
  kill -0 "$pid" 2>/dev/null || { cat "$work/log"; echo "FAIL: hlsd exited"; exit 1; }
  sleep 0.2
done
check "hlsd under $(basename "$emulator") serves (${url})" curl -sf -o /dev/null "${url}healthz"
echo "    $(grep -m1 -o 'hlsd [0-9][^ ]*.*' "$work/log" | head -c 120)"

curl -sf -o "$work/p1.m3u8" "${url}live/index.m3u8"
check "the playlist has LL-HLS parts, a preload hint and blocking reload" \
  grep -q 'CAN-BLOCK-RELOAD=YES' "$work/p1.m3u8"
grep -q '^#EXT-X-PART:' "$work/p1.m3u8" && grep -q '^#EXT-X-PRELOAD-HINT:' "$work/p1.m3u8" ||
  { cat "$work/p1.m3u8"; echo "FAIL: no parts or preload hint"; exit 1; }
msn=$(sed -n 's/^#EXT-X-MEDIA-SEQUENCE://p' "$work/p1.m3u8")
segments=$(grep -c '^#EXTINF' "$work/p1.m3u8")
open=$((msn + segments))  # the segment being written
t0=$(date +%s%N)
curl -sf -m 10 -o "$work/p2.m3u8" "${url}live/index.m3u8?_HLS_msn=$((open + 1))"
waited=$((($(date +%s%N) - t0) / 1000000))
check "a blocking reload for segment $((open + 1)) returned it (after $waited ms)" \
  bash -c '[ $(( $(sed -n "s/^#EXT-X-MEDIA-SEQUENCE://p" "$1") + $(grep -c "^#EXTINF" "$1") )) -gt '"$((open + 1))"' ]' _ "$work/p2.m3u8"
hint=$(sed -n 's/^#EXT-X-PRELOAD-HINT:TYPE=PART,URI="\([^"]*\)".*/\1/p' "$work/p2.m3u8")
check "the preload-hinted part $hint is answered once it exists" \
  curl -sf -m 10 -o "$work/hint.m4s" "${url}live/$hint"
map=$(sed -n 's/^#EXT-X-MAP:URI="\([^"]*\)".*/\1/p' "$work/p2.m3u8" | tail -n 1)
curl -sf -o "$work/init.mp4" "${url}live/$map"
cat "$work/init.mp4" "$work/hint.m4s" >"$work/part.mp4"
check "init + that part decode with ffprobe" \
  bash -c '[ -z "$(ffprobe -v error -count_frames -show_entries stream=nb_read_frames -of csv=p=0 "$1" 2>&1 >/dev/null)" ] &&
           [ "$(ffprobe -v error -count_frames -show_entries stream=nb_read_frames -of csv=p=0 "$1")" -ge 1 ]' _ "$work/part.mp4"
n=0
for seg in $(grep -vE '^#|^$' "$work/p2.m3u8"); do
  curl -sf -o "$work/seg.m4s" "${url}live/$seg"
  cat "$work/init.mp4" "$work/seg.m4s" >"$work/seg.mp4"
  errors=$(ffprobe -v error -count_frames -show_entries stream=nb_read_frames -of csv=p=0 "$work/seg.mp4" 2>&1 >/dev/null)
  frames=$(ffprobe -v error -count_frames -show_entries stream=nb_read_frames -of csv=p=0 "$work/seg.mp4" 2>/dev/null)
  check "segment $seg decodes: $frames frames, no error" test -z "$errors" -a "${frames:-0}" -ge 10
  n=$((n + 1))
done
check "$n segments listed and decoded" test "$n" -ge 2
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
pid=""
check "SIGTERM stops it with exit code 0 (got $rc)" test "$rc" = 0
echo "$passed passed"
