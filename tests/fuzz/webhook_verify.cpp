// Splits the input into a signature header and a body and verifies them: the header parser must
// never crash or read out of bounds, and whatever verifies must be inside the tolerance window.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "referkit/webhooks.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const referkit::WebhookVerifier verifier =
      std::move(referkit::WebhookVerifier::create({"fuzz-secret-0123456789"}).value());
  const referkit::TimePoint now{std::chrono::seconds(1'764'000'000)};
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::size_t split = input.find('\n');
  std::string_view header = input.substr(0, split);
  std::string_view body = split == std::string_view::npos ? std::string_view{} : input.substr(split + 1);
  auto result = verifier.verify(header, body, now);
  if (result.ok()) {
    auto skew = *result > now ? *result - now : now - *result;
    if (skew > std::chrono::seconds(300)) std::abort();
  }
  return 0;
}
