#!/usr/bin/env bash
# The Raspberry Pi builds, made on this amd64 machine in a root of the target's Debian release
# (default trixie: Raspberry Pi OS's current base) with Debian's multiarch (amd64 + arm64 +
# armhf, the cross toolchains, the target's -dev packages) and run under qemu-user:
#
#   packaging/cross.sh deb  arm64|armhf [DIST]   build-deb/hlsd_<version>_<arch>.deb, lintian,
#       and the package's own hlsd under qemu (tests/qemu/serve-check.sh)
#   packaging/cross.sh test arm64|armhf [DIST]   the unit tests under qemu, then hlsd (the
#       target's binary, under qemu) serving the test pattern: the playlist, a blocking reload,
#       parts and segments, each segment decoded by ffprobe
#
# As root (mmdebstrap, chroot, mounts). The root is /var/tmp/hlsd-cross-DIST (~2.5 GB), made
# once and reused; the source is copied in fresh each time (tracked files, uncommitted edits
# included). No binfmt_misc is needed: qemu-<cpu> is called explicitly.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
what=${1:?usage: packaging/cross.sh deb|test arm64|armhf [DIST]}
arch=${2:?usage: packaging/cross.sh deb|test arm64|armhf [DIST]}
dist=${3:-trixie}
case $arch in
  arm64) triplet=aarch64-linux-gnu cpu=aarch64 ;;
  armhf) triplet=arm-linux-gnueabihf cpu=arm ;;
  *) echo "cross: ARCH is arm64 or armhf" >&2; exit 2 ;;
esac
case $what in deb|test) ;; *) echo "cross: deb or test" >&2; exit 2 ;; esac
[ "$(id -u)" -eq 0 ] || { echo "cross: run as root (mmdebstrap, chroot)" >&2; exit 2; }
scripts/apt-ensure.sh mmdebstrap git

root=/var/tmp/hlsd-cross-$dist
. scripts/chroot-lib.sh
log() { echo "[cross $what $arch $dist $(date +%T)] $*"; }
trap root_leave EXIT

if [ ! -x "$root/usr/bin/dpkg-buildpackage" ]; then
  rm -rf "$root"
  log "creating the build root $root"
  start=$SECONDS
  mmdebstrap --variant=apt --architectures=amd64,arm64,armhf \
    --include=ca-certificates,git,make,sudo,dpkg-dev,debhelper,nodejs,npm,qemu-user,ffmpeg,curl,lintian,crossbuild-essential-arm64,crossbuild-essential-armhf \
    "$dist" "$root" "deb http://deb.debian.org/debian $dist main"
  log "root made in $((SECONDS - start)) s"
fi
root_enter

# The tracked tree, uncommitted edits included (as packaging/build-deb.sh takes it).
rm -rf "$root/src/hlsd"
mkdir -p "$root/src/hlsd"
tree=$(git stash create 2>/dev/null || true)
git archive --format=tar "${tree:-HEAD}" | tar -x -C "$root/src/hlsd"
git -C "$root/src/hlsd" init -q && git -C "$root/src/hlsd" add -A &&
  git -C "$root/src/hlsd" -c user.email=cross@hlsd -c user.name=cross commit -qm "$(git rev-parse --short HEAD)"

in_root() { root_run "export JOBS=${JOBS:-2}; $1"; }

if [ "$what" = deb ]; then
  start=$SECONDS
  in_root "ARCH=$arch packaging/build-deb.sh /src/out"
  mkdir -p build-deb
  cp "$root"/src/out/hlsd_*_"$arch".* build-deb/
  deb=$(ls build-deb/hlsd_*_"$arch".deb)
  log "built $deb in $((SECONDS - start)) s"
  in_root "lintian --display-info /src/out/$(basename "$deb") /src/out/$(basename "${deb%.deb}").changes" \
    | tee "build-deb/lintian-$arch.txt"
  if grep -qE '^[EW]: ' "build-deb/lintian-$arch.txt"; then
    log "lintian: errors or warnings"
    exit 1
  fi
  log "lintian: no errors, no warnings; Depends: $(dpkg-deb -f "$deb" Depends)"
  # The package's own binary, under qemu: serves the test pattern, segments decode.
  in_root "rm -rf /tmp/deb-$arch && dpkg-deb -x /src/out/$(basename "$deb") /tmp/deb-$arch &&
    tests/qemu/serve-check.sh /usr/bin/qemu-$cpu /tmp/deb-$arch/usr/bin/hlsd"
  log "the package's hlsd served and decoded under qemu-$cpu"
  exit 0
