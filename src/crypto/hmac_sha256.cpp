// The SHA256_* functions are deprecated in OpenSSL 3 in favour of EVP, but EVP_MD_CTX_copy_ex
// allocates on every call, which alone costs more than the whole link budget. The low-level
// context is a plain struct: copying the precomputed keyed state is a memcpy.
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include "crypto/hmac_sha256.hpp"

#include "crypto/sha256_compress.hpp"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <cstring>

namespace referkit::detail {
namespace {

// A big-endian store as one swap and one store (written byte by byte, GCC vectorized the
// digest's eight stores into some 300 instructions of shuffles).
void store_be32(unsigned char* p, std::uint32_t v) {
#if !(defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__)
  v = __builtin_bswap32(v);
#endif
  std::memcpy(p, &v, sizeof v);
}

// A SHA-256 from a given state (the initial one, or after an HMAC pad block) that pads its last
// block itself, handing it to the compression function (SHA256_Transform; SHA-NI where the CPU
// has it).
// SHA256_Final did that with more bookkeeping and a cleanse of its buffer: with SHA256_Update,
// ~530 instructions per MAC besides the compressions, ~270 here; a short MAC went from 115-138 ns
// to 114-118 ns on the build machine (its two compressions are ~107), and a link makes two or
// three. block_ only ever holds message bytes, which the caller has in clear anyway (the key is in
// the precomputed states), so it is not cleansed. For a plain hash (an email's, in every typed
// order) the same goes: SHA256_Init/Update/Final cost ~260 instructions around its one block.
class PaddedHash {
 public:
  // `absorbed`: bytes the state has already taken in (0 for a plain hash, a block after a pad).
  PaddedHash(const SHA256_CTX& state, std::uint64_t absorbed) : ctx_(state), total_(absorbed) {}

  void update(const unsigned char* data, std::size_t size) {
    total_ += size;
    if (used_ > 0) {
      const std::size_t take = size < SHA256_CBLOCK - used_ ? size : SHA256_CBLOCK - used_;
      std::memcpy(block_ + used_, data, take);
      used_ += take;
      data += take;
      size -= take;
      if (used_ < SHA256_CBLOCK) return;
      SHA256_Transform(&ctx_, block_);
      used_ = 0;
    }
    if (size >= SHA256_CBLOCK) {
      // A run of whole blocks in one call: OpenSSL's block function takes runs, and a call per
      // block made a webhook's 1 KiB MAC 7% slower. ctx_ never buffers (its num stays 0), so
      // SHA256_Update passes them straight through; it also counts them in Nl/Nh, unused here.
      const std::size_t whole = size - size % SHA256_CBLOCK;
      SHA256_Update(&ctx_, data, whole);
      data += whole;
      size -= whole;
    }
    std::memcpy(block_, data, size);
    used_ = size;
  }

  // SHA-256's padding: 0x80, zeros, and the length in bits (what was absorbed first included),
  // big-endian.
  Sha256Digest finish() {
    block_[used_++] = 0x80;
    if (used_ > SHA256_CBLOCK - 8) {
      std::memset(block_ + used_, 0, SHA256_CBLOCK - used_);
      SHA256_Transform(&ctx_, block_);
      used_ = 0;
    }
    std::memset(block_ + used_, 0, SHA256_CBLOCK - 8 - used_);
    const std::uint64_t bits = total_ * 8;
    store_be32(block_ + SHA256_CBLOCK - 8, static_cast<std::uint32_t>(bits >> 32));
    store_be32(block_ + SHA256_CBLOCK - 4, static_cast<std::uint32_t>(bits));
    SHA256_Transform(&ctx_, block_);
    Sha256Digest out;
    for (std::size_t i = 0; i < 8; ++i) store_be32(out.data() + 4 * i, ctx_.h[i]);
    return out;
  }

