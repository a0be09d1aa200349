// End to end: events per second from the first track() until the server has acknowledged them
// all. Into referkit-ingest (started on a loopback port with a fresh database; it stores every
// event), with gzip on and off; and into a discard endpoint (bench/discard_server) that answers
// 200 at once, in memory and in durable mode, so that the SDK alone is measured. The servers'
// counts are checked, so a figure is only reported for a run that lost nothing.
#include <simdjson.h>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <vector>

#include "bench_harness.hpp"
#include "discard_server.hpp"
#include "events/event_serializer.hpp"
#include "support/temp_dir.hpp"
#include "local_ingest.hpp"
#include "referkit/tracker.hpp"

namespace referkit::bench {
namespace {

constexpr int kEvents = 200'000;

// Events stored by the server, from GET /v1/stats; -1 when it cannot tell.
std::int64_t events_stored(const cli::LocalIngest& ingest) {
  auto body = ingest.get("/v1/stats");
  if (!body) return -1;
  simdjson::dom::parser parser;
  std::int64_t stored = -1;
  simdjson::dom::element doc;
  if (parser.parse(*body).get(doc) != simdjson::SUCCESS || doc["events_stored"].get(stored) != simdjson::SUCCESS) {
    return -1;
  }
  return stored;
}

double events_per_s(const std::vector<OrderCompleted>& events, bool gzip) {
  auto ingest = cli::LocalIngest::start("bench", std::chrono::seconds(10));
  if (!ingest) {
    std::fprintf(stderr, "e2e: %s\n", ingest.status().to_string().c_str());
    return -1;
  }
  TrackerOptions o;
  o.endpoint = ingest->url();
  o.write_key = "bench";
  o.gzip = gzip;
  // The whole run fits: nothing is dropped.
  o.conversions.max_queue_bytes = 512u << 20;
  o.engagement.max_queue_bytes = 512u << 20;
  auto tracker = Tracker::open(o);
  if (!tracker) return -1;
  const auto start = std::chrono::steady_clock::now();
  for (const OrderCompleted& e : events) keep(tracker->track(e));
  const Status flushed = tracker->flush(std::chrono::minutes(5));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const std::int64_t stored = events_stored(*ingest);
  if (!flushed.ok() || stored != static_cast<std::int64_t>(events.size())) {
    std::fprintf(stderr, "e2e: flush %s, %lld of %zu events stored\n", flushed.to_string().c_str(),
                 static_cast<long long>(stored), events.size());
    return -1;
  }
  return static_cast<double>(events.size()) / seconds;
}

// Into the discard endpoint: every request is answered 200 once read, so all events are
// acknowledged when flush() returns OK; the server's request count must show batches arrived.
double discard_events_per_s(const std::vector<OrderCompleted>& events, bool durable) {
  auto server = DiscardServer::start();
  if (!server) return -1;
  test::TempDir tmp;
  TrackerOptions o;
  o.endpoint = server->url();
  o.write_key = "bench";
  o.conversions.max_queue_bytes = 512u << 20;
  o.engagement.max_queue_bytes = 512u << 20;
  if (durable) o.spool_dir = (tmp.path() / "spool").string();
  auto tracker = Tracker::open(o);
  if (!tracker) return -1;
  const auto start = std::chrono::steady_clock::now();
  for (const OrderCompleted& e : events) keep(tracker->track(e));
  const Status flushed = tracker->flush(std::chrono::minutes(5));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const TrackerStats stats = tracker->stats();
  if (!flushed.ok() || stats.acknowledged != events.size() || server->requests() == 0) {
    std::fprintf(stderr, "e2e discard: flush %s, %llu of %zu events acknowledged\n", flushed.to_string().c_str(),
                 static_cast<unsigned long long>(stats.acknowledged), events.size());
    return -1;
  }
  return static_cast<double>(events.size()) / seconds;
}

// `referkit track`, the CLI's bulk path: lines per second from a JSON Lines file into the discard
// endpoint, the whole process timed (start, read, track_json, upload, exit after the flush). The
// CLI is the `referkit` binary built next to this one; its summary must say every line went.
double cli_lines_per_s(const std::vector<OrderCompleted>& events) {
  auto server = DiscardServer::start();
  if (!server) return -1;
  test::TempDir tmp;
  const std::string input = (tmp.path() / "events.jsonl").string();
  {
    std::FILE* out = std::fopen(input.c_str(), "w");
    if (out == nullptr) return -1;
    const TimePoint now = now_ms();
    for (const OrderCompleted& e : events) {
      std::string line = detail::serialize_event(to_event(e).value(), now).value().json;
      line += '\n';
      std::fwrite(line.data(), 1, line.size(), out);
    }
    std::fclose(out);
  }
  char self[4096] = {};
  const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return -1;
  const std::string cli = std::string(self, static_cast<std::size_t>(n)).substr(0, std::string(self).rfind('/')) + "/referkit";
  const std::string command = "'" + cli + "' track --endpoint " + server->url() +
                              " --write-key bench --progress none --input '" + input + "'";
  const auto start = std::chrono::steady_clock::now();
  std::FILE* child = popen(command.c_str(), "r");
  if (child == nullptr) return -1;
  std::string summary;
  char buf[4096];
  while (std::size_t got = std::fread(buf, 1, sizeof buf, child)) summary.append(buf, got);
  const int status = pclose(child);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const std::string want = "\"delivered\":" + std::to_string(events.size());
  if (status != 0 || summary.find(want) == std::string::npos) {
    std::fprintf(stderr, "e2e cli: exit status %d, summary %s\n", status, summary.c_str());
    return -1;
  }
  return static_cast<double>(events.size()) / seconds;
}

}  // namespace

Figures e2e_benchmarks() {
  // What the merchant's code tracks: typed events, serialized at track().
  std::vector<OrderCompleted> events;
  events.reserve(kEvents);
  for (int i = 0; i < kEvents; ++i) events.push_back(typed_order_completed(i));
  Figures f;
  f["e2e_events_per_s"] = events_per_s(events, true);
  f["e2e_no_gzip_events_per_s"] = events_per_s(events, false);
  f["e2e_discard_events_per_s"] = discard_events_per_s(events, false);
  f["e2e_discard_durable_events_per_s"] = discard_events_per_s(events, true);
  f["cli_track_lines_per_s"] = cli_lines_per_s(events);
  return f;
}

}  // namespace referkit::bench
