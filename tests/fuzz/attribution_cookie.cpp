// Feeds arbitrary bytes to Attributor::read (the attribution cookie's parser). Anything accepted
// must be authentic and canonical: signing its attribution again gives back the same bytes.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "referkit/attribution.hpp"

namespace {

const referkit::Attributor& attributor() {
  static const referkit::Attributor a = [] {
    auto ring = referkit::Keyring::parse("k1:000102030405060708090a0b0c0d0e0f\nk2:101112131415161718191a1b1c1d1e1f");
    return std::move(referkit::Attributor::create(ring.value()).value());
  }();
  return a;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const referkit::TimePoint now = referkit::parse_rfc3339("2026-11-27T10:00:00Z").value();
  auto read = attributor().read(input, now);
  if (read.ok()) {
    // Only the primary key (k1) signs, so only k1 cookies can be compared byte for byte.
    if (read->key_id == "k1" && attributor().cookie_value(*read) != input) std::abort();
    if (read->window_end <= now || read->referral_code.empty()) std::abort();
  }
  return 0;
}
