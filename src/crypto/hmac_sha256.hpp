// HMAC-SHA256 with the keyed state computed once per key, so a link costs two compression
// functions per block instead of a full key schedule (the link budget is about a microsecond).
#ifndef REFERKIT_SRC_CRYPTO_HMAC_SHA256_HPP
#define REFERKIT_SRC_CRYPTO_HMAC_SHA256_HPP

#include <openssl/sha.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

namespace referkit::detail {

using Sha256Digest = std::array<unsigned char, 32>;

Sha256Digest sha256(std::string_view data);

class HmacSha256 {
 public:
  explicit HmacSha256(std::string_view key);

  // MAC over the concatenation of the parts (no separators are added: callers frame their input).
  Sha256Digest mac(std::initializer_list<std::string_view> parts) const;
  Sha256Digest mac(std::string_view data) const { return mac({data}); }

  // The MACs of two independent messages (a link's tag and its share-code MAC): where both are
  // at most 119 bytes, their compressions run two at a time, a pair in about the time of one.
  static std::array<Sha256Digest, 2> mac_pair(const HmacSha256& key_a, std::string_view a,
                                              const HmacSha256& key_b, std::string_view b);

  // A key for one purpose, derived from this one (HMAC(key, purpose) as the new key), so one
  // secret the merchant manages gives independent keys for links, codes, cookies...
  HmacSha256 derive(std::string_view purpose) const {
    const Sha256Digest k = mac(purpose);
    return HmacSha256(std::string_view(reinterpret_cast<const char*>(k.data()), k.size()));
  }

 private:
  SHA256_CTX inner_{};
  SHA256_CTX outer_{};
};

// Constant-time comparison of two equal-length byte ranges (CRYPTO_memcmp).
bool constant_time_equal(const void* a, const void* b, std::size_t n);

}  // namespace referkit::detail

#endif  // REFERKIT_SRC_CRYPTO_HMAC_SHA256_HPP
