// The listening socket for --listen HOST:PORT (port 0 picks a free one).
#ifndef REFERKIT_INGEST_LISTEN_SOCKET_HPP
#define REFERKIT_INGEST_LISTEN_SOCKET_HPP

#include <string>

#include "referkit/status.hpp"

namespace referkit::ingest {

struct ListenSocket {
  int fd = -1;      // non-blocking, close-on-exec; the caller owns it
  std::string url;  // "http://127.0.0.1:8080", with the port actually bound
};

// "127.0.0.1:0", "0.0.0.0:8080", "[::1]:9000", "localhost:0". kInvalidArgument for an address
// that does not parse or resolve, kUnavailable when binding fails (port in use, no permission).
Result<ListenSocket> open_listen_socket(const std::string& address);

}  // namespace referkit::ingest

#endif  // REFERKIT_INGEST_LISTEN_SOCKET_HPP
