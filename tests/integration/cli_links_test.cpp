// Runs `referkit link create|verify` and `referkit demo` as a child process.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "common/text.hpp"
#include "support/json_field.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

using referkit::test::Environment;
using referkit::test::Json;
using referkit::test::json_has;
using referkit::test::json_is_null;
using referkit::test::json_line;
using referkit::test::json_object_size;
using referkit::test::json_str;
using referkit::test::RunOptions;
using referkit::test::run_process;
using referkit::test::RunResult;

using referkit::test::TempDir;

namespace {

const std::string kCli = REFERKIT_CLI_PATH;
const std::string kKeyHex = "8f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";
const std::string kOtherKeyHex = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
const std::string kKeys = "live-1:" + kKeyHex;
const std::string kOtherKeys = "other:" + kOtherKeyHex;
constexpr std::string_view kBase64UrlAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// The child never sees the developer's own REFERKIT_LINK_KEYS or REFERKIT_BASE_URL: each test
// says what it wants. The links of these tests point at https://refer.example (--base-url has no
// default: a placeholder host would mint dead links).
Environment with_keys(const std::string& keys) {
  Environment env;
  env.set = {{"REFERKIT_LINK_KEYS", keys}, {"REFERKIT_BASE_URL", "https://refer.example"}};
  return env;
}

Environment without_keys() {
  Environment env;
  env.set = {{"REFERKIT_BASE_URL", "https://refer.example"}};
  env.unset = {"REFERKIT_LINK_KEYS"};
  return env;
}

// Keys, but no base URL and no share hosts.
Environment without_base_url() {
  Environment env;
  env.set = {{"REFERKIT_LINK_KEYS", kKeys}};
  env.unset = {"REFERKIT_BASE_URL", "REFERKIT_SHARE_HOSTS"};
  return env;
}

RunResult cli(const std::vector<std::string>& args, const Environment& env) {
  RunOptions options;
  options.env = env;
  options.timeout = std::chrono::seconds(30);
  RunResult r = run_process(kCli, args, options);
  REQUIRE_MESSAGE(!r.timed_out, r.describe());
  return r;
}

struct CreatedLink {
  std::string url;
  std::string token;
  std::string share_code;
  std::string key_id;
  std::string expires_at;  // "" when null
};

CreatedLink create_link(const std::vector<std::string>& extra_args, const Environment& env) {
  std::vector<std::string> args = {"link", "create"};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  RunResult r = cli(args, env);
  INFO(r.describe());
  REQUIRE(r.exit_code() == 0);
  Json j = json_line(r);
  CreatedLink link{json_str(j, "/url"), json_str(j, "/token"), json_str(j, "/share_code"), json_str(j, "/key_id"), ""};
  if (!json_is_null(j, "/expires_at")) link.expires_at = json_str(j, "/expires_at");
  return link;
}

RunResult verify(const std::string& input, const Environment& env, const std::string& now = "") {
  std::vector<std::string> args = {"link", "verify", input};
  if (!now.empty()) {
    args.push_back("--now");
    args.push_back(now);
  }
  return cli(args, env);
}

std::vector<std::string> standard_request() {
  return {"--campaign", "spring-2026", "--referrer", "cust-42",          "--name",
          "Jane Smith", "--utm",       "source=email", "--issued-at", "2026-03-01T10:00:00Z",
          "--ttl",      "30d"};
}

}  // namespace

