// `referkit serve` as a real process between clients and a real referkit-ingest, on 127.0.0.1
// with free ports (and a Unix socket): the intake contract (auth, limits, per-event rejections,
// Segment's single-event paths), backpressure when the endpoint is down, /metrics and /healthz,
// exposure rules and SIGTERM. Segment's own Node SDK drives it in tests/interop.
#include <doctest/doctest.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "ingest_support.hpp"
#include "referkit/time.hpp"
#include "referkit/webhooks.hpp"
#include "support/json_field.hpp"
#include "support/loopback.hpp"
#include "support/thread_nice.hpp"
#include "transport/gzip.hpp"

using namespace referkit;
using namespace referkit::test;
using namespace referkit::test::ingest;
using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

namespace {

constexpr const char* kAcceptKey = "app-key";

// `referkit serve` on 127.0.0.1:0 (or `listen`), forwarding to `endpoint` with the upstream
// key "wk" (the IngestServer's), accepting kAcceptKey.
class Agent {
 public:
  Agent(const std::string& spool, const std::string& endpoint, const std::vector<std::string>& extra = {},
        const std::string& listen = "127.0.0.1:0")
      : process_(Process::start(REFERKIT_CLI_PATH, [&] {
          std::vector<std::string> args = {"serve", "--listen", listen, "--spool", spool, "--endpoint", endpoint,
                                           "--write-key", "wk", "--accept-key", kAcceptKey, "--max-backoff", "500ms"};
          args.insert(args.end(), extra.begin(), extra.end());
          return args;
        }())) {
    const auto line = process_.read_line(15s);
    REQUIRE_MESSAGE(line.has_value(), "referkit serve printed nothing; stderr: " << process_.stderr_text());
    REQUIRE_MESSAGE(line->rfind("listening on ", 0) == 0, "first line: " << *line);
    url_ = line->substr(std::string_view("listening on ").size());
    constexpr std::string_view http = "http://127.0.0.1:";
    if (url_.rfind(http, 0) == 0) port_ = static_cast<std::uint16_t>(std::stoul(url_.substr(http.size())));
  }
  const std::string& url() const { return url_; }
  std::uint16_t port() const { return port_; }
  Process& process() { return process_; }

