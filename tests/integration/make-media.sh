#!/usr/bin/env bash
# Generates the integration tests' media with ffmpeg, once (existing files are kept).
set -euo pipefail
out=${1:?usage: make-media.sh DIR}
mkdir -p "$out"
cd "$out"

make() { # name, then ffmpeg output arguments
  local name=$1; shift
  [ -s "$name" ] && return 0
  ffmpeg -nostdin -v error -y "$@" "tmp.$name" && mv "tmp.$name" "$name"
}
src() { # size rate seconds
  echo -f lavfi -i "testsrc2=size=$1:rate=$2" -t "$3"
}
x264=(-c:v libx264 -preset superfast -pix_fmt yuv420p)

make 1080p30_gop30.mp4      $(src 1920x1080 30 6) "${x264[@]}" -g 30 -keyint_min 30 -sc_threshold 0 -bf 0
make 720p30_gop60_bf.mp4    $(src 1280x720 30 6)  "${x264[@]}" -g 60 -keyint_min 60 -sc_threshold 0 -bf 3
make 720p30_gop30_bf.ts     $(src 1280x720 30 6)  "${x264[@]}" -g 30 -keyint_min 30 -sc_threshold 0 -bf 2
make 720p30_gop30.h264      $(src 1280x720 30 6)  "${x264[@]}" -g 30 -keyint_min 30 -sc_threshold 0 -bf 0
make 720p30_gop30_bf.h264   $(src 1280x720 30 6)  "${x264[@]}" -g 30 -keyint_min 30 -sc_threshold 0 -bf 3
make 360p30_gop30_30s.mp4   $(src 640x360 30 30)  "${x264[@]}" -g 30 -keyint_min 30 -sc_threshold 0 -bf 0
make 360p30_gop15.mp4       $(src 640x360 30 4)   "${x264[@]}" -g 15 -keyint_min 15 -sc_threshold 0 -bf 0
make mpeg2.ts               $(src 320x240 25 1)   -c:v mpeg2video
make hevc.mp4               $(src 320x240 25 1)   -c:v libx265 -preset ultrafast -x265-params log-level=none
# Two TS files back to back: timestamps jump back to the start in the middle.
make part_a.ts              $(src 640x360 30 3)   "${x264[@]}" -g 30 -bf 0
if [ ! -s jump.ts ]; then cat part_a.ts part_a.ts > tmp.jump.ts && mv tmp.jump.ts jump.ts; fi
# The 30 s clip as a live producer would write it into a pipe: MPEG-TS and raw Annex B (remuxed).
make 360p30_gop30_30s.ts    -i 360p30_gop30_30s.mp4 -c copy -f mpegts
make 360p30_gop30_30s.h264  -i 360p30_gop30_30s.mp4 -c copy -f h264
echo "test media ready in $out"
