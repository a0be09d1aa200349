// The durable spool through real processes only: `referkit track --spool` killed with SIGKILL at
// random moments (endpoint down, or up and dropping connections), several trackers on one
// directory, then `referkit spool drain` into `referkit-ingest`. The database is the judge: every
// event the CLI reported as accepted (--accepted-log) is stored exactly once, nothing else is, and
// the spool is empty afterwards. Also `spool inspect`, format versions and permissions.
#include <signal.h>
#include <doctest/doctest.h>
#include <simdjson.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include "ingest_support.hpp"
#include "support/http_test_server.hpp"
#include "support/json_field.hpp"
#include "support/loopback.hpp"
#include "support/process.hpp"

using namespace referkit::test;
using namespace referkit::test::ingest;
using namespace std::chrono_literals;

namespace {

const std::string kCli = REFERKIT_CLI_PATH;
constexpr int kExitKeptInSpool = 3;
using Clock = std::chrono::steady_clock;

// libcurl honours http_proxy; the CLI must reach the loopback servers directly.
Environment no_proxy() {
  Environment env;
  env.set = {{"no_proxy", "127.0.0.1,localhost"}, {"NO_PROXY", "127.0.0.1,localhost"}};
  return env;
}

std::string message_id(const std::string& prefix, int i) {
  char digits[16];
  std::snprintf(digits, sizeof digits, "%07d", i);
  return prefix + "-" + digits;
}

// n events with messageIds <prefix>-0000000..., written to `path`; the ids go into `ids`.
void write_events(const std::string& path, const std::string& prefix, int n, std::set<std::string>& ids) {
  std::ofstream out(path, std::ios::binary);
  for (int i = 0; i < n; ++i) {
    const std::string id = message_id(prefix, i);
    out << R"({"type":"track","event":"Order Completed","userId":"u)" << i << R"(","messageId":")" << id
        << R"(","properties":{"order_id":"o)" << i << R"(","total":49.90,"currency":"EUR"}})" << '\n';
    ids.insert(id);
  }
  out.close();
  REQUIRE(out);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The complete lines of an --accepted-log (a line cut by the kill, if any, is not counted).
std::vector<std::string> accepted_ids(const std::string& path) {
  const std::string text = read_file(path);
  std::vector<std::string> ids;
  std::size_t at = 0;
  for (std::size_t nl; (nl = text.find('\n', at)) != std::string::npos; at = nl + 1) ids.push_back(text.substr(at, nl - at));
  return ids;
}

std::size_t accepted_count(const std::string& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  return ec ? 0 : static_cast<std::size_t>(size);  // bytes: every line has the same length
}

std::vector<std::string> track_args(const std::string& url, const std::string& spool, const std::string& input,
                                    const std::string& accepted_log = {}) {
  std::vector<std::string> args = {"track", "--endpoint", url, "--write-key", "wk", "--input", input,
                                   "--progress", "none", "--spool", spool};
  if (!accepted_log.empty()) args.insert(args.end(), {"--accepted-log", accepted_log});
  return args;
}

RunResult run_cli(const std::vector<std::string>& args, std::chrono::milliseconds timeout = 60s) {
  RunOptions options;
  options.timeout = timeout;
  options.env = no_proxy();
  return run_process(kCli, args, options);
}

RunResult inspect(const std::string& spool, bool dead_letters = false) {
  std::vector<std::string> args = {"spool", "inspect", spool};
  if (dead_letters) args.emplace_back("--dead-letters");
  return run_cli(args);
}

RunResult drain(const std::string& url, const std::string& spool) {
  return run_cli({"spool", "drain", spool, "--endpoint", url, "--write-key", "wk", "--timeout", "60s",
                  "--progress", "json"},
                 90s);
}

// Tracks `count` events (ids "<prefix>-...") against `down_url`, an endpoint that is down, so
// that every one of them stays in `spool`: where the tests of inspect and drain start.
void leave_in_spool(const std::string& down_url, TempDir& dir, const std::string& spool, const std::string& prefix,
                    int count) {
  std::set<std::string> input;
  write_events(dir.file("e.jsonl"), prefix, count, input);
  auto args = track_args(down_url, spool, dir.file("e.jsonl"));
  args.insert(args.end(), {"--flush-timeout", "0s"});
  RunResult r = run_cli(args);
  INFO(r.describe());
  REQUIRE(r.exit_code() == kExitKeptInSpool);
}

// Starts `referkit track --spool` and SIGKILLs it once its accepted log holds `target` events (or
// right away when it ends first); returns the process's fate for the failure messages.
std::string track_and_kill(const std::vector<std::string>& args, const std::string& log, std::size_t target_bytes,
                           std::chrono::milliseconds extra_delay) {
  Process cli = Process::start(kCli, args, no_proxy());
  const auto deadline = Clock::now() + 20s;
  while (accepted_count(log) < target_bytes && cli.running() && Clock::now() < deadline) {
    std::this_thread::sleep_for(1ms);  // polling a condition with a deadline
  }
  if (extra_delay.count() > 0 && cli.running()) std::this_thread::sleep_for(extra_delay);  // a random moment
  if (!cli.running()) return "ended by itself: " + cli.stderr_text();
  return cli.kill().describe();
}

