#include "cli_common.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <iostream>
#include <limits>

namespace referkit::cli {

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  if (text.empty() || text.size() > 20) return std::nullopt;
  std::size_t digits = 0;
  std::int64_t n = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') {
    n = n * 10 + (text[digits] - '0');
    ++digits;
  }
  if (digits == 0 || digits > 12) return std::nullopt;
  std::string_view unit = text.substr(digits);
  std::int64_t ms_per_unit = 0;
  if (unit.empty() || unit == "s") ms_per_unit = 1000;
  else if (unit == "ms") ms_per_unit = 1;
  else if (unit == "m") ms_per_unit = 60'000;
  else if (unit == "h") ms_per_unit = 3'600'000;
  else if (unit == "d") ms_per_unit = 86'400'000;
  else if (unit == "w") ms_per_unit = 604'800'000;
  else return std::nullopt;
  if (n > std::numeric_limits<std::int64_t>::max() / ms_per_unit) return std::nullopt;
  return std::chrono::milliseconds(n * ms_per_unit);
}

int print_error(std::string_view code, std::string_view message, int exit) {
  std::string out;
  detail::JsonWriter w(out);
  w.begin_object().key("error").value(code).key("message").value(message).end_object();
  std::cout << out << '\n' << std::flush;
  return exit;
}

int print_error(const Status& status, int exit) { return print_error(to_string(status.code()), status.message(), exit); }

Result<std::string> read_small_file(const std::string& path, std::string_view what) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer; the fstat below refuses it anyway.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    const int err = errno;
    const StatusCode code = err == ENOENT ? StatusCode::kNotFound
                            : err == EACCES ? StatusCode::kPermissionDenied
                                            : StatusCode::kFailedPrecondition;
    return Status(code, fmt::format("cannot open {} {}: {}", what, path, std::strerror(err)));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status(StatusCode::kFailedPrecondition, fmt::format("{} {} is not a regular file", what, path));
  }
  if (static_cast<std::uint64_t>(st.st_size) > kMaxSmallFileBytes) {
    ::close(fd);
    return Status(StatusCode::kResourceExhausted,
                  fmt::format("{} {} is larger than {} bytes", what, path, kMaxSmallFileBytes));
  }
  // Read at most one byte past the cap: a file that grew after fstat is refused too.
  std::string content;
  char buf[16384];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return Status(StatusCode::kFailedPrecondition, fmt::format("cannot read {} {}: {}", what, path, std::strerror(err)));
    }
    if (n == 0) break;
    content.append(buf, static_cast<std::size_t>(n));
    if (content.size() > kMaxSmallFileBytes) {
      ::close(fd);
      return Status(StatusCode::kResourceExhausted,
                    fmt::format("{} {} is larger than {} bytes", what, path, kMaxSmallFileBytes));
    }
  }
  ::close(fd);
  return content;
}

Result<std::string> resolve_secret(const std::string& value, const std::string& file, std::string_view flag) {
  if (file.empty()) return value;
  if (!value.empty()) {
    return Status(StatusCode::kInvalidArgument,
                  fmt::format("{} is given both directly (flag or environment) and as {}-file: give one", flag, flag));
  }
  auto content = read_small_file(file, fmt::format("{}-file", flag));
  if (!content) return content.status();
  std::string secret = std::move(*content);
  if (!secret.empty() && secret.back() == '\n') secret.pop_back();
  if (!secret.empty() && secret.back() == '\r') secret.pop_back();
  if (secret.empty()) return Status(StatusCode::kInvalidArgument, fmt::format("{}-file {} is empty", flag, file));
  return secret;
}

void add_secret_option(CLI::App& command, const std::string& flag, std::string& value, std::string& file,
                       const std::string& env, const std::string& what) {
  command.add_option(flag, value, fmt::format("{}. Also from the environment variable {}, or from a file with {}-file",
                                              what, env, flag))
      ->envname(env);
  command.add_option(flag + "-file", file,
                     fmt::format("Read {} from this file (its content, without a final line break; at most 1 MiB)", flag));
}

