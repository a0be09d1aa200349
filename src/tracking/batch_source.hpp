// The batch source: where the worker's batches come from. It takes the oldest due batch of a
// lane from its pending storage (under the tracker's mutex, and cheaply: the spool only finds
// the records there), materializes it (copies the events' text out, without the mutex), and
// looks ahead: while a request is in flight, it takes the next due batch and encodes it on a
// side thread, so that the next request can go as soon as the reply comes.
//
// Batches of one lane are taken in order and must be resolved in order (the spool's reclaim
// relies on it); a batch taken ahead or beside counts as in flight from the moment it is taken.
//
// Not thread-safe: the worker thread owns it.
#ifndef REFERKIT_SRC_TRACKING_BATCH_SOURCE_HPP
#define REFERKIT_SRC_TRACKING_BATCH_SOURCE_HPP

#include <optional>

#include "referkit/testing.hpp"
#include "referkit/tracker.hpp"
#include "tracking/batch.hpp"
#include "tracking/lanes.hpp"
#include "tracking/side_thread.hpp"
#include "transport/gzip.hpp"

namespace referkit::detail {

class BatchSource {
 public:
  BatchSource(const TrackerOptions& options, const testing::TrackerSeams& seams);
  // Waits for a look-ahead job still running: it reads from the storage.
  ~BatchSource();
  BatchSource(const BatchSource&) = delete;
  BatchSource& operator=(const BatchSource&) = delete;

  // Under the tracker's mutex: moves the oldest batch of `lane` into `batch` (with a new id) and
  // counts its events in flight in the lane. What was passed over (expired, unreadable) or why
  // nothing could be taken is in the report.
  TakeReport take(Lanes& lanes, Lane lane, Batch& batch);
  // Without the mutex: copies the text of the events take() found out of the lane's storage.
  static void materialize(PendingEvents& storage, Batch& batch) { storage.materialize(batch.events); }

  // ---- look-ahead
  // Starts materializing and encoding `batch` (just taken) on the side thread.
  void start_ahead(PendingEvents& storage, Batch batch);
  bool has_ahead() const { return ahead_.has_value(); }
  Lane ahead_lane() const { return ahead_lane_; }
  std::uint64_t ahead_first_seq() const { return ahead_first_seq_; }
  // Whether the side thread is still encoding the batch taken ahead.
  bool ahead_busy() { return thread_ && thread_->busy(); }
  // Waits for the side thread and hands the batch over.
  Batch finish_ahead();

  // ---- beside: the worker's own share of a flood
  // Materializes and encodes `batch` (just taken) on the calling thread, with a compressor of
  // its own: the worker does this while the side thread encodes the batch ahead, when more
  // batches are due than one encoder can keep up with (gzip is most of the CPU per event).
  void encode_beside(PendingEvents& storage, Batch& batch);

 private:
  const TrackerOptions& options_;
  const testing::TrackerSeams& seams_;
  std::optional<SideThread> thread_;  // started on first use
  BatchEncoder encoder_;                       // the side thread's
  std::optional<BatchEncoder> beside_encoder_;  // the worker's, made on first use
  std::optional<Batch> ahead_;  // the side thread's until finish_ahead()
  Lane ahead_lane_ = Lane::kConversions;
  std::uint64_t ahead_first_seq_ = 0;
};

}  // namespace referkit::detail

#endif  // REFERKIT_SRC_TRACKING_BATCH_SOURCE_HPP
