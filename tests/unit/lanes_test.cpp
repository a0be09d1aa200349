// Lanes against a scripted transport: conversions go before engagement after an outage, each
// lane has its own budget, a paused lane keeps its events (in memory or in the spool) while the
// other flows, flush() says what it did not wait for, and stats() reports per lane.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <filesystem>
#include <thread>

#include <pthread.h>

#include "referkit/spool.hpp"
#include "referkit/tracker.hpp"
#include "support/fake_transport.hpp"
#include "support/temp_dir.hpp"
#include "support/tracker_harness.hpp"

using namespace referkit;
using referkit::test::FakeTransport;
using referkit::test::RecordedRequest;
using referkit::test::TrackerHarness;
using namespace std::chrono_literals;

namespace {

ReferralLinkClicked click(int i) {
  ReferralLinkClicked c;
  c.visitor.anonymous_id = "visitor-" + std::to_string(i);
  c.referral_code = "JANE-GS7Z-0TX3X";
  c.landing_url = "https://shop.example/?ref=" + std::to_string(i);
  return c;
}

OrderCompleted order(int i) {
  OrderCompleted o;
  o.customer.user_id = "buyer-" + std::to_string(i);
  o.order_id = "order-" + std::to_string(i);
  o.total = Money{1999, "EUR"};
  o.referral_code = "JANE-GS7Z-0TX3X";
  return o;
}

// The event names of the batches that reached the fake, in the order of each batch's last attempt
// (the one that was acknowledged, in these tests), one per event.
std::vector<std::string> delivered_names(const FakeTransport& fake) {
  std::vector<std::string> out;
  const std::vector<RecordedRequest> requests = fake.requests();
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const RecordedRequest& r = requests[i];
    const std::string id = r.header("X-Referkit-Batch-Id");
    if (r.message_ids.empty() || std::any_of(requests.begin() + static_cast<std::ptrdiff_t>(i) + 1, requests.end(),
                                             [&](const RecordedRequest& later) { return later.header("X-Referkit-Batch-Id") == id; })) {
      continue;
    }
    std::size_t at = 0;
    while ((at = r.json.find("\"event\":\"", at)) != std::string::npos) {
      at += 9;
      out.push_back(r.json.substr(at, r.json.find('"', at) - at));
    }
  }
  return out;
}

// 10 clicks for every order, interleaved as a shop's traffic would be.
void track_traffic(Tracker& t, int orders) {
  for (int i = 0; i < orders; ++i) {
    for (int c = 0; c < 10; ++c) REQUIRE(t.track(click(i * 10 + c)).ok());
    REQUIRE(t.track(order(i)).ok());
  }
}

// The position of the first click after `skip` requests' worth of events, and of the last order.
struct Positions {
  std::size_t last_order = 0;
  std::size_t first_click = 0;
};
Positions positions(const std::vector<std::string>& names, std::size_t skip) {
  Positions p{0, names.size()};
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (names[i] == "Order Completed") p.last_order = i;
    if (i >= skip && names[i] == "Referral Link Clicked" && p.first_click == names.size()) p.first_click = i;
  }
  return p;
}

}  // namespace