 private:
  SHA256_CTX ctx_;  // the chaining value h is the state; finish() pads from used_ and total_
  unsigned char block_[SHA256_CBLOCK];
  std::size_t used_ = 0;
  std::uint64_t total_ = 0;
};

}  // namespace

// Not the one-shot SHA256(): in OpenSSL 3 it looks the algorithm up in a locked provider table
// on every call, several times the cost of hashing a short input.
Sha256Digest sha256(std::string_view data) {
  static const SHA256_CTX kInitial = [] {
    SHA256_CTX c;
    SHA256_Init(&c);
    return c;
  }();
  PaddedHash hash(kInitial, 0);
  hash.update(reinterpret_cast<const unsigned char*>(data.data()), data.size());
  return hash.finish();
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

namespace {

// HMAC of a message that fits one block with its padding (at most 55 bytes: every keystream
// block, and the tag and share-code MAC of a typical link): both blocks are laid out directly and
// each goes through one compression, without PaddedHash's bookkeeping (its update() and finish()
// logic, variable-size memset calls, copies of the whole SHA256_CTX). Only the chaining value h
// is carried: the compression reads and updates nothing else, as PaddedHash relies on too.
struct OneBlockMac {
  std::uint32_t h[8];
  unsigned char block[SHA256_CBLOCK];

  // The inner block: the message, its padding, and the length in bits (counting the pad block
  // absorbed before; below 2^32 here). mac_pair also lays out the last block of a two-block
  // message this way: parts is then its tail, size still the whole message's (PairedInner).
  OneBlockMac(const SHA256_CTX& inner_pad, std::initializer_list<std::string_view> parts, std::size_t size)
      : block{} {
    std::memcpy(h, inner_pad.h, sizeof h);
    unsigned char* p = block;
    for (std::string_view part : parts) {
      std::memcpy(p, part.data(), part.size());
      p += part.size();
    }
    *p = 0x80;
    store_be32(block + SHA256_CBLOCK - 4, static_cast<std::uint32_t>((SHA256_CBLOCK + size) * 8));
  }

  // After the inner compression: the outer message is the 32-byte inner digest, so its padding is
  // the same every time.
  void to_outer(const SHA256_CTX& outer_pad) {
    for (std::size_t i = 0; i < 8; ++i) store_be32(block + 4 * i, h[i]);
    std::memset(block + 32, 0, SHA256_CBLOCK - 32);
    block[32] = 0x80;
    store_be32(block + SHA256_CBLOCK - 4, (SHA256_CBLOCK + 32) * 8);
    std::memcpy(h, outer_pad.h, sizeof h);
  }

  Sha256Digest digest() const {
    Sha256Digest out;
    for (std::size_t i = 0; i < 8; ++i) store_be32(out.data() + 4 * i, h[i]);
    return out;
  }
};

constexpr std::size_t kOneBlockMaxBytes = SHA256_CBLOCK - 9;  // room for 0x80 and the length
constexpr std::size_t kTwoBlockMaxBytes = SHA256_CBLOCK + kOneBlockMaxBytes;

}  // namespace

Sha256Digest HmacSha256::mac(std::initializer_list<std::string_view> parts) const {
  std::size_t size = 0;
  for (std::string_view part : parts) size += part.size();
  if (size <= kOneBlockMaxBytes) {
    OneBlockMac m(inner_, parts, size);
    sha256_compress(m.h, m.block);
    m.to_outer(outer_);
    sha256_compress(m.h, m.block);
    return m.digest();
  }
  PaddedHash inner(inner_, SHA256_CBLOCK);
  for (std::string_view part : parts) inner.update(reinterpret_cast<const unsigned char*>(part.data()), part.size());
  const Sha256Digest inner_digest = inner.finish();
  PaddedHash outer(outer_, SHA256_CBLOCK);
  outer.update(inner_digest.data(), inner_digest.size());
  return outer.finish();
}

namespace {

// The inner message of a MAC of at most 119 bytes, laid out for mac_pair: `last` is the block
// with the padding and the length; `first` the block before it when the padding needs a second
// one (nullptr otherwise): the message itself from 64 bytes on, or for 56-63 bytes `spill`, the
// message and its 0x80 (the last block is then only zeros and the length).
struct PairedInner {
  OneBlockMac last;
  unsigned char spill[SHA256_CBLOCK];
  const unsigned char* first = nullptr;

  // What of m goes in its last block: past the first block; nothing when only the padding spills
  // (an empty view that still points into m, never a null pointer for memcpy).
  static std::string_view last_part(std::string_view m) {
    if (m.size() >= SHA256_CBLOCK) return m.substr(SHA256_CBLOCK);
    return m.size() > kOneBlockMaxBytes ? m.substr(m.size()) : m;
  }

  PairedInner(const SHA256_CTX& inner_pad, std::string_view m) : last(inner_pad, {last_part(m)}, m.size()) {
    if (m.size() >= SHA256_CBLOCK) {
      first = reinterpret_cast<const unsigned char*>(m.data());
    } else if (m.size() > kOneBlockMaxBytes) {
      std::memcpy(spill, m.data(), m.size());
      spill[m.size()] = 0x80;
      std::memset(spill + m.size() + 1, 0, SHA256_CBLOCK - m.size() - 1);
      first = spill;
      last.block[0] = 0;  // the 0x80 went in the first block
    }
  }
  PairedInner(const PairedInner&) = delete;
  PairedInner& operator=(const PairedInner&) = delete;
};

// The last inner blocks, then the outer ones, two at a time.
std::array<Sha256Digest, 2> finish_pair(OneBlockMac& ma, const SHA256_CTX& outer_a, OneBlockMac& mb,
                                        const SHA256_CTX& outer_b) {
  sha256_compress_pair(ma.h, ma.block, mb.h, mb.block);
  ma.to_outer(outer_a);
  mb.to_outer(outer_b);
  sha256_compress_pair(ma.h, ma.block, mb.h, mb.block);
  return {ma.digest(), mb.digest()};
}

}  // namespace

std::array<Sha256Digest, 2> HmacSha256::mac_pair(const HmacSha256& key_a, std::string_view a,
                                                 const HmacSha256& key_b, std::string_view b) {
  // Up to two blocks each with the padding (119 bytes: a link's tag for a referrer of up to 85
  // bytes, or its share-code input): first blocks are compressed first, paired when both
  // messages have one, then the last blocks and the outer blocks in pairs. Longer messages take
  // the general path.
  if (a.size() <= kOneBlockMaxBytes && b.size() <= kOneBlockMaxBytes) {
    // The common case (a link with a referrer of up to 21 bytes) without PairedInner's tests:
    // they measured ~12 ns a mint.
    OneBlockMac ma(key_a.inner_, {a}, a.size());
    OneBlockMac mb(key_b.inner_, {b}, b.size());
    return finish_pair(ma, key_a.outer_, mb, key_b.outer_);
  }
  if (a.size() > kTwoBlockMaxBytes || b.size() > kTwoBlockMaxBytes) return {key_a.mac(a), key_b.mac(b)};
  PairedInner ia(key_a.inner_, a);
  PairedInner ib(key_b.inner_, b);
  if (ia.first != nullptr && ib.first != nullptr) {
    sha256_compress_pair(ia.last.h, ia.first, ib.last.h, ib.first);
  } else if (ia.first != nullptr) {
    sha256_compress(ia.last.h, ia.first);
  } else if (ib.first != nullptr) {
    sha256_compress(ib.last.h, ib.first);
  }
  return finish_pair(ia.last, key_a.outer_, ib.last, key_b.outer_);
}

bool constant_time_equal(const void* a, const void* b, std::size_t n) {
  return CRYPTO_memcmp(a, b, n) == 0;
}

}  // namespace referkit::detail
