// The memory queue's recycling of delivered events' text buffers (MemoryQueue::recycle and
// lend_text_buffer): what track() borrows, what a new chunk reuses, and that none of it moves
// the bound or the counts.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "pending/memory_queue.hpp"

namespace referkit::detail {
namespace {

QueuedEvent event(std::string json, std::uint64_t seq) {
  QueuedEvent e;
  e.json = std::move(json);
  e.seq = seq;
  return e;
}

}  // namespace

TEST_SUITE("memory_queue") {

TEST_CASE("a delivered batch's buffers are lent one by one, then its vector takes the next chunk") {
  MemoryQueue q(1 << 20, 2, 1 << 16);
  const std::string text(300, 'x');
  for (std::uint64_t i = 1; i <= 3; ++i) REQUIRE(q.push(event(text, i)).ok());
  const std::size_t charged = q.usage().memory_bytes;
  std::vector<QueuedEvent> taken;
  TakeReport report;
  q.take(taken, report);
  REQUIRE(taken.size() == 2);
  const char* first = taken[0].json.data();
  const char* second = taken[1].json.data();
  const QueuedEvent* slots = taken.data();
  q.resolved(taken);
  CHECK(q.usage().memory_bytes == charged - 2 * MemoryQueue::cost(event(text, 0)));
  q.recycle(taken);
  CHECK(taken.empty());  // kept by the queue; its owner has nothing left to free

  // Lent last to first; the borrower's own (empty) string goes back in their place.
  std::string buffer;
  q.lend_text_buffer(buffer);
  CHECK(buffer.data() == second);
  CHECK(buffer.capacity() >= text.size());
  buffer.clear();
  std::string other;
  q.lend_text_buffer(other);
  CHECK(other.data() == first);
  std::string none;
  q.lend_text_buffer(none);  // all lent: nothing more
  CHECK(none.capacity() == std::string().capacity());

  // The fourth event joins the third's chunk; the chunk opened for the fifth takes the vector.
  REQUIRE(q.push(event(text, 4)).ok());
  REQUIRE(q.push(event(text, 5)).ok());
  q.take(taken, report);
  CHECK(taken.size() == 2);
  q.take(taken, report);
  CHECK(taken.size() == 1);
  CHECK(taken.data() == slots);
  CHECK(q.size() == 0);
}

TEST_CASE("a second delivered batch is left to its owner while the first is being lent") {
  MemoryQueue q(1 << 20, 1, 1 << 16);
  REQUIRE(q.push(event("one", 1)).ok());
  REQUIRE(q.push(event("two", 2)).ok());
  std::vector<QueuedEvent> a, b;
  TakeReport report;
  q.take(a, report);
  q.take(b, report);
  q.resolved(a);
  q.recycle(a);
  CHECK(a.empty());
  q.resolved(b);
  q.recycle(b);
  REQUIRE(b.size() == 1);  // not taken: the queue keeps one batch at most
  CHECK(b[0].json == "two");
  CHECK(q.usage().memory_bytes == 0);
}

TEST_CASE("forget() lets go of the buffers kept for reuse") {
  MemoryQueue q(1 << 20, 4, 1 << 16);
  REQUIRE(q.push(event(std::string(100, 'y'), 1)).ok());
  std::vector<QueuedEvent> taken;
  TakeReport report;
  q.take(taken, report);
  q.resolved(taken);
  q.recycle(taken);
  CHECK(q.forget() == 0);
  std::string buffer;
  q.lend_text_buffer(buffer);
  CHECK(buffer.capacity() == std::string().capacity());
}

}  // TEST_SUITE

}  // namespace referkit::detail
