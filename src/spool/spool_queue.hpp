// The durable queue: pending events live in memory-mapped segment files in the spool directory
// instead of in memory. track() copies a checksummed record into the open segment (no system
// call: the page cache has it the moment the copy ends, so kill -9 cannot lose it); the
// committer (committer.hpp) msyncs what was appended every commit interval (group commit), so
// power loss loses at most that interval; the upload worker reads batches back from the segments, and deletes a
// segment once every event in it is resolved. Recovery at open adopts the segments a dead
// process left, skips what was acknowledged, counts damaged records, and queues the rest first.
//
// Memory stays flat whatever the backlog: only the segment being written and the one being read
// are mapped, and nothing per event is kept in memory.
#ifndef REFERKIT_SRC_SPOOL_SPOOL_QUEUE_HPP
#define REFERKIT_SRC_SPOOL_SPOOL_QUEUE_HPP

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "pending/pending_events.hpp"
#include "spool/boot_clock.hpp"
#include "spool/committer.hpp"
#include "spool/mapped_file.hpp"
#include "spool/segment.hpp"
#include "spool/spool_dir.hpp"
#include "referkit/time.hpp"

namespace referkit::detail {

struct SpoolQueueOptions {
  std::string dir;
  std::size_t segment_bytes = 8u << 20;
  std::uint64_t max_bytes = 1ull << 30;
  std::chrono::milliseconds max_event_age{0};  // zero keeps events forever
  std::function<TimePoint()> clock = now_ms;   // the wall clock: tracked-at times and their age
  std::function<SteadyTime()> steady_clock = std::chrono::steady_clock::now;  // enqueue times
  std::function<BootTime()> boot_clock = boot_time_now;  // segment ages no wall-clock step moves
  std::chrono::milliseconds commit_interval{50};
  std::size_t batch_events = 500;
  std::size_t batch_bytes = 500'000;  // event bytes in a request body
  std::uint64_t first_seq = 1;        // seq of the first event found at open
  std::string budget_name = "max_spool_bytes";  // how full_message() names max_bytes
  int background_nice = 0;  // of the committer's threads (TrackerOptions::background_nice)
};

class SpoolQueue final : public PendingEvents {
 public:
  // Opens the spool (creating it if needed), adopts and scans what earlier runs left, and starts
  // the committer. Creates no segment: the first push() does, so a drain (which tracks nothing)
  // works on a full disk, which is when draining matters most.
  static Result<std::unique_ptr<SpoolQueue>> open(SpoolQueueOptions options);
  ~SpoolQueue() override;

  bool fits(const QueuedEvent& event) const override;
  // The spool never discards accepted events to make room: always 0.
  std::size_t evict_for(const QueuedEvent& event) override;
  Status push(QueuedEvent&& event) override;
  std::string full_message() const override;
  bool front_batch_full() const override;
  bool empty() const override { return untaken_ == 0; }
  std::size_t size() const override { return untaken_; }
  PendingFront front() const override;
  void take(std::vector<QueuedEvent>& out, TakeReport& report) override;
  void prepare_take() override;
  void materialize(std::vector<QueuedEvent>& taken) override;
  void resolved(const std::vector<QueuedEvent>& done) override;
  // Appends them to <dir>/dead-letters.jsonl, before the events leave the spool, so a crash in
  // between cannot lose them.
  Status record_refused(const std::vector<RefusedEvent>& refused, TimePoint at) override;
  // Spooled events wait out any outage, bounded by max_event_age and the spool's size instead.
  std::chrono::milliseconds retry_cap(std::chrono::milliseconds) const override { return std::chrono::milliseconds(0); }

  // Waits until everything appended so far is on disk, or the deadline passes.
  Status commit(SteadyTime deadline) override;
  PendingUsage usage() const override { return PendingUsage{0, disk_bytes_}; }
  // What open() found: pending events, damage, and entries it left alone (each with why).
  const PendingRecovery& recovery() const override { return recovery_; }
  bool keeps_undelivered() const override { return true; }
  // The committer's last commit and its end, without the queue's state: callable without the
  // tracker's mutex once nothing is appended any more. forget() does it too.
  void stop() override { committer_->stop(); }
  // Commits, closes the segments and releases the spool; the events stay on disk.
  std::size_t forget() override;
  // In a forked child: lets go of the parent's files and thread without touching them.
  void abandon_after_fork() noexcept override;

