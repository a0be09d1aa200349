// parse_rfc3339 on arbitrary bytes; whatever parses must format and parse back to the same instant.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "referkit/time.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto t = referkit::parse_rfc3339(input);
  if (!t) return 0;
  const std::string text = referkit::format_rfc3339(*t);
  auto again = referkit::parse_rfc3339(text);
  const auto ms = t->time_since_epoch().count();
  const bool in_range = ms >= -62'167'219'200'000 && ms <= 253'402'300'799'999;
  if (!again || (in_range && *again != *t)) std::abort();
  return 0;
}
