// A small HTTP/1.1 server for tests, on 127.0.0.1 only, with fault injection.
//
// It listens on an ephemeral port, runs one poll() thread that serves any number of keep-alive
// connections (pipelined requests are answered in order), and hands each complete request to a
// handler, which decides the reply or a fault: answer normally, read the request and close the
// connection without replying, or never reply (hold the connection until stop()). Everything
// is bounded: header block 64 KiB, body 8 MiB, idle connections closed after a timeout, and
// stop() returns as soon as the handler does. Requests are parsed and replies written by the
// project's one HTTP/1.1 library (examples/shared/http), the one referkit-ingest uses: bodies
// must come with Content-Length (all our clients send one); chunked requests get 411, and every
// refusal closes the connection after a text/plain reply with the parser's reason.
//
// The handler runs on the server thread, one request at a time: a slow handler delays every
// connection, which is usually what a test wants (deterministic order).
//
// TLS mode: given TlsServerOptions, it serves https:// instead. A TlsTerminator in front takes
// the TLS connections and relays their plaintext to the same HTTP code on a loopback port the
// client is never told about; port() and url() are the TLS side's.
#ifndef REFERKIT_TESTS_SUPPORT_HTTP_TEST_SERVER_HPP
#define REFERKIT_TESTS_SUPPORT_HTTP_TEST_SERVER_HPP

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/message.hpp"
#include "referkit/status.hpp"
#include "support/tls_terminator.hpp"

namespace referkit::test {

using Headers = http::HeaderList;

// method, target, version, headers (in order, names as sent), body (raw bytes, as sent),
// header_count(): see http::Request.
struct Request : http::Request {
  std::uint64_t connection = 0;  // 1 for the first accepted connection, 2 for the next...

  // The first header with this name (case-insensitive), value trimmed; a copy, so tests can
  // compare it with strings directly.
  std::optional<std::string> header(std::string_view name) const;
  // The body with Content-Encoding undone (gzip or identity), bounded by max_output.
  Result<std::string> decoded_body(std::size_t max_output = std::size_t{64} << 20) const;
};

struct Reply {
  enum class Action {
    kRespond,            // send status, headers and body
    kCloseWithoutReply,  // close the connection as soon as the request has been read
    kNeverReply,         // keep the connection open and silent until stop()
  };
  Action action = Action::kRespond;
  int status = 200;
  Headers headers;  // Content-Length is always computed by the server
  std::string body;

  static Reply json(int status, std::string body);
  static Reply text(int status, std::string body);
  static Reply close_without_reply();
  static Reply never_reply();
};

using Handler = std::function<Reply(const Request&)>;

struct ServerLimits {
  std::size_t max_header_bytes = std::size_t{64} << 10;
  std::size_t max_body_bytes = std::size_t{8} << 20;
  std::size_t max_headers = 1'000;  // header lines; more get 431
  std::size_t max_connections = 256;  // more are accepted and closed at once
  std::chrono::milliseconds idle_timeout{10'000};
};

class HttpTestServer {
 public:
  // Binds 127.0.0.1:0 and starts serving. Throws std::system_error when the socket or the
  // thread cannot be set up.
  explicit HttpTestServer(Handler handler, ServerLimits limits = {});
  // TLS mode (see above). Also throws std::runtime_error when OpenSSL refuses the files.
  HttpTestServer(Handler handler, ServerLimits limits, const TlsServerOptions& tls);
  // stop().
  ~HttpTestServer();
  HttpTestServer(const HttpTestServer&) = delete;
  HttpTestServer& operator=(const HttpTestServer&) = delete;

  std::uint16_t port() const;
  // "http://127.0.0.1:<port>", or https:// in TLS mode
  std::string url() const;
  // The TLS side's counters (handshakes, plaintext connections); null in plain mode.
  const TlsTerminator* tls() const;

  // Closes every connection and joins the thread; idempotent. Bounded unless the handler blocks.
  void stop();

  // Every request handed to the handler so far, in arrival order.
  std::vector<Request> requests() const;
  std::size_t request_count() const;
  // Waits until at least n requests have arrived; false on timeout.
  bool wait_for_requests(std::size_t n, std::chrono::milliseconds timeout) const;
  // Connections accepted so far (keep-alive tests expect this to stay at 1).
  std::uint64_t connections_accepted() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::unique_ptr<TlsTerminator> tls_;  // after impl_: destroyed (stopped) first
};

// Answers POST /v1/batch like a Segment-compatible collector that deduplicates by messageId:
// 200 {"accepted":N,"duplicates":M,"rejected":[...]} where rejected lists events without a
// string messageId. A body that is not a JSON object with a "batch" array gets 400. Use
// handler() directly, or call handle() from your own handler to add faults in front of it.
// Thread-safe.
class SegmentCollector {
 public:
  Reply handle(const Request& request);
  Handler handler() {
    return [this](const Request& r) { return handle(r); };
  }

  std::size_t batches() const;          // batches parsed and answered with 200
  std::size_t unique_events() const;    // distinct messageIds seen
  std::size_t duplicate_events() const; // events whose messageId had been seen before
  // messageId -> how many times it arrived.
  std::map<std::string, std::size_t> message_counts() const;
  // Each distinct event's JSON (minified) as first received, in arrival order.
  std::vector<std::string> events() const;
  // Waits until at least n distinct messageIds have arrived; false on timeout.
  bool wait_for_unique_events(std::size_t n, std::chrono::milliseconds timeout) const;

 private:
  mutable std::mutex mutex_;
  mutable std::condition_variable arrived_;
  std::size_t batches_ = 0;
  std::size_t duplicates_ = 0;
  std::map<std::string, std::size_t> counts_;
  std::vector<std::string> events_;
};

}  // namespace referkit::test

#endif  // REFERKIT_TESTS_SUPPORT_HTTP_TEST_SERVER_HPP