// After the drain: every accepted id stored once, nothing stored outside the input, spool empty.
void check_delivered(const std::string& db, const std::string& spool, const std::set<std::string>& input,
                     const std::vector<std::string>& accepted) {
  const DbContents contents = read_db(db);
  CHECK(contents.integrity_ok);
  CHECK(contents.rows == contents.message_ids.size());  // one row per messageId
  std::size_t missing = 0;
  std::string first_missing;
  for (const std::string& id : accepted) {
    if (contents.message_ids.count(id) == 0 && missing++ == 0) first_missing = id;
  }
  CHECK_MESSAGE(missing == 0, missing << " accepted events were not stored, e.g. " << first_missing);
  std::size_t foreign = 0;
  for (const std::string& id : contents.message_ids) foreign += input.count(id) == 0 ? 1u : 0u;
  CHECK(foreign == 0);
  CHECK(contents.rows >= std::set<std::string>(accepted.begin(), accepted.end()).size());
  RunResult r = inspect(spool);
  INFO(r.describe());
  CHECK(r.exit_code() == 0);
  CHECK(json_uint(r.out, "pending_events") == 0);
  CHECK(json_uint(r.out, "live_owners") == 0);
}

mode_t mode_of(const std::filesystem::path& p) {
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

std::mt19937 seeded_rng() {
  const unsigned seed = std::random_device{}();
  MESSAGE("random seed " << seed);
  return std::mt19937(seed);
}

}  // namespace

namespace {

// A small tmpfs mounted for one test (root only; where mounting is not allowed, mounted() is
// false and the test says so and stops).
class SmallTmpfs {
 public:
  SmallTmpfs(const std::string& path, const std::string& size) : path_(path) {
    std::filesystem::create_directory(path_);
    mounted_ = run_process("mount", {"-t", "tmpfs", "-o", "size=" + size + ",mode=0700", "tmpfs", path_}).status.success();
  }
  ~SmallTmpfs() {
    if (mounted_) run_process("umount", {path_});
  }
  SmallTmpfs(const SmallTmpfs&) = delete;
  SmallTmpfs& operator=(const SmallTmpfs&) = delete;
  bool mounted() const { return mounted_; }
  // Writes a file until the file system is full; returns the bytes written.
  std::size_t fill() const {
    std::ofstream out(path_ + "/filler", std::ios::binary);
    const std::string chunk(64 * 1024, 'f');
    std::size_t written = 0;
    while (out.write(chunk.data(), static_cast<std::streamsize>(chunk.size())) && out.flush()) written += chunk.size();
    return written;
  }

 private:
  std::string path_;
  bool mounted_ = false;
};

}  // namespace

TEST_SUITE("cli_spool") {

TEST_CASE("track --spool killed at random moments with the endpoint down: spool drain delivers every accepted event once") {
  TempDir dir;
  ClosedPort down;
  const std::string spool = dir.file("spool");
  const std::string db = dir.file("ingest.db");
  auto rng = seeded_rng();
  constexpr int kRounds = 10;
  constexpr int kEvents = 20'000;
  std::set<std::string> input;
  std::vector<std::string> accepted;
  std::string rounds = "rounds (accepted events, then how the process ended):";
  for (int round = 0; round < kRounds; ++round) {
    const std::string prefix = "down" + std::to_string(round);
    const std::string file = dir.file(prefix + ".jsonl");
    const std::string log = dir.file(prefix + ".accepted");
    write_events(file, prefix, kEvents, input);
    const std::size_t line = message_id(prefix, 0).size() + 1;
    const std::size_t target = std::uniform_int_distribution<std::size_t>(1, kEvents)(rng) * line;
    const auto delay = std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 3)(rng) == 0 ? 150 : 0);
    const std::string fate = track_and_kill(track_args(down.url(), spool, file, log), log, target, delay);
    const auto ids = accepted_ids(log);
    rounds += "\n  round " + std::to_string(round) + ": " + std::to_string(ids.size()) + " accepted, " + fate;
    CHECK_MESSAGE(!ids.empty(), rounds);
    accepted.insert(accepted.end(), ids.begin(), ids.end());
  }
  MESSAGE(rounds);
  {
    RunResult r = inspect(spool);
    INFO(r.describe());
    REQUIRE(r.exit_code() == 0);
    CHECK(json_uint(r.out, "pending_events") >= accepted.size());
    CHECK(json_uint(r.out, "live_owners") == 0);
  }
  IngestServer server(db);
  RunResult r = drain(server.url(), spool);
  INFO(r.describe());
  CHECK(r.exit_code() == 0);
  CHECK(json_uint(r.out, "remaining") == 0);
  CHECK(json_uint(r.out, "recovered") >= accepted.size());
  CHECK(json_uint(r.out, "delivered") == json_uint(r.out, "recovered"));
  CHECK(r.err.find("{\"phase\":\"draining\"") != std::string::npos);
  CHECK(server.stop().success());
  check_delivered(db, spool, input, accepted);
}

