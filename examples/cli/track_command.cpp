// `referkit track`: reads JSON Lines of Segment-style events and delivers them through the
// library, with progress on stderr and one JSON summary on stdout. With --spool DIR the tracker
// is durable: what is not delivered when the command ends stays on disk for the next run (or
// `referkit spool drain`).
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <vector>

#include "cli_common.hpp"
#include "commands.hpp"
#include "accepted_id.hpp"
#include "line_reader.hpp"
#include "stop_request.hpp"
#include "referkit/tracker.hpp"

namespace referkit::cli {
namespace {

using Steady = std::chrono::steady_clock;

struct TrackOptions {
  std::string endpoint, write_key, write_key_file, signing_secret, signing_secret_file;
  std::string input = "-", flush_timeout = "30s", progress = "auto";
  std::string spool_dir, accepted_log;
  std::string ca_bundle;  // PEM file of the CAs to trust instead of the system's
  bool gzip = true;
  bool quiet = false;
  std::size_t max_queue_bytes = 32u << 20;
  std::string lane = "engagement";        // --lane: the lane of every event read
  std::vector<std::string> paused_lanes;  // --pause-lane
};

std::optional<Lane> parse_lane(const std::string& name) {
  if (name == "conversions") return Lane::kConversions;
  if (name == "engagement") return Lane::kEngagement;
  return std::nullopt;
}

// --accepted-log: the messageId of every event track() accepted, one per line, written with one
// write(2) each and no user-space buffer, so a line is in the page cache (and survives kill -9 of
// this process) as soon as the event it names is in the tracker.
class AcceptedLog {
 public:
  AcceptedLog() = default;
  AcceptedLog(const AcceptedLog&) = delete;
  AcceptedLog& operator=(const AcceptedLog&) = delete;
  ~AcceptedLog() {
    if (fd_ >= 0) ::close(fd_);
  }

  Status open(const std::string& path) {
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd_ < 0) return Status(StatusCode::kInvalidArgument, "--accepted-log: cannot open " + path + ": " + std::strerror(errno));
    return {};
  }
  bool enabled() const { return fd_ >= 0; }

  // False (once reported) when the line could not be written.
  bool append(const std::string& message_id) {
    line_ = message_id;
    line_ += '\n';
    std::size_t done = 0;
    while (done < line_.size()) {
      const ssize_t n = ::write(fd_, line_.data() + done, line_.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        if (!failed_) std::cerr << "referkit: --accepted-log: write failed: " << std::strerror(errno) << '\n';
        failed_ = true;
        return false;
      }
      done += static_cast<std::size_t>(n);
    }
    return true;
  }

 private:
  int fd_ = -1;
  bool failed_ = false;
  std::string line_;
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

// The longest input line read: an event is at most 32 KiB serialized, and a line may carry some
// whitespace and escapes on top. Longer lines are refused before parsing, unread into memory.
constexpr std::size_t kMaxLineBytes = 64 * 1024;

// Flushes in slices until done, the timeout, or a further stop signal: Ctrl-C during the final
// wait ends the wait instead of the process, so the summary is still printed.
Status flush_until_stopped(Tracker& tracker, std::chrono::milliseconds timeout, StopRequest& stop) {
  const int signals_before = stop.received();
  const auto deadline = Steady::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Steady::now());
    Status flushed = tracker.flush(std::clamp<std::chrono::milliseconds>(left, std::chrono::milliseconds(0),
                                                                         std::chrono::milliseconds(100)));
    if (flushed.code() != StatusCode::kDeadlineExceeded || left.count() <= 100) return flushed;
    if (stop.received() > signals_before) return flushed;
  }
}

