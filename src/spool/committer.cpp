#include "spool/committer.hpp"

#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <utility>

#include "common/background_thread.hpp"
#include "common/fork_registry.hpp"

namespace referkit::detail {

SpoolCommitter::SpoolCommitter(SpoolDir& dir, std::size_t segment_bytes, std::chrono::milliseconds interval, int nice)
    : dir_(dir), segment_bytes_(segment_bytes), interval_(interval), nice_(nice) {}

void SpoolCommitter::start() {
  // The first segment's file is made here, on the opening thread, as the preparer makes the next
  // ones. Otherwise the first track() made it: a file created, mapped and read ahead on track()'s
  // thread, 1.0-1.8 ms on the 2-core VM, the first call of every durable run in the bench
  // (docs/performance.md, 2026-12-02 16:00). Not when the disk is nearly full: opening a spool
  // (to drain it, say) must work there and must not take the last space from a tracker running
  // on the same disk. Without a spare (or when making it fails), the first roll makes its own
  // segment and reports why that failed.
  if (room_for_spare_at_open()) {
    {
      std::lock_guard<std::mutex> lk(mu_);
      want_spare_ = true;
    }
    const bool made = make_spare_if_wanted() != nullptr;
    std::lock_guard<std::mutex> lk(mu_);
    spare_made_at_open_ = made;
  }
  thread_ = std::make_unique<std::thread>([this] { run(); });
  preparer_ = std::make_unique<std::thread>([this] { prepare(); });
}

bool SpoolCommitter::room_for_spare_at_open() const {
  struct statvfs fs {};
  if (::statvfs(dir_.path().c_str(), &fs) != 0) return false;
  return static_cast<std::uint64_t>(fs.f_bavail) * fs.f_frsize >= kRoomForSpareAtOpen * segment_bytes_;
}

void SpoolCommitter::appending_to(const std::shared_ptr<Segment>& segment, bool prefaulted) {
  std::lock_guard<std::mutex> lk(mu_);
  // The segments before it are full: their mappings go now (on the preparer), not once they are
  // synced, which works through the descriptor. In a flood the disk falls behind by several
  // segments, and their dirty pages then wait in the page cache, not in this process's resident
  // set (outage peak RSS reached 35 and 38 MiB in 2 of 19 runs with spares made on time).
  for (Dirty& d : dirty_) {
    if (d.map) to_unmap_.push_back(std::move(d.map));
  }
  // The first roll takes the spare start() made (no other is made before it asks), or makes its own.
  if (std::exchange(spare_made_at_open_, false)) prefaulted = false;  // its first step only
  dirty_.push_back(Dirty{segment, segment->map, 0, prefaulted});
  appending_ = segment;
  appending_map_ = segment->map.get();
  dir_dirty_ = true;
  work_ = true;
  wake_.notify_one();
  if (!to_unmap_.empty()) wake_preparer();
}

void SpoolCommitter::wake_preparer() {
  preparer_interrupt_.store(true, std::memory_order_relaxed);
  prepare_wake_.notify_one();
}

std::shared_ptr<MappedFile> SpoolCommitter::take_spare(const std::string& path, const SegmentHeader& header) {
  std::shared_ptr<MappedFile> out;
  {
    std::lock_guard<std::mutex> lk(mu_);
    out = std::move(spare_);
  }
  // The rename runs without mu_, which the committer's and preparer's threads take, and which a
  // thread at background_nice may hold while it waits for a core. It cannot race the next spare's
  // creation: want_spare_ stays false (as making a spare left it) until the rename is done.
  if (out) {
    encode_segment_header(out->data(), header);  // the end mark after it is zeros already
    if (::rename(out->path().c_str(), path.c_str()) == 0) {
      out->set_path(path);
    } else {
      out.reset();  // roll() makes its own; the preparer removes this file before the next spare
    }
  }
  std::lock_guard<std::mutex> lk(mu_);
  want_spare_ = true;
  // The segment track() fills next, until appending_to() names it (the preparer may look first).
  appending_.reset();
  appending_map_ = out.get();
  wake_preparer();
  return out;
}

void SpoolCommitter::remove_later(std::shared_ptr<Segment> segment) {
  std::lock_guard<std::mutex> lk(mu_);
  to_remove_.push_back(std::move(segment));
  work_ = true;
  wake_.notify_one();
}

void SpoolCommitter::unmap_later(std::shared_ptr<MappedFile> map) {
  std::lock_guard<std::mutex> lk(mu_);
  to_unmap_.push_back(std::move(map));
  wake_preparer();
}

Status SpoolCommitter::commit(std::chrono::steady_clock::time_point deadline) {
  const std::uint64_t target = appended_.load(std::memory_order_acquire);
  std::unique_lock<std::mutex> lk(mu_);
  if (committed_ >= target) return {};
  requested_ = std::max(requested_, target);
  wake_.notify_one();
  done_.wait_until(lk, deadline, [&] { return committed_ >= target || !error_.ok() || stop_; });
  if (committed_ >= target) return {};
  if (!error_.ok()) return error_;
  return Status(StatusCode::kDeadlineExceeded, "the spool commit did not finish in time");
}

void SpoolCommitter::stop() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
    wake_preparer();
  }
  wake_.notify_one();
  if (thread_ && thread_->joinable()) thread_->join();  // its last pass commits everything
  thread_.reset();
  if (preparer_ && preparer_->joinable()) preparer_->join();
  preparer_.reset();
  std::lock_guard<std::mutex> lk(mu_);
  // Let go of the segments (and so of their locks), so the next opener can adopt what is left.
  dirty_.clear();
  to_unmap_.clear();
  if (spare_) {
    ::unlink(spare_->path().c_str());
    spare_.reset();
  }
  if (free_.valid()) {
    ::unlink(dir_.free_path().c_str());
    free_.reset();
  }
}

