// A small streaming JSON writer: appends to a caller-owned string, writes numbers without locale
// and never through a double, escapes strings per RFC 8259. It trusts that strings are valid
// UTF-8 (callers validate at their boundary) and that calls are well nested.
#ifndef REFERKIT_SRC_JSON_JSON_WRITER_HPP
#define REFERKIT_SRC_JSON_JSON_WRITER_HPP

#include <cstdint>
#include <string>
#include <string_view>

namespace referkit::detail {

// Appends s as a JSON string literal. Defined in json_text.cpp: JsonOutput's escaper, with s
// trusted to be UTF-8.
void append_json_string(std::string& out, std::string_view s);

class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}

  JsonWriter& begin_object() { return open('{'); }
  JsonWriter& end_object() { return close('}'); }
  JsonWriter& begin_array() { return open('['); }
  JsonWriter& end_array() { return close(']'); }

  JsonWriter& key(std::string_view k) {
    separate();
    append_json_string(out_, k);
    out_ += ':';
    after_key_ = true;
    return *this;
  }
  JsonWriter& value(std::string_view s) {
    separate();
    append_json_string(out_, s);
    return *this;
  }
  JsonWriter& value(const char* s) { return value(std::string_view(s)); }
  JsonWriter& value(std::int64_t v);
  JsonWriter& value(std::uint64_t v);
  JsonWriter& value(int v) { return value(static_cast<std::int64_t>(v)); }
  JsonWriter& value(bool b) {
    separate();
    out_ += b ? "true" : "false";
    return *this;
  }
  JsonWriter& null() {
    separate();
    out_ += "null";
    return *this;
  }
  // Already-serialized JSON (a number literal, a nested document).
  JsonWriter& raw(std::string_view json) {
    separate();
    out_ += json;
    return *this;
  }

 private:
  template <typename Integer>
  JsonWriter& integer(Integer v);
  JsonWriter& open(char c) {
    separate();
    out_ += c;
    first_ = true;
    return *this;
  }
  JsonWriter& close(char c) {
    out_ += c;
    first_ = false;
    return *this;
  }
  // A comma before every element but the first of a container, and none after a key.
  void separate() {
    if (after_key_) {
      after_key_ = false;
    } else if (!first_) {
      out_ += ',';
    }
    first_ = false;
  }

  std::string& out_;
  bool first_ = true;
  bool after_key_ = false;
};

}  // namespace referkit::detail

#endif  // REFERKIT_SRC_JSON_JSON_WRITER_HPP
