// UTF-8 validation and decoding (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF).
#ifndef REFERKIT_SRC_COMMON_UTF8_HPP
#define REFERKIT_SRC_COMMON_UTF8_HPP

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace referkit::detail {

// Decodes the code point that starts at text[pos] and advances pos past it. Returns -1 (and
// leaves pos unchanged) when the bytes there are not valid UTF-8. Never reads past text.
std::int32_t decode_utf8(std::string_view text, std::size_t& pos);

bool is_valid_utf8(std::string_view text);

// Valid UTF-8 without C0/C1 control characters or DEL: safe to show in a URL, log or terminal.
bool is_printable_utf8(std::string_view text);

// The text with every invalid sequence replaced by U+FFFD, for passing on text from outside
// (a server's error body) where valid UTF-8 is required.
std::string to_valid_utf8(std::string_view text);

}  // namespace referkit::detail

#endif  // REFERKIT_SRC_COMMON_UTF8_HPP
