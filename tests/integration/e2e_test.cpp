// End to end with real processes only: `referkit track` delivering to `referkit-ingest` over
// loopback while the server fails, drops connections after storing, throttles, restarts, or
// refuses the write key. The database is the judge: every event exactly once by messageId.
#include <doctest/doctest.h>
#include <simdjson.h>

#include <memory>
#include <string>
#include <thread>

#include "ingest_support.hpp"
#include "support/json_field.hpp"
#include "support/process.hpp"

using namespace referkit::test;
using namespace referkit::test::ingest;
using namespace std::chrono_literals;

namespace {

const std::string kCli = REFERKIT_CLI_PATH;

std::string events(int from, int to) {
  std::string out;
  for (int i = from; i < to; ++i) {
    out += "{\"type\":\"track\",\"event\":\"Order Completed\",\"userId\":\"u" + std::to_string(i) +
           "\",\"messageId\":\"e2e-" + std::to_string(i) + "\",\"properties\":{\"order_id\":\"o" +
           std::to_string(i) + "\",\"total\":49.90,\"currency\":\"EUR\"}}\n";
  }
  return out;
}

std::vector<std::string> track_args(const std::string& url, const std::string& key = "wk") {
  return {"track", "--endpoint", url, "--write-key", key, "--input", "-", "--progress", "none"};
}


void check_all_stored_once(const std::string& db, int n) {
  DbContents contents = read_db(db);
  CHECK(contents.integrity_ok);
  CHECK(contents.rows == static_cast<std::size_t>(n));  // the primary key makes each id unique
  for (int i = 0; i < n; ++i) REQUIRE_MESSAGE(contents.message_ids.count("e2e-" + std::to_string(i)) == 1, i);
}

void run_with_faults(const std::vector<std::string>& faults, int n) {
  TempDir dir;
  const std::string db = dir.file("ingest.db");
  {
    IngestServer server(db, faults);
    RunOptions options;
    options.stdin_data = events(0, n);
    options.timeout = 120s;
    RunResult r = run_process(kCli, track_args(server.url()), options);
    INFO(r.describe());
    CHECK(r.exit_code() == 0);
    CHECK(json_uint(r.out, "delivered") == static_cast<std::uint64_t>(n));
    CHECK(json_uint(r.out, "pending") == 0);
    CHECK(server.stop().success());
  }
  check_all_stored_once(db, n);
}

}  // namespace

TEST_SUITE("e2e") {

TEST_CASE("no faults") { run_with_faults({}, 3000); }

TEST_CASE("30% of requests fail with 503") { run_with_faults({"--fail-rate", "0.3", "--seed", "7"}, 3000); }

TEST_CASE("20% of connections dropped after the batch was stored") {
  run_with_faults({"--drop-rate", "0.2", "--seed", "7"}, 3000);
}

TEST_CASE("30% of requests throttled with 429 and Retry-After") {
  run_with_faults({"--throttle-rate", "0.3", "--retry-after", "1", "--seed", "7"}, 3000);
}

TEST_CASE("the server restarts in the middle of a run") {
  TempDir dir;
  const std::string db = dir.file("ingest.db");
  auto server = std::make_unique<IngestServer>(db);
  const std::uint16_t port = server->port();
  Process cli = Process::start(kCli, track_args(server->url()));
  REQUIRE(cli.write_stdin(events(0, 1000)));
  // Wait (bounded) until the first half is stored, then take the server down.
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (stat(port, "events_stored") < 1000 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);  // polling a condition with a deadline
  }
  REQUIRE(stat(port, "events_stored") == 1000);
  CHECK(server->stop().success());
  server.reset();
  REQUIRE(cli.write_stdin(events(1000, 2000)));  // tracked while the server is down
  cli.close_stdin();
  server = std::make_unique<IngestServer>(db, std::vector<std::string>{"--listen", "127.0.0.1:" + std::to_string(port)});
  auto exit = cli.wait(90s);
  REQUIRE(exit);
  CHECK(exit->success());
  std::string out;
  while (auto line = cli.read_line(1s)) out += *line;
  INFO(out << cli.stderr_text());
  CHECK(json_uint(out, "delivered") == 2000);
  CHECK(server->stop().success());
  check_all_stored_once(db, 2000);
}

TEST_CASE("a wrong write key is reported and nothing is claimed as delivered") {
  TempDir dir;
  const std::string db = dir.file("ingest.db");
  IngestServer server(db);
  RunOptions options;
  options.stdin_data = events(0, 200);
  options.timeout = 60s;
  std::vector<std::string> args = track_args(server.url(), "wrong-key");
  args.insert(args.end(), {"--flush-timeout", "2s"});
  RunResult r = run_process(kCli, args, options);
  INFO(r.describe());
  CHECK(r.exit_code() == 1);
  CHECK(json_uint(r.out, "delivered") == 0);
  CHECK(json_uint(r.out, "pending") == 200);
  CHECK(r.out.find("401") != std::string::npos);
  CHECK(server.stop().success());
  CHECK(read_db(db).rows == 0);
}

}  // TEST_SUITE
