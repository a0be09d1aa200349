// referkit-ingest as a real process on 127.0.0.1: the batch contract (auth, encodings, limits,
// signatures, per-event rejections, dedup by messageId), hostile input, fault injection, and a
// clean shutdown that leaves a consistent database.
#include <doctest/doctest.h>
#include <sqlite3.h>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <memory>
#include <system_error>
#include <thread>

#include "ingest_support.hpp"
#include "referkit/time.hpp"
#include "referkit/webhooks.hpp"
#include "transport/gzip.hpp"

using namespace referkit;
using namespace referkit::test::ingest;
using SteadyClock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

std::vector<std::string> events(std::string_view prefix, int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back(track_json(std::string(prefix) + std::to_string(i)));
  return out;
}

// C++17 has no designated initializers: small builders instead.
PostOptions gzipped() {
  PostOptions o;
  o.gzip = true;
  return o;
}
PostOptions with_key(std::string key) {
  PostOptions o;
  o.write_key = std::move(key);
  return o;
}
PostOptions with_headers(HttpHeaders headers) {
  PostOptions o;
  o.extra_headers = std::move(headers);
  return o;
}

void check_clean_exit(IngestServer& server) {
  const test::ExitStatus status = server.stop();
  CHECK_MESSAGE(status.success(), status.describe() << "\n" << server.process().stderr_text());
}

}  // namespace

