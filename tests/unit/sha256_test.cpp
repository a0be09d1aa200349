// The SHA-NI compression (and the paired HMACs built on it) against OpenSSL, on random chaining
// values, blocks, keys and message lengths. On a CPU without SHA-NI both sides are OpenSSL and
// the test still checks the HMAC framing.
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include <doctest/doctest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <string>

#include "crypto/hmac_sha256.hpp"
#include "crypto/sha256_compress.hpp"

using referkit::detail::HmacSha256;
using referkit::detail::Sha256Digest;

namespace {

std::string random_bytes(std::mt19937_64& rng, std::size_t n) {
  std::string out(n, '\0');
  for (char& c : out) c = static_cast<char>(rng() & 0xff);
  return out;
}

Sha256Digest openssl_hmac(const std::string& key, const std::string& data) {
  Sha256Digest out{};
  unsigned int size = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), out.data(), &size);
  REQUIRE(size == out.size());
  return out;
}

}  // namespace

TEST_CASE("sha256_compress and sha256_compress_pair match SHA256_Transform") {
  INFO("SHA-NI in use: " << referkit::detail::sha256_uses_sha_ni());
  std::mt19937_64 rng(20261201);
  for (int i = 0; i < 2000; ++i) {
    unsigned char blocks[2][SHA256_CBLOCK];
    std::uint32_t h[2][8];
    SHA256_CTX expected[2];
    for (int n = 0; n < 2; ++n) {
      for (unsigned char& b : blocks[n]) b = static_cast<unsigned char>(rng() & 0xff);
      for (std::uint32_t& w : h[n]) w = static_cast<std::uint32_t>(rng());
      std::memcpy(expected[n].h, h[n], sizeof h[n]);
      SHA256_Transform(&expected[n], blocks[n]);
    }
    if (i % 2 == 0) {
      referkit::detail::sha256_compress(h[0], blocks[0]);
      referkit::detail::sha256_compress(h[1], blocks[1]);
    } else {
      referkit::detail::sha256_compress_pair(h[0], blocks[0], h[1], blocks[1]);
    }
    CHECK(std::memcmp(h[0], expected[0].h, sizeof h[0]) == 0);
    CHECK(std::memcmp(h[1], expected[1].h, sizeof h[1]) == 0);
  }
}

TEST_CASE("HmacSha256::mac and mac_pair match OpenSSL's HMAC on random keys and lengths") {
  std::mt19937_64 rng(42);
  for (int i = 0; i < 3000; ++i) {
    // Keys up to past a block (hashed first); messages around the one-block limit of 55 bytes
    // most of the time, and up to a few blocks.
    const std::string key_a = random_bytes(rng, rng() % 100);
    const std::string key_b = random_bytes(rng, rng() % 100);
    const std::string a = random_bytes(rng, i % 3 == 0 ? rng() % 200 : rng() % 64);
    const std::string b = random_bytes(rng, i % 5 == 0 ? rng() % 200 : rng() % 64);
    const HmacSha256 ka(key_a);
    const HmacSha256 kb(key_b);
    const Sha256Digest want_a = openssl_hmac(key_a, a);
    const Sha256Digest want_b = openssl_hmac(key_b, b);
    CHECK(ka.mac(a) == want_a);
    const auto pair = HmacSha256::mac_pair(ka, a, kb, b);
    CHECK(pair[0] == want_a);
    CHECK(pair[1] == want_b);
  }
}
