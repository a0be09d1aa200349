// referkit: mint and verify referral links, verify webhooks, track events (optionally through a
// durable spool, which `referkit spool` inspects and drains), run the local sidecar agent
// (`referkit serve`), and run the demo.
#include <CLI/CLI.hpp>

#include <exception>
#include <string>

#include "cli_common.hpp"
#include "commands.hpp"
#include "referkit/version.hpp"

int main(int argc, char** argv) {
  using namespace referkit::cli;
  // Nothing may escape main as an exception (std::terminate would print to stderr and abort with
  // a core dump): every failure is the one JSON error object and a documented exit status.
  try {
    CLI::App app{std::string("referkit " REFERKIT_VERSION_STRING
                             ": referral links, share codes and signed webhooks, from the command line.\n"
                             "Every command prints JSON on stdout (track and spool drain print a human-readable "
                             "summary instead when stdout is a terminal). ") +
                 kExitStatusHelp};
    app.set_version_flag("--version", REFERKIT_VERSION_STRING);
    app.require_subcommand(1);
    int exit_code = 0;
    add_link_commands(app, exit_code);
    add_webhook_commands(app, exit_code);
    add_track_command(app, exit_code);
    add_spool_commands(app, exit_code);
    add_serve_command(app, exit_code);
    add_demo_command(app, exit_code);
    try {
      app.parse(argc, argv);
    } catch (const CLI::Success& e) {  // --help, --version
      return app.exit(e);
    } catch (const CLI::ParseError& e) {
      return print_error("usage", std::string(e.what()) + "; run with --help for usage", kExitUsage);
    }
    return exit_code;
  } catch (const std::exception& e) {
    return print_error("internal", e.what(), kExitFailure);
  } catch (...) {
    return print_error("internal", "unknown exception", kExitFailure);
  }
}
