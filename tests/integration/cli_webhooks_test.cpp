// Runs `referkit webhook sign|verify` as a child process, with the body on stdin.
#include <doctest/doctest.h>

#include <signal.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "referkit/time.hpp"
#include "referkit/webhooks.hpp"
#include "support/json_field.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

using referkit::test::Json;
using referkit::test::json_is_true;
using referkit::test::json_line;
using referkit::test::json_str;
using referkit::test::Process;
using referkit::test::RunOptions;
using referkit::test::run_process;
using referkit::test::RunResult;

namespace {

const std::string kCli = REFERKIT_CLI_PATH;
const std::string kSecret = "whsec_integration_0123456789";
const std::string kOtherSecret = "whsec_integration_9876543210";
constexpr std::int64_t kT = 1'764'400'000;  // 2025-11-29T07:06:40Z
// Raw bytes: a NUL, newlines (LF and CRLF), a high byte and no trailing newline.
const std::string kBody = std::string("{\"event\":\"referral.converted\"}\n", 31) + std::string("\0mid\r\nend\xff", 10);

RunResult cli(const std::vector<std::string>& args, const std::string& stdin_data,
              const std::vector<std::pair<std::string, std::string>>& env = {}) {
  RunOptions options;
  options.stdin_data = stdin_data;
  options.env.unset = {"REFERKIT_LINK_KEYS", "REFERKIT_WEBHOOK_SECRET"};
  options.env.set = env;
  options.timeout = std::chrono::seconds(30);
  RunResult r = run_process(kCli, args, options);
  REQUIRE_MESSAGE(!r.timed_out, r.describe());
  return r;
}

std::string rfc3339_at(std::int64_t unix_seconds) {
  return referkit::format_rfc3339(referkit::TimePoint(std::chrono::seconds(unix_seconds)));
}

// `webhook sign` at kT; returns the header value.
std::string sign(const std::string& secret, const std::string& body, std::int64_t t = kT) {
  RunResult r = cli({"webhook", "sign", "--secret", secret, "--timestamp", std::to_string(t)}, body);
  INFO(r.describe());
  REQUIRE(r.exit_code() == 0);
  Json j = json_line(r);
  CHECK(json_str(j, "/header") == "X-Referkit-Signature");
  return json_str(j, "/value");
}

RunResult verify(const std::vector<std::string>& secrets, const std::string& signature, const std::string& body,
                 const std::string& now, const std::string& tolerance = "") {
  std::vector<std::string> args = {"webhook", "verify"};
  for (const std::string& s : secrets) {
    args.push_back("--secret");
    args.push_back(s);
  }
  args.push_back("--signature");
  args.push_back(signature);
  args.push_back("--now");
  args.push_back(now);
  if (!tolerance.empty()) {
    args.push_back("--tolerance");
    args.push_back(tolerance);
  }
  return cli(args, body);
}

}  // namespace