fi

# test: the target's build of hlsd and the unit tests (ctest runs them through qemu: the
# CMake emulator), then hlsd itself under qemu.
start=$SECONDS
in_root "scripts/apt-ensure.sh libavformat-dev:$arch libavcodec-dev:$arch libavutil-dev:$arch \
  libavfilter-dev:$arch libswscale-dev:$arch libturbojpeg0-dev:$arch libssl-dev:$arch libcrypt-dev:$arch zlib1g-dev:$arch libspdlog-dev:$arch libyaml-cpp-dev:$arch libcli11-dev libgtest-dev:$arch \
  libcamera-dev:$arch libsystemd-dev:$arch pkgconf:$arch cmake ffmpeg fonts-dejavu-core >/dev/null"
in_root "cd player && npm ci --no-audit --no-fund --loglevel=error >/dev/null"  # hls.js
log "build dependencies for $arch ready ($((SECONDS - start)) s)"
start=$SECONDS
in_root "cmake -S . -B build-$arch -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  '-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG' \
  -DCMAKE_SYSTEM_NAME=Linux -DCMAKE_SYSTEM_PROCESSOR=$cpu \
  -DCMAKE_CXX_COMPILER=$triplet-g++ \
  -DPKG_CONFIG_EXECUTABLE=/usr/bin/$triplet-pkg-config \
  -DCMAKE_LIBRARY_ARCHITECTURE=$triplet \
  -DCMAKE_CROSSCOMPILING_EMULATOR=/usr/bin/qemu-$cpu >/tmp/cmake-$arch.log && \
  cmake --build build-$arch -j \$JOBS --target hlsd hlsd_unit_tests >/tmp/build-$arch.log 2>&1" || {
  tail -30 "$root/tmp/build-$arch.log" "$root/tmp/cmake-$arch.log" 2>/dev/null
  exit 1
}
log "built hlsd and the unit tests for $arch in $((SECONDS - start)) s: $(chroot "$root" file -b /src/hlsd/build-$arch/hlsd | cut -d, -f1-2)"
start=$SECONDS
rc=0
in_root "\
  QEMU_LD_PREFIX=/ ctest --test-dir build-$arch -L unit --output-on-failure -j \$JOBS --timeout 600" \
  >"$root/tmp/ctest-$arch.log" 2>&1 || rc=$?
grep -E "tests passed|tests failed|\(Failed\)|\(Timeout\)" "$root/tmp/ctest-$arch.log" || true
log "unit tests under qemu-$cpu: exit $rc after $((SECONDS - start)) s"
[ $rc -eq 0 ] || exit $rc
# The Pi 4's hardware encoder is reached through libavcodec's h264_v4l2m2m: in the target's
# libavcodec, asked by a program of the target's architecture under qemu.
in_root "printf '%s\n' '#include <stdio.h>' '#include <libavcodec/avcodec.h>' \
  'int main(void) { const AVCodec *c = avcodec_find_encoder_by_name(\"h264_v4l2m2m\");' \
  '  printf(\"%s %s\\n\", LIBAVCODEC_IDENT, c ? \"has h264_v4l2m2m\" : \"has NO h264_v4l2m2m\"); return !c; }' \
  >/tmp/encoders.c && $triplet-gcc /tmp/encoders.c -o /tmp/encoders-$arch \
  \$($triplet-pkg-config --cflags --libs libavcodec) && /usr/bin/qemu-$cpu /tmp/encoders-$arch" ||
  { log "the $arch libavcodec has no h264_v4l2m2m encoder"; exit 1; }
start=$SECONDS
in_root "tests/qemu/serve-check.sh /usr/bin/qemu-$cpu build-$arch/hlsd"
log "hlsd under qemu-$cpu served and decoded in $((SECONDS - start)) s"
