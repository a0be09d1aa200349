// referkit: mint and verify referral links, verify webhooks, track events (optionally through a
// durable spool, which `referkit spool` inspects and drains), and run the demo.
#include <CLI/CLI.hpp>

#include "cli_common.hpp"
#include "commands.hpp"
#include "referkit/version.hpp"

int main(int argc, char** argv) {
  CLI::App app{"referkit " REFERKIT_VERSION_STRING
               ": referral links, share codes and signed webhooks, from the command line.\n"
               "Every command prints JSON on stdout. Exit status: 0 done, 1 rejected, 2 usage error, 3 not all "
               "delivered but the rest is kept in the spool."};
  app.set_version_flag("--version", REFERKIT_VERSION_STRING);
  app.require_subcommand(1);
  int exit_code = 0;
  referkit::cli::add_link_commands(app, exit_code);
  referkit::cli::add_webhook_commands(app, exit_code);
  referkit::cli::add_track_command(app, exit_code);
  referkit::cli::add_spool_commands(app, exit_code);
  referkit::cli::add_demo_command(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : referkit::cli::kExitUsage;
  }
  return exit_code;
}
