// The listening socket for --listen HOST:PORT (port 0 picks a free one) or unix:PATH.
#ifndef REFERKIT_EXAMPLES_SHARED_HTTP_LISTEN_SOCKET_HPP
#define REFERKIT_EXAMPLES_SHARED_HTTP_LISTEN_SOCKET_HPP

#include <string>

#include "referkit/status.hpp"

namespace referkit::http {

struct ListenSocket {
  int fd = -1;      // non-blocking, close-on-exec; the caller owns it
  std::string url;  // "http://127.0.0.1:8080", with the port actually bound; "unix:/run/x.sock"
  bool loopback = false;  // bound to 127.0.0.0/8 or ::1, or a Unix socket: not reachable off the host
  std::string unix_path;  // a Unix socket's path (the caller unlinks it when done), else empty
};

// What open_listen_socket() may bind to without being told otherwise.
enum class Exposure {
  kAny,           // referkit-ingest: a development server, any address
  kLoopbackOnly,  // anything but loopback or a Unix socket is refused (kPermissionDenied)
};

// "127.0.0.1:0", "0.0.0.0:8080", "[::1]:9000", "localhost:0", or "unix:/path/to.sock" (created
// with mode 0660, replacing a stale socket file, but never a live socket or another kind of file). kInvalidArgument
// for an address that does not parse or resolve, kUnavailable when binding fails (port in use, no
// permission), kPermissionDenied for a non-loopback address under kLoopbackOnly.
Result<ListenSocket> open_listen_socket(const std::string& address, Exposure exposure = Exposure::kAny);

}  // namespace referkit::http

#endif  // REFERKIT_EXAMPLES_SHARED_HTTP_LISTEN_SOCKET_HPP
