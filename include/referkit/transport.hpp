// The HTTP seam between the tracker and the network. The tracker hands a Transport one request
// at a time from its worker thread; the default is libcurl. Tests and merchants with their own
// HTTP stack can supply another implementation.
#ifndef REFERKIT_TRANSPORT_HPP
#define REFERKIT_TRANSPORT_HPP

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "referkit/export.hpp"
#include "referkit/status.hpp"

namespace referkit {
inline namespace v1 {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string url;  // always a POST
  HttpHeaders headers;
  std::string body;  // the bytes as sent (compressed when Content-Encoding says so)
};

struct HttpResponse {
  // OK when an HTTP response arrived, whatever its code. Otherwise kUnavailable (could not
  // connect, connection dropped, TLS failure), kDeadlineExceeded (a timeout elapsed),
  // kFailedPrecondition (cancelled by cancel()), kInvalidArgument (the URL, its scheme or a
  // header is unusable: retrying cannot help) or kInternal (out of memory). When not OK, code is
  // 0 and body empty.
  Status status;
  int code = 0;
  std::string body;                        // at most 1 MiB is kept
  std::optional<std::string> retry_after;  // the Retry-After header, verbatim but trimmed
};

// Thread safety (a contract for implementations): send() is called from one thread at a time,
// cancel() and reset_cancel() from any thread, also while send() runs; nothing else is shared.
// The libcurl transport meets it; one instance must not be given to two trackers.
class REFERKIT_EXPORT Transport {
 public:
  virtual ~Transport() = default;
  // Performs one request; called from one thread at a time. Must return within the transport's
  // own timeouts, whatever the server does.
  [[nodiscard]] virtual HttpResponse send(const HttpRequest& request) = 0;
  // Makes a send() in progress on another thread return promptly (bounded shutdown); safe to
  // call from any thread. Later sends are cancelled too until reset_cancel().
  virtual void cancel() {}
  virtual void reset_cancel() {}
};

struct TlsOptions {
  bool verify_peer = true;  // also checks the host name; never turn off outside a test bench
  std::string ca_file;      // PEM bundle; empty means the system default
  std::string ca_path;      // directory of hashed certificates
};

struct HttpOptions {
  // Both must be positive (make_curl_transport refuses zero, which libcurl reads as "none").
  std::chrono::milliseconds connect_timeout{5'000};  // always set: a dead host cannot hang us
  std::chrono::milliseconds total_timeout{30'000};   // the whole request, upload to last byte
  TlsOptions tls;
  std::string proxy;  // "http://proxy:3128"; empty means libcurl's environment defaults
};

// The libcurl transport: one reused easy handle (keep-alive), HTTP/1.1, http and https only,
// TLS 1.2 at least with the peer's certificate and host name verified (TlsOptions), no redirects
// (a 3xx comes back as the response), timeouts always set, no signals, Expect: 100-continue off. Request headers must
// be valid (no CR/LF) and must not include Content-Length or Transfer-Encoding, which the
// transport sets. cancel() interrupts a transfer within milliseconds, in any phase. In a forked
// child it starts a fresh handle instead of touching the parent's connection.
// kInvalidArgument for unusable options; the first call initialises libcurl
// globally (once per process; curl_global_cleanup is never called).
REFERKIT_EXPORT Result<std::unique_ptr<Transport>> make_curl_transport(const HttpOptions& options);

}  // namespace v1
}  // namespace referkit

#endif  // REFERKIT_TRANSPORT_HPP