 private:
  Process process_;
  std::string url_;
  std::uint16_t port_ = 0;
};

std::string request(std::string_view method, std::string_view path, std::string_view body,
                    const std::string& key = kAcceptKey, std::string_view extra_headers = "") {
  std::string r = std::string(method) + " " + std::string(path) + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  if (!key.empty()) r += "Authorization: " + basic_auth(key) + "\r\n";
  r += std::string(extra_headers);
  r += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  r += body;
  return r;
}

RawReply post(std::uint16_t port, std::string_view path, std::string_view body, const std::string& key = kAcceptKey) {
  return raw_exchange(port, request("POST", path, body, key));
}

std::vector<std::string> events(std::string_view prefix, int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back(track_json(std::string(prefix) + std::to_string(i)));
  return out;
}

// A metric's value from GET /metrics ("name" or "name{label=\"v\"}").
double metric(std::uint16_t port, std::string_view sample) {
  const std::string text = http_get(port, "/metrics");
  const std::string needle = "\n" + std::string(sample) + " ";
  const auto at = text.find(needle);
  REQUIRE_MESSAGE(at != std::string::npos, "no " << sample << " in\n" << text);
  return std::strtod(text.c_str() + at + needle.size(), nullptr);
}

// Polls `done` every 20 ms until it holds or `timeout` passes: for what another process does in
// its own time (delivery with retries). Never a fixed sleep standing in for a condition.
template <typename Condition>
bool eventually(Condition done, std::chrono::milliseconds timeout) {
  const auto deadline = SteadyClock::now() + timeout;
  while (!done()) {
    if (SteadyClock::now() >= deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

// One request over a Unix socket; the whole reply (the agent closes after it: Connection: close).
std::string unix_exchange(const std::string& path, const std::string& bytes) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  REQUIRE(path.size() < sizeof addr.sun_path);
  std::copy(path.begin(), path.end(), addr.sun_path);
  REQUIRE(::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size()));
  std::string in;
  char buffer[4096];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 10'000) <= 0) break;
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    in.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return in;
}

}  // namespace

TEST_CASE("sidecar: a wrong key gets 401 and an oversized body 413 and malformed JSON 400 and nothing is spooled") {
  TempDir dir;
  IngestServer ingest(dir.file("ingest.db"));
  Agent agent(dir.file("spool"), ingest.url());
  const std::string body = batch_json(events("auth-", 2));

  const RawReply wrong = post(agent.port(), "/v1/batch", body, "not-the-key");
  CHECK(wrong.status == 401);
  CHECK(wrong.head.find("WWW-Authenticate: Basic") != std::string::npos);
  const RawReply none = raw_exchange(agent.port(), request("POST", "/v1/batch", body, ""));
  CHECK(none.status == 401);
  // The upstream write key is not a local credential once accept keys are given.
  CHECK(post(agent.port(), "/v1/batch", body, "wk").status == 401);

  // Refused from its Content-Length, before the body is read (none is sent here).
  const std::string head = "POST /v1/batch HTTP/1.1\r\nHost: x\r\nAuthorization: " + basic_auth(kAcceptKey) +
                           "\r\nContent-Length: 600000\r\n\r\n";
  CHECK(raw_exchange(agent.port(), head).status == 413);
  // Over Segment's 500 KB once inflated: refused too, however small the gzip.
  const std::string inflated_big = batch_json({track_json("big", "E")}) + std::string(600'000, ' ');
  const std::string gz = detail::gzip_compress(inflated_big, 6);
  const RawReply bomb = raw_exchange(agent.port(), request("POST", "/v1/batch", gz, kAcceptKey, "Content-Encoding: gzip\r\n"));
  CHECK(bomb.status == 413);

  CHECK(post(agent.port(), "/v1/batch", R"({"batch":[)").status == 400);
  CHECK(post(agent.port(), "/v1/batch", R"({"events":[]})").status == 400);
  CHECK(post(agent.port(), "/v1/track", R"(["not an object"])").status == 400);
  CHECK(post(agent.port(), "/v1/identify", R"({"type":"track","event":"E","userId":"u"})").status == 400);

  CHECK(metric(agent.port(), "referkit_intake_refused_total{status=\"401\"}") == 3);
  // The 413 from Content-Length is the HTTP layer's, before the intake sees the request.
  CHECK(metric(agent.port(), "referkit_intake_refused_total{status=\"4xx\"}") == 5);
  CHECK(metric(agent.port(), "referkit_lane_tracked_total{lane=\"conversions\"}") == 0);
  CHECK(metric(agent.port(), "referkit_lane_tracked_total{lane=\"engagement\"}") == 0);
}

TEST_CASE("sidecar: batches and Segment's single-event paths reach the ingest API with rejections reported per event") {
  TempDir dir;
  IngestServer ingest(dir.file("ingest.db"));
  Agent agent(dir.file("spool"), ingest.url(), {"--durable-ack"});

  std::vector<std::string> batch = events("ok-", 3);
  batch.push_back(R"({"type":"track","event":"E","messageId":"no-user"})");
  batch.push_back(R"({"type":"group","userId":"u","messageId":"no-group-id"})");
  const RawReply r = post(agent.port(), "/v1/batch", batch_json(batch));
  REQUIRE(r.status == 200);
  CHECK(json_uint(r.body, "accepted") == 3);
  // As referkit-ingest reports them: {"messageId","reason"} each.
  CHECK(r.body.find(R"({"messageId":"no-user","reason":"missing userId and anonymousId: at least one is required"})") !=
        std::string::npos);
  CHECK(r.body.find(R"({"messageId":"no-group-id","reason":"groupId is required for a group event"})") !=
        std::string::npos);

  // gzip, and the write key in the body instead of Basic credentials (Segment's newer SDKs).
  const std::string gz = detail::gzip_compress(
      R"({"writeKey":"app-key","batch":[)" + track_json("gz-1") + "]}", 6);
  CHECK(raw_exchange(agent.port(), request("POST", "/v1/batch", gz, "", "Content-Encoding: gzip\r\n")).status == 200);

  // The single-event paths: the type comes from the path when the body has none.
  CHECK(post(agent.port(), "/v1/track", R"({"event":"Referral Link Shared","userId":"u","messageId":"single-track"})").status == 200);
  CHECK(post(agent.port(), "/v1/identify", R"({"userId":"u","traits":{"plan":"pro"},"messageId":"single-identify"})").status == 200);
  CHECK(post(agent.port(), "/v1/page", R"({"name":"Home","anonymousId":"a","messageId":"single-page"})").status == 200);
  CHECK(post(agent.port(), "/v1/screen", R"({"type":"screen","name":"Cart","userId":"u","messageId":"single-screen"})").status == 200);
  CHECK(post(agent.port(), "/v1/group", R"({"groupId":"g","userId":"u","messageId":"single-group"})").status == 200);
  CHECK(post(agent.port(), "/v1/alias", R"({"userId":"u","previousId":"anon","messageId":"single-alias"})").status == 200);

  const std::set<std::string> expected = {"ok-0", "ok-1", "ok-2", "gz-1", "single-track", "single-identify",
                                          "single-page", "single-screen", "single-group", "single-alias"};
  REQUIRE(eventually([&] { return stat(ingest.port(), "events_stored") >= expected.size(); }, 20s));
  CHECK(agent.process().terminate(20s).success());
  CHECK(ingest.stop().success());
  const DbContents db = read_db(dir.file("ingest.db"));
  CHECK(db.message_ids == expected);
}

TEST_CASE("sidecar: with the endpoint down it acknowledges until the spool budget is full then answers 429 and all arrive later") {
  TempDir dir;
  std::optional<ClosedPort> down;  // refuses every connection until the ingest server takes its port
  down.emplace();
  const std::string endpoint = down->url();
  const std::uint16_t port = down->port();
  Agent agent(dir.file("spool"), endpoint,
              {"--max-spool-bytes", "131072", "--spool-segment-bytes", "65536", "--retry-after", "7"});

  std::set<std::string> acknowledged;
  RawReply last;
  int batches = 0;
  for (; batches < 200; ++batches) {
    const std::string prefix = "down-" + std::to_string(batches) + "-";
    last = post(agent.port(), "/v1/batch", batch_json(events(prefix, 20)));
    if (last.status != 200) break;
    for (int i = 0; i < 20; ++i) acknowledged.insert(prefix + std::to_string(i));
  }
  REQUIRE(last.status == 429);  // within 200 batches of ~300-byte events: the 128 KiB budget is hit
  CHECK(last.head.find("Retry-After: 7") != std::string::npos);
  CHECK(acknowledged.size() >= 100);
  CHECK(metric(agent.port(), "referkit_intake_refused_total{status=\"429\"}") >= 1);
  CHECK(metric(agent.port(), "referkit_lane_acknowledged_total{lane=\"conversions\"}") == 0);
  CHECK(metric(agent.port(), "referkit_lane_seconds_since_last_success{lane=\"conversions\"}") == -1);

  // The endpoint returns on the same port: everything acknowledged is delivered.
  down.reset();
  IngestServer ingest(dir.file("ingest.db"), {"--listen", "127.0.0.1:" + std::to_string(port)});
  REQUIRE(eventually([&] { return stat(ingest.port(), "events_stored") >= acknowledged.size(); }, 60s));
  // Room again: intake acknowledges once more.
  REQUIRE(eventually([&] { return post(agent.port(), "/v1/batch", batch_json(events("after-", 5))).status == 200; }, 30s));
  CHECK(metric(agent.port(), "referkit_lane_seconds_since_last_success{lane=\"conversions\"}") >= 0);
  CHECK(agent.process().terminate(20s).success());
  CHECK(ingest.stop().success());
  const DbContents db = read_db(dir.file("ingest.db"));
  for (const std::string& id : acknowledged) {
    if (db.message_ids.count(id) == 0) FAIL_CHECK("acknowledged but not delivered: " << id);
  }
  CHECK(db.rows == db.message_ids.size());
}

TEST_CASE("sidecar: SIGTERM exits 0 and keeps what it could not deliver in the spool for the next run") {
  TempDir dir;
  ClosedPort down;
  {
    Agent agent(dir.file("spool"), down.url(), {"--shutdown-timeout", "1s"});
    REQUIRE(post(agent.port(), "/v1/batch", batch_json(events("kept-", 10))).status == 200);
    const ExitStatus stopped = agent.process().terminate(20s);
    CHECK(stopped.success());
    // The output pipes are drained by a thread of the test's: the last line may land just after the exit.
    CHECK_MESSAGE(eventually([&] { return agent.process().stderr_text().find("10 kept in the spool") != std::string::npos; }, 5s),
                  agent.process().stderr_text());
  }
  IngestServer ingest(dir.file("ingest.db"));
  Agent again(dir.file("spool"), ingest.url());
  REQUIRE(eventually([&] { return stat(ingest.port(), "events_stored") >= 10; }, 30s));
  CHECK(metric(again.port(), "referkit_recovered_events") == 10);
}

TEST_CASE("sidecar: --background-nice nices the delivery threads, not the process's intake") {
  TempDir dir;
  IngestServer ingest(dir.file("ingest.db"));
  Agent agent(dir.file("spool"), ingest.url(), {"--background-nice", "11"});
  REQUIRE(post(agent.port(), "/v1/batch", batch_json(events("niced-", 3))).status == 200);
  REQUIRE(eventually([&] { return stat(ingest.port(), "events_stored") >= 3; }, 30s));
  std::multiset<std::string> niced;
  int main_thread_nice = -1;
  for (const auto& thread : referkit::test::threads_with_nice(agent.process().pid())) {
    if (thread.name.rfind("rk-", 0) == 0) {
      INFO(thread.name);
      CHECK(thread.nice == 11);
      niced.insert(thread.name);
    } else if (thread.tid == agent.process().pid()) {
      main_thread_nice = thread.nice;  // the main thread (and the HTTP workers) keep the process's value
    }
  }
  CHECK(niced.count("rk-worker") == 1);
  CHECK(niced.count("rk-commit") == 2);
  CHECK(main_thread_nice == getpriority(PRIO_PROCESS, 0));  // inherited from this test
  CHECK(agent.process().terminate(20s).success());
}

TEST_CASE("sidecar: a Unix socket with mode 0660 serves intake and /healthz and /metrics") {
  TempDir dir;
  IngestServer ingest(dir.file("ingest.db"));
  const std::string path = dir.file("agent.sock");
  Agent agent(dir.file("spool"), ingest.url(), {}, "unix:" + path);
  CHECK(agent.url() == "unix:" + path);
  struct stat st{};
  REQUIRE(::lstat(path.c_str(), &st) == 0);
  CHECK(S_ISSOCK(st.st_mode));
  CHECK((st.st_mode & 0777) == 0660);

  // A second agent must not take a live socket away from the first.
  const RunResult second = run_process(REFERKIT_CLI_PATH, {"serve", "--listen", "unix:" + path, "--spool", dir.file("spool2"),
                                                           "--endpoint", ingest.url(), "--write-key", "wk"});
  CHECK(second.exit_code() == 1);
  CHECK(second.out.find("in use") != std::string::npos);

  const std::string reply = unix_exchange(path, request("POST", "/v1/batch", batch_json(events("unix-", 4))));
  CHECK(reply.rfind("HTTP/1.1 200 ", 0) == 0);
  CHECK(unix_exchange(path, request("GET", "/healthz", "", "")).find("\r\n\r\nok\n") != std::string::npos);
  const std::string metrics = unix_exchange(path, request("GET", "/metrics", "", ""));
  CHECK(metrics.find("# TYPE referkit_lane_spool_bytes gauge") != std::string::npos);
  CHECK(metrics.find("referkit_intake_events_accepted_total 4") != std::string::npos);
  REQUIRE(eventually([&] { return stat(ingest.port(), "events_stored") >= 4; }, 20s));
  CHECK(agent.process().terminate(20s).success());
  CHECK(::access(path.c_str(), F_OK) != 0);  // removed on the way out
}

TEST_CASE("sidecar: listening beyond loopback needs --allow-non-loopback and then warns") {
  TempDir dir;
  const RunResult refused = run_process(REFERKIT_CLI_PATH, {"serve", "--listen", "0.0.0.0:0", "--spool", dir.file("spool"),
                                                            "--endpoint", "http://127.0.0.1:9", "--write-key", "wk"});
  CHECK(refused.exit_code() == 2);
  CHECK(refused.out.find("--allow-non-loopback") != std::string::npos);

  Agent agent(dir.file("spool"), "http://127.0.0.1:9", {"--allow-non-loopback"}, "0.0.0.0:0");
  CHECK(agent.url().rfind("http://0.0.0.0:", 0) == 0);
  CHECK(eventually([&] { return agent.process().stderr_text().find("WARNING") != std::string::npos; }, 5s));
}

TEST_CASE("sidecar: with --keys it mints and verifies links and checks webhook signatures like the CLI") {
  TempDir dir;
  const std::string keys = dir.file("keys");
  {
    std::ofstream(keys) << "k1:" << std::string(64, 'a') << "\n";
  }
  const std::string secret = "whsec-0123456789abcdef";
  Agent agent(dir.file("spool"), "http://127.0.0.1:9",
              {"--keys", keys, "--base-url", "https://refer.shop.test", "--webhook-secret", secret});

  const RawReply minted = post(agent.port(), "/v1/links",
                               R"({"campaign":"spring","referrer":"cust-42","name":"Ada","ttl":"30d","utm":{"source":"email"}})", "");
  REQUIRE(minted.status == 200);
  const Json link = parse_json(minted.body);
  const std::string url = json_str(link, "/url");
  CHECK(url.rfind("https://refer.shop.test/r/", 0) == 0);
  CHECK(url.find("utm_source=email") != std::string::npos);
  // The CLI mints the very same link from the same inputs and issue time.
  const RunResult cli = run_process(REFERKIT_CLI_PATH, {"link", "create", "--keys", keys, "--base-url", "https://refer.shop.test",
                                                        "--campaign", "spring", "--referrer", "cust-42", "--name", "Ada",
                                                        "--issued-at", json_str(link, "/issued_at"), "--ttl", "30d", "--utm", "source=email"});
  REQUIRE(cli.exit_code() == 0);
  CHECK(json_str(json_line(cli), "/url") == url);

  const RawReply verified = post(agent.port(), "/v1/links/verify", R"({"link":")" + url + R"("})", "");
  CHECK(verified.status == 200);
  CHECK(json_str(parse_json(verified.body), "/campaign") == "spring");
  const RawReply code = post(agent.port(), "/v1/links/verify", R"({"link":")" + json_str(link, "/share_code") + R"("})", "");
  CHECK(code.status == 200);
  const RawReply forged = post(agent.port(), "/v1/links/verify", R"({"link":"https://refer.shop.test/r/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"})", "");
  CHECK(forged.status == 422);
  CHECK(json_has(parse_json(forged.body), "/error"));
  CHECK(post(agent.port(), "/v1/links", R"({"campaign":"spring","referrer":"x","ttl":"soon"})", "").status == 400);

  const std::string hook = R"({"type":"reward.issued","id":"evt_1"})";
  const std::int64_t t = std::chrono::duration_cast<std::chrono::seconds>(now_ms().time_since_epoch()).count();
  const std::string good = "X-Referkit-Signature: " + sign_payload(secret, t, hook) + "\r\n";
  CHECK(raw_exchange(agent.port(), request("POST", "/v1/webhooks/verify", hook, "", good)).status == 200);
  const RawReply bad = raw_exchange(agent.port(), request("POST", "/v1/webhooks/verify", hook + " ", "", good));
  CHECK(bad.status == 422);
  CHECK(bad.body.find("bad_signature") != std::string::npos);
}

TEST_CASE("sidecar: without --keys the links and webhook paths do not exist") {
  TempDir dir;
  Agent agent(dir.file("spool"), "http://127.0.0.1:9");
  CHECK(post(agent.port(), "/v1/links", R"({"campaign":"c","referrer":"r"})").status == 404);
  CHECK(post(agent.port(), "/v1/webhooks/verify", "{}").status == 404);
}
