// What every referkit subcommand shares: exit codes, JSON output, durations, key and secret loading.
#ifndef REFERKIT_EXAMPLES_CLI_CLI_COMMON_HPP
#define REFERKIT_EXAMPLES_CLI_CLI_COMMON_HPP

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "json/json_writer.hpp"
#include "referkit/links.hpp"
#include "referkit/status.hpp"
#include "referkit/tracker.hpp"

namespace CLI {
class App;
}  // namespace CLI

namespace referkit::cli {

// 0: done. 1: the input was checked and rejected, or the command failed at run time (a file that
// cannot be read, a spool that cannot be opened, an endpoint that refused). 2: usage error (a
// missing or malformed option). 3 (commands.hpp): not all delivered, the rest kept in the spool.
// 130/143: stopped by SIGINT/SIGTERM (commands.hpp).
enum ExitCode : int { kExitOk = 0, kExitRejected = 1, kExitFailure = 1, kExitUsage = 2 };

// The exit-status paragraph of --help, shared by the top-level help and the README.
inline constexpr const char* kExitStatusHelp =
    "Exit status: 0 done; 1 input rejected or a runtime failure (a file that cannot be read, a spool that cannot be "
    "opened, an endpoint that refused); 2 usage error; 3 not all delivered, the rest kept in the spool; 130/143 "
    "stopped by SIGINT/SIGTERM (after printing the summary). Every failure prints one JSON object "
    "{\"error\":\"<code>\",\"message\":\"...\"} on stdout (code \"usage\" for command-line errors); diagnostics "
    "and progress go to stderr.";

// "90s", "15m", "12h", "30d", "2w", or a bare number of seconds; also "250ms".
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

// Prints {"error":"<code>","message":"..."} on stdout and returns `exit`.
int print_error(const Status& status, int exit);
int print_error(std::string_view code, std::string_view message, int exit);

// The largest key, secret or other small file the CLI reads whole (a key file of hundreds of keys
// is a few KiB): /dev/zero or a wrong path to a disk image is refused instead of read into memory.
inline constexpr std::size_t kMaxSmallFileBytes = 1u << 20;

// The whole of a small regular file: kNotFound, kPermissionDenied, kFailedPrecondition (not a
// regular file) or kResourceExhausted (over kMaxSmallFileBytes), each naming `what` and the path.
Result<std::string> read_small_file(const std::string& path, std::string_view what);

// A secret given by flag, environment variable (CLI11 fills the flag's value from it) or file
// (--...-file: the file's content without its final line break, read with read_small_file).
// Empty when none is given; kInvalidArgument when both a value and a file are.
Result<std::string> resolve_secret(const std::string& value, const std::string& file, std::string_view flag);

// Adds `flag` (e.g. "--write-key", its value also read from the environment variable `env`, as
// referkit-ingest does) and `flag`-file FILE to `command`; resolve_secret() then picks the one given.
// Secrets on the command line show in `ps` and shell history; the other two ways do not.
void add_secret_option(CLI::App& command, const std::string& flag, std::string& value, std::string& file,
                       const std::string& env, const std::string& what);

// Exit code for a failure to open something (a tracker, a spool): a bad option value is a usage
// error, anything else (missing directory, newer format, I/O) a runtime failure.
inline int exit_for_open_failure(const Status& s) {
  return s.code() == StatusCode::kInvalidArgument ? kExitUsage : kExitFailure;
}

// The write key (required) and signing secret of `track` and `spool drain`, each from its flag,
// environment variable or file. On failure prints the JSON error and returns the exit status in
// `exit_code` instead.
struct UploadSecrets {
  std::string write_key;
  std::string signing_secret;
};
std::optional<UploadSecrets> resolve_upload_secrets(const std::string& write_key, const std::string& write_key_file,
                                                    const std::string& signing_secret,
                                                    const std::string& signing_secret_file, int& exit_code);

// --keys FILE if given, else REFERKIT_LINK_KEYS. On failure prints the JSON error and returns the
// exit code in `exit`: 1 when the file cannot be read, 2 when no keys are given or they are invalid.
std::optional<Keyring> load_keys(const std::string& keys_file, int& exit);

void write_claims(detail::JsonWriter& w, const LinkClaims& claims);

// The end of a delivery summary (track, spool drain): retries, requests, bytes_sent, seconds and
// the last error if any.
void write_delivery_figures(detail::JsonWriter& w, const TrackerStats& st, double seconds);

// "dropped" (the total) and "dropped_by_reason" {queue_full, retries_exhausted, shutdown, expired}.
void write_dropped(detail::JsonWriter& w, const TrackerStats& st);
// "3 expired, 2 queue full" (the reasons that dropped anything), for stderr and the human summary.
std::string describe_dropped(const TrackerStats& st);

// Where the summary goes: JSON on stdout by default (scripts, pipes), a few lines of text when
// stdout is a terminal, nothing with --quiet (errors are still printed).
enum class SummaryStyle { kJson, kHuman, kNone };
SummaryStyle summary_style(bool quiet);

inline constexpr const char* kKeysHelp =
    "Keys: --keys FILE holds one key_id:secret per line ('#' starts a comment); without it the "
    "REFERKIT_LINK_KEYS environment variable holds comma-separated key_id:secret pairs. A key id "
    "is 1-16 characters of [A-Za-z0-9._-]; a secret is 32-128 hex digits. The first key is the "
    "primary: it signs new links, and every key verifies.";

}  // namespace referkit::cli

#endif  // REFERKIT_EXAMPLES_CLI_CLI_COMMON_HPP
