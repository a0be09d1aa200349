// The one JSON string escaper of the library, and the events serializer's output buffer.
//
// An event is a few dozen short pieces; appending them to a std::string one by one (an
// out-of-line capacity check per piece) and validating, then escaping, strings byte by byte cost
// more than everything else in serialization together. Here pieces are copied through a raw
// cursor into space reserved in advance, and strings are checked for UTF-8 and escaped in one
// pass, eight bytes at a time over plain ASCII. JsonWriter's append_json_string goes through
// the same code (without the UTF-8 check), so there is one escaper to fuzz, test and tune.
#ifndef REFERKIT_SRC_JSON_JSON_TEXT_HPP
#define REFERKIT_SRC_JSON_JSON_TEXT_HPP

#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>

namespace referkit::detail {

class JsonOutput {
 public:
  // Writes into `out` (replacing its contents); `expected` bytes are allocated up front, and
  // the buffer grows if the text turns out longer. Call finish() before reading `out`, or read
  // text(). A reused scratch string that is already long enough is not resized: std::string
  // would zero the bytes first.
  JsonOutput(std::string& out, std::size_t expected) : out_(out) {
    if (out_.size() < expected || out_.size() < 16) out_.resize(expected < 16 ? 16 : expected);
    begin_ = &out_[0];
    cursor_ = begin_;
    end_ = begin_ + out_.size();
  }
  // Appends to `out` instead, keeping what it holds; `expected` more bytes are allocated.
  struct Append {};
  JsonOutput(std::string& out, std::size_t expected, Append) : out_(out) {
    const std::size_t used = out_.size();
    out_.resize(used + (expected < 16 ? 16 : expected));
    begin_ = &out_[0];
    cursor_ = begin_ + used;
    end_ = begin_ + out_.size();
  }
  JsonOutput(const JsonOutput&) = delete;
  JsonOutput& operator=(const JsonOutput&) = delete;

  void put(char c) {
    reserve(1);
    *cursor_++ = c;
  }
  // Text that is already JSON: punctuation, member names, number literals.
  void put_raw(std::string_view text) {
    reserve(text.size());
    std::memcpy(cursor_, text.data(), text.size());
    cursor_ += text.size();
  }
  // Space for n bytes the caller writes itself, then advance past them.
  char* claim(std::size_t n) {
    reserve(n);
    char* at = cursor_;
    cursor_ += n;
    return at;
  }
  // A JSON string literal (quote, backslash, the short forms \n \r \t \b \f, other controls
  // as \u00XX; DEL and non-ASCII as is). Returns false if s is not valid UTF-8, leaving a
  // partial literal: the caller abandons the output.
  bool put_string(std::string_view s) { return put_string_impl<true>(s); }
  // The same escapes for text the caller has already validated (or trusts): bytes from 0x80 up
  // are copied unchecked.
  void put_trusted_string(std::string_view s) { (void)put_string_impl<false>(s); }

  // Bytes in `out` so far (in Append mode, what it held before included).
  std::size_t size() const { return static_cast<std::size_t>(cursor_ - begin_); }
  // Trims `out` to what was written.
  void finish() { out_.resize(size()); }
  // What was written, without trimming `out` (a scratch buffer keeps its size for next time).
  std::string_view text() const { return std::string_view(begin_, size()); }

 private:
  void reserve(std::size_t n) {
    if (static_cast<std::size_t>(end_ - cursor_) < n) grow(n);
  }
  void grow(std::size_t n);
  // A string with nothing to escape or check (nearly every one), in a leaf function; anything
  // else goes to put_string_general, which handles every case.
  template <bool kCheckUtf8>
  bool put_string_impl(std::string_view s);
  template <bool kCheckUtf8>
  bool put_string_general(std::string_view s);

  std::string& out_;
  char* begin_;
  char* cursor_;
  char* end_;
};

}  // namespace referkit::detail

#endif  // REFERKIT_SRC_JSON_JSON_TEXT_HPP
