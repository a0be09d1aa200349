#include <doctest/doctest.h>

#include <random>
#include <set>

#include "common/text.hpp"
#include "links/share_code.hpp"

using namespace referkit;
using namespace referkit::detail;

namespace {

const Blocklist kNoExtras{{}};

std::string prefix_of(std::string_view name, std::size_t max = 8, const Blocklist& list = kNoExtras) {
  auto p = name_prefix(name, max, list);
  REQUIRE(p.ok());
  return *p;
}

}  // namespace

TEST_CASE("names fold to an ASCII first-name prefix") {
  CHECK(prefix_of("Jane Smith") == "JANE");
  CHECK(prefix_of("  jane") == "JANE");
  CHECK(prefix_of("José Núñez") == "JOSE");
  CHECK(prefix_of("Zoë") == "ZOE");
  CHECK(prefix_of("Æsa") == "AESA");
  CHECK(prefix_of("Łukasz") == "LUKASZ");
  CHECK(prefix_of("Straße") == "STRASSE");
  CHECK(prefix_of("Þór") == "THOR");
  CHECK(prefix_of("O'Brien") == "OBRIEN");
  CHECK(prefix_of("Mary-Jane Watson") == "MARYJANE");
  CHECK(prefix_of("Bartholomew") == "BARTHOLO");
  CHECK(prefix_of("Bartholomew", 4) == "BART");
  CHECK(prefix_of("Jane", 0).empty());
  // Too short, or nothing foldable: no prefix.
  CHECK(prefix_of("J").empty());
  CHECK(prefix_of("").empty());
  CHECK(prefix_of("王小明").empty());
  CHECK(prefix_of("Ольга").empty());
  CHECK(prefix_of("12345").empty());
  CHECK(name_prefix("bad \xc3", 8, kNoExtras).status().code() == StatusCode::kInvalidArgument);
  CHECK(name_prefix("\xed\xa0\x80", 8, kNoExtras).status().code() == StatusCode::kInvalidArgument);  // surrogate
}

TEST_CASE("blocked words and their look-alikes never become prefixes") {
  CHECK(prefix_of("Shit").empty());
  CHECK(prefix_of("Fuckface").empty());
  CHECK(prefix_of("Ass").empty());
  CHECK(prefix_of("Cassandra") == "CASSANDR");  // short words block only as the whole prefix
  CHECK(prefix_of("Killian").empty());          // KILL, and 'L' folds with 'I' too
  Blocklist list({"acme"});
  CHECK(prefix_of("Acme", 8, list).empty());
  CHECK(prefix_of("Acmeson", 8, list).empty());
  CHECK(list.blocks_body("4CME1234"));
  CHECK(kNoExtras.blocks_body("X5H1TXXX"));
  CHECK(kNoExtras.blocks_body("7A55XXXX"));
  CHECK(!kNoExtras.blocks_body("7KQ3M9XT"));
}

TEST_CASE("share code bodies avoid blocked spellings") {
  HmacSha256 key("0123456789abcdef");
  std::set<std::uint64_t> values;
  for (int i = 0; i < 5000; ++i) {
    std::uint64_t v = share_code_value(key, "c", "r" + std::to_string(i), "", kNoExtras);
    CHECK(v < (std::uint64_t{1} << 40));
    std::string code = format_share_code({"", v});
    std::string body = code.substr(0, 4) + code.substr(5, 4);
    CHECK_MESSAGE(!kNoExtras.blocks_body(body), code);
    values.insert(v);
  }
  CHECK(values.size() == 5000);
}

TEST_CASE("known share code values, including one re-derived past a blocked spelling") {
  HmacSha256 key("0123456789abcdef");
  // Counter 0 of r147 spells 7D13 ("DIE" after folding), so the value comes from counter 1.
  CHECK(format_share_code({"", share_code_value(key, "c", "r147", "", kNoExtras)}) == "F228-ZZDZH");
  CHECK(share_code_value(key, "c", "r147", "", kNoExtras) == 517620104639u);
  CHECK(format_share_code({"JANE", share_code_value(key, "bf-2026", "cust-42", "JANE", kNoExtras)}) ==
        "JANE-088G-ZGCC1");
}

