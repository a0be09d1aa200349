#include "spool/spool_queue.hpp"

#include <unistd.h>

#include <algorithm>

#include "events/event_serializer.hpp"
#include "referkit/time.hpp"
#include "spool/segment_format.hpp"

namespace referkit::detail {

struct SpoolQueue::Segment {
  std::uint32_t number = 0;
  std::shared_ptr<MappedFile> map;        // mapped while being written, read or resolved
  std::size_t capacity = 0;               // the file's size
  std::atomic<std::size_t> written{0};    // end of the data; appends advance it
  bool appendable = false;                // the newest segment, still taking appends
  bool written_here = false;              // created by this process: its records need no checksum test
  std::size_t read_pos = 0;               // where the next record to take starts
  std::size_t acked = 0;                  // records before it are resolved
  std::uint64_t first_seq = 0;            // seq of its first pending record
  std::uint64_t records = 0;              // pending records in it (found at open or appended)
  std::uint64_t taken = 0;
  std::size_t untaken_wire = 0;           // their bytes in a batch body
  std::size_t synced = 0;                 // committer thread only: bytes known to be on disk
  std::size_t prefaulted = 0;             // committer thread only: mapped writable up to here

  std::size_t data_end() const { return written.load(std::memory_order_acquire); }
};

// Group commit: one thread msyncs what was appended since its last pass, every commit interval
// or sooner when flush() asks, so track() never waits for a disk.
struct SpoolQueue::Committer {
  std::mutex mu;
  std::condition_variable wake;
  std::condition_variable done;
  // Appended to since the last pass. The committer holds each mapping itself, so the queue may
  // unmap a segment it no longer needs before its last bytes are synced.
  struct Dirty {
    std::shared_ptr<Segment> segment;
    std::shared_ptr<MappedFile> map;
  };
  std::vector<Dirty> dirty;
  bool dir_dirty = false;
  bool fresh_segment = false;  // a new segment to prefault
  bool stop = false;
  std::uint64_t requested = 0;
  std::uint64_t committed = 0;
  Status error;
  std::atomic<std::uint64_t> appended{0};  // seq of the last record copied in
  std::thread thread;
};

namespace {

SteadyTime steady_from_wall(std::int64_t tracked_ms) {
  const std::int64_t age_ms = std::max<std::int64_t>(0, now_ms().time_since_epoch().count() - tracked_ms);
  return std::chrono::steady_clock::now() - std::chrono::milliseconds(age_ms);
}

}  // namespace

SpoolQueue::SpoolQueue(SpoolQueueOptions options)
    : options_(std::move(options)), committer_(std::make_unique<Committer>()) {}

Result<std::unique_ptr<SpoolQueue>> SpoolQueue::open(SpoolQueueOptions options) {
  std::unique_ptr<SpoolQueue> q(new SpoolQueue(std::move(options)));
  q->next_seq_ = q->options_.first_seq;
  auto opened = SpoolDir::open(q->options_.dir);
  if (!opened) return opened.status();
  q->dir_ = std::move(opened->dir);

  for (std::uint32_t number : opened->adopted) {
    const std::string path = q->dir_->segment_path(number);
    auto file = MappedFile::open(path, false);
    if (!file) return file.status();
    auto seg = std::make_shared<Segment>();
    seg->number = number;
    seg->capacity = file->size();
    auto header = decode_segment_header(file->data(), file->size());
    if (!header) ++q->corrupt_at_open_;  // a damaged header: still read what records are intact
    const std::size_t start = header ? header->acked_offset : kSegmentHeaderBytes;
    SegmentReader reader(file->data(), file->size(), start);
    RecordView rec;
    while (reader.next(rec)) {
      ++seg->records;
      seg->untaken_wire += rec.json.size() + 1;
    }
    q->corrupt_at_open_ += reader.corrupt();
    q->next_number_ = number + 1;
    if (seg->records == 0) {
      ::unlink(path.c_str());
      continue;
    }
    seg->read_pos = seg->acked = start;
    seg->written.store(reader.position());
    seg->first_seq = q->next_seq_;
    q->next_seq_ += seg->records;
    q->untaken_ += seg->records;
    q->disk_bytes_ += seg->capacity;
    q->recovered_ += seg->records;
    // Mapped again when its turn to be read comes; until then it costs no memory.
    q->segments_.push_back(std::move(seg));
  }
  if (Status s = q->roll(); !s.ok()) return s;
  q->committer_->thread = std::thread([self = q.get()] { self->run_committer(); });
  return q;
}

SpoolQueue::~SpoolQueue() { forget(); }

Status SpoolQueue::roll() {
  const std::string path = dir_->segment_path(next_number_);
  auto file = MappedFile::create(path, options_.segment_bytes);
  if (!file) return file.status();
  SegmentHeader header;
  header.number = next_number_;
  header.owner = dir_->owner();
  header.created_ms = now_ms().time_since_epoch().count();
  encode_segment_header(file->data(), header);
  auto seg = std::make_shared<Segment>();
  seg->number = next_number_++;
  seg->map = std::make_shared<MappedFile>(std::move(*file));
  seg->capacity = options_.segment_bytes;
  seg->written.store(kSegmentHeaderBytes);
  seg->read_pos = seg->acked = kSegmentHeaderBytes;
  seg->appendable = true;
  seg->written_here = true;
  if (!segments_.empty()) segments_.back()->appendable = false;
  if (!segments_.empty() && segments_.back()->taken == 0) {
    // Nobody reads the segment just filled yet: unmap it until its turn comes, so a long backlog
    // costs disk, not memory.
    segments_.back()->map.reset();
  }
  segments_.push_back(seg);
  disk_bytes_ += seg->capacity;
  std::lock_guard<std::mutex> lk(committer_->mu);
  committer_->dirty.push_back(Committer::Dirty{seg, seg->map});
  committer_->dir_dirty = true;
  committer_->fresh_segment = true;
  committer_->wake.notify_one();
  return {};
}

bool SpoolQueue::fits(const QueuedEvent& event) const {
  const std::size_t need = record_size(event.json.size());
  const Segment& w = *segments_.back();
  if (w.data_end() + need <= w.capacity) return true;
  return disk_bytes_ + options_.segment_bytes <= options_.max_bytes;
}

std::size_t SpoolQueue::evict_for(const QueuedEvent&) { return 0; }

Status SpoolQueue::push(QueuedEvent&& event) {
  const std::size_t need = record_size(event.json.size());
  if (closed_) return Status(StatusCode::kFailedPrecondition, "the spool is closed");
  if (segments_.back()->data_end() + need > segments_.back()->capacity) {
    if (Status s = roll(); !s.ok()) return s;
  }
  Segment& w = *segments_.back();
  const std::size_t at = w.data_end();
  RecordMeta meta;
  meta.tracked_ms = now_ms().time_since_epoch().count();
  meta.id_offset = static_cast<std::uint16_t>(event.id_offset);
  meta.id_size = static_cast<std::uint16_t>(event.id_size);
  encode_record(w.map->data() + at, event.json, meta);
  if (w.records++ == 0) w.first_seq = event.seq;
  w.untaken_wire += event.json.size() + 1;
  ++untaken_;
  w.written.store(at + need, std::memory_order_release);
  committer_->appended.store(event.seq, std::memory_order_release);
  return {};
}

SpoolQueue::Segment* SpoolQueue::reading_segment() const {
  for (const auto& seg : segments_) {
    if (seg->taken < seg->records) return seg.get();
  }
  return nullptr;
}

bool SpoolQueue::front_batch_full() const {
  const Segment* seg = reading_segment();
  if (seg == nullptr) return false;
  // A batch never spans segments, so the rest of a closed segment is a whole batch.
  return !seg->appendable || seg->records - seg->taken >= options_.batch_events ||
         seg->untaken_wire >= options_.batch_bytes;
}

PendingFront SpoolQueue::front() const {
  const Segment* seg = reading_segment();
  if (seg == nullptr) return {};
  PendingFront f;
  f.seq = seg->first_seq + seg->taken;
  RecordView rec;
  if (seg->map && SegmentReader(seg->map->data(), seg->data_end(), seg->read_pos, !seg->written_here).next(rec)) {
    f.enqueued = steady_from_wall(rec.meta.tracked_ms);
  }
  return f;
}

void SpoolQueue::take(std::vector<QueuedEvent>& out, TakeReport& report) {
  out.clear();
  Segment* seg = reading_segment();
  if (seg == nullptr) return;
  if (!seg->map) {
    auto file = MappedFile::open(dir_->segment_path(seg->number), false);
    if (!file) {
      // The file went away under us: nothing in it can be read any more.
      report.corrupt += seg->records - seg->taken;
      untaken_ -= seg->records - seg->taken;
      seg->taken = seg->records;
      return;
    }
    seg->map = std::make_shared<MappedFile>(std::move(*file));
  }
  const std::int64_t now = now_ms().time_since_epoch().count();
  const std::int64_t max_age = options_.max_event_age.count();
  // Under the tracker's mutex: only find the records; materialize() copies them out after.
  staged_.clear();
  staged_map_ = seg->map;
  SegmentReader reader(seg->map->data(), seg->data_end(), seg->read_pos, !seg->written_here);
  std::size_t wire = 0;
  RecordView rec;
  bool at_end = true;
  while (out.size() < options_.batch_events && seg->taken < seg->records) {
    if (!reader.next(rec)) break;
    if (!out.empty() && wire + rec.json.size() + 1 > options_.batch_bytes) {
      seg->read_pos = rec.offset;
      at_end = false;
      break;
    }
    const std::uint64_t seq = seg->first_seq + seg->taken++;
    seg->untaken_wire -= std::min(seg->untaken_wire, rec.json.size() + 1);
    --untaken_;
    if (max_age > 0 && now - rec.meta.tracked_ms > max_age) {
      ++report.expired;
      continue;
    }
    wire += rec.json.size() + 1;
    staged_.push_back(rec.json);
    QueuedEvent e;
    e.id_offset = rec.meta.id_offset;
    e.id_size = rec.meta.id_size;
    e.seq = seq;
    e.enqueued = steady_from_wall(rec.meta.tracked_ms);
    e.segment = seg->number;
    e.segment_end = static_cast<std::uint32_t>(rec.end);
    out.push_back(std::move(e));
  }
  // Damaged stretches were counted when the segment was scanned at open; not again here.
  if (at_end) seg->read_pos = reader.position();
  if (!seg->appendable && at_end && reader.position() >= seg->data_end()) {
    // Records counted at open but unreadable now (damaged while we ran) will never be taken.
    untaken_ -= seg->records - seg->taken;
    seg->taken = seg->records;
  }
  if (!out.empty()) {
    out.back().segment_end = static_cast<std::uint32_t>(seg->read_pos);  // trailing skipped records too
  } else {
    reclaim(seg->number, seg->read_pos);  // everything passed over is resolved already
  }
}

void SpoolQueue::materialize(std::vector<QueuedEvent>& taken) {
  // Records before the written mark never change, and staged_map_ keeps them mapped.
  for (std::size_t i = 0; i < taken.size() && i < staged_.size(); ++i) taken[i].json.assign(staged_[i]);
  staged_.clear();
  staged_map_.reset();
}

void SpoolQueue::resolved(const std::vector<QueuedEvent>& done) {
  if (done.empty() || closed_) return;
  reclaim(done.back().segment, done.back().segment_end);
}

void SpoolQueue::remove_front_segment() {
  const Segment& seg = *segments_.front();
  ::unlink(dir_->segment_path(seg.number).c_str());
  disk_bytes_ -= seg.capacity;
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

void SpoolQueue::run_committer() {
  Committer& c = *committer_;
  std::unique_lock<std::mutex> lk(c.mu);
  for (;;) {
    c.wake.wait_for(lk, options_.commit_interval,
                    [&] { return c.stop || c.requested > c.committed || c.fresh_segment; });
    c.fresh_segment = false;
    const bool stopping = c.stop;
    const std::uint64_t seq = c.appended.load(std::memory_order_acquire);
    std::vector<Committer::Dirty> dirty = std::move(c.dirty);
    c.dirty.clear();
    if (!dirty.empty()) c.dirty.push_back(dirty.back());  // still taking appends
    const bool dir_dirty = std::exchange(c.dir_dirty, false);
    lk.unlock();
    Status status;
    for (const auto& [seg, map] : dirty) {
      const std::size_t end = seg->data_end();
      if (end <= seg->synced) continue;
      status = map->sync(seg->synced, end);
      if (!status.ok()) break;
      seg->synced = end;
    }
    if (status.ok() && dir_dirty) status = dir_->sync();
    lk.lock();
    if (status.ok()) {
      c.committed = std::max(c.committed, seq);
      c.error = Status();
    } else {
      // Try again next pass: the same segments are still dirty.
      c.error = status;
      c.dir_dirty = c.dir_dirty || dir_dirty;
      c.dirty.insert(c.dirty.begin(), dirty.begin(), dirty.end());
    }
    c.done.notify_all();
    if (stopping) return;
    if (!dirty.empty() && dirty.back().segment->prefaulted == 0) {
      // Prefault a new segment whole, after the commit is published: a burst of appends then
      // never waits for a page fault (several microseconds each, one per 4 KiB).
      lk.unlock();
      const auto& [seg, map] = dirty.back();
      map->prefault(seg->data_end(), seg->capacity);
      seg->prefaulted = seg->capacity;
      lk.lock();
    }
  }
}

Status SpoolQueue::commit(SteadyTime deadline) {
  Committer& c = *committer_;
  const std::uint64_t target = c.appended.load(std::memory_order_acquire);
  std::unique_lock<std::mutex> lk(c.mu);
  if (c.committed >= target) return {};
  c.requested = std::max(c.requested, target);
  c.wake.notify_one();
  c.done.wait_until(lk, deadline, [&] { return c.committed >= target || !c.error.ok(); });
  if (c.committed >= target) return {};
  if (!c.error.ok()) return c.error;
  return Status(StatusCode::kDeadlineExceeded, "the spool commit did not finish in time");
}

std::size_t SpoolQueue::forget() {
  if (closed_) return untaken_;
  closed_ = true;
  {
    std::lock_guard<std::mutex> lk(committer_->mu);
    committer_->stop = true;
  }
  committer_->wake.notify_one();
  if (committer_->thread.joinable()) committer_->thread.join();  // its last pass commits everything
  if (!dir_) return untaken_;  // open() failed before the directory was ours
  // An empty or fully resolved last segment is not worth leaving behind.
  if (!segments_.empty()) {
    const Segment& last = *segments_.back();
    if (last.records == 0 || (last.taken == last.records && last.acked >= last.data_end())) {
      ::unlink(dir_->segment_path(last.number).c_str());
    }
  }
  segments_.clear();
  dir_->release();  // the next opener adopts what is left
  return untaken_;
}

void SpoolQueue::abandon_after_fork() noexcept {
  // The committer thread does not exist here and its mutex may be held: leave it all alone.
  (void)committer_.release();
  closed_ = true;
  if (dir_) {
    dir_->abandon_after_fork();
    (void)dir_.release();
  }
  segments_.clear();  // unmapping only changes this process's view; the files stay as they are
}

}  // namespace referkit::detail
