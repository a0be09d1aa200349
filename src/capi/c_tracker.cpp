// rk_tracker_*: the tracker behind the C ABI. Each function checks its arguments, calls the C++
// Tracker and reports through capi::fail(); none of them adds behaviour of its own, so the C
// path validates and delivers exactly as the C++ one does.
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "capi/boundary.hpp"
#include "capi/c_tracker.hpp"
#include "json/json_writer.hpp"
#include "referkit/webhooks.hpp"
#include "tracking/batch.hpp"

namespace capi = referkit::capi;
using capi::guarded;

namespace {

rk_status set_text(rk_tracker_options* o, std::string referkit::TrackerOptions::*field, const char* ptr,
                   std::size_t len, std::string_view what) {
  if (o == nullptr) return capi::null_handle("options");
  std::string_view text;
  if (rk_status s = capi::text_arg(ptr, len, what, text); s != RK_OK) return s;
  o->options.*field = std::string(text);
  return RK_OK;
}

// The lane a caller passed, or nullopt for a value that is not one.
std::optional<referkit::Lane> lane_arg(const rk_lane& lane) {
  const int v = capi::enum_arg(lane);
  if (v != RK_LANE_CONVERSIONS && v != RK_LANE_ENGAGEMENT) return std::nullopt;
  return static_cast<referkit::Lane>(v);
}

void write_lane(referkit::detail::JsonWriter& w, const referkit::LaneStats& s) {
  w.begin_object();
  w.key("tracked").value(s.tracked).key("queued").value(s.queued).key("queued_bytes").value(s.queued_bytes);
  w.key("spool_bytes").value(s.spool_bytes).key("acknowledged").value(s.acknowledged);
  w.key("dead_lettered").value(s.dead_lettered).key("dropped").value(s.dropped);
  w.key("retried").value(s.retried).key("paused").value(s.paused);
  w.end_object();
}

std::string stats_json(const referkit::TrackerStats& s) {
  std::string out;
  referkit::detail::JsonWriter w(out);
  w.begin_object();
  w.key("tracked").value(s.tracked).key("queued").value(s.queued).key("queued_bytes").value(s.queued_bytes);
  w.key("sent").value(s.sent).key("acknowledged").value(s.acknowledged).key("retried").value(s.retried);
  w.key("requests").value(s.requests).key("dead_lettered").value(s.dead_lettered);
  w.key("dropped").value(s.dropped()).key("dropped_queue_full").value(s.dropped_queue_full);
  w.key("dropped_retries_exhausted").value(s.dropped_retries_exhausted);
  w.key("dropped_shutdown").value(s.dropped_shutdown).key("dropped_expired").value(s.dropped_expired);
  w.key("recovered").value(s.recovered).key("spool_bytes").value(s.spool_bytes);
  w.key("corrupt_records").value(s.corrupt_records);
  w.key("bytes_uncompressed").value(s.bytes_uncompressed).key("bytes_sent").value(s.bytes_sent);
  w.key("last_error").value(s.last_error);
  w.key("lanes").begin_object();
  w.key("conversions");
  write_lane(w, s.lane(referkit::Lane::kConversions));
  w.key("engagement");
  write_lane(w, s.lane(referkit::Lane::kEngagement));
  w.end_object();
  w.end_object();
  return out;
}

// The shared trackers (rk_tracker_open_shared), by endpoint, write key and spool directory.
// Leaked on purpose: they are shut down by the atexit handler, and must outlive every static
// destructor that might still track.
struct SharedTrackers {
  std::mutex mu;
  std::map<std::string, rk_tracker*> by_key;
  std::uint32_t exit_timeout_ms = 0;
};
SharedTrackers& shared_trackers() {
  static SharedTrackers* all = new SharedTrackers();
  return *all;
}

void close_shared_trackers() {
  SharedTrackers& all = shared_trackers();
  std::lock_guard<std::mutex> lock(all.mu);
  for (auto& entry : all.by_key) {
    try {
      (void)entry.second->tracker.shutdown(std::chrono::milliseconds(all.exit_timeout_ms));  // nobody to tell at exit
    } catch (...) {
    }
  }
}

// Exit handlers run in the reverse order of their registration, and so do the destructors of
// function-local statics, which register when first used. Whatever the worker uses at shutdown
// must therefore be initialized before close_shared_trackers is registered, or it is torn down
// first (seen: simdjson's implementation singleton, first used to read the server's reply, was
// gone when the handler's shutdown read one: "pure virtual method called"). curl is initialized
// by Tracker::open; this covers the JSON reply parser and OpenSSL (which registers its own
// cleanup handler on first use).
void initialize_what_shutdown_uses() {
  (void)referkit::detail::parse_rejections(R"({"rejected":[]})");
  (void)referkit::sign_payload("0123456789abcdef", 0, "");
}

}  // namespace