void SpoolCommitter::abandon_after_fork() noexcept {
  (void)thread_.release();
  (void)preparer_.release();
}

Status SpoolCommitter::sync_dirty(std::vector<Dirty>& dirty, bool dir_dirty) {
  // The data in steps, each released from the mapping and then written back. Then a data sync
  // makes it durable: the written extents' metadata, and the disk's write cache.
  constexpr std::size_t kStep = std::size_t{1} << 20;
  for (Dirty& d : dirty) {
    const std::size_t data_end = d.segment->data_end();
    // d.synced is the data's end at the last pass: the next record starts there, over the end
    // mark that pass wrote back, so each pass writes back from it through this pass's end mark
    // (in a reused file, what follows the mark is an earlier use's).
    if (d.synced != 0 && data_end <= d.synced) continue;
    const std::size_t end = std::min(data_end + kEndMarkBytes, d.segment->capacity);
    const int fd = d.segment->file.get();
    const std::string path = dir_.segment_path(d.segment->number);
    for (std::size_t at = d.synced; at < end;) {
      const std::size_t step_end = std::min(end, at + kStep);
      // Out of this process's mapping first, then written back. Out of the mapping because an
      // outage's backlog belongs on disk and in the page cache, not in the resident set (the
      // reader maps again what it reads). First, because writing back a page that is mapped
      // writable takes a TLB flush on every core that may hold it: an interrupt (a VM exit here)
      // on the core running track(), for every page (perf: the committer spent 11% of its samples
      // sending those). Unmapped, the page is written back with no flush; its dirty bit went to
      // the page cache. The first page stays (release() starts at the page boundary after
      // `from`): it holds the header, whose acknowledged offset the worker writes under the
      // tracker's mutex, where a page fault would hold up track().
      if (d.map) d.map->release(std::max<std::size_t>(at, 1), std::min(step_end, data_end));
      if (::sync_file_range(fd, static_cast<off_t>(at), static_cast<off_t>(step_end - at),
                            SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER) != 0) {
        return file_error("cannot write back", path, errno);
      }
      at = step_end;
    }
    // The segment taking appends is synced over [0, end) only (msync, which is vfs_fsync_range:
    // data, metadata and the disk's cache as fdatasync, for that range; from 0 for the header's
    // acknowledged offset, and cheap below the data, which is clean): the pages ahead of the data
    // were made dirty by the prefault, and fdatasync wrote them all back too, every commit,
    // cleaning them. Cleaning a page mapped writable sends a TLB flush to every core (perf: 12% of
    // the committer's samples), and the next append to it takes a write fault on track()'s
    // thread: the paced durable p99 (docs/performance.md, 2026-12-02 06:10). A full segment
    // (unmapped here) holds no pages ahead of its data.
    const Status synced = d.map ? d.map->sync(0, end)
                                : (::fdatasync(fd) == 0 ? Status() : file_error("cannot sync", path, errno));
    if (!synced.ok()) return synced;
    d.synced = data_end;
  }
  // New and deleted segment names must survive power loss too.
  return dir_dirty ? dir_.sync() : Status();
}

