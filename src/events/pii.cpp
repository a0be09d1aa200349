#include <arpa/inet.h>

#include <cstring>
#include <string>
#include <string_view>

#include <fmt/format.h>

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

Result<std::string> truncate_ip(std::string_view ip) {
  // inet_pton wants a C string; the longest IPv6 text (with an embedded IPv4) is 45 characters.
  char text[INET6_ADDRSTRLEN] = {};
  const auto refuse = [&] {
    return Status(StatusCode::kInvalidArgument,
                  fmt::format("\"{}\" is not an IPv4 or IPv6 address", ip.substr(0, 64)));
  };
  if (ip.empty() || ip.size() >= sizeof text || ip.find('\0') != std::string_view::npos) return refuse();
  std::memcpy(text, ip.data(), ip.size());
  unsigned char addr[16] = {};
  int family = AF_INET;
  if (::inet_pton(AF_INET, text, addr) == 1) {
    addr[3] = 0;  // /24
  } else if (::inet_pton(AF_INET6, text, addr) == 1) {
    family = AF_INET6;
    std::memset(addr + 6, 0, 10);  // /48
  } else {
    return refuse();
  }
  char out[INET6_ADDRSTRLEN] = {};
  if (::inet_ntop(family, addr, out, sizeof out) == nullptr) return refuse();
  return std::string(out);
}

}  // namespace v1
}  // namespace referkit
