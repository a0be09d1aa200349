// referkit-ingest: the reference ingest API (Segment-compatible POST /v1/batch) over SQLite, with
// fault injection, for local development, demos and end-to-end tests.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <sqlite3.h>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <random>
#include <thread>

#include "event_store.hpp"
#include "http/server.hpp"
#include "ingest_service.hpp"
#include "http/listen_socket.hpp"
#include "referkit/version.hpp"
#include "http/stop_signals.hpp"

namespace {

using namespace referkit::ingest;
namespace http = referkit::http;

enum ExitCode : int { kExitOk = 0, kExitFailure = 1, kExitUsage = 2 };

struct CommandLine {
  std::string listen = "127.0.0.1:0";
  std::string db;
  std::vector<std::string> write_keys;
  std::string signing_secret;
  double fail_rate = 0;
  double drop_rate = 0;
  double throttle_rate = 0;
  unsigned retry_after_seconds = 1;
  unsigned delay_ms = 0;
  std::uint64_t seed = 0;
  std::size_t workers = std::max(2u, std::thread::hardware_concurrency());
  std::size_t max_connections = 256;
  unsigned header_timeout_ms = 5'000;
  unsigned body_timeout_ms = 5'000;
  unsigned idle_timeout_ms = 30'000;
};

void add_options(CLI::App& app, CommandLine& c) {
  app.add_option("--listen", c.listen, "HOST:PORT to listen on; port 0 picks a free one (printed)")
      ->capture_default_str();
  app.add_option("--db", c.db, "SQLite database file, created if missing (WAL mode)")->required();
  app.add_option("--write-key", c.write_keys, "a write key clients may use (HTTP Basic user name); repeatable")
      ->required()
      ->envname("REFERKIT_INGEST_WRITE_KEY");
  app.add_option("--signing-secret", c.signing_secret,
                 "require X-Referkit-Signature on every batch, made with this secret (16+ bytes)")
      ->envname("REFERKIT_INGEST_SIGNING_SECRET");
  app.add_option("--fail-rate", c.fail_rate, "fault: answer this share of batches 503 before storing")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--drop-rate", c.drop_rate,
                 "fault: store this share of batches, then close the connection without replying")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--throttle-rate", c.throttle_rate, "fault: answer this share of batches 429")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--retry-after", c.retry_after_seconds, "Retry-After seconds sent with an injected 429")
      ->check(CLI::Range(0u, 3600u))
      ->capture_default_str();
  app.add_option("--delay-ms", c.delay_ms, "fault: hold every batch reply this long (at most 60000)")
      ->check(CLI::Range(0u, 60'000u));
  app.add_option("--seed", c.seed, "seed for the fault draws, for reproducible runs (default: random)");
  app.add_option("--workers", c.workers, "threads handling requests")
      ->check(CLI::Range(std::size_t{1}, std::size_t{256}))
      ->capture_default_str();
  app.add_option("--max-connections", c.max_connections, "open connections at most; more wait in the backlog")
      ->check(CLI::Range(std::size_t{1}, std::size_t{65'536}))
      ->capture_default_str();
  app.add_option("--header-timeout-ms", c.header_timeout_ms,
                 "a request head must arrive whole within this long of the accept (or of its first byte)")
      ->check(CLI::Range(1u, 300'000u))
      ->capture_default_str();
  app.add_option("--body-timeout-ms", c.body_timeout_ms, "a request body must make progress at least this often")
      ->check(CLI::Range(1u, 300'000u))
      ->capture_default_str();
  app.add_option("--idle-timeout-ms", c.idle_timeout_ms, "an idle keep-alive connection is closed after this long")
      ->check(CLI::Range(1u, 3'600'000u))
      ->capture_default_str();
}

// The service configuration, or a usage error message.
referkit::Result<IngestConfig> make_config(const CommandLine& c, bool seed_given) {
  for (const std::string& key : c.write_keys) {
    if (key.empty() || key.find(':') != std::string::npos) {
      return referkit::Status(referkit::StatusCode::kInvalidArgument, "a write key must be non-empty and without ':'");
    }
  }
  IngestConfig config;
  config.write_keys = http::WriteKeys(c.write_keys);
  if (!c.signing_secret.empty()) {
    auto verifier = referkit::WebhookVerifier::create({c.signing_secret});
    if (!verifier) return referkit::Status(referkit::StatusCode::kInvalidArgument, "--signing-secret: " + verifier.status().message());
    config.signature = std::move(*verifier);
  }
  config.faults.fail_rate = c.fail_rate;
  config.faults.drop_rate = c.drop_rate;
  config.faults.throttle_rate = c.throttle_rate;
  config.faults.retry_after = std::chrono::seconds(c.retry_after_seconds);
  config.faults.delay = std::chrono::milliseconds(c.delay_ms);
  config.faults.seed = seed_given ? c.seed : (std::uint64_t{std::random_device{}()} << 32) ^ std::random_device{}();
  return config;
}

int serve(const CommandLine& c, IngestConfig config) {
  // SQLite counts every allocation it makes in global statistics, under a global mutex, unless
  // told not to before its first use; nothing here reads them (sqlite3_status), and the lock and
  // counters were 2-3% of a worker's CPU in the e2e profile. A failure only leaves them on.
  (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  // Before any thread exists, so every thread inherits the dispositions.
  auto stop_fd = http::install_stop_signals();
  if (!stop_fd) {
    fmt::print(stderr, "referkit-ingest: {}\n", stop_fd.status().message());
    return kExitFailure;
  }
  auto store = EventStore::open(c.db);
  if (!store) {
    fmt::print(stderr, "referkit-ingest: {}\n", store.status().message());
    return kExitFailure;
  }
  auto listener = http::open_listen_socket(c.listen);
  if (!listener) {
    fmt::print(stderr, "referkit-ingest: {}\n", listener.status().message());
    return kExitFailure;
  }
  IngestService service(std::move(config), **store);
  http::ServerOptions options;
  options.workers = c.workers;
  options.max_connections = c.max_connections;
  options.header_timeout = std::chrono::milliseconds(c.header_timeout_ms);
  options.body_timeout = std::chrono::milliseconds(c.body_timeout_ms);
  options.idle_timeout = std::chrono::milliseconds(c.idle_timeout_ms);
  options.program = "referkit-ingest";
  {
    http::Server server(listener->fd, [&service](http::Request& r) { return service.handle(r); }, options);
    // The socket is listening: connections queue in the backlog until the loop accepts them, so
    // a client may connect as soon as it reads this line. Scripts wait for it: flush now.
    fmt::print("listening on {}\n", listener->url);
    std::fflush(stdout);
    server.run(*stop_fd);
  }
  const referkit::Status closed = (*store)->close();
  if (!closed.ok()) {
    fmt::print(stderr, "referkit-ingest: closing the database: {}\n", closed.message());
    return kExitFailure;
  }
  const CounterSnapshot s = service.counters();
  fmt::print(stderr, "referkit-ingest: stopped after {} batch requests ({} stored)\n", s.requests, s.batches);
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"referkit-ingest " REFERKIT_VERSION_STRING
               ": the reference ingest API (Segment-compatible POST /v1/batch), storing events in SQLite.\n"
               "Serves POST /v1/batch, GET /v1/stats (JSON) and GET / (the referral funnel page).\n"
               "Prints \"listening on http://HOST:PORT\" as its first line. SIGINT/SIGTERM: finish what is\n"
               "in flight, close the database, exit 0. Exit status: 0 stopped cleanly, 1 failure, 2 usage."};
  app.set_version_flag("--version", REFERKIT_VERSION_STRING);
  CommandLine c;
  add_options(app, c);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }
  auto config = make_config(c, app.count("--seed") > 0);
  if (!config) {
    fmt::print(stderr, "referkit-ingest: {}\n", config.status().message());
    return kExitUsage;
  }
  try {
    return serve(c, std::move(*config));
  } catch (const std::exception& e) {
    // Thread or pipe creation failed: nothing was half-done to the database that WAL cannot undo.
    fmt::print(stderr, "referkit-ingest: {}\n", e.what());
    return kExitFailure;
  }
}