TEST_CASE("track --spool killed at random moments while the server drops connections: spool drain delivers every accepted event once") {
  TempDir dir;
  const std::string spool = dir.file("spool");
  const std::string db = dir.file("ingest.db");
  auto rng = seeded_rng();
  constexpr int kRounds = 4;
  constexpr int kEvents = 20'000;
  std::set<std::string> input;
  std::vector<std::string> accepted;
  std::string rounds = "rounds (accepted events, then how the process ended):";
  IngestServer server(db, {"--drop-rate", "0.3", "--seed", std::to_string(rng())});
  for (int round = 0; round < kRounds; ++round) {
    const std::string prefix = "drop" + std::to_string(round);
    const std::string file = dir.file(prefix + ".jsonl");
    const std::string log = dir.file(prefix + ".accepted");
    write_events(file, prefix, kEvents, input);
    const std::size_t line = message_id(prefix, 0).size() + 1;
    const std::size_t target = std::uniform_int_distribution<std::size_t>(1, kEvents)(rng) * line;
    const auto delay = std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 300)(rng));
    const std::string fate = track_and_kill(track_args(server.url(), spool, file, log), log, target, delay);
    const auto ids = accepted_ids(log);
    rounds += "\n  round " + std::to_string(round) + ": " + std::to_string(ids.size()) + " accepted, " + fate;
    CHECK_MESSAGE(!ids.empty(), rounds);
    accepted.insert(accepted.end(), ids.begin(), ids.end());
  }
  MESSAGE(rounds);
  RunResult r = drain(server.url(), spool);
  INFO(r.describe());
  CHECK(r.exit_code() == 0);
  CHECK(json_uint(r.out, "remaining") == 0);
  CHECK(server.stop().success());
  check_delivered(db, spool, input, accepted);
}

