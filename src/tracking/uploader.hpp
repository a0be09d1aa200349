// The uploader: one batch in, one outcome out. It writes the request (encoding the body unless
// a fresh one was encoded ahead), sends it, classifies the reply with the delivery policy
// (DESIGN.md's table) and, when the batch must wait, says how long. It keeps no events and takes
// no locks: what to do with the outcome (resolve, split, retry, drop) is the worker's.
//
// Not thread-safe: the worker thread owns it. Transport::cancel() may be called meanwhile.
#ifndef REFERKIT_SRC_TRACKING_UPLOADER_HPP
#define REFERKIT_SRC_TRACKING_UPLOADER_HPP

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "referkit/testing.hpp"
#include "referkit/tracker.hpp"
#include "tracking/batch.hpp"
#include "tracking/delivery_policy.hpp"
#include "transport/gzip.hpp"

namespace referkit::detail {

struct UploadOutcome {
  Outcome outcome = Outcome::kRetry;
  int http_status = 0;
  std::string error;                 // the reply in words when it was not a delivery
  // The transport was cancelled (shutdown's deadline): the attempt says nothing about the
  // endpoint, so it must not hide what the endpoint last said (stats().last_error).
  bool cancelled = false;
  std::vector<DeadLetter> rejected;  // kDelivered: per-event rejections, only ids of this batch
  std::chrono::milliseconds wait{0}; // kRetry, kThrottled, kHold: before the next attempt
  std::chrono::milliseconds took{0}; // the request's own time
  std::size_t raw_bytes = 0;         // the body before and after gzip
  std::size_t sent_bytes = 0;
};

class Uploader {
 public:
  Uploader(const TrackerOptions& options, const testing::TrackerSeams& seams, std::shared_ptr<Transport> transport);

  // Makes one attempt (batch.attempts is counted here) and says what came of it.
  UploadOutcome send(Batch& batch);

  // A body encoded ahead is used only while its sentAt is close to the truth: the ingest side
  // corrects client clocks by comparing sentAt with when the request arrived.
  static constexpr std::chrono::seconds kMaxEncodedAge{1};

 private:
  const TrackerOptions& options_;
  const testing::TrackerSeams& seams_;
  std::shared_ptr<Transport> transport_;
  std::string url_;
  HttpHeaders base_headers_;
  Backoff backoff_;
  BatchEncoder encoder_;
};

}  // namespace referkit::detail

#endif  // REFERKIT_SRC_TRACKING_UPLOADER_HPP