TEST_SUITE("ingest") {

TEST_CASE("stores a batch and counts its redelivery as duplicates by messageId") {
  TempDir dir;
  IngestServer server(dir.file("events.db"));
  const std::string body = batch_json(events("dedup-", 3));

  HttpResponse first = post_batch(server.url(), body);
  REQUIRE(first.status.ok());
  CHECK(first.code == 200);
  CHECK(first.body == R"({"accepted":3,"duplicates":0,"rejected":[]})");

  HttpResponse again = post_batch(server.url(), body, gzipped());  // same events, other encoding
  CHECK(again.code == 200);
  CHECK(again.body == R"({"accepted":0,"duplicates":3,"rejected":[]})");

  CHECK(stat(server.port(), "events_stored") == 3);
  CHECK(stat(server.port(), "duplicates") == 3);
  CHECK(stat(server.port(), "batches") == 2);
  CHECK(stat_by_event(server.port(), "Order Completed") == 3);

  check_clean_exit(server);
  const DbContents db = read_db(dir.file("events.db"));
  CHECK(db.integrity_ok);
  CHECK(db.rows == 3);
  CHECK(db.message_ids == std::set<std::string>{"dedup-0", "dedup-1", "dedup-2"});
}

TEST_CASE("keeps the event's original JSON text with its numbers as sent") {
  TempDir dir;
  IngestServer server(dir.file("events.db"));
  const std::string event =
      R"({"type":"track","event":"Order Completed","messageId":"exact-1","userId":"u1","properties":{"total":10.50,"big":123456789012345678.25}})";
  REQUIRE(post_batch(server.url(), batch_json({event})).code == 200);
  check_clean_exit(server);
  // Read the row back: "10.50" must not have become 10.5.
  const DbContents db = read_db(dir.file("events.db"));
  REQUIRE(db.rows == 1);
  // read_db only lists ids; the text check goes through the page-free route: open and compare.
  sqlite3* handle = nullptr;
  REQUIRE(sqlite3_open_v2(dir.file("events.db").c_str(), &handle, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  REQUIRE(sqlite3_prepare_v2(handle, "SELECT json, type, event, user_id, anonymous_id FROM events", -1, &s, nullptr) ==
          SQLITE_OK);
  REQUIRE(sqlite3_step(s) == SQLITE_ROW);
  CHECK(std::string(reinterpret_cast<const char*>(sqlite3_column_text(s, 0))) == event);
  CHECK(std::string(reinterpret_cast<const char*>(sqlite3_column_text(s, 1))) == "track");
  CHECK(std::string(reinterpret_cast<const char*>(sqlite3_column_text(s, 2))) == "Order Completed");
  CHECK(std::string(reinterpret_cast<const char*>(sqlite3_column_text(s, 3))) == "u1");
  CHECK(sqlite3_column_type(s, 4) == SQLITE_NULL);
  sqlite3_finalize(s);
  sqlite3_close(handle);
}

TEST_CASE("refuses missing or wrong credentials with 401 and a reason and accepts every configured key") {
  TempDir dir;
  IngestServer server(dir.file("events.db"), {"--write-key", "second-key"});
  const std::string body = batch_json(events("auth-", 1));

  HttpResponse wrong = post_batch(server.url(), body, with_key("not-a-key"));
  CHECK(wrong.code == 401);
  CHECK(wrong.body.find("unknown write key") != std::string::npos);

  PostOptions bearer = with_headers({{"Authorization", "Bearer x"}});
  bearer.write_key.clear();  // no Basic credentials at all
  HttpResponse none = post_batch(server.url(), body, bearer);
  CHECK(none.code == 401);
  CHECK(none.body.find("\"reason\"") != std::string::npos);

  CHECK(post_batch(server.url(), body, with_key("second-key")).code == 200);
  CHECK(post_batch(server.url(), body, with_key("wk")).code == 200);

  // Segment's newer SDKs: no Authorization header, "writeKey" in the body.
  PostOptions keyless;
  keyless.write_key.clear();
  const std::string with_body_key = R"({"writeKey":"wk",)" + batch_json(events("body-key-", 1)).substr(1);
  CHECK(post_batch(server.url(), with_body_key, keyless).code == 200);
  const std::string wrong_body_key = R"({"writeKey":"nope",)" + batch_json(events("body-key-", 1)).substr(1);
  HttpResponse wrong_in_body = post_batch(server.url(), wrong_body_key, keyless);
  CHECK(wrong_in_body.code == 401);
  CHECK(post_batch(server.url(), body, keyless).code == 401);  // no key anywhere
  CHECK(stat(server.port(), "auth_failures") == 4);
  CHECK(stat(server.port(), "events_stored") == 2);
  check_clean_exit(server);
}

TEST_CASE("credentials are checked before faults are injected") {
  TempDir dir;
  IngestServer server(dir.file("events.db"), {"--fail-rate", "1"});
  PostOptions keyless;
  keyless.write_key.clear();
  CHECK(post_batch(server.url(), batch_json(events("f-", 1)), keyless).code == 401);
  CHECK(post_batch(server.url(), batch_json(events("f-", 1)), with_key("nope")).code == 401);
  CHECK(post_batch(server.url(), batch_json(events("f-", 1))).code == 503);
  CHECK(stat(server.port(), "faults_injected") == 1);
  check_clean_exit(server);
}

TEST_CASE("checks X-Referkit-Signature over the body as sent when a secret is set") {
  TempDir dir;
  const std::string secret = "ingest-test-secret-0123456789";
  IngestServer server(dir.file("events.db"), {"--signing-secret", secret});
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(now_ms().time_since_epoch()).count();
  const std::string body = batch_json(events("sig-", 2));

  // Good, over the gzipped bytes: the tracker signs what it sends.
  const std::string gzipped = detail::gzip_compress(body, 6);
  HttpResponse good = post_batch(server.url(), gzipped,
                                 with_headers({{"Content-Encoding", "gzip"},
                                                    {"X-Referkit-Signature", sign_payload(secret, now, gzipped)}}));
  CHECK(good.code == 200);
  CHECK(good.body.find(R"("accepted":2)") != std::string::npos);

  HttpResponse bad = post_batch(server.url(), body,
                                with_headers({{"X-Referkit-Signature", sign_payload("another-secret-0123456789", now, body)}}));
  CHECK(bad.code == 401);
  CHECK(bad.body.find("bad signature") != std::string::npos);

  HttpResponse stale = post_batch(server.url(), body,
                                  with_headers({{"X-Referkit-Signature", sign_payload(secret, now - 3600, body)}}));
  CHECK(stale.code == 401);
  CHECK(stale.body.find("stale signature") != std::string::npos);

  HttpResponse tampered = post_batch(server.url(), body + " ",
                                     with_headers({{"X-Referkit-Signature", sign_payload(secret, now, body)}}));
  CHECK(tampered.code == 401);

  HttpResponse missing = post_batch(server.url(), body);
  CHECK(missing.code == 401);
  CHECK(missing.body.find("missing signature") != std::string::npos);

  CHECK(stat(server.port(), "events_stored") == 2);
  check_clean_exit(server);
}

TEST_CASE("malformed batches get 400 with a reason and the server stays up") {
  TempDir dir;
  IngestServer server(dir.file("events.db"));
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{\"batch\":[", "malformed JSON"},
      {"not json at all", "malformed JSON"},
      {"[1,2,3]", "not a JSON object"},
      {R"({"events":[]})", "array in the body"},
      {R"({"batch":{}})", "not an array"},
      {"{\"batch\":[\"\xff\"]}", "malformed JSON"},
      {"", "malformed JSON"},
  };
  for (const auto& [body, reason] : cases) {
    HttpResponse r = post_batch(server.url(), body);
    CHECK_MESSAGE(r.code == 400, body);
    CHECK_MESSAGE(r.body.find(reason) != std::string::npos, body << " -> " << r.body);
  }
  // More than 2,500 events: refused whole.
  std::vector<std::string> many(2'501, track_json("same-id"));
  HttpResponse too_many = post_batch(server.url(), batch_json(many), gzipped());
  CHECK(too_many.code == 400);
  CHECK(too_many.body.find("at most 2500") != std::string::npos);

  CHECK(post_batch(server.url(), batch_json(events("after-", 2))).code == 200);
  CHECK(stat(server.port(), "events_stored") == 2);
  CHECK(stat(server.port(), "bad_requests") == cases.size() + 1);
  check_clean_exit(server);
}

TEST_CASE("lists per-event rejections with reasons and stores the rest") {
  TempDir dir;
  IngestServer server(dir.file("events.db"));
  const std::string huge_property(33 * 1024, 'x');
  const std::vector<std::string> batch = {
      track_json("ok-1"),
      R"({"type":"track","event":"Order Completed","anonymousId":"a"})",                          // no messageId
      R"({"type":"track","event":"X","messageId":"no-user"})",                                     // no user
      R"({"type":"delete","event":"X","messageId":"bad-type","userId":"u"})",                      // unknown type
      R"({"event":"X","messageId":"no-type","userId":"u"})",                                       // no type
      R"({"type":"track","event":"X","messageId":"","userId":"u"})",                               // empty id
      R"({"type":"track","event":"X","messageId":")" + std::string(101, 'i') + R"(","userId":"u"})",  // id too long
      R"({"type":"track","event":"X","messageId":"big","userId":"u","properties":{"p":")" + huge_property + R"("}})",
      R"({"type":"track","messageId":"no-name","userId":"u"})",                                    // track without event
      R"({"type":"identify","messageId":"ident-1","userId":"u","traits":{"plan":"pro"}})",         // fine
      R"(42)",
  };
  HttpResponse r = post_batch(server.url(), batch_json(batch), gzipped());
  REQUIRE(r.code == 200);
  CHECK(r.body.find(R"("accepted":2,"duplicates":0)") != std::string::npos);
  for (const char* expected : {R"({"messageId":"","reason":"missing messageId"})",
                               R"({"messageId":"no-user","reason":"missing userId and anonymousId)",
                               R"({"messageId":"bad-type","reason":"type must be one of)",
                               R"({"messageId":"no-type","reason":"missing type"})",
                               R"({"messageId":"","reason":"messageId must be a string of 1-100 characters"})",
                               R"({"messageId":"big","reason":"event is )",
                               R"({"messageId":"no-name","reason":"track requires an event name"})",
                               R"({"messageId":"","reason":"event is not a JSON object"})"}) {
    CHECK_MESSAGE(r.body.find(expected) != std::string::npos, expected << " in " << r.body);
  }
  CHECK(stat(server.port(), "rejected") == 9);
  CHECK(stat(server.port(), "events_stored") == 2);
  check_clean_exit(server);
}

