#include <doctest/doctest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <libdeflate.h>

#include "transport/gzip.hpp"

using referkit::StatusCode;
using referkit::detail::gzip_compress;
using referkit::detail::gzip_decompress;
using referkit::detail::GzipCompressor;

namespace {

constexpr std::size_t kMiB = std::size_t{1} << 20;

std::string random_bytes(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng() & 0xFF);
  return s;
}

// Compressible, like a batch of JSON events.
std::string json_like(std::size_t n) {
  std::string s;
  s.reserve(n + 64);
  for (std::size_t i = 0; s.size() < n; ++i) {
    s += R"({"type":"track","event":"Order Completed","messageId":"0190c3a2-7b1e-7000-8000-)";
    s += std::to_string(100000 + i);
    s += R"(","properties":{"total":"12.50","currency":"EUR"}},)";
  }
  s.resize(n);
  return s;
}

}  // namespace

TEST_SUITE("gzip") {

TEST_CASE("compress and decompress round-trip at every size class and level") {
  const std::vector<std::size_t> sizes = {0, 1, 2, 100, 1000, 65'535, 65'536, 65'537, 500'000, kMiB};
  for (const int level : {1, 9}) {
    GzipCompressor compressor(level);
    for (const std::size_t size : sizes) {
      for (const bool random : {false, true}) {
        CAPTURE(level);
        CAPTURE(size);
        CAPTURE(random);
        const std::string input = random ? random_bytes(size, static_cast<std::uint32_t>(size)) : json_like(size);
        const std::string compressed = compressor.compress(input);
        REQUIRE(compressed.size() >= 18);  // 10-byte header, 8-byte trailer
        CHECK(static_cast<unsigned char>(compressed[0]) == 0x1f);
        CHECK(static_cast<unsigned char>(compressed[1]) == 0x8b);
        // A reused stream must give exactly what a fresh one gives.
        CHECK(compressed == gzip_compress(input, level));
        const auto output = gzip_decompress(compressed, input.size());
        REQUIRE_MESSAGE(output.ok(), output.status().to_string());
        CHECK(*output == input);
      }
    }
  }
}

TEST_CASE("a reused output string gets exactly the new contents") {
  GzipCompressor compressor(6);
  std::string out;
  compressor.compress(json_like(200'000), out);
  compressor.compress("short", out);
  const auto back = gzip_decompress(out, 100);
  REQUIRE(back.ok());
  CHECK(*back == "short");
}

TEST_CASE("a compressor keeps its buffer at the largest size and still gives what a fresh one gives") {
  // Its output buffer is reused and never shrinks: a small input after a large one (and random
  // bytes, which need the whole bound) must come out exactly as from a fresh compressor.
  GzipCompressor compressor(1);
  std::string out;
  for (const std::string& input : {random_bytes(300'000, 7), json_like(1'000), std::string("x"),
                                   random_bytes(300'001, 8), json_like(50'000)}) {
    compressor.compress(input, out);
    CHECK(out == gzip_compress(input, 1));
    const auto back = gzip_decompress(out, input.size());
    REQUIRE(back.ok());
    CHECK(*back == input);
  }
}

TEST_CASE("JSON batches compress well at level 1") {
  const std::string input = json_like(400'000);
  CHECK(gzip_compress(input, 1).size() < input.size() / 4);
}

TEST_CASE("out-of-range levels are clamped") {
  CHECK(GzipCompressor(42).level() == 9);
  CHECK(GzipCompressor(-7).level() == -1);
  const auto back = gzip_decompress(gzip_compress("abc", 100), 3);
  REQUIRE(back.ok());
  CHECK(*back == "abc");
}

TEST_CASE("decompression stops at max_output") {
  SUBCASE("a gzip bomb: 10 MiB of zeros, capped at 1 MiB") {
    const std::string bomb = gzip_compress(std::string(10 * kMiB, '\0'), 9);
    REQUIRE(bomb.size() < 64 * 1024);
    const auto result = gzip_decompress(bomb, kMiB);
    CHECK(result.status().code() == StatusCode::kResourceExhausted);
  }
  SUBCASE("exactly max_output bytes is fine, one more is not") {
    const std::string input = json_like(10'000);
    const std::string compressed = gzip_compress(input, 6);
    CHECK(gzip_decompress(compressed, input.size()).ok());
    CHECK(gzip_decompress(compressed, input.size() - 1).status().code() == StatusCode::kResourceExhausted);
    CHECK(gzip_decompress(gzip_compress("", 6), 0).ok());
    CHECK(gzip_decompress(gzip_compress("x", 6), 0).status().code() == StatusCode::kResourceExhausted);
  }
}

TEST_CASE("the declared size in the trailer is only a hint") {
  const std::string input = json_like(100'000);
  const std::string good = gzip_compress(input, 1);
  // ISIZE (the last four bytes) rewritten: too small, too large, absurd. The CRC still matches,
  // so only the hint changes; the output must not.
  for (std::uint32_t declared : {0u, 1u, 4'096u, 100'001u, 1'000'000u, 0xffffffffu}) {
    std::string lying = good;
    for (int i = 0; i < 4; ++i) lying[lying.size() - 4 + static_cast<std::size_t>(i)] = static_cast<char>(declared >> (8 * i));
    const auto back = gzip_decompress(lying, SIZE_MAX);
    INFO("declared " << declared);
    // The decoder checks ISIZE itself: a wrong one is a corrupt stream, whatever the hint did.
    CHECK(back.status().code() == StatusCode::kMalformed);
  }
  const auto back = gzip_decompress(good, SIZE_MAX);
  REQUIRE(back.ok());
  CHECK(*back == input);
}

TEST_CASE("truncated input is malformed, at every cut") {
  const std::string compressed = gzip_compress(json_like(300), 6);
  for (std::size_t cut = 0; cut < compressed.size(); ++cut) {
    CAPTURE(cut);
    CHECK(gzip_decompress(compressed.substr(0, cut), kMiB).status().code() == StatusCode::kMalformed);
  }
}

TEST_CASE("corruption is malformed") {
  const std::string input = json_like(5'000);
  std::string compressed = gzip_compress(input, 6);
  SUBCASE("checksum") {
    compressed[compressed.size() - 6] = static_cast<char>(compressed[compressed.size() - 6] ^ 0x01);
  }
  SUBCASE("length") {
    compressed[compressed.size() - 2] = static_cast<char>(compressed[compressed.size() - 2] ^ 0x01);
  }
  SUBCASE("header method") { compressed[2] = 7; }
  SUBCASE("deflate data") { compressed[compressed.size() / 2] = static_cast<char>(~compressed[compressed.size() / 2]); }
  CHECK(gzip_decompress(compressed, kMiB).status().code() == StatusCode::kMalformed);
}

TEST_CASE("trailing garbage is malformed") {
  const std::string compressed = gzip_compress("hello", 6);
  CHECK(gzip_decompress(compressed + "x", kMiB).status().code() == StatusCode::kMalformed);
  CHECK(gzip_decompress(compressed + std::string(8, '\0'), kMiB).status().code() == StatusCode::kMalformed);
  CHECK(gzip_decompress(compressed + "\x1f", kMiB).status().code() == StatusCode::kMalformed);
  CHECK(gzip_decompress(compressed + "\x1f\x8bnot gzip", kMiB).status().code() == StatusCode::kMalformed);
}

TEST_CASE("concatenated members decode as one body (RFC 1952)") {
  const auto back = gzip_decompress(gzip_compress("hello, ", 1) + gzip_compress("world", 9), kMiB);
  REQUIRE_MESSAGE(back.ok(), back.status().to_string());
  CHECK(*back == "hello, world");
  // The cap covers all members together.
  CHECK(gzip_decompress(gzip_compress("hello, ", 1) + gzip_compress("world", 9), 8).status().code() ==
        StatusCode::kResourceExhausted);
}

TEST_CASE("a member larger than its first buffer is decoded again into more room, up to the cap") {
  // The trailer's size hint is the last member's (1 byte here), so the first buffer is far too
  // small for the first member: decoding must grow the buffer and redo that member, and the cap
  // must still hold to the byte.
  const std::string big = json_like(300'000);
  const std::string body = gzip_compress(big, 1) + gzip_compress("x", 6);
  const auto back = gzip_decompress(body, kMiB);
  REQUIRE_MESSAGE(back.ok(), back.status().to_string());
  CHECK(*back == big + "x");
  CHECK(gzip_decompress(body, big.size() + 1).ok());
  CHECK(gzip_decompress(body, big.size()).status().code() == StatusCode::kResourceExhausted);
  CHECK(gzip_decompress(body, big.size() - 1).status().code() == StatusCode::kResourceExhausted);
  // A corrupt member after a good one is still malformed.
  std::string corrupt = body;
  corrupt[corrupt.size() - 10] = static_cast<char>(corrupt[corrupt.size() - 10] ^ 0x55);
  CHECK(gzip_decompress(corrupt, kMiB).status().code() == StatusCode::kMalformed);
}

TEST_CASE("optional header fields are accepted, and a header CRC is checked") {
  // gzip_compress writes a bare 10-byte header; rebuild it with FEXTRA, FNAME, FCOMMENT and
  // FHCRC (the CRC-16 is the low half of the header's CRC-32, RFC 1952 2.3.1).
  const std::string plain = gzip_compress("hello", 6);
  std::string header = plain.substr(0, 10);
  header[3] = static_cast<char>(0x04 | 0x08 | 0x10 | 0x02);
  header += std::string("\x03\x00" "abc", 5) + std::string("name\0", 5) + std::string("comment\0", 8);
  const std::uint32_t crc = libdeflate_crc32(0, header.data(), header.size());
  const std::string with_crc = header + static_cast<char>(crc & 0xff) + static_cast<char>((crc >> 8) & 0xff) + plain.substr(10);
  const auto back = gzip_decompress(with_crc + with_crc, kMiB);  // in both members
  REQUIRE_MESSAGE(back.ok(), back.status().to_string());
  CHECK(*back == "hellohello");
  std::string wrong = with_crc;
  wrong[header.size()] = static_cast<char>(wrong[header.size()] ^ 0x01);
  CHECK(gzip_decompress(wrong, kMiB).status().code() == StatusCode::kMalformed);
  CHECK(gzip_decompress(with_crc + wrong, kMiB).status().code() == StatusCode::kMalformed);
  // A header cut anywhere is malformed, not read past.
  for (std::size_t cut = 0; cut < header.size() + 2; ++cut) {
    CAPTURE(cut);
    CHECK(gzip_decompress(with_crc.substr(0, cut), kMiB).status().code() == StatusCode::kMalformed);
  }
}

TEST_CASE("input that is not gzip is malformed") {
  CHECK(gzip_decompress("", kMiB).status().code() == StatusCode::kMalformed);
  CHECK(gzip_decompress("hello world", kMiB).status().code() == StatusCode::kMalformed);
  CHECK(gzip_decompress(R"({"batch":[]})", kMiB).status().code() == StatusCode::kMalformed);
  // A zlib (RFC 1950) stream of "hello": right algorithm, wrong wrapper.
  const std::string zlib_stream("\x78\x9c\xcb\x48\xcd\xc9\xc9\x07\x00\x06\x2c\x02\x15", 13);
  CHECK(gzip_decompress(zlib_stream, kMiB).status().code() == StatusCode::kMalformed);
}

}  // TEST_SUITE
