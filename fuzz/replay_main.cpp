// The corpus replay driver: a plain main() for a fuzz target built without libFuzzer (gcc,
// the normal build), so ctest runs every seed and every crash reproducer on each `make test`.
// Usage: fuzz_TARGET_replay DIR|FILE...   Fails when an input crashes (the target aborts) or
// when no input at all was found (a missing corpus must not pass silently).
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace fs = std::filesystem;

int main(int argc, char** argv) {
    std::vector<fs::path> inputs;
    for (int i = 1; i < argc; ++i) {
        fs::path arg = argv[i];
        if (fs::is_directory(arg)) {
            for (const auto& entry : fs::directory_iterator(arg)) {
                // Dotfiles (.gitkeep) and the README are not inputs.
                const std::string name = entry.path().filename().string();
                if (entry.is_regular_file() && name[0] != '.' && name != "README.md") {
                    inputs.push_back(entry.path());
                }
            }
        } else if (fs::is_regular_file(arg)) {
            inputs.push_back(arg);
        } else {
            std::fprintf(stderr, "%s: no such file or directory\n", argv[i]);
            return 1;
        }
    }
    std::sort(inputs.begin(), inputs.end());
    if (inputs.empty()) {
        std::fprintf(stderr, "no inputs found\n");
        return 1;
    }
    for (const auto& path : inputs) {
        std::ifstream in(path, std::ios::binary);
        std::vector<uint8_t> data((std::istreambuf_iterator<char>(in)),
                                  std::istreambuf_iterator<char>());
        if (!in.eof() && in.fail()) {
            std::fprintf(stderr, "%s: cannot read\n", path.c_str());
            return 1;
        }
        auto start = std::chrono::steady_clock::now();
        // Exactly `size` bytes on the heap, as libFuzzer passes them (reads past the end are
        // out of bounds, not into slack).
        std::unique_ptr<uint8_t[]> copy(new uint8_t[data.size()]);
        std::copy(data.begin(), data.end(), copy.get());
        LLVMFuzzerTestOneInput(copy.get(), data.size());
        double ms =
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                .count();
        std::printf("ok %s (%zu bytes, %.1f ms)\n", path.c_str(), data.size(), ms);
    }
    std::printf("%zu inputs replayed\n", inputs.size());
    return 0;
}
