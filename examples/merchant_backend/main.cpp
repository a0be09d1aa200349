// referkit-shop: a small web shop wired to referkit, to show (and test) how a merchant backend
// plugs in: attribution on landing, referral events at signup and checkout, the customer's own
// link on the account page, and the platform's signed reward webhook. See docs/integration.md.
//
// main() reads the flags, opens the tracker (durable, with the spool under --spool), binds the
// HTTP server, prints `listening on http://HOST:PORT`, and on SIGTERM/SIGINT stops serving and
// shuts the tracker down within a timeout, leaving whatever is undelivered in the spool.
#include <httplib.h>
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "referkit/version.hpp"
#include "shop.hpp"

namespace {

using namespace referkit;

std::string env_or(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value && *value ? std::string(value) : fallback;
}

// Blocks SIGTERM and SIGINT in every thread (call before starting any), so one thread can wait for
// them with sigwait() instead of doing work in a signal handler.
sigset_t block_stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"referkit-shop " REFERKIT_VERSION_STRING
               ": an example shop wired to referkit (attribution, referral events, reward webhooks).\n"
               "Secrets may come from REFERKIT_WRITE_KEY, REFERKIT_WEBHOOK_SECRET and REFERKIT_LINK_KEYS."};
  std::string listen = "127.0.0.1:0";
  std::string endpoint;
  std::string write_key;
  std::string spool_dir;
  std::string keys_file;
  std::string webhook_secret;
  std::int64_t window_seconds = 30 * 24 * 3600;
  std::int64_t now_offset_seconds = 0;
  std::int64_t shutdown_seconds = 10;
  app.add_option("--listen", listen, "HOST:PORT to serve on (port 0: any free port)");
  app.add_option("--endpoint", endpoint, "ingest API base URL (events go to {endpoint}/v1/batch)")->required();
  app.add_option("--write-key", write_key, "write key (or REFERKIT_WRITE_KEY)");
  app.add_option("--spool", spool_dir, "spool directory: tracked events survive a restart")->required();
  app.add_option("--keys", keys_file, "link keyring file (or REFERKIT_LINK_KEYS)");
  app.add_option("--webhook-secret", webhook_secret, "secret of the platform's webhooks (or REFERKIT_WEBHOOK_SECRET)");
  app.add_option("--attribution-window", window_seconds, "attribution window in seconds (1 hour to 400 days)");
  app.add_option("--shutdown-timeout", shutdown_seconds,
                 "seconds to deliver queued events at exit; the rest stays in the spool")
      ->check(CLI::Range(0, 3600));
  // Hidden (no group): for tests only, shifts the clock the attribution reads.
  app.add_option("--now-offset", now_offset_seconds, "")->group("");
  CLI11_PARSE(app, argc, argv);

  write_key = write_key.empty() ? env_or("REFERKIT_WRITE_KEY", "") : write_key;
  webhook_secret = webhook_secret.empty() ? env_or("REFERKIT_WEBHOOK_SECRET", "") : webhook_secret;
  if (write_key.empty()) {
    std::cerr << "referkit-shop: a write key is needed (--write-key or REFERKIT_WRITE_KEY)\n";
    return 2;
  }
  auto keys = keys_file.empty() ? Keyring::from_env() : Keyring::from_file(keys_file);
  if (!keys) {
    std::cerr << "referkit-shop: link keys: " << keys.status().to_string() << '\n';
    return 2;
  }
  const std::size_t colon = listen.rfind(':');
  int port = -1;
  if (colon != std::string::npos) port = std::atoi(listen.c_str() + colon + 1);
  if (colon == std::string::npos || port < 0 || port > 65535) {
    std::cerr << "referkit-shop: --listen must be HOST:PORT\n";
    return 2;
  }
  const std::string host = listen.substr(0, colon);

  // A browser that hangs up mid-reply must cost one failed write, not the process.
  signal(SIGPIPE, SIG_IGN);
  const sigset_t stop_signals = block_stop_signals();

  TrackerOptions tracker_options;
  tracker_options.endpoint = endpoint;
  tracker_options.write_key = write_key;
  tracker_options.spool_dir = spool_dir;
  tracker_options.logger = [](LogLevel level, std::string_view message) {
    if (level >= LogLevel::kWarn) std::cerr << ("referkit: " + std::string(message) + "\n");
  };
  auto tracker = Tracker::open(std::move(tracker_options));
  if (!tracker) {
    std::cerr << "referkit-shop: tracker: " << tracker.status().to_string() << '\n';
    return 1;
  }

  httplib::Server server;
  server.set_payload_max_length(64 * 1024);
  const int bound = port == 0 ? server.bind_to_any_port(host) : (server.bind_to_port(host, port) ? port : -1);
  if (bound <= 0) {
    std::cerr << "referkit-shop: cannot listen on " << listen << '\n';
    return 1;
  }
  const std::string base_url = "http://" + host + ":" + std::to_string(bound);

  shop::ShopOptions options;
  options.keys = std::move(*keys);
  options.base_url = base_url;
  options.webhook_secret = webhook_secret;
  options.attribution_window = std::chrono::seconds(window_seconds);
  options.now_offset = std::chrono::seconds(now_offset_seconds);
  auto shop = shop::Shop::create(std::move(options), *tracker);
  if (!shop) {
    std::cerr << "referkit-shop: " << shop.status().to_string() << '\n';
    return 2;
  }
  (*shop)->install(server);

  std::atomic<bool> serving_ended{false};
  std::thread serving([&server, &serving_ended] {
    if (!server.listen_after_bind()) std::cerr << "referkit-shop: the server failed\n";
    serving_ended = true;
    kill(getpid(), SIGTERM);  // wakes main's sigwait if the server ended on its own
  });
  std::cout << "listening on " << base_url << std::endl;  // flushed: tests and scripts wait for it

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  // stop() is a no-op until listen_after_bind() has marked the server running, so a signal that
  // arrives right at start is repeated until the serving thread has ended (bounded: 10 s).
  for (int attempt = 0; attempt < 1000 && !serving_ended; ++attempt) {
    server.stop();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (!serving_ended) {
    std::cerr << "referkit-shop: the server did not stop\n";
    std::_Exit(1);
  }
  serving.join();

  const ShutdownReport report = tracker->shutdown(std::chrono::seconds(shutdown_seconds));
  const shop::ShopStats& stats = (*shop)->stats();
  std::cerr << "referkit-shop: stopped; orders " << stats.orders << " (referred " << stats.referred_orders
            << ", self-referrals " << stats.self_referrals << "), bad links " << stats.bad_links
            << ", undelivered " << report.undelivered
            << (report.undelivered > 0 && report.kept_in_spool ? " (kept in the spool)" : "") << '\n';
  return 0;
}
