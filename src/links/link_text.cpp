#include "links/link_text.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "common/text.hpp"
#include "common/utf8.hpp"

namespace referkit::detail {
namespace {

constexpr std::size_t kMaxPastedLength = 4096;

// A table: every character of the UTM pairs is classified twice per link (sizing, then writing).
constexpr std::array<bool, 256> make_unreserved_table() {
  std::array<bool, 256> table{};
  for (unsigned c = 0; c < 256; ++c) {
    table[c] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
               c == '.' || c == '_' || c == '~';
  }
  return table;
}
constexpr auto kUnreserved = make_unreserved_table();

bool is_unreserved(char c) { return kUnreserved[static_cast<unsigned char>(c)]; }

Status malformed(std::string message) { return Status(StatusCode::kMalformed, std::move(message)); }

bool has_escapes(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return c == '%' || c == '+'; });
}

bool is_utm_key(std::string_view key) { return key.size() >= 4 && std::memcmp(key.data(), "utm_", 4) == 0; }

// Splits "a=1&b=2" and keeps the utm_* pairs, decoded. The query has already been checked to be
// printable ASCII (parse_pasted_link refuses anything else first).
Status collect_utm(std::string_view query, QueryParams& out) {
  while (!query.empty()) {
    std::size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    std::size_t eq = pair.find('=');
    std::string_view raw_key = pair.substr(0, eq);
    std::string_view raw_value = eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
    if (!has_escapes(pair)) {
      // Nearly every pair: its text is its decoded value, which is printable ASCII, so the strings
      // are made once, only for the pairs kept (decoding into temporaries, testing the prefix of
      // a std::string and re-checking printability were half of a URL's parse).
      if (is_utm_key(raw_key)) out.emplace_back(raw_key, raw_value);
      continue;
    }
    auto key = percent_decode(raw_key);
    auto value = percent_decode(raw_value);
    if (!key || !value) return malformed("broken %-escape in the link's query");
    if (!is_utm_key(*key)) continue;
    if (!is_printable(*key) || !is_printable(*value)) {
      return malformed("query parameter " + printable_excerpt(*key) + " is not printable UTF-8");
    }
    out.emplace_back(std::move(*key), std::move(*value));
  }
  return {};
}

// Whether every byte is printable ASCII (0x20-0x7e), eight bytes per step.
bool is_printable_ascii(std::string_view s) {
  if (s.size() < 8) {
    for (char c : s) {
      if (static_cast<unsigned char>(c) - 0x20u > 0x5eu) return false;
    }
    return true;
  }
  constexpr std::uint64_t kOnes = 0x0101010101010101;
  constexpr std::uint64_t kHigh = 0x8080808080808080;
  // Per byte, bit 7 of x is set for bytes >= 0x80; when it is clear, bit 7 of x + 0x60 is clear
  // exactly for bytes < 0x20 and bit 7 of x + 1 is set exactly for 0x7f, and no carry crosses a
  // byte (a byte >= 0x80 may carry, but x alone already marks the word as bad).
  auto bad = [](const char* p) {
    std::uint64_t x;
    std::memcpy(&x, p, sizeof x);
    return (x | ~(x + 0x60 * kOnes) | (x + kOnes)) & kHigh;
  };
  std::uint64_t any = 0;
  std::size_t i = 0;
#if defined(__SSE2__)
  // A pasted URL is 100-200 bytes: sixteen a step where there are that many. As signed bytes,
  // everything outside 0x20-0x7e is below 0x20 (0x80-0xff are negative) or is 0x7f.
  const __m128i space = _mm_set1_epi8(0x20);
  const __m128i del = _mm_set1_epi8(0x7f);
  __m128i bad16 = _mm_setzero_si128();
  for (; i + 16 < s.size(); i += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s.data() + i));
    bad16 = _mm_or_si128(bad16, _mm_or_si128(_mm_cmplt_epi8(v, space), _mm_cmpeq_epi8(v, del)));
  }
  any = static_cast<std::uint64_t>(_mm_movemask_epi8(bad16));
#endif
  for (; i + 8 < s.size(); i += 8) any |= bad(s.data() + i);
  // The last word may overlap the one before; checking a byte twice is harmless.
  return (any | bad(s.data() + s.size() - 8)) == 0;
}