TEST_CASE("an unsupported Content-Encoding gets 415") {
  TempDir dir;
  IngestServer server(dir.file("events.db"));
  for (const char* encoding : {"br", "deflate", "gzip, br"}) {
    HttpResponse r = post_batch(server.url(), batch_json(events("enc-", 1)),
                                with_headers({{"Content-Encoding", encoding}}));
    CHECK_MESSAGE(r.code == 415, encoding);
  }
  // A body that claims gzip but is not: 400, not a crash.
  HttpResponse fake = post_batch(server.url(), batch_json(events("enc-", 1)),
                                 with_headers({{"Content-Encoding", "gzip"}}));
  CHECK(fake.code == 400);
  CHECK(stat(server.port(), "events_stored") == 0);
  check_clean_exit(server);
}

TEST_CASE("a gzip bomb and oversized bodies get 413 quickly and stored data survives") {
  TempDir dir;
  IngestServer server(dir.file("events.db"));
  REQUIRE(post_batch(server.url(), batch_json(events("before-bomb-", 5))).code == 200);

  // 50 MB of zeros gzips to about 50 KB; inflating must stop at 500 KB.
  const std::string bomb = detail::gzip_compress(std::string(50u << 20, '\0'), 9);
  REQUIRE(bomb.size() < (1u << 20));
  const auto started = SteadyClock::now();
  HttpResponse r = post_batch(server.url(), bomb, with_headers({{"Content-Encoding", "gzip"}}));
  CHECK(r.code == 413);
  CHECK(SteadyClock::now() - started < 2s);

  // Plain JSON over 500 KB (but under the 1 MiB transport limit): read, then refused.
  std::string big = R"({"batch":[],"padding":")" + std::string(600'000, 'p') + "\"}";
  CHECK(post_batch(server.url(), big).code == 413);

  // Over 1 MiB by Content-Length: refused from the head alone, before any body byte is sent.
  const std::string head = "POST /v1/batch HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: " + basic_auth("wk") +
                           "\r\nContent-Type: application/json\r\nContent-Length: 104857600\r\n\r\n";
  RawReply early = raw_exchange(server.port(), head);
  CHECK(early.status == 413);

  CHECK(stat(server.port(), "events_stored") == 5);
  check_clean_exit(server);
  CHECK(read_db(dir.file("events.db")).rows == 5);
}