TEST_SUITE("lanes") {

TEST_CASE("the typed events choose their lane, and an Event's lane overrides the default") {
  CHECK(to_event(order(1)).value().lane == Lane::kConversions);
  CHECK(to_event(click(1)).value().lane == Lane::kEngagement);
  RefereeSignedUp signup;
  signup.referee.user_id = "u";
  signup.referral_code = "JANE-GS7Z-0TX3X";
  CHECK(to_event(signup).value().lane == Lane::kConversions);
  TrackerHarness h;
  Tracker t = h.open();
  Event generic;
  generic.name = "Wishlist Shared";
  generic.user_id = "u";
  REQUIRE(t.track(generic).ok());
  generic.lane = Lane::kConversions;
  REQUIRE(t.track(generic).ok());
  REQUIRE(t.track(order(1)).ok());
  const TrackerStats s = t.stats();
  CHECK(s.lane(Lane::kEngagement).tracked == 1);
  CHECK(s.lane(Lane::kConversions).tracked == 2);
  CHECK(s.tracked == 3);
  REQUIRE(t.flush(10s).ok());
  CHECK(t.stats().lane(Lane::kConversions).acknowledged == 2);
  CHECK(t.stats().lane(Lane::kEngagement).acknowledged == 1);
}

TEST_CASE("after an outage every order is delivered before the click backlog (memory mode)") {
  TrackerHarness h;
  h.options.max_batch_events = 10;
  std::atomic<bool> up{false};
  h.fake->set_handler([&](const RecordedRequest&) { return up ? FakeTransport::reply(200) : FakeTransport::reply(503); });
  // A real (short) backoff: the worker retries the batch it holds until the endpoint is up.
  h.seams.sleeper = [](std::chrono::milliseconds) { std::this_thread::sleep_for(1ms); };
  Tracker t = h.open();
  track_traffic(t, 40);
  REQUIRE(h.fake->wait_for_requests(3, 10s));  // the outage was felt
  up = true;
  REQUIRE(t.flush(30s).ok());
  const std::vector<std::string> names = delivered_names(*h.fake);
  REQUIRE(names.size() == 440);
  // At the outage the worker held a batch, and one more taken ahead: those go first. Then every
  // order, then the rest of the clicks.
  const Positions p = positions(names, 2 * 10);
  CHECK(p.last_order < p.first_click);
  CHECK(std::count(names.begin(), names.end(), "Order Completed") == 40);
}

TEST_CASE("after a restart every order in the spool is delivered before any click") {
  test::TempDir tmp;
  TrackerHarness h;
  h.spool_in((tmp.path() / "spool").string());
  h.options.max_batch_events = 10;
  h.fake->set_handler([](const RecordedRequest&) { return FakeTransport::reply(503); });
  {
    Tracker t = h.open();
    track_traffic(t, 40);
    const ShutdownReport report = t.shutdown(200ms);
    REQUIRE(report.kept_in_spool);
    REQUIRE(report.undelivered == 440);
  }
  h.new_transport();
  Tracker t = h.open();
  CHECK(t.stats().recovered == 440);
  REQUIRE(t.flush(30s).ok());
  const std::vector<std::string> names = delivered_names(*h.fake);
  REQUIRE(names.size() == 440);
  const Positions p = positions(names, 0);
  CHECK(p.last_order == 39);
  CHECK(p.first_click == 40);
}

TEST_CASE("a flood of clicks cannot crowd out an order: each lane has its own budget") {
  for (const bool durable : {false, true}) {
    CAPTURE(durable);
    test::TempDir tmp;
    TrackerHarness h;
    if (durable) h.spool_in((tmp.path() / "spool").string());
    h.options.engagement.max_queue_bytes = 64 * 1024;
    h.options.engagement.max_spool_bytes = 64 * 1024;  // one segment
    h.fake->hang(true);  // the endpoint never answers
    Tracker t = h.open();
    Status s;
    int accepted = 0;
    for (int i = 0; i < 5'000 && (s = t.track(click(i))).ok(); ++i) ++accepted;
    REQUIRE(s.code() == StatusCode::kResourceExhausted);
    CHECK(s.message().find(durable ? "engagement.max_spool_bytes" : "max_queue_bytes") != std::string::npos);
    CHECK(accepted > 10);
    for (int i = 0; i < 100; ++i) REQUIRE(t.track(order(i)).ok());
    const TrackerStats st = t.stats();
    CHECK(st.lane(Lane::kConversions).tracked == 100);
    CHECK(st.lane(Lane::kConversions).dropped == 0);
    CHECK(st.lane(Lane::kEngagement).dropped == 1);
    (void)t.shutdown(0ms);
  }
}

TEST_CASE("engagement paused while conversions flow, then resumed") {
  TrackerHarness h;
  h.options.max_batch_events = 10;
  Tracker t = h.open();
  t.pause(Lane::kEngagement);
  track_traffic(t, 5);
  const Status flushed = t.flush(10s);
  CHECK(flushed.code() == StatusCode::kFailedPrecondition);
  CHECK(flushed.message().find("engagement is paused") != std::string::npos);
  CHECK(flushed.message().find("50 events") != std::string::npos);
  std::vector<std::string> names = delivered_names(*h.fake);
  CHECK(names == std::vector<std::string>(5, "Order Completed"));
  TrackerStats s = t.stats();
  CHECK(s.lane(Lane::kEngagement).paused);
  CHECK_FALSE(s.lane(Lane::kConversions).paused);
  CHECK(s.lane(Lane::kEngagement).queued == 50);
  CHECK(s.lane(Lane::kConversions).queued == 0);
  CHECK(s.lane(Lane::kConversions).acknowledged == 5);

  t.resume(Lane::kEngagement);
  REQUIRE(t.flush(10s).ok());
  names = delivered_names(*h.fake);
  CHECK(names.size() == 55);
  CHECK(t.stats().lane(Lane::kEngagement).acknowledged == 50);
  CHECK(t.stats().queued == 0);
}

TEST_CASE("a paused lane keeps its events in the spool across a restart") {
  test::TempDir tmp;
  TrackerHarness h;
  h.spool_in((tmp.path() / "spool").string());
  {
    Tracker t = h.open();
    t.pause(Lane::kEngagement);
    track_traffic(t, 3);
    CHECK(t.flush(10s).code() == StatusCode::kFailedPrecondition);
    CHECK(h.fake->delivered().size() == 3);
    const ShutdownReport report = t.shutdown(1s);
    CHECK(report.kept_in_spool);
    CHECK(report.undelivered == 30);
  }
  auto info = inspect_spool(h.options.spool_dir);
  REQUIRE(info.ok());
  REQUIRE(info->lanes.size() == 2);
  CHECK(info->lanes[0].lane == "conversions");
  CHECK(info->lanes[0].pending_events == 0);
  CHECK(info->lanes[1].lane == "engagement");
  CHECK(info->lanes[1].pending_events == 30);
  CHECK(info->pending_events == 30);
  auto fresh = h.new_transport();
  Tracker t = h.open();
  CHECK(t.stats().recovered == 30);
  REQUIRE(t.flush(10s).ok());
  CHECK(fresh->delivered().size() == 30);
}

TEST_CASE("a lane opened paused (start_paused) never sends what its spool recovered until resume()") {
  // pause() right after open() races the worker, which may already have taken a recovered batch
  // (the CLI's --pause-lane did that under ThreadSanitizer); start_paused holds it from the start.
  test::TempDir tmp;
  TrackerHarness h;
  h.spool_in((tmp.path() / "spool").string());
  {
    Tracker t = h.open();
    t.pause(Lane::kEngagement);
    track_traffic(t, 3);
    (void)t.shutdown(1s);
  }
  auto fresh = h.new_transport();
  h.options.engagement.start_paused = true;
  Tracker t = h.open();
  CHECK(t.stats().recovered == 30);
  CHECK(t.stats().lane(Lane::kEngagement).paused);
  CHECK(t.flush(2s).code() == StatusCode::kFailedPrecondition);
  CHECK(fresh->delivered().empty());
  t.resume(Lane::kEngagement);
  REQUIRE(t.flush(10s).ok());
  CHECK(fresh->delivered().size() == 30);
}

TEST_CASE("callbacks run on the worker thread, also what shutdown() drops") {
  TrackerHarness h;
  std::mutex mu;
  std::vector<std::thread::id> threads;
  h.options.on_drop = [&](DropReason, std::size_t, const Status&) {
    std::lock_guard<std::mutex> lk(mu);
    threads.push_back(std::this_thread::get_id());
  };
  h.options.on_delivery = [&](const DeliveryReport&) {
    std::lock_guard<std::mutex> lk(mu);
    threads.push_back(std::this_thread::get_id());
  };
  Tracker t = h.open();
  REQUIRE(t.track(order(1)).ok());
  REQUIRE(t.flush(10s).ok());
  h.fake->set_handler([](const RecordedRequest&) { return FakeTransport::reply(503); });
  for (int i = 0; i < 5; ++i) REQUIRE(t.track(order(i)).ok());
  const ShutdownReport report = t.shutdown(300ms);
  CHECK(report.undelivered == 5);
  std::lock_guard<std::mutex> lk(mu);
  REQUIRE(threads.size() == 2);  // one delivery, one drop at shutdown
  for (const std::thread::id& id : threads) CHECK(id != std::this_thread::get_id());
  CHECK(threads[0] == threads[1]);
}

TEST_CASE("a moved-from Tracker is safe to call and says so") {
  TrackerHarness h;
  Tracker a = h.open();
  Tracker b = std::move(a);
  // NOLINTNEXTLINE(bugprone-use-after-move): the point of the test
  CHECK(a.track(order(1)).code() == StatusCode::kFailedPrecondition);
  Event e;
  e.name = "x";
  e.user_id = "u";
  CHECK(a.track(e).code() == StatusCode::kFailedPrecondition);
  CHECK(a.flush(1s).code() == StatusCode::kFailedPrecondition);
  a.pause(Lane::kEngagement);
  a.resume(Lane::kEngagement);
  CHECK(a.stats().tracked == 0);
  CHECK(a.shutdown(1s).status.code() == StatusCode::kFailedPrecondition);
  CHECK(b.track(order(1)).ok());
  CHECK(b.flush(10s).ok());
}

}  // TEST_SUITE

TEST_SUITE("lanes") {

TEST_CASE("a spool written before lanes is refused with what to do, never silently left behind") {
  test::TempDir tmp;
  TrackerHarness h;
  const std::string root = (tmp.path() / "spool").string();
  h.spool_in(root);
  std::filesystem::create_directory(root);
  tmp.write("spool/FORMAT", "referkit-spool 2\n");
  auto opened = h.try_open();
  REQUIRE_FALSE(opened.ok());
  CHECK(opened.status().code() == StatusCode::kFailedPrecondition);
  CHECK(opened.status().message().find("before lanes") != std::string::npos);
  CHECK(opened.status().message().find(root + "/conversions") != std::string::npos);
  // It can still be inspected as the single spool it is.
  auto info = inspect_spool(root);
  REQUIRE(info.ok());
  CHECK(info->lanes.empty());
}

}  // TEST_SUITE

namespace {

// Holds the first request until open() is called; answers every other at once.
struct FirstRequestGate {
  std::mutex mu;
  std::condition_variable cv;
  bool opened = false;
  int seen = 0;
  FakeTransport::Handler handler() {
    return [this](const RecordedRequest&) {
      std::unique_lock<std::mutex> lk(mu);
      if (++seen == 1) cv.wait(lk, [&] { return opened; });
      return FakeTransport::reply(200);
    };
  }
  void open() {
    {
      std::lock_guard<std::mutex> lk(mu);
      opened = true;
    }
    cv.notify_all();
  }
};

std::string first_event_name(const RecordedRequest& r) {
  const std::size_t at = r.json.find("\"event\":\"") + 9;
  return r.json.substr(at, r.json.find('"', at) - at);
}

}  // namespace

TEST_SUITE("lanes") {

TEST_CASE("a batch taken ahead still waits for its turn: pause and priority hold until it is sent") {
  TrackerHarness h;
  h.options.max_batch_events = 10;
  FirstRequestGate gate;
  h.fake->set_handler(gate.handler());
  Tracker t = h.open();
  t.pause(Lane::kEngagement);  // 30 clicks in the queue before any is taken
  for (int i = 0; i < 30; ++i) REQUIRE(t.track(click(i)).ok());
  t.resume(Lane::kEngagement);  // clicks 0-9 go, 10-19 (a full batch) are taken ahead, 20-29 wait
  REQUIRE(h.fake->wait_for_requests(1, 10s));
  SUBCASE("a lane paused meanwhile: its batch taken ahead is not sent") {
    t.pause(Lane::kEngagement);
    gate.open();
    // The batch in flight finishes (polled, bounded); the one taken ahead must not follow it.
    const auto give_up = std::chrono::steady_clock::now() + 10s;
    while (t.stats().lane(Lane::kEngagement).acknowledged < 10 && std::chrono::steady_clock::now() < give_up) {
      std::this_thread::sleep_for(1ms);
    }
    REQUIRE(t.stats().lane(Lane::kEngagement).acknowledged == 10);
    const Status flushed = t.flush(10s);
    INFO(flushed.to_string());
    CHECK(flushed.code() == StatusCode::kFailedPrecondition);
    CHECK(flushed.message().find("its 20 events") != std::string::npos);
    CHECK(h.fake->request_count() == 1);
    t.resume(Lane::kEngagement);
    REQUIRE(t.flush(10s).ok());
    CHECK(h.fake->request_count() == 3);
    CHECK(h.fake->delivered().size() == 30);
  }
  SUBCASE("orders tracked meanwhile go before it") {
    for (int i = 0; i < 11; ++i) REQUIRE(t.track(order(i)).ok());  // a full conversions batch, and one
    gate.open();
    REQUIRE(t.flush(10s).ok());
    const auto requests = h.fake->requests();
    REQUIRE(requests.size() == 5);
    CHECK(first_event_name(requests[0]) == "Referral Link Clicked");
    CHECK(first_event_name(requests[1]) == "Order Completed");  // before the clicks taken ahead
    CHECK(h.fake->delivered().size() == 41);
  }
}

}  // TEST_SUITE

namespace {

// Holds the look-ahead thread ("rk-encode") in its sentAt read, the wall-clock read of every
// encoding, until the worker ("rk-worker") reads the wall clock after the first request reached
// the transport (or 5 s pass): whether the worker did work of its own, taking and encoding a
// batch, while the batch ahead was still being encoded.
struct EncodeGate {
  std::mutex mu;
  std::condition_variable cv;
  bool first_request_seen = false;
  bool worker_read_after = false;
  bool held_encoder = false;

  static std::string thread_name() {
    char name[16] = {};
    pthread_getname_np(pthread_self(), name, sizeof name);
    return name;
  }
  // Called from the wall-clock seam.
  void on_clock_read() {
    const std::string me = thread_name();
    std::unique_lock<std::mutex> lk(mu);
    if (me == "rk-worker" && first_request_seen) {
      worker_read_after = true;
      cv.notify_all();
    } else if (me == "rk-encode" && !held_encoder) {
      held_encoder = true;
      cv.wait_for(lk, 5s, [&] { return worker_read_after; });
    }
  }
  void on_first_request() {
    std::lock_guard<std::mutex> lk(mu);
    first_request_seen = true;
  }
  bool worker_worked_beside() {
    std::lock_guard<std::mutex> lk(mu);
    return held_encoder && worker_read_after;
  }
};

// The indexes of one kind of event as they reached the transport (each batch's last attempt),
// read from a numbered field, e.g. "order_id":"order-<i>".
std::vector<int> delivered_indexes(const FakeTransport& fake, const std::string& field_start) {
  std::vector<int> out;
  for (const RecordedRequest& r : fake.requests()) {
    std::size_t at = 0;
    while ((at = r.json.find(field_start, at)) != std::string::npos) {
      at += field_start.size();
      out.push_back(std::stoi(r.json.substr(at, r.json.find('"', at) - at)));
    }
  }
  return out;
}

}  // namespace

TEST_SUITE("lanes") {


TEST_CASE("while the batch ahead is encoded, the worker encodes a due batch beside it, and order holds") {
  for (const bool durable : {false, true}) {
  CAPTURE(durable);
  test::TempDir tmp;
  TrackerHarness h;
  if (durable) h.spool_in((tmp.path() / "spool").string());
  h.options.max_batch_events = 10;
  auto encode_gate = std::make_shared<EncodeGate>();
  h.seams.wall_clock = [c = h.clocks, encode_gate] {
    encode_gate->on_clock_read();
    return now_ms() + c->shift();
  };
  FirstRequestGate gate;
  FakeTransport::Handler first = gate.handler();
  h.fake->set_handler([&, first](const RecordedRequest& r) {
    encode_gate->on_first_request();
    return first(r);
  });
  Tracker t = h.open();
  t.pause(Lane::kEngagement);
  for (int i = 0; i < 30; ++i) REQUIRE(t.track(click(i)).ok());
  t.resume(Lane::kEngagement);  // clicks 0-9 go (held at the transport), 10-19 are taken ahead
  REQUIRE(h.fake->wait_for_requests(1, 10s));
  for (int i = 0; i < 10; ++i) REQUIRE(t.track(order(i)).ok());  // a full conversions batch
  gate.open();
  REQUIRE(t.flush(30s).ok());
  // The orders were taken and encoded on the worker while the encoder was still held.
  CHECK(encode_gate->worker_worked_beside());
  const auto requests = h.fake->requests();
  REQUIRE(requests.size() == 4);
  CHECK(first_event_name(requests[0]) == "Referral Link Clicked");
  CHECK(first_event_name(requests[1]) == "Order Completed");  // outranks the clicks taken ahead
  CHECK(first_event_name(requests[2]) == "Referral Link Clicked");
  CHECK(first_event_name(requests[3]) == "Referral Link Clicked");
  std::vector<int> clicks = delivered_indexes(*h.fake, "\"anonymousId\":\"visitor-");
  std::vector<int> want(30);
  for (int i = 0; i < 30; ++i) want[static_cast<std::size_t>(i)] = i;
  CHECK(clicks == want);
  }
}

TEST_CASE("a flood of small batches in both lanes arrives whole and in order in each lane") {
  // Many batches due at once: the worker and the look-ahead thread both encode; a lane's
  // batches must still go (and resolve) in the order they were tracked.
  for (const bool durable : {false, true}) {
  CAPTURE(durable);
  test::TempDir tmp;
  TrackerHarness h;
  if (durable) h.spool_in((tmp.path() / "spool").string());
  h.options.max_batch_events = 5;
  h.options.gzip_min_bytes = 1;
  Tracker t = h.open();
  constexpr int kEach = 1000;
  for (int i = 0; i < kEach; ++i) {
    REQUIRE(t.track(click(i)).ok());
    REQUIRE(t.track(order(i)).ok());
  }
  REQUIRE(t.flush(30s).ok());
  std::vector<int> want(kEach);
  for (int i = 0; i < kEach; ++i) want[static_cast<std::size_t>(i)] = i;
  CHECK(delivered_indexes(*h.fake, "\"order_id\":\"order-") == want);
  CHECK(delivered_indexes(*h.fake, "\"anonymousId\":\"visitor-") == want);
  CHECK(t.stats().acknowledged == 2 * kEach);
  if (!durable) CHECK(h.fake->request_count() == 2 * kEach / 5);
  if (durable) {
    // A batch never spans a segment's end (64 KiB here), so a few are short.
    CHECK(h.fake->request_count() >= 2 * kEach / 5);
    // Everything resolved in order, the spool let go of all of it: a reopen finds nothing.
    REQUIRE(t.shutdown(10s).status.ok());
    Tracker again = h.open();
    CHECK(again.stats().recovered == 0);
  }
  }
}

}  // TEST_SUITE
