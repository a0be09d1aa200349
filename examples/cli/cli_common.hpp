// What every referkit subcommand shares: exit codes, JSON output, durations, key loading.
#ifndef REFERKIT_EXAMPLES_CLI_CLI_COMMON_HPP
#define REFERKIT_EXAMPLES_CLI_CLI_COMMON_HPP

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "json/json_writer.hpp"
#include "referkit/links.hpp"
#include "referkit/status.hpp"
#include "referkit/tracker.hpp"

namespace referkit::cli {

// 0: done; 1: the input was checked and rejected; 2: usage or configuration error.
enum ExitCode : int { kExitOk = 0, kExitRejected = 1, kExitUsage = 2 };

// "90s", "15m", "12h", "30d", "2w", or a bare number of seconds; also "250ms".
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

// Prints {"error":"<code>","message":"..."} on stdout and returns `exit`.
int print_error(const Status& status, int exit);

// --keys FILE if given, else REFERKIT_LINK_KEYS; a clear message on stderr when neither works.
std::optional<Keyring> load_keys(const std::string& keys_file);

void write_claims(detail::JsonWriter& w, const LinkClaims& claims);

// The end of a delivery summary (track, spool drain): retries, requests, bytes_sent, seconds and
// the last error if any.
void write_delivery_figures(detail::JsonWriter& w, const TrackerStats& st, double seconds);

inline constexpr const char* kKeysHelp =
    "Keys: --keys FILE holds one key_id:secret per line ('#' starts a comment); without it the "
    "REFERKIT_LINK_KEYS environment variable holds comma-separated key_id:secret pairs. A key id "
    "is 1-16 characters of [A-Za-z0-9._-]; a secret is 32-128 hex digits. The first key is the "
    "primary: it signs new links, and every key verifies.";

}  // namespace referkit::cli

#endif  // REFERKIT_EXAMPLES_CLI_CLI_COMMON_HPP
