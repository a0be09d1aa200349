// Pending storage for each lane: a memory queue, or in durable mode a spool in the lane's own
// directory. This file is the only place in the tracker that knows which one it has; everything
// else goes through the PendingEvents interface.
#include <fmt/format.h>

#include "pending/memory_queue.hpp"
#include "spool/spool_dir.hpp"
#include "spool/spool_queue.hpp"
#include "tracking/tracker_impl.hpp"

namespace referkit {
inline namespace v1 {
namespace {

std::unique_ptr<detail::PendingEvents> memory_queue(const TrackerOptions& o, Lane lane, std::size_t batch_bytes) {
  return std::make_unique<detail::MemoryQueue>(o.budget(lane).max_queue_bytes, o.max_batch_events, batch_bytes);
}

Result<std::unique_ptr<detail::PendingEvents>> open_spool(const TrackerOptions& o, const testing::TrackerSeams& seams,
                                                          Lane lane, std::size_t batch_bytes, std::uint64_t first_seq) {
  detail::SpoolQueueOptions so;
  so.dir = detail::lane_directory(o.spool_dir, lane);
  so.segment_bytes = o.spool_segment_bytes;
  so.max_bytes = o.budget(lane).max_spool_bytes;
  so.budget_name = fmt::format("{}.max_spool_bytes", to_string(lane));
  so.max_event_age = o.max_event_age;
  so.commit_interval = o.spool_commit_interval;
  so.batch_events = o.max_batch_events;
  so.batch_bytes = batch_bytes;
  so.first_seq = first_seq;
  so.background_nice = o.background_nice;
  so.clock = seams.wall_clock;
  so.steady_clock = seams.steady_clock;
  if (seams.boot_clock) {
    so.boot_clock = [boot = seams.boot_clock] {
      detail::BootTime t = detail::boot_time_now();
      t.ms = boot().count();
      return t;
    };
  }
  if (Status s = detail::ensure_directory(o.spool_dir); !s.ok()) return s;
  if (Status s = detail::check_lanes_layout(o.spool_dir); !s.ok()) return s;
  auto opened = detail::SpoolQueue::open(std::move(so));
  if (!opened) return opened.status();
  return std::unique_ptr<detail::PendingEvents>(std::move(*opened));
}

}  // namespace

Status Tracker::Impl::open_lanes() {
  for (Lane lane : detail::Lanes::kByPriority) {
    detail::LaneSlot& slot = lanes[lane];
    slot.staged = false;
    if (options.spool_dir.empty()) {
      slot.events = memory_queue(options, lane, batch_event_bytes);
      continue;
    }
    {
      // Until the lane holds the spool, a fork would copy its descriptors where
      // after_fork_child cannot find them: fork() waits (and no user callback runs meanwhile).
      detail::SpoolOpenForkGuard no_fork_meanwhile;
      auto opened = open_spool(options, seams, lane, batch_event_bytes, slot.next_seq);
      if (!opened) return opened.status();
      slot.events = std::move(*opened);
    }
    const detail::PendingRecovery& found = slot.events->recovery();
    slot.next_seq += found.events;
    reporter.recovered(found);
    if (found.events > 0 || found.corrupt > 0 || found.truncated_segments > 0) {
      reporter.log(found.corrupt > 0 || found.truncated_segments > 0 ? LogLevel::kWarn : LogLevel::kInfo,
                   fmt::format("spool {}: {} events recovered; {} damaged stretches ({} bytes) skipped; {} "
                               "truncated segments ({} bytes missing)",
                               detail::lane_directory(options.spool_dir, lane), found.events, found.corrupt,
                               found.corrupt_bytes, found.truncated_segments, found.truncated_bytes));
    }
    for (const std::string& why : found.skipped) {
      reporter.log(LogLevel::kWarn, fmt::format("spool entry skipped: {}", why));
    }
  }
  return {};
}

void Tracker::Impl::abandon_lanes_after_fork() {
  for (Lane lane : detail::Lanes::kByPriority) {
    detail::LaneSlot& slot = lanes[lane];
    slot.inflight_count = 0;
    slot.inflight_min_seq = 0;
    if (!slot.events) continue;
    // A spool this process's worker was opening when the fork came is the parent's too.
    std::unique_ptr<detail::PendingEvents>& half_open = opening[static_cast<std::size_t>(lane)];
    if (half_open) {
      half_open->abandon_after_fork();
      (void)half_open.release();
    }
    const bool durable = slot.events->keeps_undelivered() || slot.staged;
    slot.events->abandon_after_fork();  // the memory queue is then empty and ready for the child
    if (durable && !lanes_closed) {
      // The parent's spool files and committer stay the parent's (never destroyed here). Until
      // the child's worker has opened the child's own spool (file I/O, which track() never
      // does), what the child tracks waits in memory, within the lane's memory budget.
      if (!slot.staged) (void)slot.events.release();
      slot.events = memory_queue(options, lane, batch_event_bytes);
      slot.staged = true;
    }
  }
}

void Tracker::Impl::open_staged_lanes() {
  for (Lane lane : detail::Lanes::kByPriority) {
    const auto i = static_cast<std::size_t>(lane);
    {
      std::lock_guard<std::mutex> lk(mu);
      if (!lanes[lane].staged) continue;
    }
    // The file work happens here, on the worker, without the mutex: track() never waits for it.
    for (;;) {
      Status failed;
      {
        // A fork meanwhile waits; the spool is kept where after_fork_child finds it (`opening`).
        detail::SpoolOpenForkGuard no_fork_meanwhile;
        // Numbered from 1: the child's own events are numbered from kChildFirstSeq (see
        // after_fork_child), so what the spool recovers comes before them, as it does on disk.
        auto opened = open_spool(options, seams, lane, batch_event_bytes, 1);
        if (opened) {
          opening[i] = std::move(*opened);
        } else {
          failed = opened.status();
        }
      }
      if (failed.ok()) break;
      reporter.log(LogLevel::kError, fmt::format("forked child: cannot open its spool ({}); events tracked "
                                                 "since the fork wait in memory; retrying in 1 s",
                                                 failed.to_string()));
      std::unique_lock<std::mutex> lk(mu);
      reporter.set_last_error(failed.to_string());
      if (work_cv->wait_for(lk, std::chrono::seconds(1), [&] { return stopping; })) return;
    }
    std::vector<std::string> lost;
    {
      std::unique_lock<std::mutex> lk(mu);
      detail::SpoolOpenForkGuard no_fork_meanwhile;  // after mu: the order fork's prepare takes them in
      std::unique_ptr<detail::PendingEvents> spool = std::move(opening[i]);
      // What it finds there belongs to processes that died; the child delivers it too, first.
      detail::LaneSlot& slot = lanes[lane];
      reporter.recovered(spool->recovery());
      // Move what was tracked meanwhile into the spool, oldest first, keeping its numbers. They
      // were accepted already: they go in even past the lane's spool budget.
      std::vector<detail::QueuedEvent> staged;
      detail::TakeReport ignored;
      while (!slot.events->empty()) {
        slot.events->take(staged, ignored);
        for (detail::QueuedEvent& e : staged) {
          if (Status s = spool->push(std::move(e)); !s.ok()) {
            (void)reporter.queue_full(lane, 1);
            lost.push_back(s.to_string());
          }
        }
        slot.events->resolved(staged);
      }
      // Not destroyed: flush() may be committing it right now, without the mutex.
      retired.push_back(std::move(slot.events));
      slot.events = std::move(spool);
      slot.staged = false;
    }
    space_cv->notify_all();
    for (const std::string& why : lost) {
      reporter.log(LogLevel::kError, fmt::format("forked child: event lost moving into the spool: {}", why));
    }
  }
}

}  // namespace v1
}  // namespace referkit