TEST_SUITE("cli_webhooks") {

TEST_CASE("webhook sign signs the raw stdin bytes") {
  REQUIRE(kBody.size() == 41);
  REQUIRE(kBody.find('\0') != std::string::npos);
  const std::string value = sign(kSecret, kBody);
  // The same signature as the library computes in-process over the same bytes.
  CHECK(value == referkit::sign_payload(kSecret, kT, kBody));
  CHECK(value.rfind("t=1764400000,v1=", 0) == 0);
  // Bytes, not lines: a trailing newline more is a different body.
  CHECK(sign(kSecret, kBody + "\n") == referkit::sign_payload(kSecret, kT, kBody + "\n"));
  CHECK(sign(kSecret, kBody + "\n") != value);
  CHECK(sign(kSecret, "") == referkit::sign_payload(kSecret, kT, ""));
}

TEST_CASE("the webhook secret also comes from REFERKIT_WEBHOOK_SECRET or a file, never only from a flag") {
  referkit::test::TempDir dir;
  const std::string file = dir.write("secret.txt", kSecret + "\n");  // a final line break is not part of it
  const std::string expected = referkit::sign_payload(kSecret, kT, kBody);
  const std::vector<std::string> sign_args = {"webhook", "sign", "--timestamp", std::to_string(kT)};
  RunResult from_env = cli(sign_args, kBody, {{"REFERKIT_WEBHOOK_SECRET", kSecret}});
  INFO(from_env.describe());
  REQUIRE(from_env.exit_code() == 0);
  CHECK(json_str(json_line(from_env), "/value") == expected);

  std::vector<std::string> with_file = sign_args;
  with_file.insert(with_file.end(), {"--secret-file", file});
  RunResult from_file = cli(with_file, kBody);
  INFO(from_file.describe());
  REQUIRE(from_file.exit_code() == 0);
  CHECK(json_str(json_line(from_file), "/value") == expected);

  RunResult verified = cli({"webhook", "verify", "--secret-file", file, "--signature", expected, "--now",
                            rfc3339_at(kT)},
                           kBody);
  INFO(verified.describe());
  CHECK(verified.exit_code() == 0);
  RunResult verified_env = cli({"webhook", "verify", "--signature", expected, "--now", rfc3339_at(kT)}, kBody,
                               {{"REFERKIT_WEBHOOK_SECRET", kSecret}});
  CHECK(verified_env.exit_code() == 0);

  // None given: a usage error, as the JSON object; a missing file: a runtime failure.
  RunResult none = cli(sign_args, kBody);
  CHECK(none.exit_code() == 2);
  CHECK(json_str(json_line(none), "/error") == "usage");
  std::vector<std::string> missing = sign_args;
  missing.insert(missing.end(), {"--secret-file", file + ".nope"});
  RunResult gone = cli(missing, kBody);
  CHECK(gone.exit_code() == 1);
  CHECK(json_str(json_line(gone), "/error") == "not_found");
}

TEST_CASE("a body over 16 MiB on stdin is refused, not read into memory") {
  const std::string big((16u << 20) + 1, 'x');
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"webhook", "sign", "--secret", kSecret},
        std::vector<std::string>{"webhook", "verify", "--secret", kSecret, "--signature", "t=1,v1=00"}}) {
    RunResult r = cli(args, big);
    INFO(r.describe().substr(0, 2000));
    CHECK(r.exit_code() == 1);
    CHECK(json_str(json_line(r), "/error") == "resource_exhausted");
  }
  CHECK(cli({"webhook", "sign", "--secret", kSecret}, big.substr(1)).exit_code() == 0);  // 16 MiB exactly
}

TEST_CASE("webhook sign then verify round trips through stdin") {
  const std::string value = sign(kSecret, kBody);
  RunResult r = verify({kSecret}, value, kBody, rfc3339_at(kT + 10));
  INFO(r.describe());
  REQUIRE(r.exit_code() == 0);
  Json j = json_line(r);
  CHECK(json_is_true(j, "/ok"));
  CHECK(json_str(j, "/signed_at") == "2025-11-29T07:06:40.000Z");
}

TEST_CASE("webhook verify accepts any of several secrets") {
  const std::string value = sign(kOtherSecret, kBody);
  RunResult r = verify({kSecret, kOtherSecret}, value, kBody, rfc3339_at(kT));
  INFO(r.describe());
  CHECK(r.exit_code() == 0);
}

TEST_CASE("webhook verify with a wrong secret is bad_signature") {
  const std::string value = sign(kSecret, kBody);
  RunResult r = verify({kOtherSecret}, value, kBody, rfc3339_at(kT));
  INFO(r.describe());
  CHECK(r.exit_code() == 1);
  CHECK(json_str(json_line(r), "/error") == "bad_signature");
}

