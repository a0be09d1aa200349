#include "batch/json_extents.hpp"

#include <cstring>

namespace referkit::batch {
namespace {

// A cursor over JSON text. Every step returns false on anything unexpected, including the end of
// the input, so no path can run past the end.
class Scanner {
 public:
  explicit Scanner(std::string_view text) : text_(text) {}

  std::size_t pos() const { return pos_; }

  void skip_whitespace() {
    while (pos_ < text_.size() &&
           (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }

  bool peek(char c) const { return pos_ < text_.size() && text_[pos_] == c; }

  bool consume(char c) {
    skip_whitespace();
    if (!peek(c)) return false;
    ++pos_;
    return true;
  }

  // A string literal starting at the cursor (escapes are skipped, not decoded). Event JSON is
  // mostly string content, so the closing quote is found with memchr rather than byte by byte:
  // a quote ends the string unless an odd number of backslashes precedes it.
  bool skip_string() {
    if (!peek('"')) return false;
    const std::size_t content = pos_ + 1;
    std::size_t from = content;
    while (from < text_.size()) {
      const void* quote = std::memchr(text_.data() + from, '"', text_.size() - from);
      if (quote == nullptr) return false;
      const auto at = static_cast<std::size_t>(static_cast<const char*>(quote) - text_.data());
      std::size_t backslashes = 0;
      while (at - backslashes > content && text_[at - backslashes - 1] == '\\') ++backslashes;
      if (backslashes % 2 == 0) {
        pos_ = at + 1;
        return true;
      }
      from = at + 1;
    }
    return false;
  }

  // Any value. Containers are skipped with a depth counter rather than recursion, so nesting as
  // deep as the input allows costs no stack.
  bool skip_value() {
    skip_whitespace();
    if (pos_ >= text_.size()) return false;
    const char first = text_[pos_];
    if (first == '"') return skip_string();
    if (first != '{' && first != '[') return skip_scalar();
    std::size_t depth = 0;
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      if (c == '"') {
        if (!skip_string()) return false;
        continue;
      }
      ++pos_;
      if (c == '{' || c == '[') {
        ++depth;
      } else if (c == '}' || c == ']') {
        if (--depth == 0) return true;
      }
    }
    return false;
  }

 private:
  // Numbers, true, false, null: everything up to a delimiter.
  bool skip_scalar() {
    const std::size_t start = pos_;
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      if (c == ',' || c == '}' || c == ']' || c == ' ' || c == '\t' || c == '\n' || c == '\r') break;
      ++pos_;
    }
    return pos_ > start;
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

}  // namespace

std::optional<std::vector<std::string_view>> member_array_elements(std::string_view json,
                                                                   std::size_t member_index) {
  Scanner s(json);
  if (!s.consume('{')) return std::nullopt;
  for (std::size_t member = 0;; ++member) {
    s.skip_whitespace();
    if (!s.skip_string() || !s.consume(':')) return std::nullopt;
    if (member == member_index) break;
    if (!s.skip_value() || !s.consume(',')) return std::nullopt;
  }
  if (!s.consume('[')) return std::nullopt;
  std::vector<std::string_view> elements;
  s.skip_whitespace();
  if (s.peek(']')) return elements;
  for (;;) {
    s.skip_whitespace();
    const std::size_t start = s.pos();
    if (!s.skip_value()) return std::nullopt;
    elements.push_back(json.substr(start, s.pos() - start));
    if (s.consume(']')) return elements;
    if (!s.consume(',')) return std::nullopt;
  }
}

}  // namespace referkit::batch
