// The SHA256_* functions are deprecated in OpenSSL 3 in favour of EVP, but EVP_MD_CTX_copy_ex
// allocates on every call, which alone costs more than the whole link budget. The low-level
// context is a plain struct: copying the precomputed keyed state is a memcpy.
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include "crypto/hmac_sha256.hpp"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <cstring>

namespace referkit::detail {

// Not the one-shot SHA256(): in OpenSSL 3 it looks the algorithm up in a locked provider table
// on every call, several times the cost of hashing a short input.
Sha256Digest sha256(std::string_view data) {
  SHA256_CTX ctx;
  SHA256_Init(&ctx);
  SHA256_Update(&ctx, data.data(), data.size());
  Sha256Digest out{};
  SHA256_Final(out.data(), &ctx);
  return out;
}

HmacSha256::HmacSha256(std::string_view key) {
  unsigned char block[SHA256_CBLOCK] = {};
  if (key.size() > sizeof block) {
    Sha256Digest hashed = sha256(key);
    std::memcpy(block, hashed.data(), hashed.size());
  } else {
    std::memcpy(block, key.data(), key.size());
  }
  unsigned char ipad[SHA256_CBLOCK];
  unsigned char opad[SHA256_CBLOCK];
  for (std::size_t i = 0; i < sizeof block; ++i) {
    ipad[i] = static_cast<unsigned char>(block[i] ^ 0x36);
    opad[i] = static_cast<unsigned char>(block[i] ^ 0x5c);
  }
  SHA256_Init(&inner_);
  SHA256_Update(&inner_, ipad, sizeof ipad);
  SHA256_Init(&outer_);
  SHA256_Update(&outer_, opad, sizeof opad);
  OPENSSL_cleanse(block, sizeof block);
  OPENSSL_cleanse(ipad, sizeof ipad);
  OPENSSL_cleanse(opad, sizeof opad);
}

Sha256Digest HmacSha256::mac(std::initializer_list<std::string_view> parts) const {
  SHA256_CTX ctx = inner_;
  for (std::string_view part : parts) SHA256_Update(&ctx, part.data(), part.size());
  Sha256Digest inner_digest{};
  SHA256_Final(inner_digest.data(), &ctx);
  ctx = outer_;
  SHA256_Update(&ctx, inner_digest.data(), inner_digest.size());
  Sha256Digest out{};
  SHA256_Final(out.data(), &ctx);
  return out;
}

bool constant_time_equal(const void* a, const void* b, std::size_t n) {
  return CRYPTO_memcmp(a, b, n) == 0;
}

}  // namespace referkit::detail
