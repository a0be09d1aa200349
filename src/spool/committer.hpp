// The spool's background threads, which keep every file system call that can take milliseconds
// off track()'s path. The committer thread:
// - group commit: every commit interval (or sooner when flush() asks) it msyncs what was
//   appended since its last pass, so power loss loses at most one interval;
// - deletions of reclaimed segments, or one kept (renamed to "<owner>.free") to be the next spare;
// - the owner's lock file, made again if someone deleted it (SpoolDir::restore_lock_file).
// The preparer thread:
// - a spare segment: the next segment file is created, reserved and prefaulted ahead of time,
//   so filling a segment costs track() one rename, not an fallocate and thousands of page faults
//   (it is offered once its page cache is filled, and prefaulted to the end after). A resolved
//   segment's file is reused when there is one: its blocks are reserved and its pages are in the
//   page cache already, so nothing is zeroed, allocated, and then freed again when it is deleted
//   (measured: half the CPU per 4 MiB segment; docs/performance.md);
// - unmapping full segments.
// Two threads, because a commit waits for the disk: 10-20 ms per MiB written back on the 2-core
// machine, while a producer tracking flat out fills a 4 MiB segment in under 10 ms. A spare made
// between sync steps (as it was) was late for one roll in about 50,000 events, and track() then
// made its own segment: a stall of milliseconds (docs/performance.md).
#ifndef REFERKIT_SRC_SPOOL_COMMITTER_HPP
#define REFERKIT_SRC_SPOOL_COMMITTER_HPP

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/fork_registry.hpp"
#include "spool/mapped_file.hpp"
#include "spool/segment.hpp"
#include "spool/segment_format.hpp"
#include "spool/spool_dir.hpp"

namespace referkit::detail {

class SpoolCommitter {
 public:
  // `nice`: of both threads (0 leaves them as they are).
  SpoolCommitter(SpoolDir& dir, std::size_t segment_bytes, std::chrono::milliseconds interval, int nice = 0);
  SpoolCommitter(const SpoolCommitter&) = delete;
  SpoolCommitter& operator=(const SpoolCommitter&) = delete;
  ~SpoolCommitter() { stop(); }

  // Makes the first spare segment file (one segment's space reserved from the start), unless the
  // file system has less than kRoomForSpareAtOpen segments' space free; then starts the
  // committer's and the preparer's threads.
  void start();
  // A new segment takes appends from now on (the one before it is committed one last time).
  void appending_to(const std::shared_ptr<Segment>& segment, bool prefaulted);
  // Records up to this seq were copied in. Lock-free: called by track() for every event.
  void appended(std::uint64_t seq) noexcept { appended_.store(seq, std::memory_order_release); }
  // Waits until everything appended so far is on disk, or the deadline passes.
  Status commit(std::chrono::steady_clock::time_point deadline);
  // The prepared segment file, if one is ready, with `header` written in and then renamed to
  // `path` (its flock held); asks for the next. start() makes the first one, on the opening
  // thread, so the first event does not wait for a file to be made. The next spare is asked for
  // only after the rename, so the two never race over the spare's name. The preparer may not have
  // prefaulted all of it yet: it makes the next spare first, then resumes ahead of the appends,
  // holding a reference to the mapping until it is done or the segment is full.
  std::shared_ptr<MappedFile> take_spare(const std::string& path, const SegmentHeader& header);
  // Deletes the segment's file (or keeps it to be reused as a spare, if this process wrote it),
  // then lets go of it (and of its lock).
  void remove_later(std::shared_ptr<Segment> segment);
  // Unmaps a full segment on this thread soon: an munmap of a segment's dirty pages takes
  // 0.5-1 ms (and a TLB shootdown on every core), too long for track()'s thread.
  void unmap_later(std::shared_ptr<MappedFile> map);
  // A last commit and the pending deletions, then the threads end; removes an unused spare.
  void stop();
  // In a forked child: the threads do not exist here and the mutex may be held; leaves it all.
  // The child's copies of the spare's, the kept file's and the segments' descriptors are closed
  // by the fork hook already (ParentOnlyFd), whatever the threads were doing.
  void abandon_after_fork() noexcept;