TEST_CASE("webhook verify of a changed body is bad_signature") {
  const std::string value = sign(kSecret, kBody);
  std::string changed = kBody;
  changed[31] = '\x01';  // the NUL byte
  RunResult r = verify({kSecret}, value, changed, rfc3339_at(kT));
  INFO(r.describe());
  CHECK(r.exit_code() == 1);
  CHECK(json_str(json_line(r), "/error") == "bad_signature");

  RunResult truncated = verify({kSecret}, value, kBody.substr(0, 31), rfc3339_at(kT));
  CHECK(truncated.exit_code() == 1);
  CHECK(json_str(json_line(truncated), "/error") == "bad_signature");
}

TEST_CASE("webhook verify with a stale --now is expired") {
  const std::string value = sign(kSecret, kBody);
  RunResult edge = verify({kSecret}, value, kBody, rfc3339_at(kT + 300));
  INFO(edge.describe());
  CHECK(edge.exit_code() == 0);

  RunResult stale = verify({kSecret}, value, kBody, rfc3339_at(kT + 301));
  INFO(stale.describe());
  CHECK(stale.exit_code() == 1);
  CHECK(json_str(json_line(stale), "/error") == "expired");

  RunResult early = verify({kSecret}, value, kBody, rfc3339_at(kT - 301));
  CHECK(early.exit_code() == 1);
  CHECK(json_str(json_line(early), "/error") == "expired");
}

TEST_CASE("webhook verify --tolerance widens the window") {
  const std::string value = sign(kSecret, kBody);
  CHECK(verify({kSecret}, value, kBody, rfc3339_at(kT + 3600), "1h").exit_code() == 0);
  CHECK(verify({kSecret}, value, kBody, rfc3339_at(kT + 3601), "1h").exit_code() == 1);
  RunResult bad = verify({kSecret}, value, kBody, rfc3339_at(kT), "forever");
  CHECK(bad.exit_code() == 2);
}

TEST_CASE("webhook verify of a malformed header is malformed") {
  RunResult r = verify({kSecret}, "t=abc,v1=00", kBody, rfc3339_at(kT));
  INFO(r.describe());
  CHECK(r.exit_code() == 1);
  CHECK(json_str(json_line(r), "/error") == "malformed");
}

TEST_CASE("webhook verify refuses a short secret as a usage error") {
  const std::string value = sign("short", kBody);
  RunResult r = verify({"short"}, value, kBody, rfc3339_at(kT));
  INFO(r.describe());
  CHECK(r.exit_code() == 2);
  CHECK(json_str(json_line(r), "/error") == "invalid_argument");
}

TEST_CASE("a large body goes through stdin intact") {
  std::string body;
  for (int i = 0; i < 300'000; ++i) body += static_cast<char>(i * 7 % 256);
  const std::string value = sign(kSecret, body);
  CHECK(value == referkit::sign_payload(kSecret, kT, body));
  RunResult r = verify({kSecret}, value, body, rfc3339_at(kT));
  INFO(r.describe());
  CHECK(r.exit_code() == 0);
}

}  // TEST_SUITE

