#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#if defined(__unix__) || defined(__APPLE__)
#include <sys/wait.h>
#include <unistd.h>
#define EVENTS_TEST_HAVE_FORK 1
#endif

#include "events/uuid.hpp"

using referkit::TimePoint;
using referkit::detail::is_uuid_v7;
using referkit::detail::make_uuid_v7;

namespace {

TimePoint at_ms(std::int64_t ms) { return TimePoint(std::chrono::milliseconds(ms)); }

std::uint64_t unix_ms_of(const std::string& id) {
  return std::stoull(id.substr(0, 8) + id.substr(9, 4), nullptr, 16);
}

// Ids are monotonic per thread: an earlier `now` than this thread has already used gives the
// later millisecond. Cases that check the timestamp itself start from a fresh thread's state.
std::string first_id_of_a_thread(TimePoint now) {
  std::string id;
  std::thread([&] { id = make_uuid_v7(now); }).join();
  return id;
}

}  // namespace

TEST_SUITE("events") {

TEST_CASE("uuid v7 layout: lowercase 8-4-4-4-12, version 7, variant 10, timestamp") {
  const TimePoint now = at_ms(1'795'771'800'123);
  const std::string id = first_id_of_a_thread(now);
  INFO(id);
  REQUIRE(id.size() == 36);
  CHECK(is_uuid_v7(id));
  CHECK(id.substr(0, 13) == "01a21c57-1a3b");
  CHECK(id[14] == '7');
  CHECK(std::string("89ab").find(id[19]) != std::string::npos);
  CHECK(unix_ms_of(id) == 1'795'771'800'123u);
}

TEST_CASE("is_uuid_v7 rejects other shapes") {
  CHECK(is_uuid_v7("01a21c57-1a3b-7abc-8def-0123456789ab"));
  CHECK(is_uuid_v7("01a21c57-1a3b-7abc-bdef-0123456789ab"));
  CHECK_FALSE(is_uuid_v7("01A21C57-1A3B-7ABC-8DEF-0123456789AB"));  // upper case
  CHECK_FALSE(is_uuid_v7("01a21c57-1a3b-4abc-8def-0123456789ab"));  // version 4
  CHECK_FALSE(is_uuid_v7("01a21c57-1a3b-7abc-cdef-0123456789ab"));  // variant 110
  CHECK_FALSE(is_uuid_v7("01a21c571a3b7abc8def0123456789ab"));      // no dashes
  CHECK_FALSE(is_uuid_v7("01a21c57-1a3b-7abc-8def-0123456789a"));
  CHECK_FALSE(is_uuid_v7("01a21c57-1a3b-7abc-8def-0123456789ag"));
  CHECK_FALSE(is_uuid_v7(""));
}

TEST_CASE("timestamps before 1970 or past 2^48 ms are clamped") {
  CHECK(unix_ms_of(first_id_of_a_thread(at_ms(-5))) == 0);
  const std::string far = first_id_of_a_thread(at_ms(std::int64_t{1} << 50));
  CHECK(far.substr(0, 13) == "ffffffff-ffff");
  CHECK(is_uuid_v7(far));
}

TEST_CASE("ids of one thread strictly increase: real, frozen and backwards clocks") {
  std::thread([] {  // a fresh thread: fresh generator state, unaffected by other cases
    std::string previous;
    int failures = 0;
    auto expect_next = [&](TimePoint now) {
      std::string id = make_uuid_v7(now);
      if (!is_uuid_v7(id) || id <= previous) ++failures;
      previous = std::move(id);
    };
    for (int i = 0; i < 100'000; ++i) expect_next(referkit::now_ms());
    const TimePoint frozen = referkit::now_ms() + std::chrono::milliseconds(10);
    for (int i = 0; i < 100'000; ++i) expect_next(frozen);
    // The clock steps back a minute: ids keep increasing (the last millisecond is reused).
    for (int i = 0; i < 1'000; ++i) expect_next(frozen - std::chrono::minutes(1));
    CHECK(unix_ms_of(previous) == static_cast<std::uint64_t>(frozen.time_since_epoch().count()));
    // And the clock catching up moves on normally.
    expect_next(frozen + std::chrono::milliseconds(1));
    CHECK(unix_ms_of(previous) == static_cast<std::uint64_t>(frozen.time_since_epoch().count() + 1));
    CHECK(failures == 0);
  }).join();
}

TEST_CASE("ids are unique across 4 threads sharing one millisecond") {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 100'000;
  const TimePoint now = referkit::now_ms();
  std::vector<std::vector<std::string>> ids(kThreads);
  std::vector<std::thread> threads;
  for (auto& mine : ids) {
    threads.emplace_back([&mine, now] {
      mine.reserve(kPerThread);
      for (int i = 0; i < kPerThread; ++i) mine.push_back(make_uuid_v7(now));
    });
  }
  for (auto& t : threads) t.join();
  std::vector<std::string> all;
  for (const auto& mine : ids) {
    CHECK(std::is_sorted(mine.begin(), mine.end()));
    all.insert(all.end(), mine.begin(), mine.end());
  }
  std::sort(all.begin(), all.end());
  CHECK(std::adjacent_find(all.begin(), all.end()) == all.end());
}

#if defined(EVENTS_TEST_HAVE_FORK)
TEST_CASE("a forked child does not repeat its parent's ids") {
  // Same thread state and same frozen clock on both sides: without a reseed in the child, its
  // next id would equal the parent's next id exactly.
  const TimePoint now = referkit::now_ms();
  (void)make_uuid_v7(now);  // the parent's state is seeded before the fork
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    const std::string id = make_uuid_v7(now);
    const ssize_t n = write(fds[1], id.data(), id.size());
    _exit(n == static_cast<ssize_t>(id.size()) ? 0 : 1);
  }
  close(fds[1]);
  const std::string parent_id = make_uuid_v7(now);
  char buf[64] = {};
  std::size_t got = 0;
  while (got < 36) {
    const ssize_t n = read(fds[0], buf + got, sizeof buf - got);
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  close(fds[0]);
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  const std::string child_id(buf, got);
  REQUIRE(child_id.size() == 36);
  CHECK(is_uuid_v7(child_id));
  CHECK(child_id != parent_id);
  // Not just the random tail: the counter was reseeded too.
  CHECK(child_id.substr(0, 23) != parent_id.substr(0, 23));
}
#endif

}  // TEST_SUITE