int run_track(const TrackOptions& o) {
  auto flush_timeout = parse_duration(o.flush_timeout);
  if (!flush_timeout) return print_error(Status(StatusCode::kInvalidArgument, "--flush-timeout: expected e.g. 30s"), kExitUsage);
  int secrets_exit = kExitOk;
  auto secrets = resolve_upload_secrets(o.write_key, o.write_key_file, o.signing_secret, o.signing_secret_file, secrets_exit);
  if (!secrets) return secrets_exit;
  const SummaryStyle style = summary_style(o.quiet);
  Progress::Mode mode = Progress::Mode::kNone;
  if (o.quiet) mode = Progress::Mode::kNone;
  else if (o.progress == "json") mode = Progress::Mode::kJson;
  else if (o.progress == "bar" || (o.progress == "auto" && isatty(STDERR_FILENO))) mode = Progress::Mode::kBar;
  Progress progress(mode);

  int input_fd = STDIN_FILENO;
  if (o.input != "-") {
    input_fd = ::open(o.input.c_str(), O_RDONLY | O_CLOEXEC);
    if (input_fd < 0) {
      const int err = errno;
      return print_error(Status(err == ENOENT ? StatusCode::kNotFound : StatusCode::kPermissionDenied,
                                "cannot open " + o.input + ": " + std::strerror(err)),
                         kExitFailure);
    }
  }
  // Closed on every return (stdin is left alone).
  std::unique_ptr<int, void (*)(int*)> input_closer(o.input != "-" ? &input_fd : nullptr, [](int* fd) { ::close(*fd); });

  AcceptedLog accepted_log;
  if (!o.accepted_log.empty()) {
    Status opened = accepted_log.open(o.accepted_log);
    if (!opened.ok()) return print_error(opened, kExitFailure);
  }

  // Before the tracker's threads start, so they inherit the dispositions.
  auto stop = StopRequest::install();
  if (!stop) return print_error(stop.status(), kExitFailure);

  TrackerOptions options;
  options.endpoint = o.endpoint;
  options.write_key = secrets->write_key;
  options.signing_secret = secrets->signing_secret;
  options.gzip = o.gzip;
  options.http.tls.ca_file = o.ca_bundle;
  options.conversions.max_queue_bytes = o.max_queue_bytes;
  options.engagement.max_queue_bytes = o.max_queue_bytes;
  // A file is a backlog, not live traffic: wait for room rather than drop, within the timeout.
  options.overflow = OverflowPolicy::kBlock;
  options.block_timeout = *flush_timeout;
  options.flush_interval = std::chrono::milliseconds(100);
  const bool durable = !o.spool_dir.empty();
  if (durable) {
    options.spool_dir = o.spool_dir;
    // On disk an undelivered event waits for the next run instead of being given up on.
    options.retry.max_retry_duration = std::chrono::milliseconds(0);
  }
  options.logger = [](LogLevel level, std::string_view message) {
    if (level >= LogLevel::kWarn) std::cerr << "referkit: " << message << '\n';
  };
  // Paused from the start: a pause() after open() could come after the worker took a batch the
  // spool recovered for that lane (seen under ThreadSanitizer's slower pace).
  for (const std::string& name : o.paused_lanes) {
    const Lane paused = *parse_lane(name);
    options.budget(paused).start_paused = true;
  }
  auto tracker = Tracker::open(options);
  if (!tracker) return print_error(tracker.status(), exit_for_open_failure(tracker.status()));
  const Lane lane = *parse_lane(o.lane);

  const auto started = Steady::now();
  simdjson::ondemand::parser parser;
  LineReader reader(input_fd, stop->fd(), kMaxLineBytes);
  std::string line;
  std::uint64_t accepted = 0;
  std::uint64_t invalid = 0;
  std::uint64_t refused = 0;
  std::uint64_t stopped_at = 0;  // the line refused for lack of room, when reading stopped there
  LineReader::Next next;
  while ((next = reader.next(line)) == LineReader::Next::kLine || next == LineReader::Next::kTooLong) {
    const std::uint64_t line_no = reader.line_number();
    if (next == LineReader::Next::kTooLong) {
      ++invalid;
      std::cerr << "referkit: line " << line_no << ": line longer than " << kMaxLineBytes
                << " bytes (an event is at most 32 KiB); skipped\n";
      continue;
    }
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    // The line goes as it is, byte for byte, with a messageId and timestamp added when missing.
    std::optional<std::string> id;
    if (accepted_log.enabled()) id = message_id_for_log(parser, line);
    Status s = tracker->track_json(line, lane);
    if (s.ok()) {
      ++accepted;
      if (id) accepted_log.append(*id);
    } else if (s.code() == StatusCode::kResourceExhausted) {
      // The endpoint made no room for a whole --flush-timeout: waiting that long again for every
      // remaining line could take hours, so stop here and say where.
      ++refused;  // counted by the tracker as dropped
      stopped_at = line_no;
      std::cerr << "referkit: line " << line_no << ": " << s.message() << "; stopping here, the lines after it were not read\n";
      break;
    } else {
      ++invalid;
      std::cerr << "referkit: line " << line_no << ": " << s.to_string() << '\n';
    }
    progress.tracking(accepted);
  }
  // A read error ends the input early: what was accepted is still delivered and summarised, but
  // the run failed (the rest of the input was never seen).
  std::string read_error;
  if (next == LineReader::Next::kError) {
    read_error = fmt::format("cannot read {}: {}", o.input == "-" ? "standard input" : o.input, std::strerror(reader.error()));
    std::cerr << "referkit: " << read_error << "; stopped reading after line " << reader.line_number() << '\n';
  }
  const bool interrupted = next == LineReader::Next::kStopped && stop->requested();
  if (interrupted) {
    std::cerr << "referkit: " << stop->signal_name() << ": stopped reading after line " << reader.line_number()
              << "; delivering what was accepted (within --flush-timeout " << o.flush_timeout << ")\n";
  }
  progress.tracking(accepted, true);
  progress.tracked(accepted);

  // One budget for flush and shutdown: --flush-timeout bounds the whole wait. (A fresh 2 s for
  // shutdown after a flush that timed out let a never-answering server hold the exit 1.5 s
  // longer, the time shutdown gives an in-flight request before cancelling it.)
  const auto flush_deadline = Steady::now() + *flush_timeout;
  Status flushed = flush_until_stopped(*tracker, *flush_timeout, *stop);
  if (!flushed.ok()) std::cerr << "referkit: " << flushed.message() << '\n';
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(flush_deadline - Steady::now());
  ShutdownReport report = tracker->shutdown(std::clamp<std::chrono::milliseconds>(left, std::chrono::milliseconds(0),
                                                                                   std::chrono::milliseconds(2'000)));
  TrackerStats st = tracker->stats();
  const std::uint64_t kept = report.kept_in_spool ? report.undelivered : 0;
  if (kept > 0 && !o.quiet) {
    std::cerr << "referkit: " << kept << " events kept in the spool " << o.spool_dir
              << "; they are delivered by the next run on it, or by `referkit spool drain " << o.spool_dir << "`\n";
  }
  const std::uint64_t lost_in_memory = report.kept_in_spool ? 0 : report.undelivered;
  if (st.dropped() > 0) std::cerr << "referkit: " << st.dropped() << " events dropped: " << describe_dropped(st) << '\n';
  if (lost_in_memory > 0) {
    std::cerr << "referkit: " << lost_in_memory << " accepted events were not delivered and are lost (no --spool)\n";
  }
  const double seconds = std::chrono::duration<double>(Steady::now() - started).count();

  if (style == SummaryStyle::kJson) {
    std::string out;
    detail::JsonWriter w(out);
    w.begin_object();
    // A failed run's summary is also the one error object ({"error","message"}), with the counts.
    if (!read_error.empty()) w.key("error").value("read_error").key("message").value(read_error);
    w.key("tracked").value(st.tracked);
    w.key("delivered").value(st.acknowledged);
    w.key("rejected").value(st.dead_lettered + invalid);
    write_dropped(w, st);
    w.key("pending").value(report.undelivered);
    if (stopped_at > 0) w.key("stopped_at_line").value(stopped_at);
    if (interrupted) {
      w.key("interrupted").value(stop->signal_name());
      w.key("lines_read").value(reader.line_number());
    }
    if (durable) {
      w.key("spool").value(o.spool_dir);
      w.key("recovered").value(st.recovered);
      w.key("kept_in_spool").value(kept);
      w.key("corrupt_records").value(st.corrupt_records);
    }
    write_delivery_figures(w, st, seconds);
    w.end_object();
    std::cout << out << '\n';
  } else if (style == SummaryStyle::kHuman) {
    fmt::print("{}tracked {} events in {:.1f} s: {} delivered, {} rejected, {} dropped, {} pending{}\n",
               interrupted ? "interrupted (" + stop->signal_name() + "): " : "", st.tracked, seconds, st.acknowledged,
               st.dead_lettered + invalid, st.dropped(), report.undelivered,
               durable ? fmt::format(" ({} kept in the spool {})", kept, o.spool_dir) : std::string());
    if (st.dropped() > 0) fmt::print("dropped: {}\n", describe_dropped(st));
    if (!st.last_error.empty()) fmt::print("last error: {}\n", st.last_error);
  }
  if (!read_error.empty()) {
    if (style != SummaryStyle::kJson) print_error("read_error", read_error, kExitFailure);
    return kExitFailure;
  }
  if (interrupted) return stop->exit_code();
  const bool lost = st.dropped() > 0 || st.dead_lettered > 0 || invalid > 0 || refused > 0;
  if (lost || lost_in_memory > 0) return kExitRejected;
  return kept > 0 ? kExitKeptInSpool : kExitOk;
}

}  // namespace

void add_track_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<TrackOptions>();
  CLI::App* track = app.add_subcommand(
      "track", "Deliver JSON Lines of Segment-style events (type, event, userId/anonymousId, properties, timestamp, "
               "messageId; one JSON object per line, lines of at most 64 KiB) to an ingest API. Prints {tracked, "
               "delivered, rejected, dropped, dropped_by_reason, pending, retries, requests, bytes_sent, seconds}, plus "
               "{spool, recovered, kept_in_spool, corrupt_records} with --spool (text on a terminal, nothing with "
               "--quiet). Exits 0 only if everything was delivered; 1 if a line was rejected, an event dropped or the "
               "input could not be read; 3 if the rest was kept in the spool. SIGINT/SIGTERM: stop reading, deliver "
               "what was accepted within --flush-timeout (a second signal ends the wait), keep the rest in the spool "
               "with --spool, print the summary with \"interrupted\", exit 130/143.");
  track->add_option("--endpoint", o->endpoint, "Ingest API base URL; events go to <endpoint>/v1/batch")->required();
  add_secret_option(*track, "--write-key", o->write_key, o->write_key_file, "REFERKIT_WRITE_KEY",
                    "Write key (HTTP Basic user); required");
  add_secret_option(*track, "--signing-secret", o->signing_secret, o->signing_secret_file, "REFERKIT_SIGNING_SECRET",
                    "Sign each request body (X-Referkit-Signature)");
  track->add_flag("--quiet,-q", o->quiet, "No summary and no progress: only errors are printed (exit status tells)");
  track->add_option("--ca-bundle", o->ca_bundle,
                    "PEM file of the CA certificates to trust for an https endpoint, instead of the system's")
      ->check(CLI::ExistingFile);
  track->add_flag("--gzip,!--no-gzip", o->gzip, "Compress request bodies over 1 KiB (default on)");
  track->add_option("--input", o->input, "JSON Lines file, or - for stdin")->capture_default_str();
  track->add_option("--flush-timeout", o->flush_timeout, "How long to wait for delivery after the last line")->capture_default_str();
  track->add_option("--progress", o->progress, "auto (a bar on a terminal), bar, json (lines on stderr) or none")
      ->check(CLI::IsMember({"auto", "bar", "json", "none"}))
      ->capture_default_str();
  track->add_option("--max-queue-bytes", o->max_queue_bytes,
                    "Memory for events waiting to be sent; when the endpoint makes no room for --flush-timeout, "
                    "reading stops at that line (exit 1)")
      ->check(CLI::Range(std::size_t{64 * 1024}, std::size_t{1} << 34))
      ->capture_default_str();
  track->add_option("--lane", o->lane,
                    "The lane of the events read (conversions go before engagement; each has its own budget)")
      ->check(CLI::IsMember({"conversions", "engagement"}))
      ->capture_default_str();
  track->add_option("--pause-lane", o->paused_lanes,
                    "Emergency stop: accept but do not upload this lane's events (repeatable); with --spool they "
                    "wait there for the next run")
      ->check(CLI::IsMember({"conversions", "engagement"}));
  track->add_option("--spool", o->spool_dir,
                    "Durable mode: keep every accepted event in this spool directory (created 0700 if its parent "
                    "exists) until the API acknowledges it; what is left at the end waits there for the next run");
  track->add_option("--accepted-log", o->accepted_log,
                    "Append the messageId of every accepted event to this file, one per line, as it is accepted "
                    "(an id is made for lines without one)");
  track->callback([o, &exit_code] { exit_code = run_track(*o); });
}

}  // namespace referkit::cli
