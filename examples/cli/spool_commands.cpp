// `referkit spool inspect` and `referkit spool drain`: look into a durable spool left by
// `referkit track --spool` (or any tracker with TrackerOptions::spool_dir), and deliver what it holds.
#include <simdjson.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "cli_common.hpp"
#include "commands.hpp"
#include "stop_request.hpp"
#include "referkit/spool.hpp"
#include "referkit/tracker.hpp"

namespace referkit::cli {
namespace {

using Steady = std::chrono::steady_clock;

unsigned long long ull(std::uint64_t v) { return static_cast<unsigned long long>(v); }

// ---- inspect ----

struct InspectOptions {
  std::string dir;
  bool dead_letters = false;
};

// The dead letter's event as JSON when it is a JSON document, else as a string (never broken output).
void write_event(detail::JsonWriter& w, simdjson::dom::parser& parser, const std::string& event_json) {
  if (event_json.empty()) {
    w.null();
  } else if (parser.parse(event_json).error() == simdjson::SUCCESS) {
    w.raw(event_json);
  } else {
    w.value(event_json);
  }
}

int run_inspect(const InspectOptions& o) {
  auto info = inspect_spool(o.dir);
  if (!info) return print_error(info.status(), kExitFailure);
  std::string out;
  detail::JsonWriter w(out);
  w.begin_object();
  w.key("pending_events").value(info->pending_events);
  w.key("pending_bytes").value(info->pending_bytes);
  w.key("disk_bytes").value(info->disk_bytes);
  w.key("oldest_event");
  if (info->oldest_event) w.value(format_rfc3339(*info->oldest_event)); else w.null();
  w.key("segments").value(static_cast<std::uint64_t>(info->segments));
  w.key("live_owners").value(static_cast<std::uint64_t>(info->live_owners));
  w.key("corrupt_records").value(info->corrupt_records);
  w.key("corrupt_bytes").value(info->corrupt_bytes);
  w.key("truncated_segments").value(info->truncated_segments);
  w.key("truncated_bytes").value(info->truncated_bytes);
  w.key("skipped_entries").begin_array();
  for (const std::string& why : info->skipped) w.value(why);
  w.end_array();
  w.key("dead_letters").value(info->dead_letters);
  w.key("lanes").begin_object();
  for (const SpoolLaneInfo& lane : info->lanes) {
    w.key(lane.lane).begin_object();
    w.key("pending_events").value(lane.pending_events);
    w.key("pending_bytes").value(lane.pending_bytes);
    w.key("disk_bytes").value(lane.disk_bytes);
    w.key("oldest_event");
    if (lane.oldest_event) w.value(format_rfc3339(*lane.oldest_event)); else w.null();
    w.key("segments").value(static_cast<std::uint64_t>(lane.segments));
    w.key("dead_letters").value(lane.dead_letters);
    w.end_object();
  }
  w.end_object();
  if (o.dead_letters) {
    auto letters = read_dead_letters(o.dir);
    if (!letters) return print_error(letters.status(), kExitFailure);
    simdjson::dom::parser parser;
    std::uint64_t damaged = 0;
    w.key("dead_letter_list").begin_array();
    for (const SpoolDeadLetter& d : *letters) {
      if (!d.damage.empty()) {
        ++damaged;
        w.begin_object().key("lane").value(d.lane).key("line").value(d.line).key("error").value(d.damage).end_object();
        continue;
      }
      w.begin_object();
      w.key("lane").value(d.lane);
      w.key("messageId").value(d.message_id);
      w.key("reason").value(d.reason);
      w.key("at").value(d.at);
      w.key("event");
      write_event(w, parser, d.event_json);
      w.end_object();
    }
    w.end_array();
    w.key("damaged_lines").value(damaged);
  }
  w.end_object();
  std::cout << out << '\n';
  return kExitOk;
}

// ---- drain ----

struct DrainOptions {
  std::string dir, endpoint, write_key, write_key_file, signing_secret, signing_secret_file;
  std::string timeout = "60s", progress = "auto", max_event_age;
  std::string ca_bundle;  // PEM file of the CAs to trust instead of the system's
  bool gzip = true;
  bool quiet = false;
};

class DrainProgress {
 public:
  enum class Mode { kNone, kBar, kJson };
  explicit DrainProgress(Mode mode) : mode_(mode) {}

