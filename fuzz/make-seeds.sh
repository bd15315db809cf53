#!/usr/bin/env bash
# Regenerates the media seeds of fuzz/corpus/input/ with ffmpeg (they are committed: run this
# only to change them). Tiny on purpose (64x48, 10 fps, GOP 5 = one segment of 0.5 s, CRF 40,
# one thread so x264 is deterministic), each < 20 KB: libFuzzer mutates them byte by byte.
# The text seeds of corpus/router and corpus/config are written by hand (see README.md),
# except corpus/config/hlsd-yml, a copy of conf/hlsd.yml.
set -euo pipefail
cd "$(dirname "$0")"
out=corpus/input
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

enc() { # seconds x264-preset b-frames, then ffmpeg output arguments
  local seconds=$1 preset=$2 bf=$3; shift 3
  ffmpeg -nostdin -v error -y -f lavfi -i testsrc2=size=64x48:rate=10 -t "$seconds" \
    -c:v libx264 -preset "$preset" -pix_fmt yuv420p -threads 1 -crf 40 \
    -x264-params log-level=none -g 5 -keyint_min 5 -sc_threshold 0 -bf "$bf" "$@"
}

# Raw H.264 Annex B as `rpicam-vid -o -` writes it (no timestamps), without and with B-frames.
enc 2 ultrafast 0 -f h264 "$out/annexb-gop5"
enc 2 veryfast 2 -f h264 "$out/annexb-gop5-bframes"
# MPEG-TS with B-frames (pts ≠ dts), and two copies back to back (timestamps jump back).
enc 1.5 veryfast 2 -f mpegts "$out/ts-gop5-bframes"
enc 0.8 ultrafast 0 -f mpegts "$tmp/part.ts"
cat "$tmp/part.ts" "$tmp/part.ts" > "$out/ts-jump"
# Matroska with B-frames (container timestamps in ms, any 64-bit value).
enc 1 veryfast 2 -f matroska "$out/mkv-bframes"
# MP4 (length-prefixed NAL units → h264_mp4toannexb), moov first so a pipe can read it.
enc 1 ultrafast 0 -movflags +faststart -f mp4 "$out/mp4-faststart"

cp ../conf/hlsd.yml corpus/config/hlsd-yml
ls -l "$out"
