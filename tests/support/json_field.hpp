// Reading JSON in tests (the CLI's output lines and summaries, /v1/stats): one set of helpers
// that fail the current test with the document when it is not JSON, instead of a copy per file.
#ifndef REFERKIT_TESTS_SUPPORT_JSON_FIELD_HPP
#define REFERKIT_TESTS_SUPPORT_JSON_FIELD_HPP

#include <doctest/doctest.h>
#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "support/process.hpp"

namespace referkit::test {

// One unsigned counter of a JSON object, failing the current test when it is missing.
inline std::uint64_t json_uint(const std::string& json, std::string_view key) {
  simdjson::dom::parser parser;
  std::uint64_t v = 0;
  auto doc = parser.parse(json);
  REQUIRE_MESSAGE(!doc.error(), json);
  REQUIRE_MESSAGE(!doc[key].get_uint64().get(v), key << " in " << json);
  return v;
}

// Parsed JSON kept together with its parser: elements point into the parser's buffers.
struct Json {
  std::unique_ptr<simdjson::dom::parser> parser = std::make_unique<simdjson::dom::parser>();
  simdjson::dom::element root;
};

inline Json parse_json(const std::string& text) {
  Json j;
  const simdjson::error_code error = j.parser->parse(text).get(j.root);
  INFO("JSON text: ", text);
  REQUIRE_MESSAGE(error == simdjson::SUCCESS, simdjson::error_message(error));
  return j;
}

// The CLI's stdout, which must be exactly one line of JSON.
inline Json json_line(const RunResult& r) {
  INFO(r.describe());
  REQUIRE_FALSE(r.out.empty());
  CHECK(r.out.back() == '\n');
  CHECK(r.out.find('\n') == r.out.size() - 1);
  return parse_json(r.out);
}

// The string at a JSON pointer ("/claims/referrer"), or a marker that shows up in failures.
inline std::string json_str(const Json& j, std::string_view pointer) {
  std::string_view v;
  if (j.root.at_pointer(pointer).get_string().get(v) != simdjson::SUCCESS) {
    return "<no string at " + std::string(pointer) + ">";
  }
  return std::string(v);
}

inline bool json_has(const Json& j, std::string_view pointer) {
  simdjson::dom::element e;
  return j.root.at_pointer(pointer).get(e) == simdjson::SUCCESS;
}

inline bool json_is_null(const Json& j, std::string_view pointer) {
  simdjson::dom::element e;
  return j.root.at_pointer(pointer).get(e) == simdjson::SUCCESS && e.is_null();
}

inline bool json_is_true(const Json& j, std::string_view pointer) {
  bool v = false;
  return j.root.at_pointer(pointer).get_bool().get(v) == simdjson::SUCCESS && v;
}

// Members of the object at the pointer; 999 (no real object here has that many) when absent.
inline std::size_t json_object_size(const Json& j, std::string_view pointer) {
  simdjson::dom::object o;
  if (j.root.at_pointer(pointer).get_object().get(o) != simdjson::SUCCESS) return 999;
  return o.size();
}

}  // namespace referkit::test

#endif  // REFERKIT_TESTS_SUPPORT_JSON_FIELD_HPP