// Where the first "://" starts, or npos; found by its ':' like the marker below (a bare token has
// no ':' at all, and string_view's find of "://" stepped through all of it).
std::size_t scheme_end(std::string_view s) {
  for (std::size_t colon = s.find(':'); colon != std::string_view::npos && s.size() - colon >= 3;
       colon = s.find(':', colon + 1)) {
    if (s[colon + 1] == '/' && s[colon + 2] == '/') return colon;
  }
  return std::string_view::npos;
}

// What parse_pasted_link needs from a URL's path (from the '/' after the authority), found in one
// pass: it was ~8 memchr calls over the same hundred bytes ('#', '?', three for the "/r/" marker,
// one for a '/' after the token), each with its own call and setup.
struct PathScan {
  // Where the path ends: its first '?' or '#', or its size.
  std::size_t end = 0;
  // Where the last "/r/" wholly before `end` starts, or npos.
  std::size_t last_marker = std::string_view::npos;
  // The last '/' before `end` that is followed by a byte other than '/' before `end`, or npos: the
  // text after a marker has a '/' once its trailing slashes are trimmed exactly when this slash
  // lies in it (the last slash kept by the trim is followed by a kept non-slash byte).
  std::size_t last_inner_slash = std::string_view::npos;
};

PathScan scan_path(std::string_view path) {
  const char* p = path.data();
  const std::size_t n = path.size();
  PathScan out;
  out.end = n;
  // Everything a slash needs is in the two bytes after it: a byte that is 'r' or '/' is not where
  // the path ends, so "before `end`" only asks that they exist and are not '?', '#'.
  auto on_slash = [&](std::size_t s) {
    if (s + 1 >= n) return;
    const char next = p[s + 1];
    if (next != '/' && next != '?' && next != '#') out.last_inner_slash = s;
    if (next == 'r' && s + 2 < n && p[s + 2] == '/') out.last_marker = s;
  };
  std::size_t i = 0;
#if defined(__SSE2__)
  // Sixteen bytes a step: one mask of the slashes and one of the path's possible ends; the slashes
  // (two in a typical path, none inside a token) are then visited in order.
  const __m128i slash = _mm_set1_epi8('/');
  const __m128i question = _mm_set1_epi8('?');
  const __m128i hash = _mm_set1_epi8('#');
  for (; i + 16 <= n; i += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    unsigned slashes = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, slash)));
    const unsigned ends = static_cast<unsigned>(
        _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, question), _mm_cmpeq_epi8(v, hash))));
    if (ends != 0) slashes &= (1u << __builtin_ctz(ends)) - 1;  // only the slashes before the end
    for (; slashes != 0; slashes &= slashes - 1) on_slash(i + static_cast<std::size_t>(__builtin_ctz(slashes)));
    if (ends != 0) {
      out.end = i + static_cast<std::size_t>(__builtin_ctz(ends));
      return out;
    }
  }
#endif
  // The rest a byte at a time (all of it without SSE2).
  for (; i < n; ++i) {
    const char c = p[i];
    if (c == '?' || c == '#') {
      out.end = i;
      break;
    }
    if (c == '/') on_slash(i);
  }
  return out;
}

}  // namespace

bool is_printable(std::string_view s) { return is_printable_ascii(s) || is_printable_utf8(s); }

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
  // Nearly every parameter has nothing to decode: one scan and one copy, instead of a byte-by-byte
  // rewrite into a zero-filled string that is then cut to size.
  if (!has_escapes(s)) return std::string(s);
  std::string out(s.size(), '\0');  // decoding never lengthens the text
  char* o = out.data();
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '+') {
      c = ' ';
    } else if (c == '%') {
      if (s.size() - i < 3) return std::nullopt;
      int hi = hex_value(s[i + 1]);
      int lo = hex_value(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      c = static_cast<char>(hi << 4 | lo);
      i += 2;
    }
    *o++ = c;
  }
  out.resize(static_cast<std::size_t>(o - out.data()));
  return out;
}

