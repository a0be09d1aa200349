// The fast paths of the serializers against the slow, obvious way, on arbitrary bytes:
// JsonOutput::put_string (8-byte blocks copied as tested, an overlapping tail store) against a
// byte-at-a-time escaper, refusing exactly what is_valid_utf8 refuses; the trusting escaper
// likewise without the check; ascii_lowercase (8 bytes at a time) against a per-byte fold; and
// write_hex_u64, write_hex_u128 and hex_encode against printf.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "common/text.hpp"
#include "common/utf8.hpp"
#include "json/json_text.hpp"
#include "support/reference_json.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace referkit::detail;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::string expected = referkit::test::reference_json_literal(input);

  // After a prefix of the first byte's length, so blocks start at every alignment, into a buffer
  // sized exactly, too small, or roomy.
  const std::size_t prefix = size > 0 ? data[0] % 9 : 0;
  for (const std::size_t reserve : {std::size_t{0}, size + 2 + prefix, size * 6 + 64}) {
    std::string out;
    JsonOutput o(out, reserve);
    o.put_raw(std::string(prefix, '{'));
    const bool ok = o.put_string(input);
    if (ok != is_valid_utf8(input)) std::abort();
    o.finish();
    if (ok && out != std::string(prefix, '{') + expected) std::abort();

    std::string trusted;
    JsonOutput t(trusted, reserve);
    t.put_trusted_string(input);
    t.finish();
    if (trusted != expected) std::abort();
  }

  std::string folded = ascii_lowercase(input);
  for (std::size_t i = 0; i < size; ++i) {
    const char c = input[i];
    if (folded[i] != (c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c)) std::abort();
  }

  if (size >= 8) {
    std::uint64_t v;
    std::memcpy(&v, data, 8);
    char hex[16];
    write_hex_u64(hex, v);
    char want[17];
    std::snprintf(want, sizeof want, "%016llx", static_cast<unsigned long long>(v));
    if (std::memcmp(hex, want, 16) != 0) std::abort();
  }
  if (size >= 16) {
    std::uint64_t hi;
    std::uint64_t lo;
    std::memcpy(&hi, data, 8);
    std::memcpy(&lo, data + 8, 8);
    char hex[32];
    write_hex_u128(hex, hi, lo);
    char want[33];
    std::snprintf(want, sizeof want, "%016llx%016llx", static_cast<unsigned long long>(hi),
                  static_cast<unsigned long long>(lo));
    if (std::memcmp(hex, want, 32) != 0) std::abort();
  }
  const std::string encoded = hex_encode(input);
  for (std::size_t i = 0; i < size; ++i) {
    char pair[3];
    std::snprintf(pair, sizeof pair, "%02x", data[i]);
    if (encoded.compare(2 * i, 2, pair) != 0) std::abort();
  }
  return 0;
}
