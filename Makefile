# The README's commands. Each installs what is missing first.
BUILD ?= build
JOBS ?= $(shell nproc)
LIVE_DIR ?= $(BUILD)/live

.PHONY: all deps build run test format clean

all: build

deps:
	@scripts/install-deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHLSD_WERROR=ON

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

# The test pattern, live HLS in $(LIVE_DIR): watch with `ffplay $(LIVE_DIR)/index.m3u8`.
run: build
	$(BUILD)/hlsd --config conf/hlsd.yml --output-dir $(LIVE_DIR) $(ARGS)

test: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS) --timeout 300

format:
	clang-format -i $$(git ls-files '*.cpp' '*.h')

clean:
	rm -rf $(BUILD)