TEST_CASE("huge or malformed request heads get 431 or 400 and the server stays up") {
  TempDir dir;
  IngestServer server(dir.file("events.db"));
  // One enormous header line.
  const std::string long_line = "GET /v1/stats HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(200'000, 'a') + "\r\n\r\n";
  CHECK(raw_exchange(server.port(), long_line).status == 431);
  // Many small headers.
  std::string many = "GET /v1/stats HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 500; ++i) many += "X-H" + std::to_string(i) + ": v\r\n";
  many += "\r\n";
  CHECK(raw_exchange(server.port(), many).status == 431);
  // Garbage, a bad header, a bad Content-Length, chunked uploads, an unknown version.
  CHECK(raw_exchange(server.port(), "\x16\x03\x01 hello\r\n\r\n").status == 400);
  CHECK(raw_exchange(server.port(), "GET / HTTP/1.1\r\nHost: x\r\nBad Header: v\r\n\r\n").status == 400);
  CHECK(raw_exchange(server.port(), "POST /v1/batch HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n").status == 400);
  CHECK(raw_exchange(server.port(), "POST /v1/batch HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
            .status == 411);
  CHECK(raw_exchange(server.port(), "GET / HTTP/2.0\r\nHost: x\r\n\r\n").status == 505);
  CHECK(raw_exchange(server.port(), "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n").status == 404);
  CHECK(raw_exchange(server.port(), "DELETE /v1/batch HTTP/1.1\r\nHost: x\r\n\r\n").status == 405);
  CHECK(post_batch(server.url(), batch_json(events("heads-", 1))).code == 200);
  check_clean_exit(server);
}

TEST_CASE("a truncated body or a client that vanishes does not hurt the server") {
  TempDir dir;
  IngestServer server(dir.file("events.db"));
  const std::string head = "POST /v1/batch HTTP/1.1\r\nHost: x\r\nAuthorization: " + basic_auth("wk") +
                           "\r\nContent-Length: 1000\r\n\r\n";
  // Content-Length larger than what is sent, then the client half-closes: a clear 400.
  RawReply truncated = raw_exchange(server.port(), head + R"({"batch":[)", /*half_close=*/true);
  CHECK(truncated.status == 400);
  CHECK(truncated.body.find("shorter than its Content-Length") != std::string::npos);
  // Half a head, then gone.
  RawReply half = raw_exchange(server.port(), "POST /v1/batch HTTP/1.1\r\nHost:", true);
  CHECK(half.status == 400);
  // Gone without a word in the middle of a body (no reply expected; the server must not care).
  RawReply gone = raw_exchange(server.port(), head + "{", false, 200ms);
  CHECK(gone.status == 0);
  CHECK(post_batch(server.url(), batch_json(events("after-truncation-", 2))).code == 200);
  CHECK(stat(server.port(), "events_stored") == 2);
  check_clean_exit(server);
}

// A whole POST /v1/batch request; Connection: close unless keep_alive.
std::string batch_request(const std::string& body, bool keep_alive = false) {
  return "POST /v1/batch HTTP/1.1\r\nHost: x\r\nAuthorization: " + basic_auth("wk") +
         "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" +
         (keep_alive ? "" : "Connection: close\r\n") + "\r\n" + body;
}

TEST_CASE("silent and trickling connections filling every slot do not lock a real client out") {
  // Issue 12 item 7: 256 silent connections, or 300 sending a byte a second, kept every real
  // client waiting about 30 s per wave. Here: 16 slots, 10 silent and 14 trickling connections
  // (the last 8 wait in the backlog, ahead of the real client), default deadlines (5 s).
  TempDir dir;
  IngestServer server(dir.file("events.db"), {"--max-connections", "16"});
  std::vector<std::unique_ptr<RawClient>> silent;
  for (int i = 0; i < 10; ++i) silent.push_back(std::make_unique<RawClient>(server.port()));
  std::vector<std::unique_ptr<RawClient>> trickling;
  for (int i = 0; i < 14; ++i) {
    trickling.push_back(std::make_unique<RawClient>(server.port()));
    trickling.back()->send("POST /v1/batch HTTP/1.1\r\n");
  }
  std::atomic<bool> stop{false};
  std::thread trickle([&] {
    for (int round = 0; round < 200 && !stop.load(); ++round) {  // a byte each per 50 ms, 10 s at most
      for (auto& c : trickling) c->send("X");
      std::this_thread::sleep_for(50ms);
    }
  });
  for (int i = 0; i < 3; ++i) {
    CAPTURE(i);
    const auto start = SteadyClock::now();
    RawReply reply = raw_exchange(server.port(), batch_request(batch_json(events("real-" + std::to_string(i) + "-", 2))),
                                  false, 10s);
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - start);
    CHECK_MESSAGE(reply.status == 200, reply.head << reply.body);
    CHECK_MESSAGE(took < 2s, took.count() << " ms");
  }
  stop.store(true);
  trickle.join();
  CHECK(stat(server.port(), "events_stored") == 6);
  check_clean_exit(server);
}

