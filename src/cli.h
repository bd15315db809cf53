// Command line: every config key as a flag, over the YAML file.
#pragma once

#include <string>

#include "hlsd/config.h"

namespace hlsd {

struct CommandLine {
    Config config;
    bool checkConfig = false;
    bool listCameras = false;
    bool hashPassword = false;  // --hash-password
    bool makeToken = false;     // --make-token --user NAME [--expires 30d]
    std::string tokenUser;
    std::string tokenExpires;  // "" or "0": never; "30d", "12h", "90m", "3600s"
    bool done = false;         // --help / --version answered, or an error printed
    int exitCode = 0;
};

CommandLine parseCommandLine(int argc, char** argv);

// --hash-password: reads a password (twice, without echo, from a terminal; once from a pipe)
// and prints its yescrypt hash. --make-token: prints a token for a user of `config`.
int hashPasswordCommand();
int makeTokenCommand(const Config& config, const std::string& user, const std::string& expires);

}  // namespace hlsd
