#include "events/uuid.hpp"

#include <openssl/rand.h>

#include <chrono>
#include <cstdint>
#include <cstring>

#include "common/fork_registry.hpp"
#include "common/text.hpp"

#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#define REFERKIT_HAVE_FORK 1
#endif
#if defined(__linux__)
#include <sys/random.h>
#endif

namespace referkit::detail {
namespace {

constexpr std::uint64_t kMaxUnixMs = (std::uint64_t{1} << 48) - 1;
constexpr int kCounterBits = 42;
constexpr std::uint64_t kCounterLimit = std::uint64_t{1} << kCounterBits;

// Each thread remembers the fork generation (common/fork_registry.hpp) it seeded under, so a
// forked child notices with one relaxed load that its inherited state must be reseeded: a child
// must never repeat its parent's ids. Generations start at 1 so zeroed thread state reads as
// unseeded.

// Trivially constructible, so the thread_local needs no guard or destructor registration.
struct State {
  std::uint64_t s[4];
  std::uint64_t generation;  // fork_generation() at seeding; 0 = never seeded
  std::uint64_t last_ms;
  std::uint64_t counter;
};
thread_local State t_state;

std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

// xoshiro256** (Blackman and Vigna): fast, 256-bit state, passes BigCrush. Not cryptographic,
// which ids do not need: they must be unique, not unguessable.
std::uint64_t next(State& st) {
  const std::uint64_t result = rotl(st.s[1] * 5, 7) * 9;
  const std::uint64_t t = st.s[1] << 17;
  st.s[2] ^= st.s[0];
  st.s[3] ^= st.s[1];
  st.s[1] ^= st.s[2];
  st.s[0] ^= st.s[3];
  st.s[2] ^= t;
  st.s[3] = rotl(st.s[3], 45);
  return result;
}

std::uint64_t splitmix64(std::uint64_t& x) {
  std::uint64_t z = (x += 0x9e3779b97f4a7c15);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
  z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
  return z ^ (z >> 31);
}

bool os_random(void* buf, std::size_t n) {
#if defined(__linux__)
  auto* p = static_cast<unsigned char*>(buf);
  while (n > 0) {
    const ssize_t got = getrandom(p, n, 0);
    if (got <= 0) break;  // EINTR, or ENOSYS on an old kernel: fall back to OpenSSL
    p += got;
    n -= static_cast<std::size_t>(got);
  }
  if (n == 0) return true;
  buf = p;
#endif
  return RAND_bytes(static_cast<unsigned char*>(buf), static_cast<int>(n)) == 1;
}

void seed(State& st) {
  install_fork_hooks();  // before any thread has state to inherit: seeding is the only caller
  const std::uint64_t generation = fork_generation();
  std::uint64_t words[4] = {};
  if (!os_random(words, sizeof words)) {
    // No CSPRNG at all (should not happen): still make each thread and process distinct.
    std::uint64_t x =
        static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    x ^= static_cast<std::uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
    x ^= static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(&st));  // differs per thread
#if defined(REFERKIT_HAVE_FORK)
    x ^= static_cast<std::uint64_t>(getpid()) << 32;
#endif
    for (auto& w : words) w ^= splitmix64(x);
  }
  // xoshiro's one forbidden state is all zeros.
  if ((words[0] | words[1] | words[2] | words[3]) == 0) words[0] = 1;
  std::memcpy(st.s, words, sizeof words);
  st.generation = generation;
  st.last_ms = 0;
  st.counter = kCounterLimit;  // forces a fresh random counter on the first id
}

bool is_lower_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

}  // namespace

void write_uuid_v7(char* out, TimePoint now) noexcept {
  State& st = t_state;
  if (st.generation != fork_generation()) seed(st);

  const std::int64_t raw_ms = now.time_since_epoch().count();
  const std::uint64_t ms = raw_ms < 0 ? 0
                           : static_cast<std::uint64_t>(raw_ms) > kMaxUnixMs
                               ? kMaxUnixMs
                               : static_cast<std::uint64_t>(raw_ms);
  if (ms > st.last_ms || st.counter >= kCounterLimit) {
    // A new millisecond (or the first id): a random start with the top bit clear.
    if (ms > st.last_ms) st.last_ms = ms;
    st.counter = next(st) >> (64 - (kCounterBits - 1));
  } else if (++st.counter >= kCounterLimit) {
    // 2^41 ids in one millisecond: borrow the next one rather than break the order.
    if (st.last_ms < kMaxUnixMs) ++st.last_ms;
    st.counter = next(st) >> (64 - (kCounterBits - 1));
  }
  const std::uint64_t tail = next(st) >> 32;

  // High 64 bits: unix_ts_ms(48) ver(4) rand_a(12); low 64: var(2) rand_b(62).
  const std::uint64_t hi = st.last_ms << 16 | 0x7000 | st.counter >> 30;
  const std::uint64_t lo = std::uint64_t{2} << 62 | (st.counter & ((1u << 30) - 1)) << 32 | tail;

  // 32 digits, then placed in 8-4-4-4-12 groups with fixed-size copies.
  char hex[32];
  write_hex_u128(hex, hi, lo);
  std::memcpy(out, hex, 8);
  out[8] = '-';
  std::memcpy(out + 9, hex + 8, 4);
  out[13] = '-';
  std::memcpy(out + 14, hex + 12, 4);
  out[18] = '-';
  std::memcpy(out + 19, hex + 16, 4);
  out[23] = '-';
  std::memcpy(out + 24, hex + 20, 12);
}

void append_uuid_v7(std::string& out, TimePoint now) {
  char buf[kUuidTextSize];
  write_uuid_v7(buf, now);
  out.append(buf, kUuidTextSize);
}

std::string make_uuid_v7(TimePoint now) {
  std::string out;
  append_uuid_v7(out, now);
  return out;
}

bool is_uuid_v7(std::string_view text) noexcept {
  if (text.size() != kUuidTextSize) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (text[i] != '-') return false;
    } else if (!is_lower_hex(text[i])) {
      return false;
    }
  }
  const char variant = text[19];
  return text[14] == '7' && (variant == '8' || variant == '9' || variant == 'a' || variant == 'b');
}

}  // namespace referkit::detail