  const std::string& path() const noexcept { return dir_->path(); }

 private:
  explicit SpoolQueue(SpoolQueueOptions options);
  Status roll();
  std::shared_ptr<Segment> reading_segment() const;
  void reclaim(std::uint32_t through_number, std::size_t end);
  void remove_front_segment();
  // Whether an event that old by the wall clock (tracked_ms, now_ms) has expired (see take()).
  bool expired(const Segment& seg, std::int64_t tracked_ms, std::int64_t now_ms, const BootTime& boot_now) const;

  SpoolQueueOptions options_;
  std::unique_ptr<SpoolDir> dir_;
  std::deque<std::shared_ptr<Segment>> segments_;  // oldest first; the back one takes appends
  std::uint32_t next_number_ = 1;
  std::uint64_t next_seq_ = 1;  // seq of the next record found at open
  std::size_t untaken_ = 0;
  std::uint64_t disk_bytes_ = 0;
  PendingRecovery recovery_;
  std::unique_ptr<SpoolCommitter> committer_;
  bool closed_ = false;
  // Events taken and not yet resolved, and a reclaim that waits for them (see take()).
  struct Reclaim {
    std::uint32_t number = 0;
    std::size_t end = 0;
  };
  std::size_t inflight_ = 0;
  std::optional<Reclaim> deferred_reclaim_;
  // The text of the events of each batch take() handed out, until materialize() copies it out:
  // the worker may materialize one batch while the look-ahead thread materializes another, so
  // they are kept by batch (its first event's seq), under their own mutex (materialize() runs
  // without the tracker's). The map keeps the records mapped.
  struct Staged {
    std::uint64_t first_seq = 0;
    std::vector<std::string_view> views;
    std::shared_ptr<MappedFile> map;
  };
  std::mutex staged_mu_;
  std::vector<Staged> staged_;  // a few at most: the batches taken and not yet materialized
  // Worker only: the next batch of the segment being read. take() sets out what to read, under
  // the tracker's mutex; prepare_take() reads it without the mutex (records before the written
  // mark never change, and only the worker takes); the next take() installs what it found, in
  // a few assignments. Reading the records under the mutex, as take() did, held track() up for
  // as long as the worker took (longer when preempted, or faulting in pages the committer had
  // released): the durable stalls of issue 15.
  struct Walk {
    // Set out by take().
    std::shared_ptr<Segment> segment;
    std::shared_ptr<MappedFile> map;
    std::size_t start = 0;       // the segment's read_pos then
    std::size_t end = 0;         // its written mark then
    std::uint64_t taken = 0;     // its taken count then
    std::uint64_t records = 0;   // its record count then
    std::uint64_t first_seq = 0;
    // Found by prepare_take().
    bool done = false;
    std::vector<QueuedEvent> events;
    std::vector<std::string_view> views;
    std::uint64_t passed = 0;      // records read, the expired included
    std::size_t passed_wire = 0;   // their bytes in a batch body
    std::size_t expired = 0;
    std::size_t read_pos = 0;      // where the next take starts
    bool at_end = true;            // no record left before `end`
  };
  void walk(Walk& w) const;
  // What front() last read: the tracked-at time of the record at (segment number, position).
  struct FrontCache {
    std::uint32_t number = 0;
    std::size_t pos = 0;
    std::int64_t tracked_ms = 0;
  };
  mutable FrontCache front_cache_;
  void install(Segment& seg, Walk& w, std::vector<QueuedEvent>& out, TakeReport& report);
  std::optional<Walk> walk_;
  // Worker only: a segment take() found unmapped, mapped by prepare_take() without the tracker's
  // mutex, and installed by the next take() (or dropped, if the segment is gone by then).
  std::shared_ptr<Segment> to_map_;
  std::shared_ptr<MappedFile> premapped_;
  std::uint32_t premapped_number_ = 0;
  Status premap_error_;
};

}  // namespace referkit::detail

#endif  // REFERKIT_SRC_SPOOL_SPOOL_QUEUE_HPP