void SpoolCommitter::run() {
  become_background_thread("rk-commit", nice_);
  std::unique_lock<std::mutex> lk(mu_);
  for (;;) {
    wake_.wait_for(lk, interval_, [&] { return stop_ || requested_ > committed_ || work_; });
    work_ = false;
    const bool stopping = stop_;
    const std::uint64_t seq = appended_.load(std::memory_order_acquire);
    std::vector<Dirty> dirty = std::move(dirty_);
    dirty_.clear();
    std::vector<std::shared_ptr<Segment>> remove = std::move(to_remove_);
    to_remove_.clear();
    const bool dir_dirty = std::exchange(dir_dirty_, false) || !remove.empty();
    bool keep_one = !stopping && !free_.valid() && !freeing_;
    lk.unlock();
    ParentOnlyFd kept;
    for (const auto& segment : remove) {
      const std::string path = dir_.segment_path(segment->number);
      // One resolved segment this process wrote (so of the current format and size) is kept for
      // reuse: its header cleared (clear_header), then renamed away from its segment name, so that
      // a crash never adopts it (under its old name, all of its events resolved, it is an unused
      // segment after the clear). Its descriptor is duplicated: the segment object may still be
      // synced from (dirty), and the flock stays held by either.
      if (keep_one && segment->written_here && segment->capacity == segment_bytes_) {
        ParentOnlyFd fd = ParentOnlyFd::dup_of(segment->file.get());
        if (fd.valid() && clear_header(fd.get()) && ::rename(path.c_str(), dir_.free_path().c_str()) == 0) {
          kept = std::move(fd);
          keep_one = false;
          continue;
        }
      }
      ::unlink(path.c_str());
    }
    remove.clear();  // closes them, which lets go of their locks: after the names are gone
    if (kept.valid()) {
      lk.lock();
      free_ = std::move(kept);
      lk.unlock();
    }
    if (!stopping) dir_.restore_lock_file();
    Status status = sync_dirty(dirty, dir_dirty);
    lk.lock();
    if (status.ok() && error_.ok()) {
      committed_ = std::max(committed_, seq);
      // Only the newest segment can still change; the ones before it are now fully on disk.
      if (!dirty.empty()) dirty_.insert(dirty_.begin(), std::move(dirty.back()));
    } else {
      // A failed msync may have lost pages that a retry would then report as synced
      // ("fsyncgate"): the error stays, and commit() reports it from now on.
      if (error_.ok()) error_ = status;
      dir_dirty_ = dir_dirty_ || dir_dirty;
      dirty_.insert(dirty_.begin(), dirty.begin(), dirty.end());
    }
    done_.notify_all();
    if (stopping) return;

    // Preparations that may take milliseconds, after the commit is published.
    std::shared_ptr<MappedFile> to_prefault;
    std::size_t from = 0;
    if (!stop_ && !dirty_.empty() && !dirty_.back().prefaulted) {
      dirty_.back().prefaulted = true;
      to_prefault = dirty_.back().map;
      from = dirty_.back().segment->data_end();
    }
    lk.unlock();
    // The segments just synced that are full now: dropping the last reference to a mapping
    // unmaps it, which waits for the process's memory-map lock. Not under mu_, which a roll on
    // track()'s thread takes (take_spare).
    dirty.clear();
    // A page fault costs several microseconds, one per 4 KiB: none of them on track()'s path.
    if (to_prefault) to_prefault->prefault(from, to_prefault->size());
    to_prefault.reset();
    lk.lock();
  }
}

void SpoolCommitter::prepare() {
  become_background_thread("rk-prepare", nice_);
  // Spares whose prefault stopped before their end, oldest first, and where: a roll took one
  // and wanted the next, or mappings were waiting to be unmapped. Their rest comes after that.
  std::vector<Prefault> unfinished;
  std::unique_lock<std::mutex> lk(mu_);
  for (;;) {
    prepare_wake_.wait(lk, [&] { return stop_ || !to_unmap_.empty() || (want_spare_ && !spare_) || !unfinished.empty(); });
    if (stop_) return;  // stop() lets go of what is left to unmap
    preparer_interrupt_.store(false, std::memory_order_relaxed);  // what it asked for is taken up here
    std::vector<std::shared_ptr<MappedFile>> unmap;
    unmap.swap(to_unmap_);
    keep_ahead_of_appends(unfinished, unmap);
    lk.unlock();
    // The spare first: a roll asks for it and hands over the full segment's mapping at once, and
    // an munmap (the memory-map lock, a TLB flush of every core) made the next roll late.
    if (std::shared_ptr<MappedFile> offered = make_spare_if_wanted()) {
      unfinished.push_back(Prefault{std::move(offered), kSpareFirstStep});
    }
    unmap.clear();  // the last reference, unless a batch being read still holds one
    // Then the pages track() has not reached yet in the segment it fills, then the new spare's.
    while (!unfinished.empty()) {
      Prefault& next = unfinished.front();
      next.from = prefault_rest(*next.map, next.from);
      if (next.from < next.map->size()) break;  // something else first: the next round resumes it
      unfinished.erase(unfinished.begin());
    }
    lk.lock();
  }
}

