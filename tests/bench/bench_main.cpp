// referkit-bench [--json] [--only link|track|stall|admission|spool|e2e]: runs the benchmarks and prints
// the figures, one JSON object with --json. --only runs one group (for profiling one path);
// `stall` is the million durable calls of `track` alone (background_nice 0, 10 and 19), for an
// off-CPU profile of track(); `admission` is track's one- and two-producer scaling alone.
// --slow-calls FILE writes each track() call over 1 ms of `track` and `stall` to FILE, with its
// start time, to find it in a perf trace (bench_harness.hpp).
//
// referkit-bench --serve-discard: the discard endpoint alone, as a process, for
// compare_segment_node.sh. It prints "listening on URL" and answers every request 200, keeping the
// bodies; on SIGTERM or SIGINT it counts the events in each batch, prints {"requests","events",
// "unreadable","body_bytes"} as one JSON line and exits 0.
#include <cstdio>
#include <cstring>
#include <string>

#include "bench_harness.hpp"
#include "json/json_writer.hpp"
#ifdef REFERKIT_BENCH_E2E
#include <poll.h>

#include <cerrno>

#include "discard_server.hpp"
#include "http/stop_signals.hpp"
#endif

namespace {

int usage() {
  std::fprintf(stderr,
               "usage: referkit-bench [--json] [--only link|track|stall|admission|spool|e2e] [--slow-calls FILE]\n"
               "       referkit-bench --serve-discard\n");
  return 2;
}

#ifdef REFERKIT_BENCH_E2E
int serve_discard() {
  // The servers' one way to see SIGTERM and SIGINT: a byte on a pipe (examples/shared/http).
  auto stop = referkit::http::install_stop_signals();
  if (!stop) {
    std::fprintf(stderr, "referkit-bench: %s\n", stop.status().to_string().c_str());
    return 1;
  }
  auto server = referkit::bench::DiscardServer::start(true);
  if (!server) {
    std::fprintf(stderr, "referkit-bench: cannot listen on 127.0.0.1\n");
    return 1;
  }
  std::printf("listening on %s\n", server->url().c_str());
  std::fflush(stdout);
  pollfd signalled{*stop, POLLIN, 0};
  while (::poll(&signalled, 1, -1) < 0 && errno == EINTR) {
  }
  server->count_kept_bodies();
  std::printf("{\"requests\":%llu,\"events\":%llu,\"unreadable\":%llu,\"body_bytes\":%llu}\n",
              static_cast<unsigned long long>(server->requests()), static_cast<unsigned long long>(server->events()),
              static_cast<unsigned long long>(server->unreadable()), static_cast<unsigned long long>(server->body_bytes()));
  return 0;
}
#endif

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "--outage") == 0) {
    // Internal: spool_benchmarks() runs each outage in a fresh process of its own.
    std::printf("%.1f\n", referkit::bench::run_outage(std::strcmp(argv[2], "durable") == 0));
    return 0;
  }
#ifdef REFERKIT_BENCH_E2E
  if (argc == 2 && std::strcmp(argv[1], "--serve-discard") == 0) return serve_discard();
#endif
  bool json = false;
  std::string only;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--json") == 0) {
      json = true;
    } else if (std::strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
      only = argv[++i];
    } else if (std::strcmp(argv[i], "--slow-calls") == 0 && i + 1 < argc) {
      if (!referkit::bench::write_slow_calls_to(argv[++i])) {
        std::fprintf(stderr, "referkit-bench: cannot create %s\n", argv[i]);
        return 1;
      }
    } else {
      return usage();
    }
  }
  const auto wanted = [&](const char* group) { return only.empty() || only == group; };
  if (!only.empty() && !wanted("link") && !wanted("track") && !wanted("stall") && !wanted("admission") && !wanted("spool") && !wanted("e2e")) return usage();
  referkit::bench::Figures figures;
  if (wanted("link")) figures.merge(referkit::bench::link_benchmarks());
  if (wanted("track")) figures.merge(referkit::bench::track_benchmarks());
  if (only == "stall") figures.merge(referkit::bench::durable_stall_benchmark());
  if (only == "admission") figures.merge(referkit::bench::admission_benchmark());
  if (wanted("spool")) figures.merge(referkit::bench::spool_benchmarks());
#ifdef REFERKIT_BENCH_E2E
  if (wanted("e2e")) figures.merge(referkit::bench::e2e_benchmarks());
#endif
  if (json) {
    std::string out;
    referkit::detail::JsonWriter w(out);
    w.begin_object();
    // Integers: the figures are rounded to whole units (ns, events/s, MiB).
    for (const auto& [name, value] : figures) w.key(name).value(static_cast<std::int64_t>(value + 0.5));
    w.end_object();
    std::printf("%s\n", out.c_str());
  } else {
    for (const auto& [name, value] : figures) std::printf("%-40s %12.1f\n", name.c_str(), value);
  }
  return 0;
}
