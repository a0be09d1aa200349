// The tracker's lanes (referkit::Lane): one pending storage per lane, whether the lane is
// paused, and which of its events are in flight. It answers the worker's two questions (which
// lane sends next, and when) and flush()'s (is everything up to this event resolved?).
//
// Priority: when both lanes have a batch due, conversions go first, so after an outage every
// order is delivered before the click backlog. A paused lane is never due; its events wait in
// its storage, within its budget.
//
// Not thread-safe: the tracker's mutex guards it.
#ifndef REFERKIT_SRC_TRACKING_LANES_HPP
#define REFERKIT_SRC_TRACKING_LANES_HPP

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>

#include "pending/pending_events.hpp"
#include "referkit/events.hpp"

namespace referkit::detail {

// When the oldest events of a lane should go without waiting for a full batch.
// Event numbers (seq) count per lane: a lane's storage numbers its events consecutively.
using LaneSeqs = std::array<std::uint64_t, kLaneCount>;

struct DuePolicy {
  std::chrono::milliseconds flush_interval{1'000};
  LaneSeqs flush_through{};  // flush() asked for every event of the lane up to this seq
  bool stopping = false;     // shutdown(): everything that is not paused goes now
};

// A batch in flight: its lane and its first event.
struct InFlight {
  Lane lane = Lane::kConversions;
  std::uint64_t first_seq = 0;
};

struct LaneSlot {
  std::unique_ptr<PendingEvents> events;
  bool paused = false;
  std::uint64_t next_seq = 1;  // the number of the next event tracked into the lane
  // A forked child of a durable tracker: `events` is a memory queue that holds what the child
  // tracks until its worker has opened the child's own spool and moved them into it.
  bool staged = false;
  std::uint64_t inflight_min_seq = 0;  // first unresolved in-flight event; 0 when none
  std::uint64_t inflight_count = 0;
};

class Lanes {
 public:
  static constexpr std::array<Lane, kLaneCount> kByPriority{Lane::kConversions, Lane::kEngagement};

  // Whether `a` goes before `b` when both have a batch due.
  static bool outranks(Lane a, Lane b) { return static_cast<int>(a) < static_cast<int>(b); }

  LaneSlot& operator[](Lane lane) { return slots_[static_cast<std::size_t>(lane)]; }
  const LaneSlot& operator[](Lane lane) const { return slots_[static_cast<std::size_t>(lane)]; }

  // Whether a lane is staged (see LaneSlot).
  bool staged() const;
  // The first lane, by priority, whose oldest batch should go now; nullopt when none.
  std::optional<Lane> due(SteadyTime now, const DuePolicy& policy) const;
  // When the first lane that is waiting for its flush interval becomes due; nullopt when no
  // lane that is not paused has events waiting.
  std::optional<SteadyTime> next_due(const DuePolicy& policy) const;
  // Nothing that could be sent now waits to be taken (paused and staged lanes aside).
  bool idle() const;
  // Every event of a lane that is not paused, up to its number in `seqs`, is resolved.
  bool resolved_through(const LaneSeqs& seqs) const;
  // The last number given out in each lane.
  LaneSeqs last_seqs() const;
  // Events waiting or in flight in paused lanes (what flush() does not wait for).
  std::uint64_t waiting_in_paused() const;
  // Events waiting to be taken and in flight, in all lanes.
  std::uint64_t unresolved() const;

 private:
  std::array<LaneSlot, kLaneCount> slots_;
};

}  // namespace referkit::detail

#endif  // REFERKIT_SRC_TRACKING_LANES_HPP
