// Reads one unsigned counter from a JSON object (the CLI's summary, /v1/stats), failing the
// current test with the document when it is missing.
#ifndef REFERKIT_TESTS_SUPPORT_JSON_FIELD_HPP
#define REFERKIT_TESTS_SUPPORT_JSON_FIELD_HPP

#include <doctest/doctest.h>
#include <simdjson.h>

#include <cstdint>
#include <string>

namespace referkit::test {

inline std::uint64_t json_uint(const std::string& json, const char* key) {
  simdjson::dom::parser parser;
  std::uint64_t v = 0;
  auto doc = parser.parse(json);
  REQUIRE_MESSAGE(!doc.error(), json);
  REQUIRE_MESSAGE(!doc[key].get_uint64().get(v), key << " in " << json);
  return v;
}

}  // namespace referkit::test

#endif  // REFERKIT_TESTS_SUPPORT_JSON_FIELD_HPP