Result<PastedLink> parse_pasted_link(std::string_view input) {
  // Every character trim() removes is a space or a control byte; most pasted links have neither
  // at their ends, and trim's set-membership loops were ~90 instructions of a URL's parse.
  if (input.empty() || static_cast<unsigned char>(input.front()) <= 0x20 ||
      static_cast<unsigned char>(input.back()) <= 0x20) {
    input = trim(input);
  }
  if (input.empty()) return malformed("empty link");
  if (input.size() > kMaxPastedLength) return malformed("link longer than 4096 bytes");
  if (!is_printable_ascii(input)) {
    for (char c : input) {
      auto b = static_cast<unsigned char>(c);
      if (b < 0x20) return malformed("control character in link");
      if (b >= 0x7f) return malformed("non-ASCII byte in link");
    }
  }
  PastedLink out;
  std::string_view rest = input;
  bool bare = true;  // a token or code without a URL around it
  bool slash_in_rest = false;
  if (std::size_t scheme = scheme_end(input); scheme != std::string_view::npos) {
    bare = false;
    std::string_view after = input.substr(scheme + 3);
    std::size_t path_start = after.find('/');
    if (path_start == std::string_view::npos) return malformed("URL has no /r/ path");
    out.scheme = input.substr(0, scheme);
    out.authority = after.substr(0, path_start);
    std::string_view path = after.substr(path_start);
    const PathScan scan = scan_path(path);
    if (scan.end < path.size() && path[scan.end] == '?') {
      std::string_view query = path.substr(scan.end + 1);
      query = query.substr(0, query.find('#'));
      if (Status s = collect_utm(query, out.utm); !s.ok()) return s;
    }
    if (scan.last_marker == std::string_view::npos) return malformed("URL has no /r/ path");
    const std::size_t token_start = scan.last_marker + 3;
    rest = path.substr(token_start, scan.end - token_start);
    // Whether rest has a '/' once its trailing slashes are trimmed below (the scan saw them all).
    slash_in_rest = scan.last_inner_slash != std::string_view::npos && scan.last_inner_slash >= token_start;
  }
  while (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.empty()) return malformed("no token or code in link");
  if (bare) slash_in_rest = rest.find('/') != std::string_view::npos;
  if (slash_in_rest) return malformed("unexpected path after the token");
  out.credential = rest;
  return out;
}

namespace {

std::size_t percent_encoded_size(std::string_view s) {
  std::size_t n = 0;
  for (char c : s) n += is_unreserved(c) ? 1u : 3u;
  return n;
}

// plain: the caller knows s has nothing to escape, so it is copied as it is.
char* write_percent_encoded(char* out, std::string_view s, bool plain) {
  if (plain) {
    std::memcpy(out, s.data(), s.size());
    return out + s.size();
  }
  for (char c : s) {
    if (is_unreserved(c)) {
      *out++ = c;
    } else {
      const auto b = static_cast<unsigned char>(c);
      *out++ = '%';
      *out++ = kUpperHexDigits[b >> 4];
      *out++ = kUpperHexDigits[b & 15];
    }
  }
  return out;
}

}  // namespace

// Sized exactly first, so the URL is one allocation and the writes need no capacity checks.
std::string build_link_url(std::string_view base_url, std::string_view token, const QueryParams& utm) {
  while (!base_url.empty() && base_url.back() == '/') base_url.remove_suffix(1);
  std::size_t size = base_url.size() + 3 + token.size();
  std::size_t raw_query = 0;
  std::size_t encoded_query = 0;
  for (const auto& [key, value] : utm) {
    raw_query += key.size() + value.size();
    encoded_query += percent_encoded_size(key) + percent_encoded_size(value);
  }
  size += 2 * utm.size() + encoded_query;
  // Nothing to escape anywhere, as in nearly every link: copies instead of a branch per byte.
  const bool plain = raw_query == encoded_query;
  std::string url(size, '\0');
  char* o = url.data();
  std::memcpy(o, base_url.data(), base_url.size());
  o += base_url.size();
  std::memcpy(o, "/r/", 3);
  o += 3;
  std::memcpy(o, token.data(), token.size());
  o += token.size();
  char sep = '?';
  for (const auto& [key, value] : utm) {
    *o++ = sep;
    o = write_percent_encoded(o, key, plain);
    *o++ = '=';
    o = write_percent_encoded(o, value, plain);
    sep = '&';
  }
  return url;
}

}  // namespace referkit::detail
