#include "spool/spool_queue.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#include "events/event_serializer.hpp"
#include "referkit/time.hpp"
#include "spool/dead_letters.hpp"
#include "spool/segment_format.hpp"

namespace referkit::detail {

namespace {

// The steady time at which an event tracked at wall time tracked_ms was enqueued, given the
// wall and steady clocks read together once (take() converts a whole batch with one reading:
// two clock reads per record were a third of its time, under the tracker's mutex).
SteadyTime steady_from_wall(std::int64_t tracked_ms, std::int64_t wall_now_ms, SteadyTime steady_now) {
  const std::int64_t age_ms = std::max<std::int64_t>(0, wall_now_ms - tracked_ms);
  return steady_now - std::chrono::milliseconds(age_ms);
}

}  // namespace

SpoolQueue::SpoolQueue(SpoolQueueOptions options) : options_(std::move(options)) {}

Result<std::unique_ptr<SpoolQueue>> SpoolQueue::open(SpoolQueueOptions options) {
  std::unique_ptr<SpoolQueue> q(new SpoolQueue(std::move(options)));
  q->next_seq_ = q->options_.first_seq;
  auto opened = SpoolDir::open(q->options_.dir);
  if (!opened) return opened.status();
  q->dir_ = std::move(opened->dir);
  q->recovery_.skipped = std::move(opened->skipped);
  q->committer_ = std::make_unique<SpoolCommitter>(*q->dir_, q->options_.segment_bytes, q->options_.commit_interval,
                                                   q->options_.background_nice);

  for (AdoptedSegment& adopted : opened->adopted) {
    const std::string path = q->dir_->segment_path(adopted.number);
    q->next_number_ = adopted.number + 1;
    auto file = MappedFile::map(adopted.file.get(), adopted.size, false, path);
    if (!file) {
      // Out of address space, say: the file stays, ours until we exit, then the next opener's.
      q->recovery_.skipped.push_back(file.status().message());
      continue;
    }
    auto scan = scan_segment(file->data(), file->size());
    if (!scan) {  // a newer format: SpoolDir::open refused those already
      q->recovery_.skipped.push_back(fmt::format("{}: {}", scan.status().message(), path));
      continue;
    }
    PendingRecovery& r = q->recovery_;
    r.corrupt += scan->corrupt;
    r.corrupt_bytes += scan->corrupt_bytes;
    if (scan->truncated) ++r.truncated_segments;
    r.truncated_bytes += scan->truncated_bytes;
    if (scan->records == 0) {
      ::unlink(path.c_str());
      continue;
    }
    auto seg = std::make_shared<Segment>();
    seg->number = adopted.number;
    seg->file.reset(adopted.file.release());
    seg->capacity = scan->header && scan->header->capacity != 0
                        ? std::min<std::size_t>(file->size(), scan->header->capacity)
                        : file->size();
    if (scan->header && scan->header->version >= 2) {
      seg->created = BootTime{scan->header->boot_id, scan->header->created_boot_ms};
    }
    seg->format = scan->format;
    seg->records = scan->records;
    seg->untaken_wire = scan->payload_bytes + scan->records;
    seg->read_pos = seg->acked = scan->start;
    seg->written.store(scan->end);
    seg->first_seq = q->next_seq_;
    q->next_seq_ += seg->records;
    q->untaken_ += seg->records;
    q->disk_bytes_ += seg->capacity;
    r.events += seg->records;
    // Mapped again when its turn to be read comes; until then it costs no memory.
    q->segments_.push_back(std::move(seg));
  }
  q->committer_->start();
  return q;
}

SpoolQueue::~SpoolQueue() { forget(); }

Status SpoolQueue::roll() {
  const std::string path = dir_->segment_path(next_number_);
  SegmentHeader header;
  header.number = next_number_;
  header.owner = dir_->owner();
  header.created_ms = options_.clock().time_since_epoch().count();
  header.capacity = static_cast<std::uint32_t>(options_.segment_bytes);
  const BootTime boot = options_.boot_clock();
  header.boot_id = boot.boot_id;
  header.created_boot_ms = boot.ms;
  // Usually the preparer has the next file ready: then this is one rename, not an fallocate. The
  // header goes in before the file takes a segment's name, so no segment is ever seen headless; the
  // end mark after it is zeros in every spare (a fresh file, or a kept one, cleared when kept), so
  // none is seen with the records of a reused file's earlier use as its own.
  std::shared_ptr<MappedFile> file = committer_->take_spare(path, header);
  const bool prefaulted = file != nullptr;
  if (!file) {
    const std::string fresh = path + ".new";  // not a segment's name until it is whole
    ::unlink(fresh.c_str());                  // left by a process killed here
    auto created = MappedFile::create(fresh, options_.segment_bytes);
    if (!created) return created.status();
    // Its first fault (the header, next) reads ahead the device's window, the whole file on the
    // 2-core VM: ~2 ms on this thread. Faulting page by page instead (MADV_RANDOM) costs 16 us
    // there but ~7 us for every page after it, against ~3, and raised the durable flood's p99 from
    // 5.8 to 8.5 us (docs/performance.md, 2026-12-02 03:04): not done. Spares offered sooner
    // (SpoolCommitter::make_spare_if_wanted) make this path rarer instead.
    encode_segment_header(created->data(), header);
    if (::rename(fresh.c_str(), path.c_str()) != 0) {
      const int err = errno;
      ::unlink(fresh.c_str());
      return file_error("cannot rename into place", fresh, err);
    }
    created->set_path(path);
    file = std::make_shared<MappedFile>(std::move(*created));
  }
  auto seg = std::make_shared<Segment>();
  seg->number = next_number_++;
  seg->file = file->take_lock();
  seg->created = boot;
  seg->format = record_format(header, file->data());
  seg->map = std::move(file);
  seg->capacity = options_.segment_bytes;
  seg->written.store(kSegmentHeaderBytes);
  seg->read_pos = seg->acked = kSegmentHeaderBytes;
  seg->appendable = true;
  seg->written_here = true;
  if (!segments_.empty() && segments_.back()->appendable) {
    Segment& full = *segments_.back();
    full.appendable = false;
    // Nobody reads the segment just filled yet: unmap it until its turn comes, so a long backlog
    // costs disk, not memory. The committer unmaps it, off track()'s thread.
    if (full.taken == 0) committer_->unmap_later(std::move(full.map));
  }
  segments_.push_back(seg);
  disk_bytes_ += seg->capacity;
  committer_->appending_to(seg, prefaulted);
  return {};
}

bool SpoolQueue::fits(const QueuedEvent& event) const {
  const std::size_t need = record_size(event.json.size());
  if (!segments_.empty()) {
    const Segment& w = *segments_.back();
    if (w.appendable && w.data_end() + need <= w.capacity) return true;
  }
  return disk_bytes_ + options_.segment_bytes <= options_.max_bytes;
}

std::size_t SpoolQueue::evict_for(const QueuedEvent&) { return 0; }

std::string SpoolQueue::full_message() const {
  return fmt::format("spool full ({} {}): the endpoint is not keeping up; event refused", options_.budget_name,
                     options_.max_bytes);
}

Status SpoolQueue::record_refused(const std::vector<RefusedEvent>& refused, TimePoint at) {
  std::string lines;
  for (const RefusedEvent& r : refused) append_dead_letter_line(lines, at, r.message_id, r.reason, r.json);
  return dir_->append_dead_letters(lines);
}

Status SpoolQueue::push(QueuedEvent&& event) {
  const std::size_t need = record_size(event.json.size());
  if (closed_) return Status(StatusCode::kFailedPrecondition, "the spool is closed");
  if (segments_.empty() || !segments_.back()->appendable || segments_.back()->data_end() + need > segments_.back()->capacity) {
    if (Status s = roll(); !s.ok()) return s;
  }
  Segment& w = *segments_.back();
  const std::size_t at = w.data_end();
  RecordMeta meta;
  meta.tracked_ms = options_.clock().time_since_epoch().count();
  meta.id_offset = static_cast<std::uint16_t>(event.id_offset);
  meta.id_size = static_cast<std::uint16_t>(event.id_size);
  mark_end(w.map->data(), at + need, w.capacity);  // first: the data has an end at every instant
  encode_record(w.map->data() + at, event.json, meta, w.format);
  if (w.records++ == 0) w.first_seq = event.seq;
  w.untaken_wire += event.json.size() + 1;
  ++untaken_;
  w.written.store(at + need, std::memory_order_release);
  committer_->appended(event.seq);
  return {};
}

std::shared_ptr<Segment> SpoolQueue::reading_segment() const {
  for (const auto& seg : segments_) {
    if (seg->taken < seg->records) return seg;
  }
  return nullptr;
}

bool SpoolQueue::front_batch_full() const {
  const std::shared_ptr<Segment> seg = reading_segment();
  if (seg == nullptr) return false;
  // A batch never spans segments, so the rest of a closed segment is a whole batch.
  return !seg->appendable || seg->records - seg->taken >= options_.batch_events ||
         seg->untaken_wire >= options_.batch_bytes;
}

PendingFront SpoolQueue::front() const {
  const std::shared_ptr<Segment> seg = reading_segment();
  if (seg == nullptr) return {};
  PendingFront f;
  f.seq = seg->first_seq + seg->taken;
  if (!seg->map) return f;
  // The oldest record's time, read once per position: the worker asks on every wake-up, under
  // the tracker's mutex, and the committer may have released the page it is on.
  if (front_cache_.number != seg->number || front_cache_.pos != seg->read_pos) {
    RecordView rec;
    if (!SegmentReader(seg->map->data(), seg->data_end(), seg->read_pos, seg->format, !seg->written_here).next(rec)) return f;
    front_cache_ = FrontCache{seg->number, seg->read_pos, rec.meta.tracked_ms};
  }
  f.enqueued = steady_from_wall(front_cache_.tracked_ms, options_.clock().time_since_epoch().count(),
                                options_.steady_clock());
  return f;
}

// Under the tracker's mutex, and in a few assignments whatever the batch: a segment to map, or
// the records to read, are left to prepare_take() (without the mutex), and the next call installs
// what it found.
void SpoolQueue::take(std::vector<QueuedEvent>& out, TakeReport& report) {
  out.clear();
  const std::shared_ptr<Segment> seg = reading_segment();
  if (seg == nullptr) return;
  if (!seg->map) {
    if (premapped_ && premapped_number_ == seg->number) {
      seg->map = std::move(premapped_);
    } else if (!premap_error_.ok()) {
      report.error = std::exchange(premap_error_, Status());  // out of mappings, say: the events stay
      return;
    } else {
      // Mapped by prepare_take(), outside the tracker's mutex (a producer waited behind an mmap
      // here for milliseconds: perf's sched_switch stacks, docs/performance.md).
      to_map_ = seg;
      report.prepare_first = true;
      return;
    }
  }
  if (walk_ && walk_->done && walk_->segment == seg && walk_->start == seg->read_pos && walk_->taken == seg->taken) {
    install(*seg, *walk_, out, report);
    walk_.reset();
    return;
  }
  walk_ = Walk{};
  walk_->segment = seg;
  walk_->map = seg->map;
  walk_->start = seg->read_pos;
  walk_->end = seg->data_end();
  walk_->taken = seg->taken;
  walk_->records = seg->records;
  walk_->first_seq = seg->first_seq;
  report.prepare_first = true;
}

// Without the tracker's mutex: reads only what take() set out, and the segment's fields that
// never change once it is in the queue (number, created, written_here).
void SpoolQueue::walk(Walk& w) const {
  const std::int64_t now = options_.clock().time_since_epoch().count();
  const SteadyTime steady_now = options_.steady_clock();
  const BootTime boot_now = options_.boot_clock();
  const Segment& seg = *w.segment;
  SegmentReader reader(w.map->data(), w.end, w.start, seg.format, !seg.written_here);
  w.events.reserve(std::min<std::size_t>(options_.batch_events, w.records - w.taken));
  w.views.reserve(w.events.capacity());
  std::size_t wire = 0;  // the batch's body so far
  RecordView rec;
  w.at_end = true;
  while (w.events.size() < options_.batch_events && w.taken + w.passed < w.records) {
    if (!reader.next(rec)) break;
    if (!w.events.empty() && wire + rec.json.size() + 1 > options_.batch_bytes) {
      w.read_pos = rec.offset;
      w.at_end = false;
      break;
    }
    const std::uint64_t seq = w.first_seq + w.taken + w.passed++;
    w.passed_wire += rec.json.size() + 1;
    if (expired(seg, rec.meta.tracked_ms, now, boot_now)) {
      ++w.expired;
      continue;
    }
    wire += rec.json.size() + 1;
    w.views.push_back(rec.json);
    QueuedEvent e;
    e.id_offset = rec.meta.id_offset;
    e.id_size = rec.meta.id_size;
    e.seq = seq;
    e.enqueued = steady_from_wall(rec.meta.tracked_ms, now, steady_now);
    e.segment = seg.number;
    e.segment_end = static_cast<std::uint32_t>(rec.end);
    w.events.push_back(std::move(e));
  }
  // Damaged stretches were counted when the segment was scanned at open; not again here.
  if (w.at_end) w.read_pos = reader.position();
  w.done = true;
}

void SpoolQueue::install(Segment& seg, Walk& w, std::vector<QueuedEvent>& out, TakeReport& report) {
  seg.taken += w.passed;
  untaken_ -= w.passed;
  seg.untaken_wire -= std::min(seg.untaken_wire, w.passed_wire);
  seg.read_pos = w.read_pos;
  report.expired = w.expired;
  if (!seg.appendable && w.at_end && w.read_pos >= seg.data_end()) {
    // Records counted at open but unreadable now (damaged while we ran) will never be taken.
    untaken_ -= seg.records - seg.taken;
    seg.taken = seg.records;
  }
  out.swap(w.events);
  if (!out.empty()) {
    {
      std::lock_guard<std::mutex> lk(staged_mu_);
      staged_.push_back(Staged{out.front().seq, std::move(w.views), std::move(w.map)});
    }
    out.back().segment_end = static_cast<std::uint32_t>(seg.read_pos);  // trailing skipped records too
    inflight_ += out.size();
  } else if (inflight_ == 0) {
    reclaim(seg.number, seg.read_pos);  // everything passed over is resolved already
  } else {
    // Batches taken before are still in flight: reclaiming now would pass over them (a crash
    // would then lose them). Once they are resolved, in order, this stretch goes too.
    deferred_reclaim_ = Reclaim{seg.number, seg.read_pos};
  }
}

void SpoolQueue::prepare_take() {
  if (walk_ && !walk_->done) walk(*walk_);
  std::shared_ptr<Segment> seg = std::move(to_map_);
  if (!seg || closed_) return;
  // From the descriptor held since open: the path may have been renamed or deleted by hand.
  auto file = MappedFile::map(seg->file.get(), seg->capacity, false, dir_->segment_path(seg->number));
  if (!file) {
    premap_error_ = file.status();
    return;
  }
  premapped_ = std::make_shared<MappedFile>(std::move(*file));
  premapped_number_ = seg->number;
}

// An event expires only when two measures agree that it is older than max_event_age: its age on
// the wall clock, and the time since its segment was created on the boot clock, which no clock
// step moves and which is at least the event's age (it was tracked into the segment after that).
// A wall clock stepped back when the event was tracked, or forward now, alone expires nothing.
// Across a reboot (or for a v1 segment) the boot clock cannot measure: nothing expires then, as
// keeping an event costs a resend at worst, and dropping one loses it.
bool SpoolQueue::expired(const Segment& seg, std::int64_t tracked_ms, std::int64_t now_ms,
                         const BootTime& boot_now) const {
  const std::int64_t max_age = options_.max_event_age.count();
  if (max_age <= 0 || now_ms - tracked_ms <= max_age) return false;
  return boot_ms_since(seg.created, boot_now) > max_age;
}

void SpoolQueue::materialize(std::vector<QueuedEvent>& taken) {
  if (taken.empty()) return;
  Staged mine;
  {
    std::lock_guard<std::mutex> lk(staged_mu_);
    auto it = std::find_if(staged_.begin(), staged_.end(),
                           [&](const Staged& s) { return s.first_seq == taken.front().seq; });
    if (it == staged_.end()) return;
    mine = std::move(*it);
    staged_.erase(it);
  }
  // Records before the written mark never change, and mine.map keeps them mapped.
  for (std::size_t i = 0; i < taken.size() && i < mine.views.size(); ++i) taken[i].json.assign(mine.views[i]);
}

void SpoolQueue::resolved(const std::vector<QueuedEvent>& done) {
  if (done.empty() || closed_) return;
  reclaim(done.back().segment, done.back().segment_end);
  inflight_ -= std::min(inflight_, done.size());
  if (inflight_ == 0 && deferred_reclaim_) {
    reclaim(deferred_reclaim_->number, deferred_reclaim_->end);
    deferred_reclaim_.reset();
  }
}

void SpoolQueue::remove_front_segment() {
  // The committer keeps the segment (and so its lock) until the file is gone.
  disk_bytes_ -= segments_.front()->capacity;
  committer_->remove_later(std::move(segments_.front()));
  segments_.pop_front();
}

// Everything before `end` in segment `number`, and in all older segments, is resolved.
void SpoolQueue::reclaim(std::uint32_t number, std::size_t end) {
  while (segments_.size() > 1 && segments_.front()->number < number) remove_front_segment();
  if (segments_.empty() || segments_.front()->number != number) return;
  Segment& seg = *segments_.front();
  seg.acked = std::max(seg.acked, end);
  if (!seg.appendable && seg.taken == seg.records && seg.acked >= seg.read_pos) {
    remove_front_segment();
  } else if (seg.map) {
    store_acked_offset(seg.map->data(), seg.acked);
  }
}

Status SpoolQueue::commit(SteadyTime deadline) { return committer_->commit(deadline); }

std::size_t SpoolQueue::forget() {
  if (closed_) return untaken_;
  closed_ = true;
  if (committer_) committer_->stop();  // commits everything and finishes the deletions
  if (!dir_) return untaken_;          // open() failed before the directory was ours
  // An empty or fully resolved last segment is not worth leaving behind.
  if (!segments_.empty()) {
    const Segment& last = *segments_.back();
    if (last.records == 0 || (last.taken == last.records && last.acked >= last.data_end())) {
      ::unlink(dir_->segment_path(last.number).c_str());
    }
  }
  segments_.clear();
  walk_.reset();  // it holds a segment, and so its lock
  dir_->release();  // the next opener adopts what is left
  return untaken_;
}

void SpoolQueue::abandon_after_fork() noexcept {
  // The committer thread does not exist here and its mutex may be held: leave it all alone.
  if (committer_) committer_->abandon_after_fork();
  (void)committer_.release();
  closed_ = true;
  if (dir_) {
    dir_->abandon_after_fork();
    (void)dir_.release();
  }
  // The parent's segment locks are the parent's: a child that kept its copies of them would keep
  // the parent's segments from being adopted after the parent died, for as long as it lives.
  for (const auto& seg : segments_) seg->file.reset();
  segments_.clear();
  walk_.reset();  // unmapping only changes this process's view; the files stay as they are
}

}  // namespace referkit::detail
