#include <cstdio>
#include "cli_common.hpp"

#include <cstdint>
#include <limits>
#include <iostream>

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

int print_error(const Status& status, int exit) {
  std::string out;
  detail::JsonWriter w(out);
  w.begin_object().key("error").value(to_string(status.code())).key("message").value(status.message()).end_object();
  std::cout << out << '\n';
  return exit;
}

std::optional<Keyring> load_keys(const std::string& keys_file) {
  auto ring = keys_file.empty() ? Keyring::from_env() : Keyring::from_file(keys_file);
  if (!ring) {
    std::cerr << "referkit: cannot load link keys: " << ring.status().message() << "\n"
              << kKeysHelp << "\n";
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
  char secs[32];
  std::snprintf(secs, sizeof secs, "%.3f", seconds);
  w.key("seconds").raw(secs);
  if (!st.last_error.empty()) w.key("last_error").value(st.last_error);
}

}  // namespace referkit::cli
