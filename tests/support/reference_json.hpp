// The judge for the JSON escaper's exact bytes (unit tests and the json_string fuzz target):
// RFC 8259 escaping written the slow, obvious way, one byte at a time. The short forms, other
// control characters as lowercase \u00xx, everything else (DEL, non-ASCII, U+2028/2029) as is.
#ifndef REFERKIT_TESTS_SUPPORT_REFERENCE_JSON_HPP
#define REFERKIT_TESTS_SUPPORT_REFERENCE_JSON_HPP

#include <string>
#include <string_view>

namespace referkit::test {

inline std::string reference_json_literal(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 15];
        } else {
          out += ch;
        }
    }
  }
  return out + "\"";
}

}  // namespace referkit::test

#endif  // REFERKIT_TESTS_SUPPORT_REFERENCE_JSON_HPP