  void update(const TrackerStats& st, std::uint64_t total, bool last = false) {
    const std::uint64_t done = std::min(total, st.acknowledged + st.dead_lettered + st.dropped());
    if (mode_ == Mode::kJson) {
      std::fprintf(stderr,
                   "{\"phase\":\"draining\",\"recovered\":%llu,\"acknowledged\":%llu,\"dead_lettered\":%llu,"
                   "\"pending\":%llu}\n",
                   ull(total), ull(st.acknowledged), ull(st.dead_lettered), ull(st.queued));
    } else if (mode_ == Mode::kBar) {
      constexpr int kWidth = 30;
      const int filled = total == 0 ? kWidth : static_cast<int>(done * kWidth / total);
      std::string bar(static_cast<std::size_t>(filled), '#');
      bar.resize(kWidth, '.');
      std::fprintf(stderr, "\r  draining: [%s] %llu/%llu delivered", bar.c_str(), ull(st.acknowledged), ull(total));
      if (st.dead_lettered > 0) std::fprintf(stderr, ", %llu refused", ull(st.dead_lettered));
      if (last) std::fprintf(stderr, "\n");
    }
  }

 private:
  Mode mode_;
};

int run_drain(const DrainOptions& o) {
  auto timeout = parse_duration(o.timeout);
  if (!timeout) return print_error(Status(StatusCode::kInvalidArgument, "--timeout: expected e.g. 60s"), kExitUsage);
  std::optional<std::chrono::milliseconds> max_event_age;
  if (!o.max_event_age.empty() && !(max_event_age = parse_duration(o.max_event_age))) {
    return print_error(Status(StatusCode::kInvalidArgument, "--max-event-age: expected e.g. 7d"), kExitUsage);
  }
  int secrets_exit = kExitOk;
  auto secrets = resolve_upload_secrets(o.write_key, o.write_key_file, o.signing_secret, o.signing_secret_file, secrets_exit);
  if (!secrets) return secrets_exit;
  const SummaryStyle style = summary_style(o.quiet);
  DrainProgress::Mode mode = DrainProgress::Mode::kNone;
  if (o.quiet) mode = DrainProgress::Mode::kNone;
  else if (o.progress == "json") mode = DrainProgress::Mode::kJson;
  else if (o.progress == "bar" || (o.progress == "auto" && isatty(STDERR_FILENO))) mode = DrainProgress::Mode::kBar;
  DrainProgress progress(mode);

  // Draining an existing spool: a missing directory is a mistake, not something to create.
  auto before = inspect_spool(o.dir);
  if (!before) return print_error(before.status(), kExitFailure);

  // Before the tracker's threads start, so they inherit the dispositions.
  auto stop = StopRequest::install();
  if (!stop) return print_error(stop.status(), kExitFailure);

  const auto started = Steady::now();
  const auto deadline = started + *timeout;
  TrackerOptions options;
  options.endpoint = o.endpoint;
  options.write_key = secrets->write_key;
  options.signing_secret = secrets->signing_secret;
  if (max_event_age) options.max_event_age = *max_event_age;
  options.gzip = o.gzip;
  options.http.tls.ca_file = o.ca_bundle;
  options.spool_dir = o.dir;
  options.flush_interval = std::chrono::milliseconds(100);
  // What is not delivered in time stays in the spool; never give up on it here.
  options.retry.max_retry_duration = std::chrono::milliseconds(0);
  // A drain is interactive: notice a server coming back within seconds, not half a minute.
  options.retry.max_backoff = std::min<std::chrono::milliseconds>(options.retry.max_backoff, std::chrono::seconds(5));
  options.logger = [](LogLevel level, std::string_view message) {
    if (level >= LogLevel::kWarn) std::cerr << "referkit: " << message << '\n';
  };
  auto tracker = Tracker::open(options);
  if (!tracker) return print_error(tracker.status(), exit_for_open_failure(tracker.status()));

  TrackerStats st = tracker->stats();
  const std::uint64_t total = st.recovered;
  // flush() covers every recovered event; waiting for it in slices gives the progress its ticks.
  for (;;) {
    const auto now = Steady::now();
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
    if (left.count() <= 0) break;
    Status flushed = tracker->flush(std::min<std::chrono::milliseconds>(left, std::chrono::milliseconds(100)));
    st = tracker->stats();
    progress.update(st, total);
    if (flushed.code() != StatusCode::kDeadlineExceeded) {
      if (!flushed.ok()) std::cerr << "referkit: " << flushed.message() << '\n';
      break;
    }
    // SIGINT/SIGTERM: stop waiting; the shutdown below keeps what is undelivered in the spool.
    if (stop->requested()) break;
  }
  const bool interrupted = stop->requested();
  if (interrupted) {
    std::cerr << "referkit: " << stop->signal_name() << ": stopping the drain; what is not delivered stays in the spool\n";
  }
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Steady::now());
  // What is left of --timeout, not a floor of its own: the deadline bounds the whole drain. Stopped
  // by a signal, what is in flight gets at most a moment; the rest stays in the spool anyway.
  const auto cap = interrupted ? std::chrono::milliseconds(500) : std::chrono::milliseconds(5000);
  ShutdownReport report = tracker->shutdown(std::clamp<std::chrono::milliseconds>(left, std::chrono::milliseconds(0), cap));
  st = tracker->stats();
  progress.update(st, total, true);
  const double seconds = std::chrono::duration<double>(Steady::now() - started).count();

