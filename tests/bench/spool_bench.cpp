// The durable spool: how fast appended events are made durable (append + group commit), how fast
// a restart recovers a backlog, and how much memory a long outage costs in durable and in memory
// mode (each outage runs in a fresh process, so its peak resident memory is its own).
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "bench_harness.hpp"
#include "referkit/testing.hpp"
#include "support/temp_dir.hpp"
#include "events/event_serializer.hpp"
#include "referkit/testing.hpp"
#include "referkit/tracker.hpp"
#include "spool/spool_queue.hpp"

namespace referkit::bench {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int kSpoolEvents = 300'000;
constexpr int kOutageEvents = 1'000'000;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

detail::SpoolQueueOptions spool_options(const std::string& dir) {
  detail::SpoolQueueOptions o;
  o.dir = dir;
  o.max_bytes = 4ull << 30;
  return o;
}

// Peak resident memory of this process, in MiB (VmHWM).
double peak_rss_mb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  }
  return -1;
}

// Runs `referkit-bench --outage <mode>` and reads the peak RSS it prints.
double outage_in_child(const char* mode) {
  int out[2];
  if (pipe(out) != 0) return -1;
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    close(out[0]);
    execl("/proc/self/exe", "referkit-bench", "--outage", mode, static_cast<char*>(nullptr));
    _exit(127);
  }
  close(out[1]);
  std::string text;
  char buf[256];
  for (ssize_t n; (n = read(out[0], buf, sizeof buf)) > 0;) text.append(buf, static_cast<std::size_t>(n));
  close(out[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || text.empty()) return -1;
  return std::stod(text);
}

}  // namespace

double run_outage(bool durable) {
  test::TempDir tmp;
  const std::string spool = (tmp.path() / "spool").string();
  TrackerOptions o;
  o.endpoint = "http://127.0.0.1:9";
  o.write_key = "bench";
  o.conversions.max_queue_bytes = 32u << 20;
  if (durable) {
    o.spool_dir = spool;
    o.conversions.max_spool_bytes = 4ull << 30;
  }
  testing::TrackerSeams seams;
  seams.transport = std::make_shared<AlwaysDown>();
  {
    Tracker t = std::move(testing::open_tracker(o, seams).value());
    for (int i = 0; i < kOutageEvents; ++i) keep(t.track(order_completed(i)));
    (void)t.shutdown(std::chrono::seconds(1));
  }
  return peak_rss_mb();
}

Figures spool_benchmarks() {
  Figures f;
  test::TempDir tmp;
  const std::string dir = (tmp.path() / "spool").string();
  // Distinct serialized events, reused in a cycle: the spool's cost is the bytes, not their content.
  std::vector<detail::SerializedEvent> events;
  for (int i = 0; i < 1000; ++i) events.push_back(detail::serialize_event(order_completed(i), now_ms()).value());

  {
    auto q = std::move(detail::SpoolQueue::open(spool_options(dir)).value());
    const auto start = Clock::now();
    for (int i = 0; i < kSpoolEvents; ++i) {
      const detail::SerializedEvent& s = events[static_cast<std::size_t>(i) % events.size()];
      detail::QueuedEvent e;
      e.json = s.json;
      e.id_offset = static_cast<std::uint32_t>(s.message_id_at);
      e.id_size = static_cast<std::uint32_t>(s.message_id_size);
      e.seq = static_cast<std::uint64_t>(i) + 1;
      if (!q->push(std::move(e)).ok()) std::abort();
    }
    if (!q->commit(Clock::now() + std::chrono::minutes(5)).ok()) std::abort();
    f["spool_commit_events_per_s"] = kSpoolEvents / seconds_since(start);
    q->forget();
  }
  {
    // A restart with the backlog in the page cache (a crash, not a reboot): adopt and scan it all.
    const auto start = Clock::now();
    auto q = std::move(detail::SpoolQueue::open(spool_options(dir)).value());
    const double s = seconds_since(start);
    if (q->recovery().events != static_cast<std::uint64_t>(kSpoolEvents)) std::abort();
    f["recovery_events_per_s"] = static_cast<double>(q->recovery().events) / s;
  }
  f["outage_events"] = kOutageEvents;
  f["outage_peak_rss_mb"] = outage_in_child("durable");
  f["outage_memory_mode_peak_rss_mb"] = outage_in_child("memory");
  return f;
}

}  // namespace referkit::bench