// The process helper itself, driven through CLI commands that block until their stdin ends.
TEST_SUITE("process_helper") {

TEST_CASE("Process hands over stdout line by line") {
  referkit::test::Environment env;
  env.unset = {"REFERKIT_LINK_KEYS"};
  Process demo = Process::start(kCli, {"demo"}, env);
  auto first = demo.read_line(std::chrono::seconds(30));
  REQUIRE(first.has_value());
  CHECK(first->rfind("referkit demo:", 0) == 0);
  auto summary = demo.wait_for_line("Summary:", std::chrono::seconds(30));
  INFO(demo.stderr_text());
  REQUIRE(summary.has_value());
  CHECK(summary->find("all delivered and stored.") != std::string::npos);
  // Nothing follows the summary: the output ends and the child exits 0.
  CHECK_FALSE(demo.read_line(std::chrono::seconds(30)).has_value());
  CHECK(demo.stdout_closed());
  auto status = demo.wait(std::chrono::seconds(30));
  REQUIRE(status.has_value());
  CHECK(status->success());
  CHECK_FALSE(demo.running());
}

TEST_CASE("Process feeds stdin to a child that waits for it") {
  Process signer = Process::start(kCli, {"webhook", "sign", "--secret", kSecret, "--timestamp", std::to_string(kT)});
  CHECK(signer.running());
  // It cannot finish before its stdin ends.
  CHECK_FALSE(signer.wait(std::chrono::milliseconds(100)).has_value());
  CHECK_FALSE(signer.read_line(std::chrono::milliseconds(10)).has_value());
  CHECK_FALSE(signer.stdout_closed());
  REQUIRE(signer.write_stdin(kBody));
  signer.close_stdin();
  auto line = signer.read_line(std::chrono::seconds(30));
  REQUIRE(line.has_value());
  CHECK(line->find(referkit::sign_payload(kSecret, kT, kBody)) != std::string::npos);
  auto status = signer.wait(std::chrono::seconds(30));
  REQUIRE(status.has_value());
  CHECK(status->success());
  CHECK(status->describe() == "exit 0");
}

TEST_CASE("Process terminate stops a child that would not exit on its own") {
  Process waiting = Process::start(kCli, {"webhook", "sign", "--secret", kSecret});
  REQUIRE(waiting.running());
  const referkit::test::ExitStatus status = waiting.terminate(std::chrono::seconds(10));
  CHECK_FALSE(status.exited);
  CHECK(status.signal == SIGTERM);
  CHECK_FALSE(waiting.running());
  // Terminating again reports the same end.
  CHECK(waiting.kill().signal == SIGTERM);
}

TEST_CASE("Process kill and the destructor reap the child") {
  pid_t pid = -1;
  {
    Process waiting = Process::start(kCli, {"webhook", "sign", "--secret", kSecret});
    pid = waiting.pid();
    REQUIRE(pid > 0);
    REQUIRE(::kill(pid, 0) == 0);
  }
  // Killed and reaped: the pid no longer names a process (not even a zombie).
  errno = 0;
  CHECK(::kill(pid, 0) == -1);
  CHECK(errno == ESRCH);

  Process other = Process::start(kCli, {"webhook", "sign", "--secret", kSecret});
  const referkit::test::ExitStatus killed = other.kill();
  CHECK(killed.signal == SIGKILL);
  CHECK(killed.describe() == "killed by signal 9 (SIGKILL)");
}

TEST_CASE("run_process kills a child that outlives its timeout") {
  RunOptions options;
  options.timeout = std::chrono::milliseconds(200);
  const auto started = std::chrono::steady_clock::now();
  RunResult r = run_process("sleep", {"60"}, options);
  const auto elapsed = std::chrono::steady_clock::now() - started;
  CHECK(r.timed_out);
  CHECK_FALSE(r.status.exited);
  CHECK(r.status.signal == SIGKILL);
  CHECK(r.exit_code() == -1);
  CHECK(elapsed < std::chrono::seconds(30));
}

TEST_CASE("run_process can clear and set the environment") {
  RunOptions options;
  options.env.inherit = false;
  options.env.set = {{"REFERKIT_LINK_KEYS", "only-key:" + std::string(32, 'a')}};
  RunResult r = run_process(kCli, {"demo"}, options);
  INFO(r.describe());
  CHECK(r.exit_code() == 0);
  CHECK(r.out.find("(key id only-key)") != std::string::npos);
}

TEST_CASE("run_process throws when the program cannot be started") {
  CHECK_THROWS_AS(run_process("/nonexistent/referkit-no-such-program", {}), std::system_error);
  CHECK_THROWS_AS(Process::start("/nonexistent/referkit-no-such-program", {}), std::system_error);
}

}  // TEST_SUITE