extern "C" {

rk_status rk_tracker_options_new(rk_tracker_options** out) {
  return guarded([&] {
    if (out == nullptr) return capi::null_handle("out");
    *out = new rk_tracker_options();
    return RK_OK;
  });
}

void rk_tracker_options_free(rk_tracker_options* options) { delete options; }

rk_status rk_tracker_options_set_endpoint(rk_tracker_options* o, const char* endpoint, size_t len) {
  return guarded([&] { return set_text(o, &referkit::TrackerOptions::endpoint, endpoint, len, "endpoint"); });
}

rk_status rk_tracker_options_set_write_key(rk_tracker_options* o, const char* key, size_t len) {
  return guarded([&] { return set_text(o, &referkit::TrackerOptions::write_key, key, len, "write_key"); });
}

rk_status rk_tracker_options_set_spool_dir(rk_tracker_options* o, const char* dir, size_t len) {
  return guarded([&] { return set_text(o, &referkit::TrackerOptions::spool_dir, dir, len, "spool_dir"); });
}

rk_status rk_tracker_options_set_flush_interval_ms(rk_tracker_options* o, uint32_t ms) {
  if (o == nullptr) return capi::null_handle("options");
  if (ms == 0) return capi::fail(RK_INVALID_ARGUMENT, "flush_interval_ms: must be at least 1");
  o->options.flush_interval = std::chrono::milliseconds(ms);
  return RK_OK;
}

rk_status rk_tracker_options_set_background_nice(rk_tracker_options* o, int nice) {
  if (o == nullptr) return capi::null_handle("options");
  if (nice < 0 || nice > 19) return capi::fail(RK_INVALID_ARGUMENT, "background_nice: must be 0-19");
  o->options.background_nice = nice;
  return RK_OK;
}

rk_status rk_tracker_options_set_logger(rk_tracker_options* o, rk_log_fn fn, void* user_data) {
  return guarded([&] {
    if (o == nullptr) return capi::null_handle("options");
    if (fn == nullptr) {
      o->options.logger = nullptr;
    } else {
      o->options.logger = [fn, user_data](referkit::LogLevel level, std::string_view message) {
        fn(user_data, static_cast<rk_log_level>(level), message.data(), message.size());
      };
    }
    return RK_OK;
  });
}

rk_status rk_tracker_open(const rk_tracker_options* options, rk_tracker** out) {
  return guarded([&] {
    if (out == nullptr) return capi::null_handle("out");
    *out = nullptr;
    if (options == nullptr) return capi::null_handle("options");
    auto tracker = referkit::Tracker::open(options->options);
    if (!tracker.ok()) return capi::fail(tracker.status());
    *out = new rk_tracker{std::move(*tracker)};
    return RK_OK;
  });
}

rk_status rk_tracker_open_shared(const rk_tracker_options* options, uint32_t exit_timeout_ms, rk_tracker** out) {
  return guarded([&] {
    if (out == nullptr) return capi::null_handle("out");
    *out = nullptr;
    if (options == nullptr) return capi::null_handle("options");
    const referkit::TrackerOptions& o = options->options;
    // NUL separates the parts: none of them can hold one and pass validation.
    std::string key = o.endpoint + '\0' + o.write_key + '\0' + o.spool_dir;
    SharedTrackers& all = shared_trackers();
    std::lock_guard<std::mutex> lock(all.mu);
    auto found = all.by_key.find(key);
    if (found != all.by_key.end()) {
      *out = found->second;
      return RK_OK;
    }
    auto tracker = referkit::Tracker::open(o);
    if (!tracker.ok()) return capi::fail(tracker.status());
    if (all.by_key.empty()) {
      all.exit_timeout_ms = exit_timeout_ms;
      initialize_what_shutdown_uses();
      if (std::atexit(close_shared_trackers) != 0) {
        return capi::fail(RK_INTERNAL, "cannot register the exit handler that closes shared trackers");
      }
    }
    auto* handle = new rk_tracker{std::move(*tracker), true};
    all.by_key.emplace(std::move(key), handle);
    *out = handle;
    return RK_OK;
  });
}

rk_status rk_tracker_track_json(rk_tracker* t, const char* json, size_t len) {
  return guarded([&] {
    if (t == nullptr) return capi::null_handle("tracker");
    if (json == nullptr && len != 0) {
      return capi::fail(RK_INVALID_ARGUMENT, "json: NULL pointer with length " + std::to_string(len));
    }
    // track_json checks UTF-8 itself (with simdjson, faster than a second pass here).
    return capi::to_rk(t->tracker.track_json(std::string_view(json == nullptr ? "" : json, len)));
  });
}

rk_status rk_tracker_flush(rk_tracker* t, uint32_t timeout_ms) {
  return guarded([&] {
    if (t == nullptr) return capi::null_handle("tracker");
    return capi::to_rk(t->tracker.flush(std::chrono::milliseconds(timeout_ms)));
  });
}

rk_status rk_tracker_close(rk_tracker* t, uint32_t timeout_ms) {
  if (t == nullptr) return RK_OK;
  if (t->shared) return capi::fail(RK_FAILED_PRECONDITION, "a shared tracker is closed at process exit, not by rk_tracker_close");
  // The handle is freed whatever happens: a caller that got an error back must not be left
  // with a tracker it can neither use nor release.
  std::unique_ptr<rk_tracker> owned(t);
  return guarded([&] {
    const referkit::ShutdownReport report = owned->tracker.shutdown(std::chrono::milliseconds(timeout_ms));
    return capi::to_rk(report.status);
  });
}

rk_status rk_tracker_pause(rk_tracker* t, rk_lane lane) {
  return guarded([&] {
    if (t == nullptr) return capi::null_handle("tracker");
    const auto l = lane_arg(lane);
    if (!l) return capi::fail(RK_INVALID_ARGUMENT, "lane: not RK_LANE_CONVERSIONS or RK_LANE_ENGAGEMENT");
    t->tracker.pause(*l);
    return RK_OK;
  });
}

rk_status rk_tracker_resume(rk_tracker* t, rk_lane lane) {
  return guarded([&] {
    if (t == nullptr) return capi::null_handle("tracker");
    const auto l = lane_arg(lane);
    if (!l) return capi::fail(RK_INVALID_ARGUMENT, "lane: not RK_LANE_CONVERSIONS or RK_LANE_ENGAGEMENT");
    t->tracker.resume(*l);
    return RK_OK;
  });
}

rk_status rk_tracker_stats_json(rk_tracker* t, char** json, size_t* len) {
  return guarded([&] {
    if (json == nullptr) return capi::null_handle("json");
    *json = nullptr;
    if (t == nullptr) return capi::null_handle("tracker");
    const std::string text = stats_json(t->tracker.stats());
    // malloc, so that rk_string_free is a plain free() whatever allocator C++ uses.
    char* copy = static_cast<char*>(std::malloc(text.size() + 1));
    if (copy == nullptr) return capi::fail(RK_RESOURCE_EXHAUSTED, "out of memory");
    std::memcpy(copy, text.c_str(), text.size() + 1);
    *json = copy;
    if (len != nullptr) *len = text.size();
    return RK_OK;
  });
}

}  // extern "C"