  auto after = inspect_spool(o.dir);
  if (!after) return print_error(after.status(), kExitFailure);

  if (style == SummaryStyle::kJson) {
    std::string out;
    detail::JsonWriter w(out);
    w.begin_object();
    w.key("spool").value(o.dir);
    w.key("recovered").value(st.recovered);
    w.key("delivered").value(st.acknowledged);
    w.key("dead_lettered").value(st.dead_lettered);
    write_dropped(w, st);
    w.key("corrupt_records").value(st.corrupt_records);
    w.key("corrupt_bytes").value(st.corrupt_bytes);
    w.key("truncated_segments").value(st.truncated_segments);
    w.key("truncated_bytes").value(st.truncated_bytes);
    w.key("skipped_entries").value(st.skipped_spool_entries);
    w.key("remaining").value(after->pending_events);
    w.key("live_owners").value(static_cast<std::uint64_t>(after->live_owners));
    if (interrupted) w.key("interrupted").value(stop->signal_name());
    write_delivery_figures(w, st, seconds);
    w.end_object();
    std::cout << out << '\n';
  } else if (style == SummaryStyle::kHuman) {
    fmt::print("{}drained {}: {} of {} delivered, {} refused by the server, {} dropped, {} remaining in the spool "
               "({:.1f} s)\n",
               interrupted ? "interrupted (" + stop->signal_name() + "): " : "", o.dir, st.acknowledged, st.recovered,
               st.dead_lettered, st.dropped(), after->pending_events, seconds);
    if (st.dropped() > 0) fmt::print("dropped: {}\n", describe_dropped(st));
    if (!st.last_error.empty()) fmt::print("last error: {}\n", st.last_error);
  }

  // Dropped events are gone for good (unlike refused ones, which are in the dead-letter file):
  // never a quiet exit 0 over them.
  if (st.dropped() > 0) {
    std::cerr << "referkit: " << st.dropped() << " events were dropped and are not in the spool any more: "
              << describe_dropped(st) << '\n';
  }
  if (st.dead_lettered > 0) {
    std::cerr << "referkit: " << st.dead_lettered << " events were refused by the server; see `referkit spool inspect "
              << o.dir << " --dead-letters`\n";
  }
  if (after->pending_events > 0) {
    std::cerr << "referkit: the spool " << o.dir << " still holds " << after->pending_events << " events"
              << (after->live_owners > 0 ? " (another process has it open and keeps its own)" : "")
              << (report.status.ok() ? std::string() : "; " + report.status.message()) << '\n';
  }
  if (interrupted) return stop->exit_code();
  if (st.dropped() > 0) return kExitRejected;
  return after->pending_events > 0 ? kExitKeptInSpool : kExitOk;
}

}  // namespace

