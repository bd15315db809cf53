// Command line: every config key as a flag, over the YAML file.
#pragma once

#include <string>

#include "hlsd/config.h"

namespace hlsd {

struct CommandLine {
    Config config;
    bool checkConfig = false;
    bool listCameras = false;
    bool done = false;  // --help / --version answered, or an error printed
    int exitCode = 0;
};

CommandLine parseCommandLine(int argc, char** argv);

}  // namespace hlsd
