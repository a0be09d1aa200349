// referkit-bench [--json]: runs every benchmark and prints the figures, one JSON object with --json.
#include <cstdio>
#include <cstring>
#include <string>

#include "bench_harness.hpp"
#include "json/json_writer.hpp"

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "--outage") == 0) {
    // Internal: spool_benchmarks() runs each outage in a fresh process of its own.
    std::printf("%.1f\n", referkit::bench::run_outage(std::strcmp(argv[2], "durable") == 0));
    return 0;
  }
  const bool json = argc > 1 && std::strcmp(argv[1], "--json") == 0;
  if (argc > 1 && !json) {
    std::fprintf(stderr, "usage: referkit-bench [--json]\n");
    return 2;
  }
  referkit::bench::Figures figures = referkit::bench::link_benchmarks();
  figures.merge(referkit::bench::track_benchmarks());
  figures.merge(referkit::bench::spool_benchmarks());
#ifdef REFERKIT_BENCH_E2E
  figures.merge(referkit::bench::e2e_benchmarks());
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
    for (const auto& [name, value] : figures) std::printf("%-28s %12.1f\n", name.c_str(), value);
  }
  return 0;
}