TEST_SUITE("cli_links") {

TEST_CASE("link create prints url token share_code key_id and times as JSON") {
  std::vector<std::string> args = {"link", "create"};
  for (const std::string& a : standard_request()) args.push_back(a);
  RunResult r = cli(args, with_keys(kKeys));
  INFO(r.describe());
  REQUIRE(r.exit_code() == 0);
  CHECK(r.err.empty());
  Json j = json_line(r);
  const std::string token = json_str(j, "/token");
  CHECK(token.size() >= 32);
  CHECK(token.find_first_not_of(kBase64UrlAlphabet) == std::string::npos);
  CHECK(json_str(j, "/url") == "https://refer.example/r/" + token + "?utm_source=email");
  CHECK(json_str(j, "/share_code").rfind("JANE-", 0) == 0);
  CHECK(json_str(j, "/share_code").size() == 15);  // JANE-XXXX-XXXXC
  CHECK(json_str(j, "/key_id") == "live-1");
  CHECK(json_str(j, "/issued_at") == "2026-03-01T10:00:00.000Z");
  CHECK(json_str(j, "/expires_at") == "2026-03-31T10:00:00.000Z");
  // The referrer is encrypted: it appears nowhere in clear.
  CHECK(r.out.find("cust-42") == std::string::npos);
}

TEST_CASE("link create without an expiry prints expires_at null") {
  CreatedLink link = create_link({"--campaign", "c", "--referrer", "r1", "--issued-at", "2026-03-01T10:00:00Z"},
                                 with_keys(kKeys));
  CHECK(link.expires_at.empty());
  CHECK(link.url == "https://refer.example/r/" + link.token);
  // No name: the share code has no prefix.
  CHECK(link.share_code.size() == 10);
}

TEST_CASE("link create honours --base-url and --expires-at") {
  RunResult r = cli({"link", "create", "--campaign", "c", "--referrer", "r1", "--base-url",
                     "https://go.shop.example/invite", "--issued-at", "2026-03-01T10:00:00Z",
                     "--expires-at", "2026-04-01T00:00:00+02:00"},
                    with_keys(kKeys));
  INFO(r.describe());
  REQUIRE(r.exit_code() == 0);
  Json j = json_line(r);
  CHECK(json_str(j, "/url") == "https://go.shop.example/invite/r/" + json_str(j, "/token"));
  CHECK(json_str(j, "/expires_at") == "2026-03-31T22:00:00.000Z");
}

TEST_CASE("link verify of a fresh link prints the claims") {
  CreatedLink link = create_link(standard_request(), with_keys(kKeys));
  RunResult r = verify(link.url, with_keys(kKeys), "2026-03-02T00:00:00Z");
  INFO(r.describe());
  REQUIRE(r.exit_code() == 0);
  Json j = json_line(r);
  CHECK(json_str(j, "/kind") == "token");
  CHECK(json_str(j, "/key_id") == "live-1");
  CHECK(json_str(j, "/campaign") == "spring-2026");
  CHECK(json_str(j, "/referrer") == "cust-42");
  CHECK(json_str(j, "/issued_at") == "2026-03-01T10:00:00.000Z");
  CHECK(json_str(j, "/expires_at") == "2026-03-31T10:00:00.000Z");
  CHECK(json_str(j, "/utm/utm_source") == "email");
  CHECK(json_object_size(j, "/utm") == 1);
  CHECK_FALSE(json_has(j, "/error"));
}

TEST_CASE("link verify of a bare token has no utm parameters") {
  CreatedLink link = create_link(standard_request(), with_keys(kKeys));
  RunResult r = verify(link.token, with_keys(kKeys), "2026-03-02T00:00:00Z");
  INFO(r.describe());
  REQUIRE(r.exit_code() == 0);
  Json j = json_line(r);
  CHECK(json_str(j, "/referrer") == "cust-42");
  CHECK(json_object_size(j, "/utm") == 0);
}

TEST_CASE("link verify defaults --now to the current time") {
  // Issued now by default and never expiring: valid whenever the test runs.
  CreatedLink link = create_link({"--campaign", "c", "--referrer", "now-check"}, with_keys(kKeys));
  RunResult r = verify(link.url, with_keys(kKeys));
  INFO(r.describe());
  CHECK(r.exit_code() == 0);
  Json j = json_line(r);
  CHECK(json_str(j, "/referrer") == "now-check");
  CHECK(json_is_null(j, "/expires_at"));
}

TEST_CASE("link verify of a share code prints its canonical form") {
  CreatedLink link = create_link(standard_request(), with_keys(kKeys));
  const std::string typed = referkit::detail::ascii_lowercase(link.share_code);
  RunResult r = verify(typed, with_keys(kKeys));
  INFO(r.describe());
  REQUIRE(r.exit_code() == 0);
  Json j = json_line(r);
  CHECK(json_str(j, "/kind") == "share_code");
  CHECK(json_str(j, "/share_code") == link.share_code);
  CHECK(json_str(j, "/name_prefix") == "JANE");
  CHECK(json_is_null(j, "/referrer"));
  CHECK(json_is_null(j, "/campaign"));
}

TEST_CASE("--keys FILE is used instead of REFERKIT_LINK_KEYS") {
  TempDir dir;
  const std::string file = dir.write("link-keys.txt", "# test keys\nfile-key:" + kOtherKeyHex + "\n");
  CreatedLink link = create_link({"--campaign", "c", "--referrer", "from-file", "--keys", file}, without_keys());
  CHECK(link.key_id == "file-key");

  RunResult ok = cli({"link", "verify", link.url, "--keys", file}, without_keys());
  INFO(ok.describe());
  REQUIRE(ok.exit_code() == 0);
  Json j = json_line(ok);
  CHECK(json_str(j, "/key_id") == "file-key");
  CHECK(json_str(j, "/referrer") == "from-file");

  // The file wins over the environment.
  CreatedLink again = create_link({"--campaign", "c", "--referrer", "from-file", "--keys", file}, with_keys(kKeys));
  CHECK(again.key_id == "file-key");
}

TEST_CASE("--keys with a missing file is a runtime failure with the JSON error on stdout") {
  TempDir dir;
  const std::string missing = (dir.path() / "nope.txt").string();
  RunResult r = cli({"link", "create", "--campaign", "c", "--referrer", "r", "--keys", missing}, with_keys(kKeys));
  INFO(r.describe());
  CHECK(r.exit_code() == 1);
  Json j = json_line(r);
  CHECK(json_str(j, "/error") == "not_found");
  CHECK(json_str(j, "/message").find(missing) != std::string::npos);
}

TEST_CASE("--keys refuses /dev/zero, a directory and an oversized file, without reading them") {
  // /dev/zero used to abort the process on std::bad_alloc after taking about 1 GB.
  TempDir dir;
  const std::string huge = dir.write("huge.txt", kKeys + "\n#" + std::string((1u << 20) + 16, 'x') + "\n");
  for (const std::string& keys : {std::string("/dev/zero"), dir.path().string(), huge}) {
    CAPTURE(keys);
    RunResult r = cli({"link", "verify", "--keys", keys, "ABCD-EFGH-JKMNP"}, without_keys());
    INFO(r.describe());
    CHECK(r.exit_code() == 1);
    CHECK(r.status.exited);
    Json j = json_line(r);
    CHECK(json_str(j, "/message").find(keys) != std::string::npos);
  }
}

TEST_CASE("link verify accepts full URLs only over https to the share hosts") {
  CreatedLink link = create_link({"--campaign", "c", "--referrer", "r"}, with_keys(kKeys));
  const std::string token = link.token;
  // The default share host is the host of --base-url (REFERKIT_BASE_URL here).
  CHECK(verify(link.url, with_keys(kKeys)).exit_code() == 0);
  CHECK(verify(token, with_keys(kKeys)).exit_code() == 0);
  for (const std::string& hostile : {"javascript://x/r/" + token, "http://refer.example/r/" + token,
                                     "https://refer.example.evil/r/" + token}) {
    CAPTURE(hostile);
    RunResult r = verify(hostile, with_keys(kKeys));
    INFO(r.describe());
    CHECK(r.exit_code() == 1);
    CHECK(json_str(json_line(r), "/error") == "malformed");
  }
  const std::string shop = "https://go.shop.example/invite/r/" + token;
  CHECK(verify(shop, with_keys(kKeys)).exit_code() == 1);
  CHECK(cli({"link", "verify", shop, "--share-host", "go.shop.example"}, with_keys(kKeys)).exit_code() == 0);
  Environment env = with_keys(kKeys);
  env.set.emplace_back("REFERKIT_SHARE_HOSTS", "refer.example,go.shop.example");
  CHECK(cli({"link", "verify", shop}, env).exit_code() == 0);
  CHECK(cli({"link", "verify", "javascript://x/r/" + token}, env).exit_code() == 1);
  CHECK(cli({"link", "verify", "javascript://x/r/" + token, "--any-host"}, with_keys(kKeys)).exit_code() == 0);
}

TEST_CASE("a tampered token is rejected with bad_signature") {
  // A long referrer puts the sealed referrer and tag well away from the header fields, so the
  // changed character alters authenticated bytes only.
  const std::string referrer(60, 'r');
  CreatedLink link = create_link({"--campaign", "c", "--referrer", referrer, "--issued-at", "2026-03-01T10:00:00Z"},
                                 with_keys(kKeys));
  for (std::size_t from_end : {std::size_t{30}, std::size_t{10}, std::size_t{2}}) {
    std::string tampered = link.token;
    char& c = tampered[tampered.size() - from_end];
    c = c == 'A' ? 'B' : 'A';
    CAPTURE(from_end);
    RunResult r = verify(tampered, with_keys(kKeys), "2026-03-02T00:00:00Z");
    INFO(r.describe());
    CHECK(r.exit_code() == 1);
    Json j = json_line(r);
    CHECK(json_str(j, "/error") == "bad_signature");
    CHECK_FALSE(json_str(j, "/message").empty());
    CHECK_FALSE(json_has(j, "/claims"));
    CHECK(r.out.find(referrer) == std::string::npos);
  }
}

TEST_CASE("an expired link is rejected with expired and its claims") {
  CreatedLink link = create_link(
      {"--campaign", "winter", "--referrer", "cust-7", "--issued-at", "2026-01-01T00:00:00Z", "--ttl", "1d"},
      with_keys(kKeys));
  REQUIRE(link.expires_at == "2026-01-02T00:00:00.000Z");

  RunResult late = verify(link.url, with_keys(kKeys), "2026-01-03T00:00:00Z");
  INFO(late.describe());
  CHECK(late.exit_code() == 1);
  Json j = json_line(late);
  CHECK(json_str(j, "/error") == "expired");
  CHECK(json_str(j, "/claims/referrer") == "cust-7");
  CHECK(json_str(j, "/claims/campaign") == "winter");
  CHECK(json_str(j, "/claims/expires_at") == "2026-01-02T00:00:00.000Z");

  CHECK(verify(link.url, with_keys(kKeys), "2026-01-01T23:59:59Z").exit_code() == 0);
  CHECK(verify(link.url, with_keys(kKeys), "2026-01-02T00:00:00Z").exit_code() == 1);
}

TEST_CASE("a token signed with a key the verifier lacks is unknown_key") {
  CreatedLink link = create_link({"--campaign", "c", "--referrer", "r"}, with_keys(kOtherKeys));
  REQUIRE(link.key_id == "other");
  RunResult r = verify(link.url, with_keys(kKeys));
  INFO(r.describe());
  CHECK(r.exit_code() == 1);
  Json j = json_line(r);
  CHECK(json_str(j, "/error") == "unknown_key");
  CHECK(json_str(j, "/message").find("other") != std::string::npos);

  // Rotation: a keyring holding both keys verifies it.
  RunResult rotated = verify(link.url, with_keys(kKeys + "," + kOtherKeys));
  INFO(rotated.describe());
  CHECK(rotated.exit_code() == 0);
  CHECK(json_str(json_line(rotated), "/key_id") == "other");
}

TEST_CASE("the same key id with a different secret is bad_signature") {
  CreatedLink link = create_link({"--campaign", "c", "--referrer", "r"}, with_keys("live-1:" + kOtherKeyHex));
  RunResult r = verify(link.url, with_keys(kKeys));
  INFO(r.describe());
  CHECK(r.exit_code() == 1);
  CHECK(json_str(json_line(r), "/error") == "bad_signature");
}

TEST_CASE("garbage is malformed") {
  for (const char* input : {"!!!", "hello", "https://refer.example/", "https://refer.example/x/y",
                            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "not a token at all just some words",
                            "https://refer.example/r/%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%"}) {
    CAPTURE(input);
    RunResult r = verify(input, with_keys(kKeys));
    INFO(r.describe());
    CHECK(r.exit_code() == 1);
    Json j = json_line(r);
    CHECK(json_str(j, "/error") == "malformed");
    CHECK_FALSE(json_has(j, "/claims"));
  }
}

TEST_CASE("create is deterministic for a fixed --issued-at") {
  const Environment env = with_keys(kKeys);
  CreatedLink a = create_link(standard_request(), env);
  CreatedLink b = create_link(standard_request(), env);
  CHECK(a.token == b.token);
  CHECK(a.url == b.url);
  CHECK(a.share_code == b.share_code);

  std::vector<std::string> later = standard_request();
  later[9] = "2026-03-01T10:00:01Z";  // the --issued-at value
  REQUIRE(later[8] == "--issued-at");
  CreatedLink c = create_link(later, env);
  CHECK(c.token != a.token);
  CHECK(c.share_code == a.share_code);  // the share code depends on the referral, not the time

  std::vector<std::string> other_referrer = standard_request();
  other_referrer[3] = "cust-43";
  REQUIRE(other_referrer[2] == "--referrer");
  CreatedLink d = create_link(other_referrer, env);
  CHECK(d.token != a.token);
  CHECK(d.share_code != a.share_code);
}

TEST_CASE("missing keys is a usage error that mentions REFERKIT_LINK_KEYS, as a JSON error on stdout") {
  RunResult create = cli({"link", "create", "--campaign", "c", "--referrer", "r"}, without_keys());
  INFO(create.describe());
  CHECK(create.exit_code() == 2);
  CHECK(json_str(json_line(create), "/error") == "usage");
  CHECK(json_str(json_line(create), "/message").find("REFERKIT_LINK_KEYS") != std::string::npos);

  RunResult check = cli({"link", "verify", "ABCD-EFGH-JKMNP"}, without_keys());
  INFO(check.describe());
  CHECK(check.exit_code() == 2);
  CHECK(json_str(json_line(check), "/message").find("REFERKIT_LINK_KEYS") != std::string::npos);

  RunResult empty = cli({"link", "create", "--campaign", "c", "--referrer", "r"}, with_keys(""));
  CHECK(empty.exit_code() == 2);
  CHECK(json_str(json_line(empty), "/message").find("REFERKIT_LINK_KEYS") != std::string::npos);
}

TEST_CASE("invalid keys in REFERKIT_LINK_KEYS are a usage error") {
  RunResult r = cli({"link", "create", "--campaign", "c", "--referrer", "r"}, with_keys("k1:abcd"));
  INFO(r.describe());
  CHECK(r.exit_code() == 2);
  CHECK(json_str(json_line(r), "/message").find("REFERKIT_LINK_KEYS") != std::string::npos);
}

TEST_CASE("bad create options are usage errors") {
  const Environment env = with_keys(kKeys);
  RunResult no_campaign = cli({"link", "create", "--referrer", "r"}, env);
  CHECK(no_campaign.exit_code() == 2);

  RunResult bad_ttl = cli({"link", "create", "--campaign", "c", "--referrer", "r", "--ttl", "soon"}, env);
  INFO(bad_ttl.describe());
  CHECK(bad_ttl.exit_code() == 2);
  CHECK(json_str(json_line(bad_ttl), "/error") == "invalid_argument");

  RunResult both = cli({"link", "create", "--campaign", "c", "--referrer", "r", "--ttl", "1d", "--expires-at",
                        "2030-01-01T00:00:00Z"},
                       env);
  CHECK(both.exit_code() == 2);
  CHECK(json_str(json_line(both), "/error") == "invalid_argument");

  RunResult bad_time = cli({"link", "create", "--campaign", "c", "--referrer", "r", "--issued-at", "yesterday"}, env);
  CHECK(bad_time.exit_code() == 2);
  CHECK(json_str(json_line(bad_time), "/message").find("--issued-at") != std::string::npos);

  RunResult bad_utm = cli({"link", "create", "--campaign", "c", "--referrer", "r", "--utm", "=x"}, env);
  CHECK(bad_utm.exit_code() == 2);
  CHECK(json_str(json_line(bad_utm), "/error") == "invalid_argument");
}

TEST_CASE("link create requires --base-url (or REFERKIT_BASE_URL)") {
  RunResult missing = cli({"link", "create", "--campaign", "c", "--referrer", "r"}, without_base_url());
  INFO(missing.describe());
  CHECK(missing.exit_code() == 2);
  CHECK(json_str(json_line(missing), "/error") == "usage");
  CHECK(json_str(json_line(missing), "/message").find("--base-url") != std::string::npos);

  for (const char* bad : {"", "refer.example", "ftp://refer.example"}) {
    CAPTURE(bad);
    RunResult r = cli({"link", "create", "--campaign", "c", "--referrer", "r", "--base-url", bad}, without_base_url());
    INFO(r.describe());
    CHECK(r.exit_code() == 2);
    CHECK(json_str(json_line(r), "/error") == "invalid_argument");
    CHECK(json_str(json_line(r), "/message").find("base_url") != std::string::npos);
  }
}

TEST_CASE("link verify of a full URL needs a share host, a base URL or --any-host") {
  CreatedLink link = create_link({"--campaign", "c", "--referrer", "r"}, with_keys(kKeys));
  RunResult url = verify(link.url, without_base_url());
  INFO(url.describe());
  CHECK(url.exit_code() == 2);
  CHECK(json_str(json_line(url), "/message").find("--share-host") != std::string::npos);
  // Bare tokens and share codes carry no host, so they need none.
  CHECK(verify(link.token, without_base_url()).exit_code() == 0);
  CHECK(verify(link.share_code, without_base_url()).exit_code() == 0);
  CHECK(cli({"link", "verify", link.url, "--base-url", "https://refer.example/"}, without_base_url()).exit_code() == 0);
  CHECK(cli({"link", "verify", link.url, "--share-host", "refer.example"}, without_base_url()).exit_code() == 0);
  CHECK(cli({"link", "verify", link.url, "--any-host"}, without_base_url()).exit_code() == 0);
}

TEST_CASE("link create --help mentions every flag") {
  RunResult r = cli({"link", "create", "--help"}, without_keys());
  INFO(r.describe());
  CHECK(r.exit_code() == 0);
  for (const char* flag : {"--campaign", "--referrer", "--name", "--ttl", "--expires-at", "--issued-at",
                           "--base-url", "--utm", "--keys", "--help"}) {
    CAPTURE(flag);
    CHECK(r.out.find(flag) != std::string::npos);
  }
}

TEST_CASE("referkit demo plays a journey into a real ingest server") {
  RunResult r = cli({"demo"}, without_keys());
  INFO(r.describe());
  CHECK(r.exit_code() == 0);
  CHECK(r.out.find("20 events tracked") != std::string::npos);
  CHECK(r.out.find("20/20 acknowledged") != std::string::npos);
  CHECK(r.out.find("the server stored 20 events") != std::string::npos);
  CHECK(r.out.find("all delivered and stored.") != std::string::npos);
}

TEST_CASE("referkit demo uses REFERKIT_LINK_KEYS when set") {
  RunResult r = cli({"demo"}, with_keys(kKeys));
  INFO(r.describe());
  CHECK(r.exit_code() == 0);
  CHECK(r.out.find("(key id live-1)") != std::string::npos);
  CHECK(r.out.find("all delivered and stored.") != std::string::npos);
}

TEST_CASE("no subcommand is a usage error") {
  RunResult r = cli({}, without_keys());
  CHECK(r.exit_code() == 2);
  RunResult unknown = cli({"frobnicate"}, without_keys());
  CHECK(unknown.exit_code() == 2);
}

TEST_CASE("command-line errors print the same JSON error object, with code usage") {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{}, {"frobnicate"}, {"link", "create", "--no-such-flag"},
                                             {"link", "verify"}, {"track", "--endpoint"}}) {
    RunResult r = cli(args, without_keys());
    INFO(r.describe());
    CHECK(r.exit_code() == 2);
    Json j = json_line(r);
    CHECK(json_str(j, "/error") == "usage");
    CHECK_FALSE(json_str(j, "/message").empty());
  }
}

}  // TEST_SUITE
