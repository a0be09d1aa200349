// A small HTTP/1.1 server: one poll() loop owns every socket (accepting, reading, writing,
// timeouts) and hands each complete request to a worker pool, whose answers come back through a
// queue and a wake-up pipe. The project's one HTTP server: referkit-ingest and the CLI's
// `referkit serve` sidecar both run it. Loopback services need nothing more, and owning the socket code is
// what lets the server refuse an oversized body before reading it, bound the header block, and
// drop a connection without a reply on purpose (fault injection).
//
// Bounded everywhere: connections, head and body sizes (http::Limits), the time a request's head
// and body may take to arrive, idle keep-alive time, the time a reply may take to leave, and the
// shutdown drain.
#ifndef REFERKIT_EXAMPLES_SHARED_HTTP_SERVER_HPP
#define REFERKIT_EXAMPLES_SHARED_HTTP_SERVER_HPP

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "http/response.hpp"
#include "http/request_parser.hpp"

namespace referkit::http {

struct ServerOptions {
  Limits limits;
  std::size_t workers = 2;
  // At the limit, a waiting client takes the slot of an idle keep-alive connection (the one idle
  // longest), else of the incomplete request that started first; only when every connection has
  // a request being handled or answered do new clients wait in the listen backlog. So silent or
  // trickling connections cannot keep real clients out, whatever the timeouts below.
  std::size_t max_connections = 256;
  std::chrono::milliseconds idle_timeout{30'000};  // keep-alive connection with no request
  // A request's head must arrive whole within this long of the connection's accept (first
  // request) or of its first byte (later ones): a head is small, and a slow one holds a slot.
  std::chrono::milliseconds header_timeout{5'000};
  // While the body arrives, each read must come within this long of the previous one...
  std::chrono::milliseconds body_timeout{5'000};
  // ...and the whole request within this long of its start.
  std::chrono::milliseconds request_timeout{30'000};
  std::chrono::milliseconds write_timeout{30'000};    // a reply the client does not read
  // After the last reply on a connection that is closing: keep reading (and discarding) this
  // long, so that closing with unread input (the kernel then sends a reset) cannot destroy the
  // reply before the client has read it, e.g. a 413 sent while the client is still uploading.
  std::chrono::milliseconds linger{2'000};
  std::chrono::milliseconds drain_timeout{10'000};  // shutdown: in-flight requests get this long
  // Prefix of the one message the loop itself may print (poll() failing), e.g. "referkit-ingest".
  std::string program = "referkit";
};

// Called on worker threads, several at once; must be thread-safe. It may take the body (move).
// An exception becomes a 500.
using Handler = std::function<Response(Request&)>;

class Server {
 public:
  // Takes ownership of `listen_fd` (non-blocking, listening). Starts the workers.
  Server(int listen_fd, Handler handler, ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Serves on the calling thread until `stop_fd` becomes readable (see stop_signals.hpp). Then
  // it stops accepting, closes idle connections, lets requests in progress finish and their
  // replies go out (each with "Connection: close"), and returns once every connection is closed
  // or drain_timeout has passed; a second byte on stop_fd cuts the drain short. Every request
  // handed to a worker has finished when it returns. Call once.
  void run(int stop_fd);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace referkit::http

#endif  // REFERKIT_EXAMPLES_SHARED_HTTP_SERVER_HPP
