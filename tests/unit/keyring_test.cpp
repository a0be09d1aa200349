#include <doctest/doctest.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <unistd.h>

#include "crypto/encoding.hpp"
#include "referkit/links.hpp"
#include "support/temp_dir.hpp"

using referkit::Keyring;
using referkit::Result;
using referkit::StatusCode;

using referkit::test::TempDir;

namespace {

// 32, 64 and 128 hex digits: the shortest, a typical and the longest accepted secret.
const std::string kHex32 = "000102030405060708090a0b0c0d0e0f";
const std::string kHex64 = "8f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";
const std::string kHex128 = kHex64 + "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

std::string bytes_of(const std::string& hex) { return *referkit::detail::hex_decode(hex); }

bool contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

// Parses text that must fail with kInvalidArgument; returns the message.
std::string parse_error(std::string_view text) {
  Result<Keyring> r = Keyring::parse(text);
  INFO("input: ", std::string(text));
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kInvalidArgument);
  CHECK_FALSE(r.status().message().empty());
  return r.status().message();
}


// Sets an environment variable for the scope, restoring it afterwards.
class ScopedEnv {
 public:
  ScopedEnv(std::string name, const char* value) : name_(std::move(name)) {
    if (const char* old = std::getenv(name_.c_str()); old != nullptr) {
      old_ = old;
      had_old_ = true;
    }
    if (value != nullptr) {
      setenv(name_.c_str(), value, 1);
    } else {
      unsetenv(name_.c_str());
    }
  }
  ~ScopedEnv() {
    if (had_old_) {
      setenv(name_.c_str(), old_.c_str(), 1);
    } else {
      unsetenv(name_.c_str());
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
  std::string old_;
  bool had_old_ = false;
};

std::string unique_variable_name() { return "REFERKIT_TEST_KEYS_" + std::to_string(getpid()); }

}  // namespace

TEST_SUITE("keyring") {

TEST_CASE("a single key") {
  auto r = Keyring::parse("k1:" + kHex64);
  REQUIRE(r.ok());
  REQUIRE(r->keys().size() == 1);
  CHECK(r->keys()[0].id == "k1");
  CHECK(r->keys()[0].secret == bytes_of(kHex64));
  CHECK(r->keys()[0].secret.size() == 32);
  CHECK_FALSE(r->empty());
}

TEST_CASE("newline and comma separated entries in order with the first one primary") {
  auto r = Keyring::parse("new:" + kHex64 + "\nold:" + kHex32 + ",older:" + kHex128);
  REQUIRE(r.ok());
  REQUIRE(r->keys().size() == 3);
  CHECK(r->keys()[0].id == "new");
  CHECK(r->keys()[1].id == "old");
  CHECK(r->keys()[2].id == "older");
  CHECK(r->keys()[1].secret == bytes_of(kHex32));
  CHECK(r->keys()[2].secret == bytes_of(kHex128));
  CHECK(r->keys()[2].secret.size() == 64);
}

TEST_CASE("comments blank lines and whitespace are ignored") {
  const std::string text =
      "# link keys (rotated yearly)\n"
      "\n"
      "   \t\n"
      "  k2026 : " + kHex64 + "   # primary\n"
      "\tk2025:" + kHex32 + "\t\n"
      "# k2024:" + kHex32 + " (retired)\n"
      " , ,\n";
  auto r = Keyring::parse(text);
  INFO(r.status().to_string());
  REQUIRE(r.ok());
  REQUIRE(r->keys().size() == 2);
  CHECK(r->keys()[0].id == "k2026");
  CHECK(r->keys()[0].secret == bytes_of(kHex64));
  CHECK(r->keys()[1].id == "k2025");
  CHECK(r->find("k2024") == nullptr);
}

TEST_CASE("a comment may contain a comma") {
  // Comments run to the end of their line, commas included.
  auto r = Keyring::parse("# primary first, then the old ones\nk1:" + kHex64 + "\n");
  INFO(r.status().to_string());
  REQUIRE(r.ok());
  CHECK(r->keys().size() == 1);
}

TEST_CASE("Windows line endings") {
  auto r = Keyring::parse("a:" + kHex32 + "\r\nb:" + kHex64 + "\r\n");
  REQUIRE(r.ok());
  REQUIRE(r->keys().size() == 2);
  CHECK(r->keys()[0].id == "a");
  CHECK(r->keys()[1].secret == bytes_of(kHex64));
}

TEST_CASE("upper case hex secrets") {
  std::string upper = kHex64;
  for (char& c : upper) {
    if (c >= 'a' && c <= 'f') c = static_cast<char>(c - 'a' + 'A');
  }
  auto r = Keyring::parse("K-1.x_Y:" + upper);
  REQUIRE(r.ok());
  CHECK(r->keys()[0].id == "K-1.x_Y");
  CHECK(r->keys()[0].secret == bytes_of(kHex64));
}

TEST_CASE("find returns the key with that id") {
  auto r = Keyring::parse("a:" + kHex32 + ",b:" + kHex64);
  REQUIRE(r.ok());
  const Keyring::Key* b = r->find("b");
  REQUIRE(b != nullptr);
  CHECK(b->id == "b");
  CHECK(b->secret == bytes_of(kHex64));
  CHECK(r->find("c") == nullptr);
  CHECK(r->find("") == nullptr);
  CHECK(r->find("B") == nullptr);  // ids are case-sensitive
}

TEST_CASE("set_primary moves a key to the front and keeps the others in order") {
  auto r = Keyring::parse("a:" + kHex32 + ",b:" + kHex32 + ",c:" + kHex32);
  REQUIRE(r.ok());
  Keyring ring = std::move(*r);
  CHECK(ring.set_primary("c").ok());
  REQUIRE(ring.keys().size() == 3);
  CHECK(ring.keys()[0].id == "c");
  CHECK(ring.keys()[1].id == "a");
  CHECK(ring.keys()[2].id == "b");
  CHECK(ring.set_primary("c").ok());  // already primary: no change
  CHECK(ring.keys()[0].id == "c");
  CHECK(ring.keys()[1].id == "a");
  CHECK(ring.set_primary("b").ok());
  CHECK(ring.keys()[0].id == "b");
  CHECK(ring.keys()[1].id == "c");
  CHECK(ring.keys()[2].id == "a");

  auto missing = ring.set_primary("zzz");
  CHECK(missing.code() == StatusCode::kNotFound);
  CHECK(contains(missing.message(), "zzz"));
  CHECK(ring.keys()[0].id == "b");
}

TEST_CASE("add and add_hex build a keyring in code") {
  Keyring ring;
  CHECK(ring.empty());
  CHECK(ring.add("raw", std::string(16, 'x')).ok());
  CHECK(ring.add_hex("hex", kHex64).ok());
  REQUIRE(ring.keys().size() == 2);
  CHECK(ring.keys()[0].id == "raw");
  CHECK(ring.keys()[0].secret == std::string(16, 'x'));
  CHECK(ring.keys()[1].secret == bytes_of(kHex64));

  CHECK(ring.add("short", std::string(15, 'x')).code() == StatusCode::kInvalidArgument);
  CHECK(ring.add("long", std::string(65, 'x')).code() == StatusCode::kInvalidArgument);
  CHECK(ring.add("max", std::string(64, 'x')).ok());
  CHECK(ring.add("raw", std::string(16, 'y')).code() == StatusCode::kInvalidArgument);
  CHECK(ring.add("", std::string(16, 'y')).code() == StatusCode::kInvalidArgument);
  CHECK(ring.add_hex("bad", "zz").code() == StatusCode::kInvalidArgument);
  CHECK(ring.keys().size() == 3);  // failed adds leave the keyring unchanged
}

TEST_CASE("an entry without a colon") {
  const std::string message = parse_error("k1:" + kHex32 + "\njust-some-text\n");
  CHECK(contains(message, "line 2"));
  CHECK(contains(message, "key_id:hex_secret"));
}

TEST_CASE("key ids with characters outside A-Za-z0-9._-") {
  for (const char* id : {"k/1", "k 1", "k\xc3\xa9", "k@1", "k+1", "k\"1"}) {
    CAPTURE(id);
    const std::string message = parse_error(std::string(id) + ":" + kHex32);
    CHECK(contains(message, "key id"));
  }
  CHECK(contains(parse_error(":" + kHex32), "key id"));
}

TEST_CASE("key ids of 16 characters are accepted and 17 refused") {
  auto ok = Keyring::parse(std::string(16, 'k') + ":" + kHex32);
  CHECK(ok.ok());
  const std::string message = parse_error(std::string(17, 'k') + ":" + kHex32);
  CHECK(contains(message, "key id"));
  CHECK(contains(message, "1-16"));
}

TEST_CASE("duplicate key ids") {
  const std::string message = parse_error("a:" + kHex32 + "\nb:" + kHex32 + "\na:" + kHex64);
  CHECK(contains(message, "duplicate"));
  CHECK(contains(message, "line 3"));
}

TEST_CASE("secret length bounds in hex digits") {
  CHECK(Keyring::parse("a:" + kHex32).ok());
  CHECK(Keyring::parse("a:" + kHex128).ok());
  const std::string short_secret = parse_error("a:" + kHex32.substr(0, 30));
  CHECK(contains(short_secret, "32-128 hex digits"));
  CHECK(contains(short_secret, "15 bytes"));
  const std::string long_secret = parse_error("a:" + kHex128 + "00");
  CHECK(contains(long_secret, "32-128 hex digits"));
  CHECK(contains(long_secret, "65 bytes"));
  CHECK(contains(parse_error("a:"), "32-128 hex digits"));
}

TEST_CASE("secrets that are not hex") {
  CHECK(contains(parse_error("a:" + kHex32 + "0"), "not hex"));  // odd number of digits
  CHECK(contains(parse_error("a:" + kHex32.substr(0, 31) + "g"), "not hex"));
  CHECK(contains(parse_error("a:0x" + kHex32), "not hex"));
  CHECK(contains(parse_error("a:" + kHex32.substr(0, 16) + " " + kHex32.substr(16)), "not hex"));
  CHECK(contains(parse_error("a:" + kHex32 + ":" + kHex32), "not hex"));
}

TEST_CASE("empty input and input with only comments") {
  for (const char* text : {"", "   ", "\n\n", ",,,", "# nothing here\n", "  # a\n#b"}) {
    CAPTURE(text);
    CHECK(contains(parse_error(text), "no keys"));
  }
}

TEST_CASE("error messages do not echo secrets") {
  const std::string secret = kHex32.substr(0, 30);
  const std::string message = parse_error("a:" + secret);
  CHECK_FALSE(contains(message, secret));
}

TEST_CASE("from_file reads a key file") {
  TempDir dir;
  const std::string path = dir.write("keys.txt", "# referkit link keys\nk2:" + kHex64 + "\nk1:" + kHex32 + "\n");
  auto r = Keyring::from_file(path);
  INFO(r.status().to_string());
  REQUIRE(r.ok());
  REQUIRE(r->keys().size() == 2);
  CHECK(r->keys()[0].id == "k2");
  CHECK(r->keys()[0].secret == bytes_of(kHex64));
  CHECK(r->keys()[1].id == "k1");
}

TEST_CASE("from_file with a missing file is kNotFound") {
  TempDir dir;
  const std::string path = (dir.path() / "does-not-exist.txt").string();
  auto r = Keyring::from_file(path);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kNotFound);
  CHECK(contains(r.status().message(), path));
}

TEST_CASE("from_file with bad content names the file and the line") {
  TempDir dir;
  const std::string path = dir.write("bad.txt", "k1:" + kHex32 + "\nk2:nothex\n");
  auto r = Keyring::from_file(path);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kInvalidArgument);
  CHECK(contains(r.status().message(), path));
  CHECK(contains(r.status().message(), "line 2"));