TEST_CASE("at the connection limit an idle keep-alive connection gives up its slot before an incomplete request") {
  TempDir dir;
  IngestServer server(dir.file("events.db"), {"--max-connections", "2"});
  RawClient keep_alive(server.port());
  REQUIRE(keep_alive.send(batch_request(batch_json(events("ka-", 1)), /*keep_alive=*/true)));
  REQUIRE(keep_alive.read(5s).status == 200);  // served, now idle
  RawClient silent(server.port());             // the second slot: a request that has not started
  const auto start = SteadyClock::now();
  RawReply reply = raw_exchange(server.port(), batch_request(batch_json(events("third-", 1))), false, 10s);
  CHECK(reply.status == 200);
  CHECK(SteadyClock::now() - start < 2s);
  CHECK(keep_alive.read(2s).closed);     // evicted
  CHECK_FALSE(silent.read(200ms).closed);  // still waiting for its header deadline
  check_clean_exit(server);
}

TEST_CASE("--header-timeout-ms and --body-timeout-ms cut off slow requests, idle keep-alive time is separate") {
  TempDir dir;
  IngestServer server(dir.file("events.db"),
                      {"--header-timeout-ms", "300", "--body-timeout-ms", "300", "--idle-timeout-ms", "10000"});
  const std::string body = batch_json(events("slow-", 2));

  SUBCASE("a connection that sends nothing is closed quietly at the header deadline") {
    RawClient c(server.port());
    const auto start = SteadyClock::now();
    RawReply reply = c.read(5s);
    const auto took = SteadyClock::now() - start;
    CHECK(reply.closed);
    CHECK(reply.head.empty());
    CHECK(took >= 250ms);
    CHECK(took < 3s);
  }
  SUBCASE("a head trickling in a byte at a time gets 408 at the header deadline, progress or not") {
    RawClient c(server.port());
    const auto start = SteadyClock::now();
    c.send("POST /v1/batch HTTP/1.1\r\n");
    RawReply reply;
    for (int i = 0; i < 100 && reply.status == 0 && !reply.closed; ++i) {  // 5 s at most
      c.send("X");
      reply = c.read(50ms);
    }
    CHECK(reply.status == 408);
    CHECK(SteadyClock::now() - start < 3s);
  }
  SUBCASE("a body that stops arriving gets 408 at the body deadline") {
    RawClient c(server.port());
    const std::string request = batch_request(body);
    const auto start = SteadyClock::now();
    c.send(request.substr(0, request.size() - 5));
    RawReply reply = c.read(5s);
    CHECK(reply.status == 408);
    CHECK(SteadyClock::now() - start < 3s);
  }
  SUBCASE("a body arriving slowly but steadily, longer than either deadline in all, is served") {
    RawClient c(server.port());
    const std::string request = batch_request(body);
    const std::size_t head_size = request.find("\r\n\r\n") + 4;
    c.send(request.substr(0, head_size));
    const std::size_t slice = (request.size() - head_size) / 8 + 1;
    for (std::size_t at = head_size; at < request.size(); at += slice) {
      REQUIRE_FALSE(c.read(100ms).closed);  // 100 ms between slices, 800 ms in all
      REQUIRE(c.send(request.substr(at, slice)));
    }
    CHECK(c.read(5s).status == 200);
  }
  SUBCASE("an idle keep-alive connection outlives the header deadline and serves the next request") {
    RawClient c(server.port());
    REQUIRE(c.send(batch_request(body, /*keep_alive=*/true)));
    CHECK(c.read(5s).status == 200);
    RawReply idle = c.read(600ms);  // twice the header deadline
    CHECK_FALSE(idle.closed);
    REQUIRE(c.send(batch_request(batch_json(events("slow-next-", 1)), true)));
    CHECK(c.read(5s).status == 200);
  }
  check_clean_exit(server);
}

