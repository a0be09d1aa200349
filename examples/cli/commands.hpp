#ifndef REFERKIT_EXAMPLES_CLI_COMMANDS_HPP
#define REFERKIT_EXAMPLES_CLI_COMMANDS_HPP

#include <CLI/CLI.hpp>

namespace referkit::cli {

// Each registers its subcommands on app; the chosen one stores its exit code in exit_code.
void add_link_commands(CLI::App& app, int& exit_code);
void add_webhook_commands(CLI::App& app, int& exit_code);
void add_demo_command(CLI::App& app, int& exit_code);
void add_track_command(CLI::App& app, int& exit_code);
void add_spool_commands(CLI::App& app, int& exit_code);
void add_serve_command(CLI::App& app, int& exit_code);

// `track --spool` and `spool drain`: events were not all delivered, but every undelivered one is
// safe in the spool directory (the other codes are in cli_common.hpp).
inline constexpr int kExitKeptInSpool = 3;

}  // namespace referkit::cli

#endif  // REFERKIT_EXAMPLES_CLI_COMMANDS_HPP
