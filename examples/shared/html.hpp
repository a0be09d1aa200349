// Text into HTML, for the examples' pages (referkit-ingest's funnel page, referkit-shop): one
// escaper for both, so a hole closed in one cannot stay open in the other.
#ifndef REFERKIT_EXAMPLES_SHARED_HTML_HPP
#define REFERKIT_EXAMPLES_SHARED_HTML_HPP

#include <string>
#include <string_view>

namespace referkit::examples {

// Safe in element text and in quoted attribute values (both quote kinds).
inline std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace referkit::examples

#endif  // REFERKIT_EXAMPLES_SHARED_HTML_HPP
