#!/usr/bin/env bash
# Installs what hlsd needs, when it is missing: Debian packages (apt-get) and the npm packages
# of player/ (hls.js) and, for `test`, of tests/browser/ (playwright-core) plus Chromium.
# Usage: scripts/install-deps.sh [build|test|fuzz]   (as root, or with sudo available)
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-build}

packages=(
  build-essential cmake pkg-config clang-format
  libavformat-dev libavcodec-dev libavutil-dev libavfilter-dev libswscale-dev libturbojpeg0-dev
  libssl-dev libcrypt-dev zlib1g-dev
  libspdlog-dev libyaml-cpp-dev libcli11-dev libgtest-dev libcamera-dev
  libsystemd-dev
  ffmpeg fonts-dejavu-core
)
command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)
# valgrind: fuzz.input.valgrind checks reads inside libavformat/libavcodec (fuzz/README.md).
# openssl, libnss3-tools: the HTTPS tests' test CA (tests/support/make-test-ca.sh) and
# Chromium's trust in it (certutil).
# nginx, varnish: the edge tests run the shipped edge configurations (tests/edge/).
[ "$mode" = test ] && packages+=(curl valgrind openssl libnss3-tools nginx varnish python3 iproute2)
# libFuzzer (`make fuzz`): clang and its runtime libraries (libFuzzer, ASan, UBSan).
[ "$mode" = fuzz ] && packages+=(clang libclang-rt-14-dev)

scripts/apt-ensure.sh "${packages[@]}"
# Chromium is only needed by the browser test, which then says plainly it was skipped.
if [ "$mode" = test ] && ! scripts/apt-ensure.sh chromium; then
  echo "WARNING: installing chromium failed; the browser test will be skipped" >&2
fi

# npm packages, exactly as the lockfiles say; never a browser download.
npm_ci() {
  local dir=$1
  if [ ! -f "$dir/node_modules/.package-lock.json" ] ||
     [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    echo "npm ci in $dir"
    (cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
  fi
}
npm_ci player
[ "$mode" = test ] && npm_ci tests/browser
exit 0
