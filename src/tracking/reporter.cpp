#include "tracking/reporter.hpp"

namespace referkit::detail {

void Reporter::tracked(Lane l) {
  ++stats_.tracked;
  ++lane(l).tracked;
}

bool Reporter::queue_full(Lane l, std::uint64_t n) {
  stats_.dropped_queue_full += n;
  lane(l).dropped += n;
  lost_ += n;
  const bool first = unreported_queue_full_ == 0;
  unreported_queue_full_ += n;
  return first;
}

void Reporter::expired(Lane l, std::uint64_t n) {
  stats_.dropped_expired += n;
  lane(l).dropped += n;
  lost_ += n;
}

void Reporter::corrupt(Lane, std::uint64_t n) {
  stats_.corrupt_records += n;
  lost_ += n;
}

void Reporter::recovered(const PendingRecovery& found) {
  stats_.recovered += found.events;
  stats_.corrupt_records += found.corrupt;
  stats_.corrupt_bytes += found.corrupt_bytes;
  stats_.truncated_segments += found.truncated_segments;
  stats_.truncated_bytes += found.truncated_bytes;
  stats_.skipped_spool_entries += found.skipped.size();
}

void Reporter::request(Lane l, std::size_t events, bool retry, std::size_t raw_bytes, std::size_t sent_bytes,
                       std::optional<std::string> last_error) {
  ++stats_.requests;
  stats_.sent += events;
  if (retry) {
    ++stats_.retried;
    ++lane(l).retried;
  }
  stats_.bytes_uncompressed += raw_bytes;
  stats_.bytes_sent += sent_bytes;
  if (last_error) stats_.last_error = std::move(*last_error);
}

void Reporter::resolved(Lane l, std::size_t acknowledged, std::size_t dead_lettered, std::size_t unrecorded,
                        std::size_t retries_exhausted) {
  stats_.acknowledged += acknowledged;
  stats_.dead_lettered += dead_lettered;
  stats_.dead_letters_unrecorded += unrecorded;
  stats_.dropped_retries_exhausted += retries_exhausted;
  LaneStats& s = lane(l);
  s.acknowledged += acknowledged;
  s.dead_lettered += dead_lettered;
  s.dropped += retries_exhausted;
  lost_ += dead_lettered + retries_exhausted;
}

void Reporter::dropped_at_shutdown(Lane l, std::uint64_t n) {
  stats_.dropped_shutdown += n;
  lane(l).dropped += n;
}

void Reporter::on_delivery(const DeliveryReport& report) const {
  if (options_.on_delivery) options_.on_delivery(report);
}

void Reporter::on_drop(DropReason why, std::size_t count, const Status& status) const {
  if (count > 0 && options_.on_drop) options_.on_drop(why, count, status);
}

void Reporter::on_dead_letter(const DeadLetter& dead) const {
  if (options_.on_dead_letter) options_.on_dead_letter(dead);
}

void Reporter::log(LogLevel level, std::string_view message) const {
  if (options_.logger) options_.logger(level, message);
}

}  // namespace referkit::detail