TEST_CASE("spool inspect describes what a killed tracker left") {
  TempDir dir;
  ClosedPort down;
  const std::string spool = dir.file("spool");
  const std::string file = dir.file("events.jsonl");
  const std::string log = dir.file("accepted");
  std::set<std::string> input;
  write_events(file, "left", 5'000, input);
  const std::size_t line = message_id("left", 0).size() + 1;
  const std::string fate = track_and_kill(track_args(down.url(), spool, file, log), log, 1'000 * line, 0ms);
  const auto ids = accepted_ids(log);
  INFO(fate);
  REQUIRE(ids.size() >= 1'000);

  RunResult r = inspect(spool);
  INFO(r.describe());
  CHECK(r.exit_code() == 0);
  CHECK(json_uint(r.out, "pending_events") >= ids.size());
  CHECK(json_uint(r.out, "pending_bytes") > 0);
  CHECK(json_uint(r.out, "disk_bytes") >= json_uint(r.out, "pending_bytes"));
  CHECK(json_uint(r.out, "segments") >= 1);
  CHECK(json_uint(r.out, "live_owners") == 0);
  CHECK(json_uint(r.out, "dead_letters") == 0);
  json_uint(r.out, "corrupt_records");  // present (a record torn by the kill may be counted)
  simdjson::dom::parser parser;
  std::string_view oldest;
  REQUIRE(!parser.parse(r.out)["oldest_event"].get_string().get(oldest));
  CHECK(oldest.size() >= 20);
  CHECK(oldest.back() == 'Z');
  CHECK(r.out.find("dead_letter_list") == std::string::npos);
}

TEST_CASE("spool inspect --dead-letters lists the events the server refused") {
  // referkit-ingest refuses only events the tracker itself refuses to send (no messageId, no type,
  // no user...), so a test server in this process plays a collector that rejects some events.
  TempDir dir;
  const std::string spool = dir.file("spool");
  const std::string file = dir.file("events.jsonl");
  std::set<std::string> input;
  write_events(file, "dl", 20, input);
  SegmentCollector collector;
  HttpTestServer server([&](const Request& req) {
    Reply reply = collector.handle(req);
    auto body = req.decoded_body();
    if (!body.ok()) return reply;
    std::string rejected;
    for (const char* id : {"dl-0000003", "dl-0000011"}) {
      if (body->find(id) == std::string::npos) continue;
      if (!rejected.empty()) rejected += ',';
      rejected += std::string(R"({"messageId":")") + id + R"(","reason":"order total does not match"})";
    }
    if (rejected.empty()) return reply;
    return Reply::json(200, R"({"accepted":18,"duplicates":0,"rejected":[)" + rejected + "]}");
  });
  RunResult t = run_cli(track_args(server.url(), spool, file));
  INFO(t.describe());
  CHECK(t.exit_code() == 1);  // refused events are not "delivered"
  CHECK(json_uint(t.out, "delivered") == 18);
  CHECK(json_uint(t.out, "kept_in_spool") == 0);

  RunResult r = inspect(spool, true);
  INFO(r.describe());
  CHECK(r.exit_code() == 0);
  CHECK(json_uint(r.out, "pending_events") == 0);
  CHECK(json_uint(r.out, "dead_letters") == 2);
  simdjson::dom::parser parser;
  simdjson::dom::array list;
  REQUIRE(!parser.parse(r.out)["dead_letter_list"].get_array().get(list));
  REQUIRE(list.size() == 2);
  std::set<std::string> ids;
  for (simdjson::dom::element item : list) {
    std::string_view id, reason, at, event_id;
    REQUIRE(!item["messageId"].get_string().get(id));
    REQUIRE(!item["reason"].get_string().get(reason));
    REQUIRE(!item["at"].get_string().get(at));
    REQUIRE(!item["event"]["messageId"].get_string().get(event_id));  // the event as JSON, not a string
    CHECK(reason.find("order total does not match") != std::string_view::npos);
    CHECK(event_id == id);
    CHECK(!at.empty());
    ids.emplace(id);
  }
  CHECK(ids == std::set<std::string>{"dl-0000003", "dl-0000011"});
  // Without the flag the count is there, the list is not.
  RunResult plain = inspect(spool);
  CHECK(json_uint(plain.out, "dead_letters") == 2);
  CHECK(plain.out.find("dead_letter_list") == std::string::npos);
}

TEST_CASE("two trackers on one spool at once, then one spool drain delivers the union exactly once") {
  TempDir dir;
  ClosedPort down;
  const std::string spool = dir.file("spool");
  const std::string db = dir.file("ingest.db");
  std::set<std::string> input;
  write_events(dir.file("a.jsonl"), "procA", 5'000, input);
  write_events(dir.file("b.jsonl"), "procB", 5'000, input);
  auto args = [&](const std::string& name) {
    auto a = track_args(down.url(), spool, dir.file(name + ".jsonl"), dir.file(name + ".accepted"));
    a.insert(a.end(), {"--flush-timeout", "1s"});
    return a;
  };
  Process a = Process::start(kCli, args("a"), no_proxy());
  Process b = Process::start(kCli, args("b"), no_proxy());
  // Both have the spool open at once (each waits 1 s for the endpoint before it ends).
  std::uint64_t owners = 0;
  const auto deadline = Clock::now() + 20s;
  while (owners < 2 && (a.running() || b.running()) && Clock::now() < deadline) {
    RunResult r = inspect(spool);
    if (r.exit_code() == 0) owners = json_uint(r.out, "live_owners");
  }
  CHECK(owners == 2);
  for (Process* p : {&a, &b}) {
    auto exit = p->wait(60s);
    REQUIRE(exit);
    std::string out;
    while (auto l = p->read_line(1s)) out += *l;
    const std::string err = p->stderr_to_end(10s);
    INFO(out << err);
    CHECK(exit->exited);
    CHECK(exit->code == kExitKeptInSpool);
    CHECK(json_uint(out, "tracked") == 5'000);
    CHECK(json_uint(out, "delivered") == 0);
    CHECK(json_uint(out, "kept_in_spool") >= 5'000);  // plus what it adopted from the other, if it ended first
    CHECK(err.find("kept in the spool") != std::string::npos);
  }
  std::vector<std::string> accepted = accepted_ids(dir.file("a.accepted"));
  const auto from_b = accepted_ids(dir.file("b.accepted"));
  accepted.insert(accepted.end(), from_b.begin(), from_b.end());
  CHECK(accepted.size() == 10'000);
  {
    RunResult r = inspect(spool);
    INFO(r.describe());
    CHECK(json_uint(r.out, "pending_events") == 10'000);
    CHECK(json_uint(r.out, "live_owners") == 0);
  }
  IngestServer server(db);
  RunResult r = drain(server.url(), spool);
  INFO(r.describe());
  CHECK(r.exit_code() == 0);
  CHECK(json_uint(r.out, "recovered") == 10'000);
  CHECK(json_uint(r.out, "delivered") == 10'000);
  CHECK(json_uint(r.out, "remaining") == 0);
  CHECK(server.stop().success());
  check_delivered(db, spool, input, accepted);
  CHECK(read_db(db).rows == 10'000);
}

TEST_CASE("spool drain with the endpoint still down keeps everything and says so") {
  TempDir dir;
  ClosedPort down;
  const std::string spool = dir.file("spool");
  std::set<std::string> input;
  write_events(dir.file("e.jsonl"), "kept", 100, input);
  RunResult t = run_cli([&] {
    auto a = track_args(down.url(), spool, dir.file("e.jsonl"));
    a.insert(a.end(), {"--flush-timeout", "500ms"});
    return a;
  }());
  INFO(t.describe());
  CHECK(t.exit_code() == kExitKeptInSpool);
  RunResult r = run_cli({"spool", "drain", spool, "--endpoint", down.url(), "--write-key", "wk", "--timeout", "1s",
                         "--progress", "none"});
  INFO(r.describe());
  CHECK(r.exit_code() == kExitKeptInSpool);
  CHECK(json_uint(r.out, "recovered") == 100);
  CHECK(json_uint(r.out, "remaining") == 100);
  CHECK(r.err.find("still holds 100 events") != std::string::npos);
  CHECK(json_uint(inspect(spool).out, "pending_events") == 100);
}

TEST_CASE("spool inspect --dead-letters reports damaged lines, so the list agrees with the count") {
  // 20 garbage lines used to give dead_letters: 20 beside an empty list.
  TempDir dir;
  ClosedPort down;
  const std::string spool = dir.file("spool");
  leave_in_spool(down.url(), dir, spool, "g", 1);
  {
    // The CLI's events are in the engagement lane.
    std::ofstream letters(spool + "/engagement/dead-letters.jsonl", std::ios::binary | std::ios::app);
    letters << R"({"at":"2026-11-27T10:00:00.000Z","messageId":"ok-1","reason":"bad total","event":{"messageId":"ok-1"}})"
            << "\n";
    for (int i = 0; i < 20; ++i) letters << "garbage line " << i << " {\n";
    letters << "\n";  // empty lines are not dead letters
  }
  RunResult r = inspect(spool, true);
  INFO(r.describe());
  REQUIRE(r.exit_code() == 0);
  CHECK(json_uint(r.out, "dead_letters") == 21);
  CHECK(json_uint(r.out, "damaged_lines") == 20);
  simdjson::dom::parser parser;
  simdjson::dom::array list;
  REQUIRE(!parser.parse(r.out)["dead_letter_list"].get_array().get(list));
  CHECK(list.size() == 21);
  std::uint64_t line = 0;
  std::string_view error;
  auto items = list.begin();
  ++items;  // the readable one first, then line 2 is the first damaged one
  REQUIRE(!(*items)["line"].get_uint64().get(line));
  REQUIRE(!(*items)["error"].get_string().get(error));
  CHECK(line == 2);
  CHECK(!error.empty());
}

TEST_CASE("a drain that drops events exits 1 and says how many and why") {
  TempDir dir;
  ClosedPort down;
  const std::string spool = dir.file("spool");
  leave_in_spool(down.url(), dir, spool, "old", 30);
  IngestServer server(dir.file("ingest.db"));
  // Every event is older than 1 ms by now: all expire instead of being sent.
  RunResult r = run_cli({"spool", "drain", spool, "--endpoint", server.url(), "--write-key", "wk", "--timeout", "10s",
                         "--progress", "none", "--max-event-age", "1ms"});
  INFO(r.describe());
  CHECK(r.exit_code() == 1);
  CHECK(json_uint(r.out, "delivered") == 0);
  CHECK(json_uint(r.out, "dropped") == 30);
  simdjson::dom::parser parser;
  std::uint64_t expired = 0;
  REQUIRE(!parser.parse(r.out)["dropped_by_reason"]["expired"].get_uint64().get(expired));
  CHECK(expired == 30);
  CHECK(r.err.find("30 events were dropped") != std::string::npos);
  CHECK(r.err.find("30 expired") != std::string::npos);
}

// `referkit track` reading a pipe that stays open, stopped by SIGTERM once `lines` are accepted.
struct Interrupted {
  ExitStatus exit;
  std::string out, err;
};
Interrupted track_then_sigterm(const std::vector<std::string>& args, const std::string& accepted_log,
                               const std::string& lines, std::size_t accepted_bytes) {
  Process cli = Process::start(kCli, args, no_proxy());
  REQUIRE(cli.write_stdin(lines));  // stdin stays open: only the signal can end the reading
  const auto deadline = Clock::now() + 20s;
  while (accepted_count(accepted_log) < accepted_bytes && cli.running() && Clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);  // polling a file the child appends to, bounded by the deadline
  }
  REQUIRE(accepted_count(accepted_log) == accepted_bytes);
  REQUIRE(cli.running());
  Interrupted r;
  r.exit = cli.terminate(30s);
  while (auto l = cli.read_line(1s)) r.out += *l;
  r.err = cli.stderr_text();
  return r;
}

TEST_CASE("SIGTERM during track: reading stops, what was accepted is delivered, the summary says so") {
  TempDir dir;
  IngestServer server(dir.file("ingest.db"));
  std::set<std::string> input;
  write_events(dir.file("e.jsonl"), "sig", 200, input);
  const std::string log = dir.file("accepted");
  std::vector<std::string> args = {"track", "--endpoint", server.url(), "--write-key", "wk", "--input", "-",
                                   "--progress", "none", "--accepted-log", log};
  const std::size_t line_bytes = message_id("sig", 0).size() + 1;
  Interrupted r = track_then_sigterm(args, log, read_file(dir.file("e.jsonl")), 200 * line_bytes);
  INFO(r.exit.describe() << "\n" << r.out << "\n" << r.err);
  CHECK(r.exit.exited);
  CHECK(r.exit.code == 128 + SIGTERM);
  CHECK(json_uint(r.out, "tracked") == 200);
  CHECK(json_uint(r.out, "delivered") == 200);
  CHECK(json_uint(r.out, "pending") == 0);
  CHECK(r.out.find("\"interrupted\":\"SIGTERM\"") != std::string::npos);
  CHECK(r.err.find("SIGTERM: stopped reading after line 200") != std::string::npos);
  CHECK(server.stop().success());
  CHECK(read_db(dir.file("ingest.db")).message_ids == input);
}

TEST_CASE("SIGTERM during track --spool with the endpoint down: the rest is kept in the spool and counted") {
  TempDir dir;
  ClosedPort down;
  const std::string spool = dir.file("spool");
  std::set<std::string> input;
  write_events(dir.file("e.jsonl"), "sigk", 150, input);
  const std::string log = dir.file("accepted");
  std::vector<std::string> args = {"track", "--endpoint", down.url(), "--write-key", "wk", "--input", "-",
                                   "--progress", "none", "--accepted-log", log, "--spool", spool,
                                   "--flush-timeout", "1s"};
  const std::size_t line_bytes = message_id("sigk", 0).size() + 1;
  Interrupted r = track_then_sigterm(args, log, read_file(dir.file("e.jsonl")), 150 * line_bytes);
  INFO(r.exit.describe() << "\n" << r.out << "\n" << r.err);
  CHECK(r.exit.exited);
  CHECK(r.exit.code == 128 + SIGTERM);
  CHECK(json_uint(r.out, "tracked") == 150);
  CHECK(json_uint(r.out, "delivered") == 0);
  CHECK(json_uint(r.out, "dropped") == 0);
  CHECK(json_uint(r.out, "kept_in_spool") == 150);
  CHECK(json_uint(inspect(spool).out, "pending_events") == 150);
}

TEST_CASE("SIGTERM during spool drain: it stops waiting, keeps the rest in the spool and prints the summary") {
  TempDir dir;
  ClosedPort down;
  const std::string spool = dir.file("spool");
  leave_in_spool(down.url(), dir, spool, "sigd", 40);
  Process cli = Process::start(kCli, {"spool", "drain", spool, "--endpoint", down.url(), "--write-key", "wk",
                                      "--timeout", "60s", "--progress", "json"},
                               no_proxy());
  // The progress line says the drain has the spool open and is waiting on the dead endpoint.
  const auto deadline = Clock::now() + 20s;
  while (cli.stderr_text().find("\"phase\":\"draining\"") == std::string::npos && Clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  REQUIRE(cli.stderr_text().find("\"phase\":\"draining\"") != std::string::npos);
  const auto signalled = Clock::now();
  ExitStatus exit = cli.terminate(30s);
  CHECK(Clock::now() - signalled < 10s);  // not the 60 s --timeout
  std::string out;
  while (auto l = cli.read_line(1s)) out += *l;
  INFO(exit.describe() << "\n" << out << "\n" << cli.stderr_text());
  CHECK(exit.exited);
  CHECK(exit.code == 128 + SIGTERM);
  CHECK(json_uint(out, "recovered") == 40);
  CHECK(json_uint(out, "remaining") == 40);
  CHECK(out.find("\"interrupted\":\"SIGTERM\"") != std::string::npos);
  CHECK(json_uint(inspect(spool).out, "pending_events") == 40);
}

TEST_CASE("a spool of a newer format version is refused with a clear message") {
  TempDir dir;
  ClosedPort down;
  const std::string spool = dir.file("spool");
  std::filesystem::create_directory(spool);
  ::chmod(spool.c_str(), 0700);
  {
    std::ofstream format(spool + "/FORMAT");
    format << "referkit-spool 99\n";
  }
  std::set<std::string> input;
  write_events(dir.file("e.jsonl"), "v", 10, input);
  for (const RunResult& r : {run_cli(track_args(down.url(), spool, dir.file("e.jsonl"))), inspect(spool),
                             run_cli({"spool", "drain", spool, "--endpoint", down.url(), "--write-key", "wk",
                                      "--timeout", "1s", "--progress", "none"})}) {
    INFO(r.describe());
    CHECK(r.exit_code() == 1);  // a runtime failure, not a usage error
    CHECK(r.out.find("\"error\"") != std::string::npos);
    CHECK(r.out.find("99") != std::string::npos);
    CHECK(r.out.find("version") != std::string::npos);
  }
  CHECK(read_file(spool + "/FORMAT") == "referkit-spool 99\n");  // left as it was
}

TEST_CASE("the spool is private to its owner, and a missing parent directory is an error at start") {
  TempDir dir;
  ClosedPort down;
  std::set<std::string> input;
  write_events(dir.file("e.jsonl"), "perm", 200, input);
  SUBCASE("0700 directory, 0600 files, whatever the umask") {
    const std::string spool = dir.file("spool");
    auto args = track_args(down.url(), spool, dir.file("e.jsonl"));
    args.insert(args.end(), {"--flush-timeout", "1s"});
    const mode_t saved = ::umask(0);  // the child inherits it: only the library's own modes count
    Process cli = Process::start(kCli, args, no_proxy());
    ::umask(saved);
    auto check_modes = [&](std::size_t at_least) {
      CHECK(mode_of(spool) == 0700);
      std::size_t files = 0;
      for (const auto& entry : std::filesystem::recursive_directory_iterator(spool)) {
        INFO(entry.path());
        if (entry.is_directory()) {
          CHECK(mode_of(entry.path()) == 0700);  // a lane's
        } else {
          CHECK(mode_of(entry.path()) == 0600);
          ++files;
        }
      }
      CHECK(files >= at_least);
    };
    // While it runs, in the engagement lane: FORMAT, spool.lock, its own <owner>.lock and a segment.
    std::uint64_t owners = 0;
    const auto deadline = Clock::now() + 20s;
    while (owners == 0 && cli.running() && Clock::now() < deadline) {
      RunResult r = inspect(spool);
      if (r.exit_code() == 0) owners = json_uint(r.out, "live_owners");
    }
    REQUIRE(owners == 1);
    check_modes(4);
    auto exit = cli.wait(30s);
    REQUIRE(exit);
    CHECK(exit->exited);
    CHECK(exit->code == kExitKeptInSpool);
    check_modes(2);  // FORMAT and the segment at least
  }
  SUBCASE("the parent does not exist") {
    const std::string spool = dir.file("no-such-parent") + "/spool";
    RunResult r = run_cli(track_args(down.url(), spool, dir.file("e.jsonl")));
    INFO(r.describe());
    CHECK(r.exit_code() == 1);
    CHECK(r.out.find("\"error\"") != std::string::npos);
    CHECK(r.out.find(dir.file("no-such-parent")) != std::string::npos);
    CHECK(!std::filesystem::exists(dir.file("no-such-parent")));
    RunResult i = inspect(spool);
    CHECK(i.exit_code() == 1);
    CHECK(i.out.find("not_found") != std::string::npos);
  }
}


TEST_CASE("spool drain works on a full disk: draining is how space is freed") {
  TempDir dir;
  SmallTmpfs fs(dir.file("small"), "24m");
  if (!fs.mounted()) {
    MESSAGE("cannot mount a tmpfs here (not root, or not allowed): the full-disk drain is not tested");
    return;
  }
  ClosedPort down;
  const std::string spool = dir.file("small") + "/spool";
  std::set<std::string> input;
  write_events(dir.file("e.jsonl"), "full", 10'000, input);
  RunResult t = run_cli([&] {
    auto a = track_args(down.url(), spool, dir.file("e.jsonl"), dir.file("e.accepted"));
    a.insert(a.end(), {"--flush-timeout", "200ms"});
    return a;
  }());
  INFO(t.describe());
  REQUIRE(t.exit_code() == kExitKeptInSpool);
  CHECK(fs.fill() > 0);
  CHECK(json_uint(inspect(spool).out, "pending_events") == 10'000);

  const std::string db = dir.file("ingest.db");  // outside the full file system
  IngestServer server(db);
  RunResult r = drain(server.url(), spool);
  INFO(r.describe());
  CHECK(r.exit_code() == 0);
  CHECK(json_uint(r.out, "delivered") == 10'000);
  CHECK(json_uint(r.out, "remaining") == 0);
  CHECK(server.stop().success());
  check_delivered(db, spool, input, accepted_ids(dir.file("e.accepted")));
}

TEST_CASE("a FIFO, a directory and symlinks named like segments: inspect and drain skip them, report them, and deliver the rest") {
  TempDir dir;
  ClosedPort down;
  const std::string spool = dir.file("spool");
  std::set<std::string> input;
  write_events(dir.file("e.jsonl"), "bad", 500, input);
  RunResult t = run_cli([&] {
    auto a = track_args(down.url(), spool, dir.file("e.jsonl"), dir.file("e.accepted"));
    a.insert(a.end(), {"--flush-timeout", "200ms"});
    return a;
  }());
  INFO(t.describe());
  REQUIRE(t.exit_code() == kExitKeptInSpool);
  const std::string lane = spool + "/engagement";  // the CLI's events
  REQUIRE(::mkfifo((lane + "/00000000000000ab-00000001.seg").c_str(), 0600) == 0);
  std::filesystem::create_directory(lane + "/00000000000000ac-00000001.seg");
  std::filesystem::create_symlink(lane + "/nothing", lane + "/00000000000000ad-00000001.seg");

  RunResult i = run_cli({"spool", "inspect", spool}, 20s);
  INFO(i.describe());
  CHECK_FALSE(i.timed_out);
  CHECK(i.exit_code() == 0);
  CHECK(json_uint(i.out, "pending_events") == 500);
  CHECK(i.out.find("FIFO") != std::string::npos);
  CHECK(i.out.find("directory") != std::string::npos);
  CHECK(i.out.find("symlink") != std::string::npos);

  const std::string db = dir.file("ingest.db");
  IngestServer server(db);
  RunResult r = run_cli({"spool", "drain", spool, "--endpoint", server.url(), "--write-key", "wk", "--timeout", "20s",
                         "--progress", "json"},
                        30s);
  INFO(r.describe());
  CHECK_FALSE(r.timed_out);
  CHECK(json_uint(r.out, "delivered") == 500);
  CHECK(json_uint(r.out, "skipped_entries") == 3);
  CHECK(server.stop().success());
  CHECK(read_db(db).rows == 500);
}

TEST_CASE("a live tracker's lock file deleted mid-run: spool drain leaves its segments, and every accepted event arrives once") {
  TempDir dir;
  ClosedPort down;
  const std::string spool = dir.file("spool");
  const std::string db = dir.file("ingest.db");
  std::set<std::string> input;
  write_events(dir.file("e.jsonl"), "live", 4'000, input);
  const std::string lines = read_file(dir.file("e.jsonl"));
  std::size_t half = 0;
  for (int i = 0; i < 2'000; ++i) half = lines.find('\n', half) + 1;
  const std::string accepted_log = dir.file("e.accepted");
  auto args = track_args(down.url(), spool, "-", accepted_log);
  args.insert(args.end(), {"--flush-timeout", "60s"});
  Process cli = Process::start(kCli, args, no_proxy());
  const auto wait_accepted = [&](std::size_t n) {
    const auto deadline = Clock::now() + 20s;
    while (accepted_ids(accepted_log).size() < n && cli.running() && Clock::now() < deadline) {
      std::this_thread::sleep_for(1ms);  // polling a condition with a deadline
    }
    return accepted_ids(accepted_log).size();
  };
  REQUIRE(cli.write_stdin(lines.substr(0, half)));
  REQUIRE(wait_accepted(2'000) == 2'000);
  // A tmp cleaner deletes the live tracker's lock file.
  for (const auto& e : std::filesystem::directory_iterator(spool)) {
    if (e.path().extension() == ".lock" && e.path().filename() != "spool.lock") std::filesystem::remove(e.path());
  }
  IngestServer server(db);
  RunResult first = run_cli({"spool", "drain", spool, "--endpoint", server.url(), "--write-key", "wk", "--timeout", "5s",
                             "--progress", "none"},
                            30s);
  INFO(first.describe());
  CHECK(json_uint(first.out, "recovered") == 0);  // the live tracker's segments are not taken
  // The tracker goes on, then dies by kill -9.
  REQUIRE(cli.write_stdin(lines.substr(half)));
  REQUIRE(wait_accepted(4'000) == 4'000);
  cli.kill();
  RunResult second = drain(server.url(), spool);
  INFO(second.describe());
  CHECK(second.exit_code() == 0);
  CHECK(server.stop().success());
  check_delivered(db, spool, input, accepted_ids(accepted_log));
  CHECK(read_db(db).rows == 4'000);
}

}  // TEST_SUITE

TEST_SUITE("cli") {

TEST_CASE("track --pause-lane engagement keeps that lane's events in the spool while conversions go, and inspect shows the lanes") {
  TempDir dir;
  const std::string db = dir.file("events.db");
  const std::string spool = dir.file("spool");
  std::set<std::string> clicks;
  std::set<std::string> orders;
  write_events(dir.file("clicks.jsonl"), "click", 40, clicks);
  write_events(dir.file("orders.jsonl"), "order", 7, orders);
  IngestServer server(db);
  // The clicks with their lane paused: accepted, kept, not sent (exit 3: kept in the spool).
  RunResult paused = run_cli([&] {
    auto a = track_args(server.url(), spool, dir.file("clicks.jsonl"));
    a.insert(a.end(), {"--pause-lane", "engagement", "--flush-timeout", "2s"});
    return a;
  }());
  INFO(paused.describe());
  CHECK(paused.exit_code() == kExitKeptInSpool);
  // The orders in their own lane flow as usual.
  RunResult flowing = run_cli([&] {
    auto a = track_args(server.url(), spool, dir.file("orders.jsonl"));
    a.insert(a.end(), {"--lane", "conversions", "--pause-lane", "engagement"});
    return a;
  }());
  INFO(flowing.describe());
  CHECK(flowing.exit_code() == kExitKeptInSpool);  // the clicks still wait
  CHECK(json_uint(flowing.out, "delivered") == 7);
  RunResult i = inspect(spool);
  INFO(i.describe());
  CHECK(json_uint(i.out, "pending_events") == 40);
  CHECK(i.out.find(R"("engagement":{"pending_events":40)") != std::string::npos);
  CHECK(i.out.find(R"("conversions":{"pending_events":0)") != std::string::npos);
  CHECK(stat(server.port(), "events_stored") == 7);
  // Resumed: a drain delivers the clicks.
  RunResult r = drain(server.url(), spool);
  INFO(r.describe());
  CHECK(r.exit_code() == 0);
  CHECK(json_uint(r.out, "delivered") == 40);
  CHECK(stat(server.port(), "events_stored") == 47);
  CHECK(server.stop().success());
}

}  // TEST_SUITE