TEST_CASE("serves concurrent clients and SIGTERM mid-load exits 0 with every acknowledged event stored") {
  TempDir dir;
  IngestServer server(dir.file("events.db"), {"--workers", "3"});
  constexpr int kThreads = 4;
  constexpr int kBatches = 15;
  constexpr int kPerBatch = 100;
  std::atomic<int> acknowledged{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < kThreads; ++t) {
    clients.emplace_back([&, t] {
      for (int b = 0; b < kBatches; ++b) {
        const std::string prefix = "c" + std::to_string(t) + "-b" + std::to_string(b) + "-";
        HttpResponse r = post_batch(server.url(), batch_json(events(prefix, kPerBatch)), (b % 2) == 0 ? gzipped() : PostOptions{});
        if (r.code == 200) acknowledged += kPerBatch;
      }
    });
  }
  for (auto& c : clients) c.join();
  CHECK(acknowledged == kThreads * kBatches * kPerBatch);
  CHECK(stat(server.port(), "events_stored") == static_cast<std::uint64_t>(acknowledged.load()));

  // Now stop it while clients are still sending: whatever got a 200 must be in the file.
  std::atomic<bool> stop{false};
  std::atomic<int> late_acknowledged{0};
  clients.clear();
  for (int t = 0; t < kThreads; ++t) {
    clients.emplace_back([&, t] {
      for (int b = 0; !stop && b < 200; ++b) {
        const std::string prefix = "late" + std::to_string(t) + "-" + std::to_string(b) + "-";
        HttpResponse r = post_batch(server.url(), batch_json(events(prefix, 50)));
        if (r.code == 200) late_acknowledged += 50;
      }
    });
  }
  // Let some late batches land, then signal.
  const auto deadline = SteadyClock::now() + 10s;
  while (late_acknowledged < 500 && SteadyClock::now() < deadline) std::this_thread::yield();
  const test::ExitStatus status = server.stop();
  stop = true;
  for (auto& c : clients) c.join();
  CHECK_MESSAGE(status.success(), status.describe() << "\n" << server.process().stderr_text());

  const DbContents db = read_db(dir.file("events.db"));
  CHECK(db.integrity_ok);
  CHECK(db.rows >= static_cast<std::size_t>(acknowledged + late_acknowledged));
  for (int t = 0; t < kThreads; ++t) {
    for (int b = 0; b < kBatches; ++b) {
      for (int i = 0; i < kPerBatch; i += 33) {
        const std::string id = "c" + std::to_string(t) + "-b" + std::to_string(b) + "-" + std::to_string(i);
        CHECK_MESSAGE(db.message_ids.count(id) == 1, id);
      }
    }
  }
}