void SpoolCommitter::keep_ahead_of_appends(std::vector<Prefault>& unfinished,
                                           std::vector<std::shared_ptr<MappedFile>>& let_go) {
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  const std::shared_ptr<Segment> appending = appending_.lock();
  for (auto it = unfinished.begin(); it != unfinished.end();) {
    if (it->map == spare_) {
      ++it;  // still on offer
    } else if (it->map.get() == appending_map_) {
      // From the page track() writes now: the ones before it are written, and the committer
      // releases them from the mapping before their write-back; mapped again, they would stay
      // resident and dirty. (It may pass a page or two meanwhile: a fault less for it.)
      if (appending) it->from = std::max(it->from, appending->data_end() / page * page);
      ++it;
    } else {
      // Full, or a spare whose rename failed: nothing will be written to it. Its mapping may be
      // one to unmap, so not dropped under mu_.
      let_go.push_back(std::move(it->map));
      it = unfinished.erase(it);
    }
  }
}

// A kept file's header and the end mark after it (so a spare made from it ends its data at the
// first record's place, as a fresh one does) are zeroed, and synced, before the preparer may
// take it: take_spare()
// writes the new header into the page cache and renames the file into a segment's name, and after
// power loss that name may be on disk without the new header. The old header would then pass the
// old records off as the new segment's (resent); a zero header is an unused segment, which holds
// no events. On the committer's thread: a sync here on the preparer's made spares late (a test
// saw rolls make their own segments for as long as it waited for the disk).
bool SpoolCommitter::clear_header(int fd) {
  static constexpr unsigned char kZeros[kSegmentHeaderBytes + kEndMarkBytes] = {};
  return ::pwrite(fd, kZeros, sizeof kZeros, 0) == static_cast<ssize_t>(sizeof kZeros) && ::fdatasync(fd) == 0;
}

std::shared_ptr<MappedFile> SpoolCommitter::reuse_free_file() {
  ParentOnlyFd fd;
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (!free_.valid()) return nullptr;
    fd = std::move(free_);
    freeing_ = true;
  }
  // Renamed to the spare's name (its header was cleared when it was kept): while it is named
  // ".free" the committer may keep the next resolved segment under that name.
  std::shared_ptr<MappedFile> spare;
  if (::rename(dir_.free_path().c_str(), dir_.spare_path().c_str()) == 0) {
    if (auto mapped = MappedFile::adopt(std::move(fd), segment_bytes_, dir_.spare_path())) {
      spare = std::make_shared<MappedFile>(std::move(*mapped));
    } else {
      ::unlink(dir_.spare_path().c_str());
    }
  } else {
    ::unlink(dir_.free_path().c_str());
  }
  fd.reset();
  std::lock_guard<std::mutex> lk(mu_);
  freeing_ = false;
  return spare;
}

std::shared_ptr<MappedFile> SpoolCommitter::make_spare_if_wanted() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (!want_spare_ || spare_ || stop_) return nullptr;
  }
  std::shared_ptr<MappedFile> spare = reuse_free_file();
  if (!spare) {
    ::unlink(dir_.spare_path().c_str());  // one a failed rename left behind
    if (auto created = MappedFile::create(dir_.spare_path(), segment_bytes_)) {
      spare = std::make_shared<MappedFile>(std::move(*created));
    }
  }
  // The first page's fault reads the file's pages into the page cache, a readahead window of them
  // (the whole segment on the 2-core VM: ~2 ms). Once that is done the spare is offered, and the
  // rest is prefaulted after (prefault_rest). So in a flood, when this thread (niced, perhaps) got
  // a core too late, the next roll takes a spare whose pages are in the page cache, instead of
  // making its own segment: a file created and mapped on track()'s thread, milliseconds behind
  // the memory-map lock.
  if (spare) spare->prefault(0, kSpareFirstStep);
  {
    std::lock_guard<std::mutex> lk(mu_);
    // Without one (a full disk), the next roll creates its segment itself and says why it failed.
    want_spare_ = false;
    spare_ = spare;
  }
  return spare;
}

std::size_t SpoolCommitter::prefault_rest(const MappedFile& spare, std::size_t from) {
  // Whether or not a roll took it meanwhile: this thread keeps its own reference to the mapping.
  // In steps, and only until the preparer is asked for something else: in a flood track() fills
  // a segment about as fast as this thread faults one in, and a roll that finds no spare makes
  // its own file on track()'s thread, milliseconds behind the memory-map lock (perf: 108 of the
  // producer's sleeps in one run were that mmap). The next spare comes first; track() faults the
  // pages it reaches meanwhile itself, microseconds a page. An atomic, not mu_: a niced thread
  // holding mu_ while it waits for a core would hold up take_spare() on track()'s thread.
  std::size_t at = from;
  for (; at < spare.size() && !preparer_interrupt_.load(std::memory_order_relaxed); at += kSpareFirstStep) {
    spare.prefault(at, at + kSpareFirstStep);
  }
  return std::min(at, spare.size());
}

}  // namespace referkit::detail