std::optional<Keyring> load_keys(const std::string& keys_file, int& exit) {
  if (keys_file.empty()) {
    auto ring = Keyring::from_env();
    if (ring) return std::move(*ring);
    // Unset or invalid, the keys given are unusable configuration: a usage error.
    exit = kExitUsage;
    print_error(ring.status().code() == StatusCode::kNotFound ? "usage" : to_string(ring.status().code()),
                fmt::format("cannot load link keys: {}. {}", ring.status().message(), kKeysHelp), exit);
    return std::nullopt;
  }
  auto text = read_small_file(keys_file, "key file");
  if (!text) {
    exit = print_error(text.status(), kExitFailure);
    return std::nullopt;
  }
  auto ring = Keyring::parse(*text);
  if (!ring) {
    exit = print_error(Status(ring.status().code(), keys_file + ": " + ring.status().message()), kExitUsage);
    return std::nullopt;
  }
  return std::move(*ring);
}

void write_claims(detail::JsonWriter& w, const LinkClaims& c) {
  const bool token = c.kind == LinkClaims::Kind::kToken;
  auto text_or_null = [&](const char* key, const std::string& v) {
    w.key(key);
    if (token) w.value(v); else w.null();
  };
  w.begin_object();
  w.key("kind").value(token ? "token" : "share_code");
  text_or_null("key_id", c.key_id);
  text_or_null("campaign", c.campaign);
  // A share code is a lookup key: the referrer behind it is known to the platform, not the code.
  text_or_null("referrer", c.referrer);
  w.key("issued_at");
  if (token) w.value(format_rfc3339(c.issued_at)); else w.null();
  w.key("expires_at");
  if (c.expires_at) w.value(format_rfc3339(*c.expires_at)); else w.null();
  if (!token) {
    w.key("share_code").value(c.share_code);
    w.key("name_prefix").value(c.name_prefix);
  }
  w.key("utm").begin_object();
  for (const auto& [k, v] : c.utm) w.key(k).value(v);
  w.end_object();
  w.end_object();
}

void write_delivery_figures(detail::JsonWriter& w, const TrackerStats& st, double seconds) {
  w.key("retries").value(st.retried);
  w.key("requests").value(st.requests);
  w.key("bytes_sent").value(st.bytes_sent);
  w.key("seconds").raw(fmt::format("{:.3f}", seconds));
  if (!st.last_error.empty()) w.key("last_error").value(st.last_error);
}

void write_dropped(detail::JsonWriter& w, const TrackerStats& st) {
  w.key("dropped").value(st.dropped());
  w.key("dropped_by_reason").begin_object();
  w.key("queue_full").value(st.dropped_queue_full);
  w.key("retries_exhausted").value(st.dropped_retries_exhausted);
  w.key("shutdown").value(st.dropped_shutdown);
  w.key("expired").value(st.dropped_expired);
  w.end_object();
}

std::string describe_dropped(const TrackerStats& st) {
  std::string out;
  auto add = [&out](std::uint64_t n, const char* why) {
    if (n == 0) return;
    if (!out.empty()) out += ", ";
    out += fmt::format("{} {}", n, why);
  };
  add(st.dropped_queue_full, "queue full");
  add(st.dropped_retries_exhausted, "retries exhausted");
  add(st.dropped_shutdown, "at shutdown");
  add(st.dropped_expired, "expired (older than the maximum event age)");
  return out;
}

SummaryStyle summary_style(bool quiet) {
  if (quiet) return SummaryStyle::kNone;
  return ::isatty(STDOUT_FILENO) ? SummaryStyle::kHuman : SummaryStyle::kJson;
}

std::optional<UploadSecrets> resolve_upload_secrets(const std::string& write_key, const std::string& write_key_file,
                                                    const std::string& signing_secret,
                                                    const std::string& signing_secret_file, int& exit_code) {
  auto key = resolve_secret(write_key, write_key_file, "--write-key");
  if (!key) {
    exit_code = print_error(key.status(), exit_for_open_failure(key.status()));
    return std::nullopt;
  }
  if (key->empty()) {
    exit_code = print_error("usage", "a write key is required: --write-key, REFERKIT_WRITE_KEY or --write-key-file",
                            kExitUsage);
    return std::nullopt;
  }
  auto secret = resolve_secret(signing_secret, signing_secret_file, "--signing-secret");
  if (!secret) {
    exit_code = print_error(secret.status(), exit_for_open_failure(secret.status()));
    return std::nullopt;
  }
  return UploadSecrets{std::move(*key), std::move(*secret)};
}

}  // namespace referkit::cli
