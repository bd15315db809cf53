#!/usr/bin/env bash
# Builds hlsd_<version>_<arch>.deb from the tracked files of this git tree (uncommitted edits to
# tracked files included, untracked files and build outputs not), in a temporary copy with
# packaging/debian at ./debian, with `dpkg-buildpackage -b -us -uc`. Installs what the build
# needs first (Debian packages: the tools, then debian/control's Build-Depends; npm: hls.js).
# The version is CMake's project(VERSION), written into a generated debian/changelog.
# Usage: packaging/build-deb.sh [OUTDIR]   (default build-deb/; as root, or with sudo)
# ARCH=arm64|armhf cross-builds for that architecture (the cross toolchain and the target's
# build dependencies are installed; multiarch must be enabled: packaging/cross.sh does it all).
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
out=${1:-build-deb}
mkdir -p "$out"
out=$(cd "$out" && pwd)
jobs=${JOBS:-2}

sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive

tools=(dpkg-dev debhelper git)
command -v npm >/dev/null 2>&1 || tools+=(nodejs npm)

version=$(sed -n 's/^project(hlsd VERSION \([0-9][0-9.]*\).*/\1/p' CMakeLists.txt)
[ -n "$version" ] || { echo "build-deb: no project(hlsd VERSION x.y.z) in CMakeLists.txt" >&2; exit 1; }
build_arch=$(dpkg-architecture -qDEB_BUILD_ARCH)
arch=${ARCH:-$build_arch}
cross=()
if [ "$arch" != "$build_arch" ]; then
  cross=(-a "$arch" -Pcross,nocheck)
  tools+=("crossbuild-essential-$arch")
fi
scripts/apt-ensure.sh "${tools[@]}"

work=$(mktemp -d /tmp/hlsd-deb.XXXXXX)
trap 'rm -rf "$work"' EXIT
src="$work/hlsd-$version"
mkdir -p "$src"

# The tracked tree: `git stash create` is a commit of the working tree's tracked files (nothing
# if it is clean); nothing in the repository or the working tree is changed by it.
tree=$(git stash create 2>/dev/null || true)
commit=$(git rev-parse --short HEAD)
if [ -n "$tree" ]; then
  echo "build-deb: WARNING: building uncommitted changes on top of $commit"
  commit="$commit with uncommitted changes"
fi
git archive --format=tar "${tree:-HEAD}" | tar -x -C "$src"
[ -d "$src/packaging/debian" ] || { echo "build-deb: packaging/debian is not tracked" >&2; exit 1; }
cp -a "$src/packaging/debian" "$src/debian"

# debian/changelog from CMake's version; dated by the commit, so rebuilds are reproducible.
maintainer=$(sed -n 's/^Maintainer: //p' "$src/debian/control")
cat > "$src/debian/changelog" <<CHANGELOG
hlsd ($version) unstable; urgency=medium

  * Built from the hlsd source tree at commit $commit.

 -- $maintainer  $(git log -1 --format=%cD HEAD)
CHANGELOG

# Build dependencies, from debian/control.
if ! (cd "$src" && dpkg-checkbuilddeps "${cross[@]}") >/dev/null 2>&1; then
  echo "Installing the build dependencies of debian/control${cross:+ for $arch}"
  $sudo apt-get update -q
  $sudo apt-get build-dep -y -q --no-install-recommends "${cross[@]}" "$src"
fi

# hls.js, exactly as player/package-lock.json pins it, before the (offline) package build.
(cd "$src/player" && npm ci --no-audit --no-fund --loglevel=error)

log="$out/hlsd_${version}_${arch}.build"
echo "dpkg-buildpackage in $src (log: $log)"
if ! (cd "$src" && DEB_BUILD_OPTIONS="parallel=$jobs ${DEB_BUILD_OPTIONS:-}" \
        dpkg-buildpackage "${cross[@]}" -b -us -uc) >"$log" 2>&1; then
  tail -n 40 "$log" >&2
  echo "build-deb: dpkg-buildpackage failed (full log: $log)" >&2
  exit 1
fi

rm -f "$out"/hlsd_*.deb "$out"/hlsd-dbgsym_*.deb "$out"/hlsd_*.buildinfo "$out"/hlsd_*.changes
cp "$work"/hlsd_"$version"_*.deb "$work"/hlsd_"$version"_*.buildinfo \
   "$work"/hlsd_"$version"_*.changes "$out"/
cp "$work"/hlsd-dbgsym_"$version"_*.*deb "$out"/ 2>/dev/null || true
ls -l "$out"/hlsd*_"$version"_*
echo "Built $out/hlsd_${version}_${arch}.deb  (install: apt install $out/hlsd_${version}_${arch}.deb)"
