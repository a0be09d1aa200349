#include <string>
#include <string_view>

#include "crypto/encoding.hpp"
#include "crypto/hmac_sha256.hpp"
#include "referkit/events.hpp"

namespace referkit {
inline namespace v1 {
namespace {

bool is_ascii_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

}  // namespace

std::string email_sha256(std::string_view email) {
  while (!email.empty() && is_ascii_space(email.front())) email.remove_prefix(1);
  while (!email.empty() && is_ascii_space(email.back())) email.remove_suffix(1);
  // ASCII-only lowercasing is the ad platforms' convention (their matching hashes the same way);
  // a locale-aware fold would give hashes nobody else can match.
  std::string folded(email);
  for (char& c : folded) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  const detail::Sha256Digest digest = detail::sha256(folded);
  return detail::hex_encode(std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
}

}  // namespace v1
}  // namespace referkit
