// Tracker behaviour against a scripted transport: batching, the reply table, retries, overflow,
// bounded flush/shutdown, fork. No sockets and no sleeps: backoff goes through a recording sleeper.
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <set>
#include <thread>

#include "referkit/tracker.hpp"
#include "referkit/version.hpp"
#include "referkit/webhooks.hpp"
#include "support/fake_transport.hpp"
#include "support/tracker_harness.hpp"
#include "support/sanitizers.hpp"

using namespace referkit;
using referkit::test::FakeTransport;
using referkit::test::RecordedRequest;
using namespace std::chrono_literals;

namespace {

using Harness = referkit::test::TrackerHarness;

Event order(int i, std::string message_id = {}) {
  Event e;
  e.name = "Order Completed";
  e.user_id = "user-" + std::to_string(i);
  e.properties.set("order_id", "o-" + std::to_string(i));
  e.message_id = std::move(message_id);
  return e;
}

bool contains(const RecordedRequest& r, const std::string& id) {
  return std::find(r.message_ids.begin(), r.message_ids.end(), id) != r.message_ids.end();
}

}  // namespace

TEST_SUITE("tracker") {

TEST_CASE("batches by count and delivers every event exactly once") {
  Harness h;
  h.options.max_batch_events = 10;
  Tracker t = h.open();
  for (int i = 0; i < 25; ++i) REQUIRE(t.track(order(i)).ok());
  REQUIRE(t.flush(10s).ok());
  auto requests = h.fake->requests();
  REQUIRE(requests.size() == 3);
  CHECK(requests[0].message_ids.size() == 10);
  CHECK(requests[1].message_ids.size() == 10);
  CHECK(requests[2].message_ids.size() == 5);
  auto delivered = h.fake->delivered();
  CHECK(delivered.size() == 25);
  // Not a structured binding: C++17 lambdas (doctest's CHECK_MESSAGE) cannot capture one (clang).
  for (const auto& entry : delivered) CHECK_MESSAGE(entry.second == 1, entry.first);
  TrackerStats s = t.stats();
  CHECK(s.tracked == 25);
  CHECK(s.acknowledged == 25);
  CHECK(s.requests == 3);
  CHECK(s.queued == 0);
  CHECK(s.dropped() == 0);
}

TEST_CASE("typed events tracked after deliveries, into recycled buffers, arrive whole and once") {
  // From the second round on, track() writes into the text buffers of delivered events
  // (MemoryQueue::recycle): each event must still arrive once, with its own fields.
  Harness h;
  h.options.max_batch_events = 10;
  Tracker t = h.open();
  for (int round = 0; round < 3; ++round) {
    for (int i = round * 25; i < (round + 1) * 25; ++i) {
      OrderCompleted o;
      o.customer.user_id = "buyer-" + std::to_string(i);
      o.order_id = "typed-order-" + std::to_string(i);
      o.total = Money{12999, "EUR"};
      o.email = "buyer." + std::to_string(i) + "@example.com";
      REQUIRE(t.track(o).ok());
    }
    REQUIRE(t.flush(10s).ok());
  }
  std::string bodies;
  for (const auto& r : h.fake->requests()) bodies += r.json;
  for (int i = 0; i < 75; ++i) {
    CHECK_MESSAGE(bodies.find("\"order_id\":\"typed-order-" + std::to_string(i) + "\"") != std::string::npos, i);
  }
  auto delivered = h.fake->delivered();
  CHECK(delivered.size() == 75);
  for (const auto& id_count : delivered) CHECK_MESSAGE(id_count.second == 1, id_count.first);
  CHECK(t.stats().acknowledged == 75);
}

TEST_CASE("while a batch is in flight the next is prepared, but requests never overlap and keep order") {
  Harness h;
  h.options.max_batch_events = 10;
  std::mutex gate_mu;
  std::condition_variable gate_cv;
  bool open_gate = false;
  std::atomic<int> in_flight{0};
  std::atomic<int> most_in_flight{0};
  h.fake->set_handler([&](const RecordedRequest&) {
    const int now = ++in_flight;
    most_in_flight = std::max(most_in_flight.load(), now);
    std::unique_lock<std::mutex> lk(gate_mu);
    gate_cv.wait(lk, [&] { return open_gate; });  // the first request holds the line
    --in_flight;
    return FakeTransport::reply(200);
  });
  Tracker t = h.open();
  for (int i = 0; i < 50; ++i) REQUIRE(t.track(order(i, "m-" + std::to_string(1000 + i))).ok());
  REQUIRE(h.fake->wait_for_requests(1, 10s));
  CHECK(h.fake->request_count() == 1);
  CHECK(t.stats().queued == 50);  // taken or not, nothing is resolved while the first is held
  {
    std::lock_guard<std::mutex> lk(gate_mu);
    open_gate = true;
  }
  gate_cv.notify_all();
  REQUIRE(t.flush(10s).ok());
  CHECK(most_in_flight == 1);
  std::vector<std::string> sent;
  for (const RecordedRequest& r : h.fake->requests()) {
    CHECK(r.message_ids.size() == 10);
    sent.insert(sent.end(), r.message_ids.begin(), r.message_ids.end());
  }
  REQUIRE(sent.size() == 50);
  for (int i = 0; i < 50; ++i) CHECK(sent[static_cast<std::size_t>(i)] == "m-" + std::to_string(1000 + i));
  CHECK(t.stats().acknowledged == 50);
}

TEST_CASE("shutdown counts a batch prepared ahead as undelivered") {
  Harness h;
  h.options.max_batch_events = 10;
  h.fake->hang(true);
  Tracker t = h.open();
  for (int i = 0; i < 30; ++i) REQUIRE(t.track(order(i)).ok());
  REQUIRE(h.fake->wait_for_requests(1, 10s));
  const ShutdownReport report = t.shutdown(300ms);
  CHECK(report.undelivered == 30);
  CHECK(t.stats().dropped_shutdown == 30);
  CHECK(t.stats().acknowledged == 0);
}

TEST_CASE("a request cancelled by shutdown leaves last_error saying what the endpoint said") {
  Harness h;
  h.fake->set_handler([&](const test::RecordedRequest&) {
    h.fake->hang(true);  // the retry hangs until shutdown cancels it
    return test::FakeTransport::reply(503, "overloaded");
  });
  Tracker t = h.open();
  REQUIRE(t.track(order(0)).ok());
  (void)t.flush(1ms);  // sends the partial batch now; it cannot be delivered
  REQUIRE(h.fake->wait_for_requests(2, 10s));  // the 503, then the retry, in flight
  const ShutdownReport report = t.shutdown(200ms);
  CHECK(report.undelivered == 1);
  CHECK(report.status.message().find("last error: HTTP 503: overloaded") != std::string::npos);
  CHECK(t.stats().last_error == "HTTP 503: overloaded");
  CHECK(t.stats().requests == 2);
}

TEST_CASE("a partial batch goes once flush_interval has passed") {
  Harness h;
  h.options.flush_interval = 20ms;
  Tracker t = h.open();
  for (int i = 0; i < 3; ++i) REQUIRE(t.track(order(i)).ok());
  REQUIRE(h.fake->wait_for_requests(1, 10s));
  CHECK(h.fake->requests().front().message_ids.size() == 3);
}

TEST_CASE("requests follow the wire contract") {
  Harness h;
  h.options.signing_secret = "sign-secret-0123456789";
  h.options.user_agent_suffix = "shop/2.1";
  Tracker t = h.open();
  Event big = order(1);
  big.properties.set("note", std::string(2000, 'n'));
  REQUIRE(t.track(big).ok());
  REQUIRE(t.flush(10s).ok());
  Event small = order(2);
  REQUIRE(t.track(small).ok());
  REQUIRE(t.flush(10s).ok());

  auto requests = h.fake->requests();
  REQUIRE(requests.size() == 2);
  const RecordedRequest& r = requests[0];
  CHECK(r.request.url == "http://127.0.0.1:9/v1/batch");
  CHECK(r.header("Authorization") == "Basic d2s6");  // base64("wk:")
  CHECK(r.header("Content-Type") == "application/json");
  CHECK(r.header("User-Agent") == "referkit-cpp/" REFERKIT_VERSION_STRING " shop/2.1");
  CHECK(r.header("X-Referkit-Batch-Id").size() == 36);
  CHECK(r.header("X-Referkit-Attempt") == "1");
  CHECK(r.header("Content-Encoding") == "gzip");
  CHECK(requests[1].header("Content-Encoding").empty());  // under gzip_min_bytes
  CHECK(r.json.rfind("{\"batch\":[", 0) == 0);
  CHECK(r.json.find("\"library\":{\"name\":\"referkit-cpp\"") != std::string::npos);
  CHECK(r.json.find("\"sentAt\":\"") != std::string::npos);
  // The signature covers the body exactly as sent (compressed).
  auto verifier = WebhookVerifier::create({"sign-secret-0123456789"}).value();
  CHECK(verifier.verify(r.header("X-Referkit-Signature"), r.request.body).ok());
  CHECK(!verifier.verify(r.header("X-Referkit-Signature"), r.json).ok());
  TrackerStats s = t.stats();
  CHECK(s.bytes_uncompressed > s.bytes_sent);
}

TEST_CASE("a retried batch keeps its id and messageIds, sentAt and attempt change") {
  Harness h;
  std::atomic<int> calls{0};
  h.fake->set_handler([&](const RecordedRequest&) { return FakeTransport::reply(++calls <= 2 ? 503 : 200); });
  Tracker t = h.open();
  for (int i = 0; i < 5; ++i) REQUIRE(t.track(order(i)).ok());
  REQUIRE(t.flush(10s).ok());
  auto requests = h.fake->requests();
  REQUIRE(requests.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(requests[i].header("X-Referkit-Batch-Id") == requests[0].header("X-Referkit-Batch-Id"));
    CHECK(requests[i].header("X-Referkit-Attempt") == std::to_string(i + 1));
    CHECK(requests[i].message_ids == requests[0].message_ids);
  }
  CHECK(t.stats().retried == 2);
  std::lock_guard<std::mutex> lk(h.mu);
  REQUIRE(h.waits.size() == 2);
  for (auto w : h.waits) CHECK(w <= h.options.retry.max_backoff);
}

TEST_CASE("Retry-After is a floor on the wait, clamped to max_retry_after") {
  Harness h;
  h.options.retry.max_retry_after = 60s;
  std::atomic<int> calls{0};
  h.fake->set_handler([&](const RecordedRequest&) {
    switch (++calls) {
      case 1: return FakeTransport::reply(429, "{}", "7");
      case 2: return FakeTransport::reply(503, "{}", "100000");
      default: return FakeTransport::reply(200);
    }
  });
  Tracker t = h.open();
  REQUIRE(t.track(order(1)).ok());
  REQUIRE(t.flush(10s).ok());
  std::lock_guard<std::mutex> lk(h.mu);
  REQUIRE(h.waits.size() == 2);
  CHECK(h.waits[0] >= 7s);
  CHECK(h.waits[1] == 60s);
}

TEST_CASE("400 isolates the bad event, the rest are delivered once") {
  Harness h;
  h.fake->set_handler([](const RecordedRequest& r) {
    return FakeTransport::reply(contains(r, "bad-event") ? 400 : 200, "{\"error\":\"bad\"}");
  });
  Tracker t = h.open();
  for (int i = 0; i < 8; ++i) REQUIRE(t.track(order(i, i == 5 ? "bad-event" : "")).ok());
  CHECK(t.flush(10s).code() == StatusCode::kDataLoss);  // one event refused
  auto delivered = h.fake->delivered();
  CHECK(delivered.size() == 7);
  CHECK(delivered.count("bad-event") == 0);
  for (const auto& [id, n] : delivered) CHECK(n == 1);
  TrackerStats s = t.stats();
  CHECK(s.acknowledged == 7);
  CHECK(s.dead_lettered == 1);
  std::lock_guard<std::mutex> lk(h.mu);
  REQUIRE(h.dead.size() == 1);
  CHECK(h.dead[0].message_id == "bad-event");
  CHECK(h.dead[0].reason.find("400") != std::string::npos);
}

TEST_CASE("413 splits batches until they fit") {
  Harness h;
  h.fake->set_handler([](const RecordedRequest& r) { return FakeTransport::reply(r.message_ids.size() > 3 ? 413 : 200); });
  Tracker t = h.open();
  for (int i = 0; i < 10; ++i) REQUIRE(t.track(order(i)).ok());
  REQUIRE(t.flush(10s).ok());
  auto delivered = h.fake->delivered();
  CHECK(delivered.size() == 10);
  for (const auto& [id, n] : delivered) CHECK(n == 1);
  // A split batch is a new set of events, so it gets a new batch id.
  std::set<std::string> ids;
  for (const auto& r : h.fake->requests()) ids.insert(r.header("X-Referkit-Batch-Id"));
  CHECK(ids.size() == h.fake->request_count());
}

TEST_CASE("per-event rejections in a 2xx reply are dead-lettered, not retried") {
  Harness h;
  h.fake->set_handler([](const RecordedRequest& r) {
    return FakeTransport::reply(200, "{\"accepted\":2,\"rejected\":[{\"messageId\":\"" + r.message_ids[1] +
                                         "\",\"reason\":\"too old\"},{\"messageId\":\"not-ours\",\"reason\":\"x\"}]}");
  });
  Tracker t = h.open();
  for (int i = 0; i < 3; ++i) REQUIRE(t.track(order(i)).ok());
  CHECK(t.flush(10s).code() == StatusCode::kDataLoss);  // one event refused
  CHECK(h.fake->request_count() == 1);
  TrackerStats s = t.stats();
  CHECK(s.acknowledged == 2);
  CHECK(s.dead_lettered == 1);
  std::lock_guard<std::mutex> lk(h.mu);
  REQUIRE(h.dead.size() == 1);
  CHECK(h.dead[0].reason == "too old");
}

TEST_CASE("a malformed 2xx reply acknowledges the batch") {
  Harness h;
  h.fake->set_handler([](const RecordedRequest&) { return FakeTransport::reply(200, "<html>ok</html>"); });
  Tracker t = h.open();
  REQUIRE(t.track(order(1)).ok());
  REQUIRE(t.flush(10s).ok());
  CHECK(t.stats().acknowledged == 1);
}

TEST_CASE("credential failures hold events, retry slowly and never drop them") {
  Harness h;
  h.options.retry.max_retry_duration = 1ms;
  std::atomic<int> calls{0};
  h.fake->set_handler([&](const RecordedRequest&) { return FakeTransport::reply(++calls <= 4 ? 401 : 200); });
  Tracker t = h.open();
  REQUIRE(t.track(order(1)).ok());
  REQUIRE(t.flush(10s).ok());
  TrackerStats s = t.stats();
  CHECK(s.acknowledged == 1);
  CHECK(s.dropped() == 0);
  std::lock_guard<std::mutex> lk(h.mu);
  REQUIRE(h.waits.size() == 4);
  for (auto w : h.waits) CHECK(w == h.options.retry.auth_backoff);
}

TEST_CASE("retries stop after max_retry_duration, the drop is counted and reported") {
  Harness h;
  h.options.retry.initial_backoff = 1s;
  h.options.retry.max_backoff = 1s;
  h.options.retry.max_retry_duration = 5s;
  h.fake->set_handler([](const RecordedRequest&) { return FakeTransport::reply(503); });
  Tracker t = h.open();
  for (int i = 0; i < 4; ++i) REQUIRE(t.track(order(i)).ok());
  CHECK(t.flush(10s).code() == StatusCode::kDataLoss);  // resolved, but dropped
  TrackerStats s = t.stats();
  CHECK(s.dropped_retries_exhausted == 4);
  CHECK(s.acknowledged == 0);
  CHECK(s.last_error.find("503") != std::string::npos);
  t.shutdown(1s);
  std::lock_guard<std::mutex> lk(h.mu);
  REQUIRE(!h.drops.empty());
  CHECK(h.drops.back() == std::make_pair(DropReason::kRetriesExhausted, std::size_t{4}));
}

TEST_CASE("the reply table: which codes retry with backoff and which hold the events") {
  for (int code : {408, 500, 502, 503, 504, 0}) {  // 0: no HTTP answer (connection error)
    Harness h;
    std::atomic<int> calls{0};
    h.fake->set_handler([&](const RecordedRequest&) {
      if (++calls > 1) return FakeTransport::reply(200);
      if (code == 0) {
        HttpResponse dropped;
        dropped.status = Status(StatusCode::kUnavailable, "connection reset");
        return dropped;
      }
      return FakeTransport::reply(code);
    });
    Tracker t = h.open();
    REQUIRE(t.track(order(1)).ok());
    REQUIRE(t.flush(10s).ok());
    std::lock_guard<std::mutex> lk(h.mu);
    REQUIRE_MESSAGE(h.waits.size() == 1, code);
    CHECK_MESSAGE(h.waits[0] <= h.options.retry.initial_backoff, code);  // first retry: full jitter up to initial
  }
  for (int code : {403, 404, 501, 505, 302}) {
    Harness h;
    h.options.retry.max_retry_duration = 1ms;  // holding is never cut short by the retry cap
    std::atomic<int> calls{0};
    h.fake->set_handler([&](const RecordedRequest&) { return FakeTransport::reply(++calls <= 2 ? code : 200); });
    Tracker t = h.open();
    REQUIRE(t.track(order(1)).ok());
    REQUIRE(t.flush(10s).ok());
    CHECK(t.stats().dropped() == 0);
    std::lock_guard<std::mutex> lk(h.mu);
    REQUIRE_MESSAGE(h.waits.size() == 2, code);
    CHECK(h.waits[0] == h.options.retry.auth_backoff);
  }
}

TEST_CASE("batches are cut by bytes as well as by count") {
  Harness h;
  h.options.max_batch_bytes = 40'000;
  Tracker t = h.open();
  for (int i = 0; i < 30; ++i) {
    Event e = order(i);
    e.properties.set("pad", std::string(4'000, 'p'));
    REQUIRE(t.track(e).ok());
  }
  REQUIRE(t.flush(10s).ok());
  auto requests = h.fake->requests();
  CHECK(requests.size() >= 3);
  std::size_t events = 0;
  for (const auto& r : requests) {
    CHECK(r.json.size() <= 40'000);
    events += r.message_ids.size();
  }
  CHECK(events == 30);
}

TEST_CASE("overflow: drop_newest refuses at track() and counts") {
  Harness h;
  h.options.max_batch_events = 1;
  h.options.engagement.max_queue_bytes = 64 * 1024;
  h.fake->hang(true);
  Tracker t = h.open();
  Event e = order(0);
  e.properties.set("pad", std::string(1000, 'p'));
  int accepted = 0;
  Status refused;
  for (int i = 0; i < 1000 && refused.ok(); ++i) {
    refused = t.track(e);
    if (refused.ok()) ++accepted;
  }
  CHECK(refused.code() == StatusCode::kResourceExhausted);
  CHECK(accepted > 10);
  CHECK(accepted < 70);
  CHECK(t.stats().queued_bytes <= 64 * 1024);
  CHECK(t.stats().dropped_queue_full == 1);
  h.fake->hang(false);
  REQUIRE(t.flush(20s).ok());
  CHECK(t.stats().acknowledged == static_cast<std::uint64_t>(accepted));
  t.shutdown(5s);
  std::lock_guard<std::mutex> lk(h.mu);
  REQUIRE(!h.drops.empty());
  CHECK(h.drops.front().first == DropReason::kQueueFull);
}

TEST_CASE("overflow: drop_oldest evicts queued events and keeps the newest") {
  Harness h;
  h.options.max_batch_events = 1;
  h.options.engagement.max_queue_bytes = 64 * 1024;
  h.options.overflow = OverflowPolicy::kDropOldest;
  h.fake->hang(true);
  Tracker t = h.open();
  const int n = 300;
  for (int i = 0; i < n; ++i) {
    Event e = order(i, "id-" + std::to_string(i));
    e.properties.set("pad", std::string(1000, 'p'));
    REQUIRE(t.track(e).ok());
  }
  REQUIRE(h.fake->wait_for_requests(1, 10s));
  h.fake->hang(false);
  REQUIRE(t.flush(30s).ok());
  TrackerStats s = t.stats();
  CHECK(s.dropped_queue_full > 0);
  CHECK(s.acknowledged + s.dropped_queue_full == static_cast<std::uint64_t>(n));
  auto delivered = h.fake->delivered();
  CHECK(delivered.count("id-299") == 1);  // the newest survives
  CHECK(delivered.count("id-150") == 0);  // older queued ones were evicted
}

TEST_CASE("overflow: block waits up to block_timeout, then refuses") {
  Harness h;
  h.options.max_batch_events = 1;
  h.options.engagement.max_queue_bytes = 64 * 1024;
  h.options.overflow = OverflowPolicy::kBlock;
  h.options.block_timeout = 50ms;
  h.fake->hang(true);
  Tracker t = h.open();
  Event e = order(0);
  e.properties.set("pad", std::string(1000, 'p'));
  Status s;
  for (int i = 0; i < 1000 && s.ok(); ++i) s = t.track(e);
  CHECK(s.code() == StatusCode::kResourceExhausted);
  const auto start = std::chrono::steady_clock::now();
  CHECK(t.track(e).code() == StatusCode::kResourceExhausted);
  CHECK(std::chrono::steady_clock::now() - start >= 40ms);
  h.fake->hang(false);
}

TEST_CASE("flush and shutdown are bounded against an endpoint that never answers") {
  Harness h;
  h.fake->hang(true);
  Tracker t = h.open();
  for (int i = 0; i < 5; ++i) REQUIRE(t.track(order(i)).ok());
  auto start = std::chrono::steady_clock::now();
  Status flushed = t.flush(200ms);
  CHECK(flushed.code() == StatusCode::kDeadlineExceeded);
  CHECK(flushed.message().find("5 events pending") != std::string::npos);
  CHECK(std::chrono::steady_clock::now() - start < 5s);

  start = std::chrono::steady_clock::now();
  ShutdownReport report = t.shutdown(300ms);
  CHECK(std::chrono::steady_clock::now() - start < 5s);
  CHECK(report.undelivered == 5);
  CHECK(report.status.code() == StatusCode::kDeadlineExceeded);
  CHECK(t.stats().dropped_shutdown == 5);
  CHECK(t.track(order(9)).code() == StatusCode::kFailedPrecondition);
  std::lock_guard<std::mutex> lk(h.mu);
  REQUIRE(!h.drops.empty());
  CHECK(h.drops.back() == std::make_pair(DropReason::kShutdown, std::size_t{5}));
}

TEST_CASE("shutdown delivers what is queued when the endpoint is up") {
  Harness h;
  Tracker t = h.open();
  for (int i = 0; i < 20; ++i) REQUIRE(t.track(order(i)).ok());
  ShutdownReport report = t.shutdown(10s);
  CHECK(report.status.ok());
  CHECK(report.undelivered == 0);
  CHECK(h.fake->delivered().size() == 20);
}

TEST_CASE("bad events are refused at track() with a clear error") {
  Harness h;
  Tracker t = h.open();
  Event anonymous = order(1);
  anonymous.user_id.clear();
  CHECK(t.track(anonymous).code() == StatusCode::kInvalidArgument);
  Event bad_utf8 = order(2);
  bad_utf8.properties.set("name", "\xc3\x28");
  CHECK(t.track(bad_utf8).code() == StatusCode::kInvalidArgument);
  Event huge = order(3);
  huge.properties.set("blob", std::string(40 * 1024, 'x'));
  Status too_big = t.track(huge);
  CHECK(too_big.code() == StatusCode::kInvalidArgument);
  CHECK(too_big.message().find("32 KiB") != std::string::npos);
  OrderCompleted missing_order;
  missing_order.customer.user_id = "u1";
  missing_order.total = Money{1999, "USD"};
  Status typed = t.track(missing_order);
  CHECK(typed.code() == StatusCode::kInvalidArgument);
  CHECK(typed.message().find("order_id") != std::string::npos);
  CHECK(t.stats().tracked == 0);
}

TEST_CASE("open() refuses bad options") {
  auto refused = [](auto mutate) {
    Harness h;
    mutate(h.options);
    return Tracker::open(h.options).status().code() == StatusCode::kInvalidArgument;
  };
  CHECK(refused([](TrackerOptions& o) { o.endpoint = "ftp://x"; }));
  CHECK(refused([](TrackerOptions& o) { o.write_key.clear(); }));
  CHECK(refused([](TrackerOptions& o) { o.max_batch_events = 0; }));
  CHECK(refused([](TrackerOptions& o) { o.max_batch_events = 2501; }));
  CHECK(refused([](TrackerOptions& o) { o.max_batch_bytes = 1000; }));
  CHECK(refused([](TrackerOptions& o) { o.max_batch_bytes = 500'001; }));
  CHECK(refused([](TrackerOptions& o) { o.conversions.max_queue_bytes = 1000; }));
  CHECK(refused([](TrackerOptions& o) { o.engagement.max_queue_bytes = 1000; }));
  CHECK(refused([](TrackerOptions& o) {
    o.spool_dir = "/tmp/never-opened";
    o.engagement.max_spool_bytes = 1000;
  }));
  CHECK(refused([](TrackerOptions& o) { o.gzip_level = 0; }));
  CHECK(refused([](TrackerOptions& o) { o.background_nice = -1; }));  // raising priority: not ours to do
  CHECK(refused([](TrackerOptions& o) { o.background_nice = 20; }));
  CHECK(refused([](TrackerOptions& o) { o.http.total_timeout = 0ms; }));
  CHECK(refused([](TrackerOptions& o) { o.retry.max_backoff = 1ms; }));
}

TEST_CASE("many producer threads: every event delivered exactly once") {
  Harness h;
  h.options.max_batch_events = 100;
  Tracker t = h.open();
  constexpr int kThreads = 4;
  constexpr int kPerThread = 2000;
  std::vector<std::thread> threads;
  for (int th = 0; th < kThreads; ++th) {
    threads.emplace_back([&t, th] {
      for (int i = 0; i < kPerThread; ++i) CHECK(t.track(order(th * kPerThread + i)).ok());
    });
  }
  for (auto& th : threads) th.join();
  REQUIRE(t.flush(30s).ok());
  auto delivered = h.fake->delivered();
  CHECK(delivered.size() == kThreads * kPerThread);
  for (const auto& [id, n] : delivered) REQUIRE(n == 1);
}

TEST_CASE("a forked child tracks on its own and never resends the parent's events" * doctest::skip(referkit::test::kForkUnsafeAllocator)) {
  Harness h;
  Tracker t = h.open();
  for (int i = 0; i < 3; ++i) REQUIRE(t.track(order(i, "parent-" + std::to_string(i))).ok());
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // The child: its own copy of the fake transport records what this process sends.
    bool ok = t.track(order(7, "child-7")).ok() && t.flush(10s).ok();
    auto delivered = h.fake->delivered();
    ok = ok && delivered.size() == 1 && delivered.count("child-7") == 1 && t.stats().tracked == 1;
    _exit(ok ? 0 : 1);
  }
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  REQUIRE(t.flush(10s).ok());
  auto delivered = h.fake->delivered();
  CHECK(delivered.size() == 3);
  CHECK(delivered.count("child-7") == 0);
}

}  // TEST_SUITE

TEST_SUITE("tracker") {

TEST_CASE("track_json sends the event's own bytes, in the lane its name gives or the one asked for") {
  Harness h;
  Tracker t = h.open();
  const std::string order =
      R"({"type":"track","event":"Order Completed","messageId":"json-1","timestamp":"2026-11-27T09:00:00Z",)"
      R"("userId":"u1","properties":{"total":104.990,"sku_count":3},"integrations":{"All":true}})";
  REQUIRE(t.track_json(order).ok());
  REQUIRE(t.track_json(R"({"event":"Wishlist Shared","anonymousId":"v1"})").ok());
  REQUIRE(t.track_json(R"({"event":"Invoice Paid","userId":"u1","messageId":"json-3"})", Lane::kConversions).ok());
  CHECK(t.track_json(R"({"event":"Order Completed"})").code() == StatusCode::kInvalidArgument);
  CHECK(t.track_json("{oops").code() == StatusCode::kMalformed);
  REQUIRE(t.flush(10s).ok());
  const TrackerStats s = t.stats();
  CHECK(s.lane(Lane::kConversions).acknowledged == 2);
  CHECK(s.lane(Lane::kEngagement).acknowledged == 1);
  std::string sent;
  for (const RecordedRequest& r : h.fake->requests()) sent += r.json;
  CHECK(sent.find(order) != std::string::npos);  // byte for byte, numbers and unknown members included
  CHECK(h.fake->delivered().count("json-1") == 1);
  CHECK(h.fake->delivered().count("json-3") == 1);
  CHECK(h.fake->delivered().size() == 3);  // the second got an id of its own
  Tracker moved = std::move(t);
  CHECK(t.track_json(order).code() == StatusCode::kFailedPrecondition);  // NOLINT(bugprone-use-after-move)
}

}  // TEST_SUITE