void add_spool_commands(CLI::App& app, int& exit_code) {
  CLI::App* spool = app.add_subcommand(
      "spool", "Look into and deliver a durable spool (the directory given to `referkit track --spool`).");
  spool->require_subcommand(1);

  auto inspect_opts = std::make_shared<InspectOptions>();
  CLI::App* inspect = spool->add_subcommand(
      "inspect", "Print {pending_events, pending_bytes, disk_bytes, oldest_event, segments, live_owners, "
                 "corrupt_records, corrupt_bytes, truncated_segments, truncated_bytes, skipped_entries, dead_letters, "
                 "lanes: {conversions, engagement: {pending_events, pending_bytes, disk_bytes, oldest_event, segments, "
                 "dead_letters}}} without changing anything (safe while trackers use it).");
  inspect->add_option("dir", inspect_opts->dir, "The spool directory")->required();
  inspect->add_flag("--dead-letters", inspect_opts->dead_letters,
                    "Also list the events the server refused: dead_letter_list [{lane, messageId, reason, at, event}], "
                    "a damaged line as {lane, line, error}, and damaged_lines (how many of them)");
  inspect->callback([inspect_opts, &exit_code] { exit_code = run_inspect(*inspect_opts); });

  auto drain_opts = std::make_shared<DrainOptions>();
  CLI::App* drain = spool->add_subcommand(
      "drain", "Deliver what the spool holds (including what dead processes left), with progress on stderr; prints "
               "{spool, recovered, delivered, dead_lettered, dropped, dropped_by_reason, corrupt_records, remaining, "
               "...}. Exits 0 only when the spool is empty afterwards and nothing was dropped, 1 when events were "
               "dropped (expired, ...), 3 when events remain in it; on SIGINT/SIGTERM it stops waiting, keeps the rest "
               "in the spool, prints the summary and exits 130/143.");
  drain->add_option("dir", drain_opts->dir, "The spool directory")->required();
  drain->add_option("--endpoint", drain_opts->endpoint, "Ingest API base URL; events go to <endpoint>/v1/batch")->required();
  add_secret_option(*drain, "--write-key", drain_opts->write_key, drain_opts->write_key_file, "REFERKIT_WRITE_KEY",
                    "Write key (HTTP Basic user); required");
  add_secret_option(*drain, "--signing-secret", drain_opts->signing_secret, drain_opts->signing_secret_file,
                    "REFERKIT_SIGNING_SECRET", "Sign each request body (X-Referkit-Signature)");
  drain->add_option("--max-event-age", drain_opts->max_event_age,
                    "Drop (and count as expired) events tracked longer ago than this, e.g. 7d (default: the "
                    "library's, 7 days)");
  drain->add_flag("--quiet,-q", drain_opts->quiet, "No summary and no progress: only errors are printed (exit status tells)");
  drain->add_option("--ca-bundle", drain_opts->ca_bundle,
                    "PEM file of the CA certificates to trust for an https endpoint, instead of the system's")
      ->check(CLI::ExistingFile);
  drain->add_flag("--gzip,!--no-gzip", drain_opts->gzip, "Compress request bodies over 1 KiB (default on)");
  drain->add_option("--timeout", drain_opts->timeout, "Give up (leaving the rest in the spool) after this long")
      ->capture_default_str();
  drain->add_option("--progress", drain_opts->progress, "auto (a bar on a terminal), bar, json (lines on stderr) or none")
      ->check(CLI::IsMember({"auto", "bar", "json", "none"}))
      ->capture_default_str();
  drain->callback([drain_opts, &exit_code] { exit_code = run_drain(*drain_opts); });
}

}  // namespace referkit::cli
