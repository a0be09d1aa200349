#include "common/utf8.hpp"

namespace referkit::detail {

std::int32_t decode_utf8(std::string_view text, std::size_t& pos) {
  const std::size_t n = text.size();
  if (pos >= n) return -1;
  auto at = [&](std::size_t i) { return static_cast<std::uint8_t>(text[i]); };
  const std::uint8_t b0 = at(pos);
  if (b0 < 0x80) {
    ++pos;
    return b0;
  }
  std::size_t len;
  std::int32_t cp;
  std::int32_t min;
  if ((b0 & 0xe0) == 0xc0) {
    len = 2, cp = b0 & 0x1f, min = 0x80;
  } else if ((b0 & 0xf0) == 0xe0) {
    len = 3, cp = b0 & 0x0f, min = 0x800;
  } else if ((b0 & 0xf8) == 0xf0) {
    len = 4, cp = b0 & 0x07, min = 0x10000;
  } else {
    return -1;
  }
  if (n - pos < len) return -1;
  for (std::size_t i = 1; i < len; ++i) {
    const std::uint8_t b = at(pos + i);
    if ((b & 0xc0) != 0x80) return -1;
    cp = cp << 6 | (b & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return -1;
  pos += len;
  return cp;
}

bool is_valid_utf8(std::string_view text) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    // ASCII fast path: most input is plain ASCII.
    if (static_cast<std::uint8_t>(text[pos]) < 0x80) {
      ++pos;
      continue;
    }
    if (decode_utf8(text, pos) < 0) return false;
  }
  return true;
}

bool is_printable_utf8(std::string_view text) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::int32_t cp = decode_utf8(text, pos);
    if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0)) return false;
  }
  return true;
}

std::string to_valid_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t start = pos;
    if (decode_utf8(text, pos) < 0) {
      out += "\xEF\xBF\xBD";
      ++pos;
    } else {
      out.append(text.substr(start, pos - start));
    }
  }
  return out;
}

}  // namespace referkit::detail
