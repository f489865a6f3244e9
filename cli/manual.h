// The manual page and the bash completion, generated from the command line's own definition so
// that neither can drift from it (`tidemark --generate man|bash-completion`, run by the build).
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace tidemark {

// tidemark.1 in troff: every subcommand's own --help, and the environment variables.
std::string manualPage(const CLI::App& app, const std::string& version, const std::string& environment);

// A bash completion script: subcommands, then each one's options; files otherwise.
std::string bashCompletion(const CLI::App& app);

}  // namespace tidemark
