#include "tracking/lanes.hpp"

namespace referkit::detail {

bool Lanes::staged() const {
  for (const LaneSlot& slot : slots_) {
    if (slot.staged) return true;
  }
  return false;
}

std::optional<Lane> Lanes::due(SteadyTime now, const DuePolicy& policy) const {
  for (Lane lane : kByPriority) {
    const LaneSlot& slot = (*this)[lane];
    if (slot.paused || slot.staged || slot.events->empty()) continue;
    // A full batch first: it needs no look at the oldest event (which the spool reads from its
    // segment), and in a flood it is the usual answer.
    if (policy.stopping || slot.events->front_batch_full()) return lane;
    const PendingFront front = slot.events->front();
    if (front.seq <= policy.flush_through[static_cast<std::size_t>(lane)] || now >= front.enqueued + policy.flush_interval) {
      return lane;
    }
  }
  return std::nullopt;
}

std::optional<SteadyTime> Lanes::next_due(const DuePolicy& policy) const {
  std::optional<SteadyTime> first;
  for (const LaneSlot& slot : slots_) {
    if (slot.paused || slot.staged || slot.events->empty()) continue;
    const SteadyTime at = slot.events->front().enqueued + policy.flush_interval;
    if (!first || at < *first) first = at;
  }
  return first;
}

bool Lanes::idle() const {
  for (const LaneSlot& slot : slots_) {
    // A staged lane's events cannot go until its spool is open.
    if (!slot.paused && !slot.staged && !slot.events->empty()) return false;
  }
  return true;
}

bool Lanes::resolved_through(const LaneSeqs& seqs) const {
  for (std::size_t i = 0; i < kLaneCount; ++i) {
    const LaneSlot& slot = slots_[i];
    const std::uint64_t seq = seqs[i];
    if (slot.paused) continue;
    if (slot.inflight_min_seq != 0 && slot.inflight_min_seq <= seq) return false;
    if (!slot.events->empty() && slot.events->front().seq <= seq) return false;
  }
  return true;
}

LaneSeqs Lanes::last_seqs() const {
  LaneSeqs out{};
  for (std::size_t i = 0; i < kLaneCount; ++i) out[i] = slots_[i].next_seq - 1;
  return out;
}

std::uint64_t Lanes::waiting_in_paused() const {
  std::uint64_t n = 0;
  for (const LaneSlot& slot : slots_) {
    if (!slot.paused) continue;
    n += slot.inflight_count + slot.events->size();
  }
  return n;
}

std::uint64_t Lanes::unresolved() const {
  std::uint64_t n = 0;
  for (const LaneSlot& slot : slots_) n += slot.inflight_count + slot.events->size();
  return n;
}

}  // namespace referkit::detail
