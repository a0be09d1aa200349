#include "tracking/batch_source.hpp"

#include "events/uuid.hpp"

namespace referkit::detail {

BatchSource::BatchSource(const TrackerOptions& options, const testing::TrackerSeams& seams)
    : options_(options), seams_(seams), encoder_(options.gzip_level) {}

BatchSource::~BatchSource() {
  if (thread_) thread_->wait();
}

TakeReport BatchSource::take(Lanes& lanes, Lane lane, Batch& batch) {
  TakeReport report;
  LaneSlot& slot = lanes[lane];
  slot.events->take(batch.events, report);
  batch.lane = lane;
  batch.attempts = 0;
  batch.retry_elapsed = std::chrono::milliseconds(0);
  batch.encoded.reset();
  if (!batch.events.empty()) {
    if (slot.inflight_min_seq == 0) slot.inflight_min_seq = batch.events.front().seq;
    slot.inflight_count += batch.events.size();
    batch.id = make_uuid_v7(seams_.wall_clock());
  }
  return report;
}

void BatchSource::start_ahead(PendingEvents& storage, Batch batch) {
  ahead_lane_ = batch.lane;
  ahead_first_seq_ = batch.events.front().seq;
  ahead_.emplace(std::move(batch));
  if (!thread_) thread_.emplace(options_.background_nice);
  thread_->start([this, &storage] {
    Batch& b = *ahead_;
    storage.materialize(b.events);
    b.encoded = encode_batch(b, seams_.wall_clock(), seams_.steady_clock(), options_.gzip, options_.gzip_min_bytes, encoder_);
  });
}

void BatchSource::encode_beside(PendingEvents& storage, Batch& batch) {
  if (!beside_encoder_) beside_encoder_.emplace(options_.gzip_level);
  storage.materialize(batch.events);
  batch.encoded = encode_batch(batch, seams_.wall_clock(), seams_.steady_clock(), options_.gzip, options_.gzip_min_bytes,
                               *beside_encoder_);
}

Batch BatchSource::finish_ahead() {
  thread_->wait();
  Batch b = std::move(*ahead_);
  ahead_.reset();
  return b;
}

}  // namespace referkit::detail