  const std::string empty = dir.write("empty.txt", "");
  auto e = Keyring::from_file(empty);
  REQUIRE_FALSE(e.ok());
  CHECK(e.status().code() == StatusCode::kInvalidArgument);
}

TEST_CASE("from_file refuses devices, directories and oversized files before reading them") {
  // /dev/zero used to be read until memory ran out (std::bad_alloc after about 1 GB).
  for (const char* path : {"/dev/zero", "/"}) {
    CAPTURE(path);
    auto r = Keyring::from_file(path);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == StatusCode::kInvalidArgument);
    CHECK(contains(r.status().message(), "not a regular file"));
  }
  TempDir dir;
  // A valid first line, then 2 MiB of comment: refused for its size, not parsed.
  const std::string path = dir.write("huge.txt", "k1:" + kHex32 + "\n#" + std::string(2u << 20, 'x') + "\n");
  auto r = Keyring::from_file(path);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kResourceExhausted);
  CHECK(contains(r.status().message(), path));
}

TEST_CASE("from_env reads a custom variable") {
  const std::string name = unique_variable_name();
  const std::string value = "env-key:" + kHex64 + ",old:" + kHex32;
  ScopedEnv env(name, value.c_str());
  auto r = Keyring::from_env(name.c_str());
  INFO(r.status().to_string());
  REQUIRE(r.ok());
  REQUIRE(r->keys().size() == 2);
  CHECK(r->keys()[0].id == "env-key");
  CHECK(r->keys()[1].id == "old");
}

TEST_CASE("from_env with the variable unset or empty is kNotFound") {
  const std::string name = unique_variable_name();
  {
    ScopedEnv env(name, nullptr);
    auto r = Keyring::from_env(name.c_str());
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == StatusCode::kNotFound);
    CHECK(contains(r.status().message(), name));
  }
  {
    ScopedEnv env(name, "");
    auto r = Keyring::from_env(name.c_str());
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == StatusCode::kNotFound);
  }
}

TEST_CASE("from_env with bad content names the variable") {
  const std::string name = unique_variable_name();
  ScopedEnv env(name, "k1:abc");
  auto r = Keyring::from_env(name.c_str());
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kInvalidArgument);
  CHECK(r.status().message().rfind(name, 0) == 0);
}

}  // TEST_SUITE
