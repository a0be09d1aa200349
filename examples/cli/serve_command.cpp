// `referkit serve`: a local agent that speaks Segment's HTTP API on loopback (or a Unix socket)
// and forwards through a durable Tracker, so that any Segment library gets referkit's spool,
// batching, retries and lanes without code changes (docs/sidecar.md).
//
// Lifecycle: open the tracker on the spool (recovering what an earlier run left), bind, print
// "listening on ...", serve. SIGTERM/SIGINT: the server stops accepting and finishes the requests
// in flight, intake answers 503 from then on, the tracker delivers what it can within
// --shutdown-timeout and keeps the rest in the spool; exit 0.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli_common.hpp"
#include "commands.hpp"
#include "http/listen_socket.hpp"
#include "http/server.hpp"
#include "http/stop_signals.hpp"
#include "keyed_endpoints.hpp"
#include "sidecar_service.hpp"

namespace referkit::cli {
namespace {

using Steady = std::chrono::steady_clock;

struct ServeOptions {
  std::string listen = "127.0.0.1:0";
  std::string spool_dir;
  std::string endpoint;
  std::string write_key, write_key_file;
  std::string signing_secret, signing_secret_file;
  std::vector<std::string> accept_keys;
  std::vector<std::string> webhook_secrets;
  std::string keys_file;
  std::string base_url;
  std::string ca_bundle;
  bool durable_ack = false;
  bool allow_non_loopback = false;
  std::string shutdown_timeout = "10s";
  std::uint64_t max_spool_bytes = 512ull << 20;
  std::size_t spool_segment_bytes = 8u << 20;
  std::string max_backoff = "30s";
  unsigned retry_after = 5;
  std::size_t workers = 8;
  std::size_t max_connections = 256;
  int background_nice = 0;
};

Result<std::chrono::milliseconds> duration_option(const std::string& flag, const std::string& text) {
  auto d = parse_duration(text);
  if (!d) return Status(StatusCode::kInvalidArgument, flag + ": not a duration: \"" + text + "\"");
  return *d;
}

int run_serve(const ServeOptions& o) {
  int exit = kExitOk;
  auto secrets = resolve_upload_secrets(o.write_key, o.write_key_file, o.signing_secret, o.signing_secret_file, exit);
  if (!secrets) return exit;
  auto shutdown_timeout = duration_option("--shutdown-timeout", o.shutdown_timeout);
  if (!shutdown_timeout) return print_error(shutdown_timeout.status(), kExitUsage);
  auto max_backoff = duration_option("--max-backoff", o.max_backoff);
  if (!max_backoff) return print_error(max_backoff.status(), kExitUsage);
  // Clients authenticate with the accept keys; without any, with the upstream write key itself.
  std::vector<std::string> accept = o.accept_keys.empty() ? std::vector<std::string>{secrets->write_key} : o.accept_keys;
  for (const std::string& key : accept) {
    if (key.empty() || key.find(':') != std::string::npos) {
      return print_error("usage", "an accept key must be non-empty and without ':'", kExitUsage);
    }
  }
  std::optional<KeyedEndpoints> keyed;
  if (!o.keys_file.empty()) {
    keyed = KeyedEndpoints::create(o.keys_file, o.base_url, o.webhook_secrets, exit);
    if (!keyed) return exit;
  } else if (!o.webhook_secrets.empty()) {
    return print_error("usage", "--webhook-secret needs --keys (the links and webhook endpoints come together)", kExitUsage);
  }

  // Before any thread exists (the tracker's, the server's), so every thread inherits them.
  auto stop_fd = http::install_stop_signals();
  if (!stop_fd) return print_error(stop_fd.status(), kExitFailure);

  auto last_success = std::make_shared<LastSuccess>();
  TrackerOptions options;
  options.endpoint = o.endpoint;
  options.write_key = secrets->write_key;
  options.signing_secret = secrets->signing_secret;
  options.http.tls.ca_file = o.ca_bundle;
  options.spool_dir = o.spool_dir;
  options.spool_segment_bytes = o.spool_segment_bytes;
  options.background_nice = o.background_nice;
  options.conversions.max_spool_bytes = o.max_spool_bytes;
  options.engagement.max_spool_bytes = o.max_spool_bytes;
  // A full spool is answered 429 (the client keeps the events and retries): never drop.
  options.overflow = OverflowPolicy::kDropNewest;
  options.retry.max_retry_duration = std::chrono::milliseconds(0);  // the spool waits out outages
  options.retry.max_backoff = std::max(*max_backoff, options.retry.initial_backoff);
  options.on_delivery = [last_success](const DeliveryReport&) { last_success->delivered(); };
  options.logger = [](LogLevel level, std::string_view message) {
    if (level >= LogLevel::kWarn) std::cerr << "referkit serve: " << message << '\n';
  };
  auto tracker = Tracker::open(options);
  if (!tracker) return print_error(tracker.status(), exit_for_open_failure(tracker.status()));

  auto listener = http::open_listen_socket(
      o.listen, o.allow_non_loopback ? http::Exposure::kAny : http::Exposure::kLoopbackOnly);
  if (!listener) {
    (void)tracker->shutdown(std::chrono::milliseconds(0));  // nothing was accepted; the spool keeps its events
    return print_error(listener.status(), listener.status().code() == StatusCode::kUnavailable ? kExitFailure : kExitUsage);
  }
  if (!listener->loopback) {
    std::cerr << "referkit serve: WARNING: listening on " << listener->url
              << ", reachable from other hosts; anyone who can reach it and knows an accept key can send events"
              << (keyed ? " and mint links" : "") << ". Prefer 127.0.0.1 or a Unix socket.\n";
  }

  SidecarConfig config;
  config.accept_keys = http::WriteKeys(accept);
  config.durable_ack = o.durable_ack;
  config.retry_after = std::chrono::seconds(o.retry_after);
  if (keyed) config.keyed = [&keyed](const http::Request& r) { return keyed->handle(r); };
  SidecarService service(std::move(config), *tracker, *last_success);

  http::ServerOptions server_options;
  server_options.workers = o.workers;
  server_options.max_connections = o.max_connections;
  server_options.program = "referkit serve";
  // Segment's limit is 500 KB of JSON; a gzip body is smaller, an identity one is refused at 413
  // from its Content-Length before a byte of it is read.
  server_options.limits.max_body_bytes = 512 * 1024;
  // Requests in flight at SIGTERM only need to reach the spool: seconds at most.
  server_options.drain_timeout = std::min(*shutdown_timeout, std::chrono::milliseconds(5'000));
  {
    http::Server server(listener->fd, [&service](http::Request& r) { return service.handle(r); }, server_options);
    // Connections queue in the backlog from here on: scripts may connect once they read this.
    std::cout << "listening on " << listener->url << std::endl;
    server.run(*stop_fd);
    service.stop_intake();
  }
  if (!listener->unix_path.empty()) ::unlink(listener->unix_path.c_str());

  // Deliver for three quarters of --shutdown-timeout, then shutdown() gets the rest to cancel what
  // is in flight: the whole stays within the timeout, and what is not delivered stays in the spool.
  const auto flush_budget = *shutdown_timeout;
  const auto flush_start = Steady::now();
  (void)tracker->flush(flush_budget * 3 / 4);  // an outage is no error: the spool keeps the rest
  const auto used = std::chrono::duration_cast<std::chrono::milliseconds>(Steady::now() - flush_start);
  const auto left = std::max(std::chrono::milliseconds(0), flush_budget - used);
  const ShutdownReport report = tracker->shutdown(left);
  const TrackerStats st = tracker->stats();
  std::cerr << fmt::format("referkit serve: stopped; {} events accepted, {} acknowledged, {} kept in the spool\n",
                           service.counters().events_accepted.load(), st.acknowledged,
                           report.kept_in_spool ? report.undelivered : 0);
  return kExitOk;
}

}  // namespace

void add_serve_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<ServeOptions>();
  CLI::App* serve = app.add_subcommand(
      "serve",
      "Run a local agent speaking Segment's HTTP API (POST /v1/batch, /v1/track, /v1/identify, /v1/page, "
      "/v1/screen, /v1/group, /v1/alias) on loopback or a Unix socket. Events are answered 200 once they are in "
      "the durable spool (--durable-ack: once committed to disk), 429 with Retry-After when a lane's spool budget "
      "is full; they are delivered to --endpoint with batching, gzip, retries and lanes. Also GET /healthz, GET "
      "/metrics (Prometheus), and with --keys POST /v1/links, /v1/links/verify, /v1/webhooks/verify. Prints "
      "\"listening on <url>\" first. SIGTERM/SIGINT: stop intake, deliver within --shutdown-timeout, keep the rest "
      "in the spool, exit 0. See docs/sidecar.md.");
  serve->add_option("--listen", o->listen, "HOST:PORT (port 0: any free port) or unix:PATH (mode 0660)")
      ->capture_default_str();
  serve->add_option("--spool", o->spool_dir, "Spool directory (created 0700 if its parent exists); required")
      ->required();
  serve->add_option("--endpoint", o->endpoint, "Ingest API base URL; events go to <endpoint>/v1/batch")->required();
  add_secret_option(*serve, "--write-key", o->write_key, o->write_key_file, "REFERKIT_WRITE_KEY",
                    "Write key for the ingest API (HTTP Basic user); required");
  add_secret_option(*serve, "--signing-secret", o->signing_secret, o->signing_secret_file, "REFERKIT_SIGNING_SECRET",
                    "Sign each request body to the ingest API (X-Referkit-Signature)");
  serve->add_option("--accept-key", o->accept_keys,
                    "A write key local clients may use (repeatable); default: the --write-key itself");
  serve->add_option("--keys", o->keys_file, std::string("Link keys file: enables the links and webhook endpoints. ") + kKeysHelp);
  serve->add_option("--base-url", o->base_url, "Share base URL of minted links (with --keys), e.g. https://refer.shop.example")
      ->envname("REFERKIT_BASE_URL");
  serve->add_option("--webhook-secret", o->webhook_secrets,
                    "With --keys: a webhook secret POST /v1/webhooks/verify checks against (repeatable, for rotation)")
      ->envname("REFERKIT_WEBHOOK_SECRET");
  serve->add_option("--ca-bundle", o->ca_bundle, "PEM file of the CAs to trust for an https endpoint")
      ->check(CLI::ExistingFile);
  serve->add_flag("--durable-ack", o->durable_ack,
                  "Answer 200 only after the spool's group commit (safe from power loss, not only from a crash)");
  serve->add_option("--shutdown-timeout", o->shutdown_timeout, "On SIGTERM, deliver for at most this long")
      ->capture_default_str();
  serve->add_flag("--allow-non-loopback", o->allow_non_loopback,
                  "Allow --listen on an address other hosts can reach (a warning is printed)");
  serve->add_option("--max-spool-bytes", o->max_spool_bytes, "Each lane's spool budget; beyond it intake answers 429")
      ->check(CLI::Range(std::uint64_t{64 * 1024}, std::uint64_t{1} << 40))
      ->capture_default_str();
  serve->add_option("--spool-segment-bytes", o->spool_segment_bytes, "Spool segment file size (64 KiB - 1 GiB)")
      ->capture_default_str();
  serve->add_option("--max-backoff", o->max_backoff, "Longest wait between delivery retries")->capture_default_str();
  serve->add_option("--retry-after", o->retry_after, "Retry-After seconds sent with 429")
      ->check(CLI::Range(1u, 3600u))
      ->capture_default_str();
  serve->add_option("--workers", o->workers, "Threads handling requests")
      ->check(CLI::Range(std::size_t{1}, std::size_t{256}))
      ->capture_default_str();
  serve->add_option("--max-connections", o->max_connections, "Open connections at most")
      ->check(CLI::Range(std::size_t{1}, std::size_t{65'536}))
      ->capture_default_str();
  serve->add_option("--background-nice", o->background_nice,
                    "Nice value (0-19) of the delivery threads (upload, gzip, spool write-back): they give way to "
                    "intake when the CPU is short")
      ->check(CLI::Range(0, 19))
      ->capture_default_str();
  serve->callback([o, &exit_code] { exit_code = run_serve(*o); });
}

}  // namespace referkit::cli