TEST_CASE("checkpoints the log into the database while it runs, and SIGKILL loses nothing acknowledged") {
  TempDir dir;
  const std::string path = dir.file("events.db");
  IngestServer server(path);
  // About 23 MB of events: past the 16 MiB of log at which the background checkpointer starts,
  // far below the 256 MiB at which the writer would checkpoint itself.
  const std::string padding(3'500, 'x');
  constexpr int kBatches = 64;
  constexpr int kPerBatch = 100;
  std::size_t acknowledged = 0;
  for (int b = 0; b < kBatches; ++b) {
    std::vector<std::string> batch;
    for (int i = 0; i < kPerBatch; ++i) {
      const std::string id = "ckpt-" + std::to_string(b) + "-" + std::to_string(i);
      batch.push_back(R"({"type":"track","event":"Padded","messageId":")" + id +
                      R"(","anonymousId":"visitor-1","properties":{"pad":")" + padding + R"("}})");
    }
    HttpResponse r = post_batch(server.url(), batch_json(batch));
    REQUIRE_MESSAGE(r.code == 200, r.body);
    acknowledged += kPerBatch;
  }
  // Without a working checkpointer the database file keeps its first few pages until shutdown.
  std::error_code ec;
  const auto deadline = SteadyClock::now() + 20s;
  while (std::filesystem::file_size(path, ec) < (8u << 20) && SteadyClock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  CHECK(std::filesystem::file_size(path, ec) >= (8u << 20));

  // No shutdown checkpoint: what was acknowledged is in the database file or its log.
  const test::ExitStatus status = server.process().kill();
  CHECK(status.signal == SIGKILL);
  const DbContents db = read_db(path);
  CHECK(db.integrity_ok);
  CHECK(db.rows == acknowledged);
}