TEST_CASE("each byte as the first body symbol: only Crockford symbols, either case, and O/I/L") {
  // The definition the decoding table must match, written as a scan of the alphabet.
  auto value_of = [](unsigned char b) {
    const std::string_view alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    const char upper = b >= 'a' && b <= 'z' ? static_cast<char>(b - 'a' + 'A') : static_cast<char>(b);
    if (upper == 'O') return 0;
    if (upper == 'I' || upper == 'L') return 1;
    const std::size_t at = alphabet.find(upper);
    return b != 0 && at != std::string_view::npos ? static_cast<int>(at) : -1;
  };
  const std::uint64_t rest = 0x5a5a5a5a5u & ((std::uint64_t{1} << 35) - 1);
  for (unsigned b = 0; b < 256; ++b) {
    const int v = value_of(static_cast<unsigned char>(b));
    // A code whose first symbol has value v (or 1 when b is not a symbol), spelled with b there.
    const std::uint64_t value = std::uint64_t(v < 0 ? 1 : v) << 35 | rest;
    std::string text = format_share_code({"", value});
    text[0] = static_cast<char>(b);
    auto parsed = parse_share_code(text);
    if (v < 0) {
      CHECK_MESSAGE(!parsed.ok(), "byte ", b);
    } else {
      REQUIRE_MESSAGE(parsed.ok(), "byte ", b);
      CHECK(parsed->value == value);
    }
  }
}

TEST_CASE("format and parse round-trip, with every accepted spelling") {
  std::mt19937_64 rng(3);
  for (int i = 0; i < 2000; ++i) {
    ShareCode code{i % 2 ? "JANE" : "", rng() & ((std::uint64_t{1} << 40) - 1)};
    std::string text = format_share_code(code);
    CHECK(text.size() == (i % 2 ? 15u : 10u));
    auto parsed = parse_share_code(text);
    REQUIRE(parsed.ok());
    CHECK(parsed->prefix == code.prefix);
    CHECK(parsed->value == code.value);

    std::string compact;
    for (char c : text) {
      if (c != '-') compact += c;
    }
    const std::string lower = referkit::detail::ascii_lowercase(compact);
    std::string spaced = text;
    for (char& c : spaced) c = c == '-' ? ' ' : c;
    for (const std::string& spelling : {compact, lower, spaced}) {
      auto p = parse_share_code(spelling);
      REQUIRE_MESSAGE(p.ok(), spelling);
      CHECK(p->value == code.value);
    }
  }
}

TEST_CASE("Crockford aliases read as the digits they look like") {
  ShareCode code{"", 0};  // body 0000-0000 + check
  std::string text = format_share_code(code);
  REQUIRE(text.substr(0, 9) == "0000-0000");
  std::string aliased = "OoO0-o0OO" + text.substr(9);
  auto p = parse_share_code(aliased);
  REQUIRE(p.ok());
  CHECK(p->value == 0);
  ShareCode ones{"", 0x0842108421};  // every symbol is 1
  std::string one_text = format_share_code(ones);
  REQUIRE(one_text.substr(0, 9) == "1111-1111");
  auto q = parse_share_code("IiLl-1lI1" + one_text.substr(9));
  REQUIRE(q.ok());
  CHECK(q->value == ones.value);
}

TEST_CASE("malformed share codes are refused") {
  std::string good = format_share_code({"JANE", 12345});
  for (std::string bad : {std::string(""), std::string("ABC"), std::string("JANE-"), good + "X", "J-" + good.substr(5),
                          "JANE--" + good.substr(5), "JA NE-" + good.substr(5), "JANE7-" + good.substr(5),
                          std::string(17, 'A') + "-" + good.substr(5), "U" + good.substr(1), good.substr(0, 14) + "U",
                          "-" + good.substr(5)}) {
    CHECK_MESSAGE(parse_share_code(bad).status().code() == StatusCode::kMalformed, bad);
  }
}