 private:
  // A segment with appends not yet on disk. It is synced through its descriptor, and what is
  // appended is released from the mapping first, so a backlog holds page cache, not this process's
  // memory (outage RSS). Once the next segment takes appends, `map` goes to the preparer to be
  // unmapped (appending_to), off track()'s thread and without waiting for the sync.
  struct Dirty {
    std::shared_ptr<Segment> segment;
    std::shared_ptr<MappedFile> map;  // the queue's mapping: pages are released from it before write-back
    std::size_t synced = 0;
    bool prefaulted = false;
  };
  void run();
  // The preparer thread: the spare, then the unmaps asked for, whenever there are some.
  void prepare();
  // Creates the spare when take_spare() asked for one, prefaults its first step and offers it;
  // returns it, or null when none was wanted or it could not be made. Called without mu_.
  std::shared_ptr<MappedFile> make_spare_if_wanted();
  // Prefaults `spare` from `from`, in steps, until its end or until the preparer has something
  // else to do (preparer_interrupt_); returns where it stopped. Without mu_.
  std::size_t prefault_rest(const MappedFile& spare, std::size_t from);
  struct Prefault {
    std::shared_ptr<MappedFile> map;
    std::size_t from;
  };
  // Needs mu_. Keeps of `unfinished` the spare on offer and the segment taking appends (from the
  // page being written); moves the others' mappings to `let_go`, to be released without mu_.
  void keep_ahead_of_appends(std::vector<Prefault>& unfinished, std::vector<std::shared_ptr<MappedFile>>& let_go);
  // Needs mu_. The preparer has work: a spare wanted, mappings to unmap, or stop.
  void wake_preparer();
  static constexpr std::size_t kSpareFirstStep = std::size_t{64} << 10;
  static constexpr std::uint64_t kRoomForSpareAtOpen = 4;  // segments' space free
  bool room_for_spare_at_open() const;
  // The next spare from the resolved segment kept in "<owner>.free", if there is one.
  std::shared_ptr<MappedFile> reuse_free_file();
  static bool clear_header(int fd);
  Status sync_dirty(std::vector<Dirty>& dirty, bool dir_dirty);

  SpoolDir& dir_;  // the lock file is restored from the committer thread
  const std::size_t segment_bytes_;
  const std::chrono::milliseconds interval_;
  const int nice_;
  std::atomic<std::uint64_t> appended_{0};
  std::unique_ptr<std::thread> thread_;
  std::unique_ptr<std::thread> preparer_;

  std::mutex mu_;
  std::condition_variable wake_;           // the committer
  std::condition_variable prepare_wake_;   // the preparer
  std::condition_variable done_;
  std::vector<Dirty> dirty_;  // the segment taking appends last
  std::vector<std::shared_ptr<Segment>> to_remove_;
  std::vector<std::shared_ptr<MappedFile>> to_unmap_;
  std::shared_ptr<MappedFile> spare_;
  // A resolved segment renamed to "<owner>.free" (a descriptor holding its flock), set by the
  // committer and taken by the preparer. The committer renames a file there only while neither
  // this is set nor the preparer is renaming the last one away (freeing_), so the two threads never
  // rename over each other's file.
  // Like the spare's and every segment's, a ParentOnlyFd: a forked child closes its copy.
  ParentOnlyFd free_;
  bool freeing_ = false;
  bool want_spare_ = false;
  // start() made a spare and no roll has taken it yet. Only its first step is prefaulted, so that
  // a lane that never takes an event holds no more of it in memory; once it takes appends, the
  // committer prefaults the rest, as for a segment a roll made itself.
  bool spare_made_at_open_ = false;
  // The segment taking appends (set by appending_to()), or only its mapping, between a roll's
  // take_spare() and its appending_to(). For the preparer, which prefaults ahead of the appends.
  std::weak_ptr<Segment> appending_;
  const MappedFile* appending_map_ = nullptr;
  // Set with each request to the preparer (wake_preparer), cleared as it takes them up: read
  // between its prefault steps without mu_.
  std::atomic<bool> preparer_interrupt_{false};
  bool dir_dirty_ = false;
  bool work_ = false;  // something besides the periodic commit to do now
  bool stop_ = false;
  std::uint64_t requested_ = 0;
  std::uint64_t committed_ = 0;
  Status error_;  // sticky: after a failed msync the kernel may have dropped the pages
};

}  // namespace referkit::detail

#endif  // REFERKIT_SRC_SPOOL_COMMITTER_HPP
