// `referkit track`: reads JSON Lines of Segment-style events and delivers them through the
// library, with progress on stderr and one JSON summary on stdout.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>

#include "cli_common.hpp"
#include "commands.hpp"
#include "event_json.hpp"
#include "referkit/tracker.hpp"

namespace referkit::cli {
namespace {

using Steady = std::chrono::steady_clock;

struct TrackOptions {
  std::string endpoint, write_key, signing_secret, input = "-", flush_timeout = "30s", progress = "auto";
  bool gzip = true;
};

class Progress {
 public:
  enum class Mode { kNone, kBar, kJson };
  Mode mode;
  explicit Progress(Mode m) : mode(m) {}

  void tracking(std::uint64_t tracked, bool force = false) {
    const auto now = Steady::now();
    if (!force && tracked - last_count_ < 1000 && now - last_time_ < std::chrono::milliseconds(200)) return;
    last_count_ = tracked;
    last_time_ = now;
    if (mode == Mode::kJson) std::fprintf(stderr, "{\"phase\":\"tracking\",\"tracked\":%llu}\n", ull(tracked));
    if (mode == Mode::kBar) std::fprintf(stderr, "\r  tracking: %llu events", ull(tracked));
  }
  void tracked(std::uint64_t n) {
    if (mode == Mode::kJson) std::fprintf(stderr, "{\"phase\":\"tracked\",\"tracked\":%llu}\n", ull(n));
    if (mode == Mode::kBar) std::fprintf(stderr, "\r  tracked:  %llu events, delivering...\n", ull(n));
  }

 private:
  static unsigned long long ull(std::uint64_t v) { return static_cast<unsigned long long>(v); }
  std::uint64_t last_count_ = 0;
  Steady::time_point last_time_ = Steady::now();
};

int run_track(const TrackOptions& o) {
  auto flush_timeout = parse_duration(o.flush_timeout);
  if (!flush_timeout) return print_error(Status(StatusCode::kInvalidArgument, "--flush-timeout: expected e.g. 30s"), kExitUsage);
  Progress::Mode mode = Progress::Mode::kNone;
  if (o.progress == "json") mode = Progress::Mode::kJson;
  else if (o.progress == "bar" || (o.progress == "auto" && isatty(STDERR_FILENO))) mode = Progress::Mode::kBar;
  Progress progress(mode);

  std::ifstream file;
  std::istream* in = &std::cin;
  if (o.input != "-") {
    file.open(o.input, std::ios::binary);
    if (!file) return print_error(Status(StatusCode::kNotFound, "cannot open " + o.input), kExitUsage);
    in = &file;
  }

  TrackerOptions options;
  options.endpoint = o.endpoint;
  options.write_key = o.write_key;
  options.signing_secret = o.signing_secret;
  options.gzip = o.gzip;
  // A file is a backlog, not live traffic: wait for room rather than drop, within the timeout.
  options.overflow = OverflowPolicy::kBlock;
  options.block_timeout = *flush_timeout;
  options.flush_interval = std::chrono::milliseconds(100);
  options.logger = [](LogLevel level, std::string_view message) {
    if (level >= LogLevel::kWarn) std::cerr << "referkit: " << message << '\n';
  };
  auto tracker = Tracker::open(options);
  if (!tracker) return print_error(tracker.status(), kExitUsage);

  const auto started = Steady::now();
  simdjson::ondemand::parser parser;
  std::string line;
  std::uint64_t line_no = 0;
  std::uint64_t accepted = 0;
  std::uint64_t invalid = 0;
  std::uint64_t refused = 0;
  while (std::getline(*in, line)) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto event = parse_event_json(parser, line);
    Status s = event ? tracker->track(std::move(*event)) : event.status();
    if (s.ok()) {
      ++accepted;
    } else if (s.code() == StatusCode::kResourceExhausted) {
      ++refused;  // counted by the tracker as dropped
    } else {
      ++invalid;
      std::cerr << "referkit: line " << line_no << ": " << s.to_string() << '\n';
    }
    progress.tracking(accepted);
  }
  progress.tracking(accepted, true);
  progress.tracked(accepted);

  Status flushed = tracker->flush(*flush_timeout);
  if (!flushed.ok()) std::cerr << "referkit: " << flushed.message() << '\n';
  ShutdownReport report = tracker->shutdown(std::chrono::seconds(2));
  TrackerStats st = tracker->stats();
  const double seconds = std::chrono::duration<double>(Steady::now() - started).count();

  std::string out;
  detail::JsonWriter w(out);
  w.begin_object();
  w.key("tracked").value(st.tracked);
  w.key("delivered").value(st.acknowledged);
  w.key("rejected").value(st.dead_lettered + invalid);
  w.key("dropped").value(st.dropped_queue_full + st.dropped_retries_exhausted);
  w.key("pending").value(report.undelivered);
  w.key("retries").value(st.retried);
  w.key("requests").value(st.requests);
  w.key("bytes_sent").value(st.bytes_sent);
  char secs[32];
  std::snprintf(secs, sizeof secs, "%.3f", seconds);
  w.key("seconds").raw(secs);
  if (!st.last_error.empty()) w.key("last_error").value(st.last_error);
  w.end_object();
  std::cout << out << '\n';
  const bool clean = report.undelivered == 0 && st.dropped() == 0 && st.dead_lettered == 0 && invalid == 0 && refused == 0;
  return clean ? kExitOk : kExitRejected;
}

}  // namespace

void add_track_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<TrackOptions>();
  CLI::App* track = app.add_subcommand(
      "track", "Deliver JSON Lines of Segment-style events (type, event, userId/anonymousId, properties, timestamp, "
               "messageId) to an ingest API. Prints {tracked, delivered, rejected, dropped, pending, retries, requests, "
               "bytes_sent, seconds}; exits 0 only if everything was delivered.");
  track->add_option("--endpoint", o->endpoint, "Ingest API base URL; events go to <endpoint>/v1/batch")->required();
  track->add_option("--write-key", o->write_key, "Write key (HTTP Basic user)")->required();
  track->add_option("--signing-secret", o->signing_secret, "Sign each request body (X-Referkit-Signature)");
  track->add_flag("--gzip,!--no-gzip", o->gzip, "Compress request bodies over 1 KiB (default on)");
  track->add_option("--input", o->input, "JSON Lines file, or - for stdin")->capture_default_str();
  track->add_option("--flush-timeout", o->flush_timeout, "How long to wait for delivery after the last line")->capture_default_str();
  track->add_option("--progress", o->progress, "auto (a bar on a terminal), bar, json (lines on stderr) or none")
      ->check(CLI::IsMember({"auto", "bar", "json", "none"}))
      ->capture_default_str();
  track->callback([o, &exit_code] { exit_code = run_track(*o); });
}

}  // namespace referkit::cli
