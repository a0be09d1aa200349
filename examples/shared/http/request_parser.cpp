#include "http/request_parser.hpp"

#include <algorithm>

#include "common/text.hpp"

namespace referkit::http {
namespace {

using detail::iequals;
using detail::is_http_token;
using detail::kHttpWhitespace;
using detail::trim;

// Field values: visible characters, spaces, tabs and obs-text; never NUL, CR, LF or other controls.
bool is_field_value(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u == '\t' || (u >= 0x20 && u != 0x7f);
  });
}

// Request targets: visible ASCII only.
bool is_target(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u < 0x7f;
  });
}

// Whether a comma-separated list (Connection) holds `token`.
bool list_has(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    const std::size_t comma = list.find(',');
    if (iequals(trim(list.substr(0, comma), kHttpWhitespace), token)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

HeadParse fail(int status, std::string reason) {
  HeadParse p;
  p.state = HeadParse::State::kError;
  p.status = status;
  p.reason = std::move(reason);
  return p;
}

bool parse_request_line(std::string_view line, Request& r, HeadParse& error) {
  const std::size_t sp1 = line.find(' ');
  const std::size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
    error = fail(400, "malformed request line");
    return false;
  }
  const std::string_view method = line.substr(0, sp1);
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  if (!is_http_token(method) || !is_target(target)) {
    error = fail(400, "malformed request line");
    return false;
  }
  if (version != "HTTP/1.1" && version != "HTTP/1.0") {
    const bool looks_http = version.size() == 8 && version.substr(0, 5) == "HTTP/";
    error = looks_http ? fail(505, "only HTTP/1.0 and HTTP/1.1 are supported") : fail(400, "malformed request line");
    return false;
  }
  r.method = std::string(method);
  r.target = std::string(target);
  r.version = std::string(version);
  return true;
}

// Content-Length: decimal digits; repeated headers must agree (RFC 9110 section 8.6).
bool parse_content_length(const HeaderList& headers, std::size_t& length) {
  bool present = false;
  for (const auto& [name, value] : headers) {
    if (!iequals(name, "Content-Length")) continue;
    // 18 digits cannot overflow a 64-bit size_t, and no limit comes anywhere near.
    if (value.empty() || value.size() > 18 ||
        !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return false;
    }
    std::size_t v = 0;
    for (char c : value) v = v * 10 + static_cast<std::size_t>(c - '0');
    if (present && v != length) return false;
    length = v;
    present = true;
  }
  return true;
}

}  // namespace

HeadParse parse_request_head(std::string_view buffer, const Limits& limits) {
  std::size_t start = 0;
  while (buffer.substr(start, 2) == "\r\n") start += 2;
  const std::size_t end = buffer.find("\r\n\r\n", start);
  if (end == std::string_view::npos || end + 4 > limits.max_head_bytes) {
    if (buffer.size() > limits.max_head_bytes || (end != std::string_view::npos)) {
      return fail(431, "the request head exceeds " + std::to_string(limits.max_head_bytes) + " bytes");
    }
    return {};  // keep reading
  }

  HeadParse parsed;
  RequestHead& head = parsed.head;
  Request& r = head.request;
  std::string_view lines = buffer.substr(start, end + 2 - start);  // each line keeps its CRLF
  std::size_t eol = lines.find("\r\n");
  if (!parse_request_line(lines.substr(0, eol), r, parsed)) return parsed;
  lines.remove_prefix(eol + 2);
  while (!lines.empty()) {
    eol = lines.find("\r\n");
    const std::string_view line = lines.substr(0, eol);
    lines.remove_prefix(eol + 2);
    if (r.headers.size() >= limits.max_headers) {
      return fail(431, "more than " + std::to_string(limits.max_headers) + " header fields");
    }
    const std::size_t colon = line.find(':');
    // No space before the colon and no obsolete line folding (RFC 9112 section 5).
    if (colon == std::string_view::npos || !is_http_token(line.substr(0, colon))) {
      return fail(400, "malformed header field");
    }
    const std::string_view value = trim(line.substr(colon + 1), kHttpWhitespace);
    if (!is_field_value(value)) return fail(400, "invalid character in a header field");
    r.headers.emplace_back(std::string(line.substr(0, colon)), std::string(value));
  }

  if (r.header("Transfer-Encoding")) return fail(411, "Transfer-Encoding is not supported; send Content-Length");
  if (!parse_content_length(r.headers, head.content_length)) return fail(400, "invalid Content-Length");
  if (head.content_length > limits.max_body_bytes) {
    return fail(413, "the body exceeds " + std::to_string(limits.max_body_bytes) + " bytes");
  }
  if (r.version == "HTTP/1.1" && !r.header("Host")) return fail(400, "missing Host header");
  if (const auto expect = r.header("Expect")) {
    if (!iequals(*expect, "100-continue")) return fail(417, "unsupported Expect header");
    head.expect_continue = head.content_length > 0;
  }
  const std::string_view connection = r.header("Connection").value_or("");
  head.keep_alive = r.version == "HTTP/1.1" ? !list_has(connection, "close") : list_has(connection, "keep-alive");
  head.head_bytes = end + 4;
  parsed.state = HeadParse::State::kComplete;
  return parsed;
}

}  // namespace referkit::http
