# The README's commands. Each installs what is missing first.
BUILD ?= build
JOBS ?= $(shell nproc)
LIVE_DIR ?= $(BUILD)/live
# The Debian release of test-fresh's root and of cross-built packages.
DIST ?= trixie

.PHONY: all deps deps-test build run test test-fresh test-asan test-tsan fuzz deb test-qemu \
	test-package bench bench-full soak format clean

all: build

deps:
	@scripts/install-deps.sh build

deps-test:
	@scripts/install-deps.sh test

# -O2 with line tables only (-g1): the same code as -g, backtraces with file:line, and a build
# about 40 % quicker (285 s of CPU instead of 454 s on 2 cores); full -g is what the .deb has.
# Warnings are not errors here (a user's newer compiler must not stop `make run`); they are in
# the sanitizer trees CI builds, and here with WERROR=1 (when the tree is first configured).
WERROR ?=
$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		"-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG" -DHLSD_WERROR=$(if $(WERROR),ON,OFF)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

# The test pattern, live: open the URL it prints (http://<this host>:8080/) in a browser.
# It also mirrors the HLS files into $(LIVE_DIR) (`ffplay $(LIVE_DIR)/index.m3u8`).
run: build
	$(BUILD)/hlsd --config conf/hlsd.yml --output-dir $(LIVE_DIR) $(ARGS)

test: deps-test build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS) --timeout 300 $(CTEST_ARGS)

# The README's two commands in a fresh root of Debian 12 or 13 (scripts/test-fresh.sh; as root;
# DIST=bookworm|trixie, FRESH_ARGS=--quick leaves out the timing tests, --keep reuses the root).
test-fresh:
	scripts/test-fresh.sh $(DIST) $(FRESH_ARGS)

# libFuzzer on the router, the config loader and the H.264/TS input path, FUZZ_SECONDS each
# (clang, ASan + UBSan, in build-fuzz/); fails on a crash, saved in build-fuzz/crashes/.
FUZZ_SECONDS ?= 60
fuzz:
	@scripts/install-deps.sh fuzz
	FUZZ_SECONDS=$(FUZZ_SECONDS) JOBS=$(JOBS) fuzz/run.sh

# The tests with sanitizers, in their own build trees (Debug, line tables only, precompiled
# headers: the quickest to build, exact stacks). Every test and the hlsd binary they run are
# instrumented; any report fails the run (README, "Development"). test-asan: the whole suite
# but the browser tests under AddressSanitizer (leaks included) and UndefinedBehaviorSanitizer
# (the browser tests' requests are the integration tests' on raw sockets, and their time is
# Chromium's: ~50 s of CI; `ctest --test-dir build-asan -R browser` runs them) and the timing
# tests (bounds on an uninstrumented hlsd's publication times; the overload itself runs in
# ConnectionLoop's and HttpAbuse's tests here). test-tsan:
# ThreadSanitizer on the tests with threads: the store and its disk mirror, the source runner
# and what interrupts sources, the camera frame queue, MJPEG's hub and streams (the source, MJPEG
# and HTTP threads), and every test of the real binary except
# the input and window matrices (Inputs/, SeedTable/: the same threads as Live.*, ASan runs
# them) and the browser (Chromium's time, not hlsd's).
SANITIZE_CONFIGURE = -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-g1 -DHLSD_PCH=ON -DHLSD_WERROR=ON \
	-DHLSD_SANITIZE
TSAN_TESTS = ^(SegmentStore|ConnectionLoop|DiskMirror|SourceRunner|DemuxSource|Pacer|FrameQueue|CameraFramePath|MjpegHub|MjpegStream|Mjpeg|AccessGate|Access|Tls|Http|HttpAbuse|Live|LowLatency|Cli)\.

build-asan/CMakeCache.txt:
	cmake -S . -B build-asan $(SANITIZE_CONFIGURE)=address,undefined

build-tsan/CMakeCache.txt:
	cmake -S . -B build-tsan $(SANITIZE_CONFIGURE)=thread

test-asan: deps-test build-asan/CMakeCache.txt
	cmake --build build-asan -j $(JOBS)
	ctest --test-dir build-asan --output-on-failure -j $(JOBS) --timeout 300 -E '^browser\.' -LE timing

test-tsan: deps-test build-tsan/CMakeCache.txt
	cmake --build build-tsan -j $(JOBS)
	ctest --test-dir build-tsan --output-on-failure -j $(JOBS) --timeout 300 -R '$(TSAN_TESTS)'

# The Debian package, from the tracked files: build-deb/hlsd_<version>_<arch>.deb (see README).
# ARCH=arm64|armhf: for a Raspberry Pi, cross-built in a root of DIST (default trixie) with
# Debian's multiarch, then linted (packaging/cross.sh; as root). test-qemu ARCH=...: that
# architecture's unit tests under qemu-user, then its hlsd serving the test pattern.
ARCH ?=
deb:
ifeq ($(ARCH),)
	JOBS=$(JOBS) packaging/build-deb.sh build-deb
else
	JOBS=$(JOBS) packaging/cross.sh deb $(ARCH) $(DIST)
endif

test-qemu:
	JOBS=$(JOBS) packaging/cross.sh test $(or $(ARCH),arm64) $(DIST)

# Builds the .deb from a clean clone of HEAD, lints, installs, runs and purges it (as root).
test-package:
	JOBS=$(JOBS) packaging/test-package.sh

# hlsd side by side with ffmpeg -f hls + nginx (latency in Chromium, serving, segmenting cost,
# footprint); writes bench/RESULTS.md. `bench` is the quick subset (~12 min), `bench-full` the
# whole latency table plus both 10-minute soaks. `soak` is the soaks alone (50 simulated viewers
# at real time: zero errors, flat RSS and fds), plain viewers then LL-HLS viewers (blocking
# reloads + parts; also every blocking reload answered 200), 2 × 10 min; `make soak SOAK=plain`
# or `SOAK=ll` runs one. It rewrites only the soak section of bench/RESULTS.md.
SOAK ?= both
bench: deps-test build
	bench/run.sh quick

bench-full: deps-test build
	bench/run.sh full

soak: build
	bench/run.sh soak $(SOAK)

format:
	clang-format -i $$(git ls-files '*.cpp' '*.h')

clean:
	rm -rf $(BUILD)
