#include "links/link_text.hpp"

#include "common/utf8.hpp"

namespace referkit::detail {
namespace {

constexpr std::size_t kMaxPastedLength = 4096;

bool is_unreserved(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Status malformed(std::string message) { return Status(StatusCode::kMalformed, std::move(message)); }

// Splits "a=1&b=2" and keeps the utm_* pairs, decoded.
Status collect_utm(std::string_view query, QueryParams& out) {
  while (!query.empty()) {
    std::size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    std::size_t eq = pair.find('=');
    auto key = percent_decode(pair.substr(0, eq));
    auto value = percent_decode(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1));
    if (!key || !value) return malformed("broken %-escape in the link's query");
    if (key->rfind("utm_", 0) != 0) continue;
    if (!is_printable_utf8(*key) || !is_printable_utf8(*value)) {
      return malformed("query parameter " + printable_excerpt(*key) + " is not printable UTF-8");
    }
    out.emplace_back(std::move(*key), std::move(*value));
  }
  return {};
}

}  // namespace

std::string_view trim(std::string_view s) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

std::string printable_excerpt(std::string_view s) {
  constexpr std::size_t kMax = 40;
  std::string out;
  for (std::size_t i = 0; i < s.size() && i < kMax; ++i) {
    char c = s[i];
    out += (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') ? c : '?';
  }
  if (s.size() > kMax) out += "...";
  return out;
}

std::optional<std::string> percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%') {
      if (s.size() - i < 3) return std::nullopt;
      int hi = hex_digit(s[i + 1]);
      int lo = hex_digit(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi << 4 | lo);
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

Result<PastedLink> parse_pasted_link(std::string_view input) {
  input = trim(input);
  if (input.empty()) return malformed("empty link");
  if (input.size() > kMaxPastedLength) return malformed("link longer than 4096 bytes");
  for (char c : input) {
    auto b = static_cast<unsigned char>(c);
    if (b < 0x21 && c != ' ') return malformed("control character in link");
    if (b >= 0x7f) return malformed("non-ASCII byte in link");
  }
  PastedLink out;
  std::string_view rest = input;
  if (std::size_t scheme = input.find("://"); scheme != std::string_view::npos) {
    std::string_view after = input.substr(scheme + 3);
    std::size_t path_start = after.find('/');
    if (path_start == std::string_view::npos) return malformed("URL has no /r/ path");
    std::string_view path = after.substr(path_start);
    std::size_t fragment = path.find('#');
    path = path.substr(0, fragment);
    std::size_t query = path.find('?');
    if (query != std::string_view::npos) {
      if (Status s = collect_utm(path.substr(query + 1), out.utm); !s.ok()) return s;
      path = path.substr(0, query);
    }
    std::size_t marker = path.rfind("/r/");
    if (marker == std::string_view::npos) return malformed("URL has no /r/ path");
    rest = path.substr(marker + 3);
  }
  while (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.empty()) return malformed("no token or code in link");
  if (rest.find('/') != std::string_view::npos) return malformed("unexpected path after the token");
  out.credential = rest;
  return out;
}

namespace {

void append_percent_encoded(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (char c : s) {
    if (is_unreserved(c)) {
      out += c;
    } else {
      const auto b = static_cast<unsigned char>(c);
      const char escaped[3] = {'%', kHex[b >> 4], kHex[b & 15]};
      out.append(escaped, 3);
    }
  }
}

}  // namespace

std::string build_link_url(std::string_view base_url, std::string_view token, const QueryParams& utm) {
  while (!base_url.empty() && base_url.back() == '/') base_url.remove_suffix(1);
  std::size_t size = base_url.size() + 3 + token.size();
  for (const auto& [key, value] : utm) size += 2 + key.size() + value.size();
  std::string url;
  url.reserve(size + 16);
  url += base_url;
  url += "/r/";
  url += token;
  char sep = '?';
  for (const auto& [key, value] : utm) {
    url += sep;
    append_percent_encoded(url, key);
    url += '=';
    append_percent_encoded(url, value);
    sep = '&';
  }
  return url;
}

}  // namespace referkit::detail
