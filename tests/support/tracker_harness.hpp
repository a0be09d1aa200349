// The one tracker harness for tests: a tracker opened through referkit/testing.hpp against a
// scripted FakeTransport, with a recording sleeper (no real backoff waits), a fixed random seed,
// clocks the test can move, and recorders for on_drop and on_dead_letter. Durable-mode tests
// add a spool directory (spool_in()).
#ifndef REFERKIT_TESTS_SUPPORT_TRACKER_HARNESS_HPP
#define REFERKIT_TESTS_SUPPORT_TRACKER_HARNESS_HPP

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "referkit/testing.hpp"
#include "referkit/tracker.hpp"
#include "support/fake_transport.hpp"

namespace referkit::test {

// A clock the test moves by hand, on top of a real one (so that time still passes on its own
// too: waits with deadlines keep working). Thread-safe.
class ShiftedClocks {
 public:
  void advance(std::chrono::milliseconds d) { shift_ms_ += d.count(); }
  std::chrono::milliseconds shift() const { return std::chrono::milliseconds(shift_ms_.load()); }

 private:
  std::atomic<std::int64_t> shift_ms_{0};
};

struct TrackerHarness {
  std::shared_ptr<FakeTransport> fake = std::make_shared<FakeTransport>();
  std::shared_ptr<ShiftedClocks> clocks = std::make_shared<ShiftedClocks>();
  std::mutex mu;
  std::vector<std::chrono::milliseconds> waits;  // what the sleeper was asked to wait
  std::vector<std::pair<DropReason, std::size_t>> drops;
  std::vector<DeadLetter> dead;
  TrackerOptions options;
  testing::TrackerSeams seams;

  TrackerHarness() {
    options.endpoint = "http://127.0.0.1:9";
    options.write_key = "wk";
    options.flush_interval = std::chrono::hours(1);  // batches go when full or flushed
    options.on_drop = [this](DropReason r, std::size_t n, const Status&) {
      std::lock_guard<std::mutex> lk(mu);
      drops.emplace_back(r, n);
    };
    options.on_dead_letter = [this](const DeadLetter& d) {
      std::lock_guard<std::mutex> lk(mu);
      dead.push_back(d);
    };
    seams.transport = fake;
    seams.random_seed = 42;
    seams.sleeper = [this](std::chrono::milliseconds d) {
      std::lock_guard<std::mutex> lk(mu);
      waits.push_back(d);
    };
    // The real clocks, moved forward by clocks->advance().
    seams.wall_clock = [c = clocks] { return now_ms() + c->shift(); };
    seams.steady_clock = [c = clocks] { return std::chrono::steady_clock::now() + c->shift(); };
    seams.boot_clock = [c = clocks] {
      return std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::steady_clock::now().time_since_epoch()) + c->shift();
    };
  }
  TrackerHarness(const TrackerHarness&) = delete;
  TrackerHarness& operator=(const TrackerHarness&) = delete;

  // Durable mode in `dir`, with small segments so that tests cross segment ends.
  void spool_in(std::string dir) {
    options.spool_dir = std::move(dir);
    options.spool_segment_bytes = 64 * 1024;
    seams.random_seed = 7;
  }
  Tracker open() {
    auto t = testing::open_tracker(options, seams);
    REQUIRE_MESSAGE(t.ok(), t.status().to_string());
    return std::move(*t);
  }
  Result<Tracker> try_open() { return testing::open_tracker(options, seams); }
  // A fresh transport for the next tracker (what the last one received stays inspectable).
  std::shared_ptr<FakeTransport> new_transport() {
    fake = std::make_shared<FakeTransport>();
    seams.transport = fake;
    return fake;
  }
  std::vector<std::pair<DropReason, std::size_t>> drops_seen() {
    std::lock_guard<std::mutex> lk(mu);
    return drops;
  }
};

}  // namespace referkit::test

#endif  // REFERKIT_TESTS_SUPPORT_TRACKER_HARNESS_HPP