TEST_CASE("fault injection at rate 1 does what each flag says") {
  TempDir dir;
  SUBCASE("--fail-rate 1: 503 and nothing stored") {
    IngestServer server(dir.file("fail.db"), {"--fail-rate", "1"});
    HttpResponse r = post_batch(server.url(), batch_json(events("fail-", 3)));
    CHECK(r.code == 503);
    CHECK(stat(server.port(), "events_stored") == 0);
    CHECK(stat(server.port(), "faults_injected") == 1);
    check_clean_exit(server);
  }
  SUBCASE("--throttle-rate 1: 429 with Retry-After") {
    IngestServer server(dir.file("throttle.db"), {"--throttle-rate", "1", "--retry-after", "7"});
    HttpResponse r = post_batch(server.url(), batch_json(events("throttle-", 3)));
    CHECK(r.code == 429);
    REQUIRE(r.retry_after.has_value());
    CHECK(*r.retry_after == "7");
    CHECK(stat(server.port(), "events_stored") == 0);
    check_clean_exit(server);
  }
  SUBCASE("--drop-rate 1: the connection closes without a reply but the events were stored") {
    IngestServer server(dir.file("drop.db"), {"--drop-rate", "1"});
    HttpResponse r = post_batch(server.url(), batch_json(events("drop-", 3)));
    CHECK_FALSE(r.status.ok());
    CHECK(r.status.code() == StatusCode::kUnavailable);
    CHECK(r.code == 0);
    CHECK(stat(server.port(), "events_stored") == 3);
    HttpResponse again = post_batch(server.url(), batch_json(events("drop-", 3)));
    CHECK_FALSE(again.status.ok());
    CHECK(stat(server.port(), "duplicates") == 3);
    check_clean_exit(server);
    CHECK(read_db(dir.file("drop.db")).rows == 3);
  }
  SUBCASE("--delay-ms: the reply waits but other endpoints do not") {
    IngestServer server(dir.file("delay.db"), {"--delay-ms", "400"});
    const auto started = SteadyClock::now();
    CHECK(post_batch(server.url(), batch_json(events("delay-", 1))).code == 200);
    CHECK(SteadyClock::now() - started >= 400ms);
    const auto stats_started = SteadyClock::now();
    CHECK(stat(server.port(), "events_stored") == 1);
    CHECK(SteadyClock::now() - stats_started < 400ms);
    check_clean_exit(server);
  }
}

TEST_CASE("the funnel page is self-contained HTML with the counts escaped") {
  TempDir dir;
  IngestServer server(dir.file("events.db"));
  std::vector<std::string> batch = {track_json("f1", "Referral Link Shared"), track_json("f2", "Referral Link Shared"),
                                    track_json("f3", "Referral Link Clicked"), track_json("f4", "<script>alert(1)</script>")};
  REQUIRE(post_batch(server.url(), batch_json(batch)).code == 200);
  const std::string html = http_get(server.port(), "/");
  CHECK(html.rfind("<!doctype html>", 0) == 0);
  CHECK(html.find("Referral Link Shared</td><td class=\"n\">2<") != std::string::npos);
  CHECK(html.find("Referral Link Clicked</td><td class=\"n\">1<") != std::string::npos);
  CHECK(html.find("50.0%") != std::string::npos);
  CHECK(html.find("Reward Issued") != std::string::npos);
  CHECK(html.find("<script>") == std::string::npos);
  CHECK(html.find("&lt;script&gt;") != std::string::npos);
  CHECK(html.find("src=") == std::string::npos);  // nothing external
  check_clean_exit(server);
}

TEST_CASE("bad command lines are refused with exit status 2 and a message") {
  TempDir dir;
  auto run = [](std::vector<std::string> args) {
    test::RunOptions options;
    options.timeout = 10s;
    return test::run_process(REFERKIT_INGEST_PATH, args, options);
  };
  CHECK(run({"--write-key", "wk"}).exit_code() == 2);                                  // no --db
  CHECK(run({"--db", dir.file("x.db")}).exit_code() == 2);                             // no key
  CHECK(run({"--db", dir.file("x.db"), "--write-key", "wk", "--fail-rate", "1.5"}).exit_code() == 2);
  CHECK(run({"--db", dir.file("x.db"), "--write-key", "wk", "--delay-ms", "60001"}).exit_code() == 2);
  auto short_secret = run({"--db", dir.file("x.db"), "--write-key", "wk", "--signing-secret", "short"});
  CHECK(short_secret.exit_code() == 2);
  CHECK(short_secret.err.find("signing-secret") != std::string::npos);
  auto not_a_db = run({"--db", "/proc/version", "--write-key", "wk"});
  CHECK(not_a_db.exit_code() == 1);
}

}  // TEST_SUITE("ingest")
