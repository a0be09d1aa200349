// Plain TCP on 127.0.0.1 for tests that talk to a server byte by byte or need a port nobody
// answers on: one copy of the socket boilerplate instead of one per test file.
#ifndef REFERKIT_TESTS_SUPPORT_LOOPBACK_HPP
#define REFERKIT_TESTS_SUPPORT_LOOPBACK_HPP

#include <cstdint>
#include <string>

namespace referkit::test {

// A blocking TCP socket connected to 127.0.0.1:port, or -1 (errno says why). The caller closes it.
int connect_loopback(std::uint16_t port);

// Binds the socket fd to 127.0.0.1 on an ephemeral port (tests run in parallel) and returns that
// port, or 0 (errno says why). Servers then listen() on it.
std::uint16_t bind_loopback(int fd);

// A loopback port nobody listens on: bound (so no one else gets it while this lives) but never
// listening, so every connection to it is refused at once.
class ClosedPort {
 public:
  ClosedPort();  // fails the current test if no port can be bound
  ~ClosedPort();
  ClosedPort(const ClosedPort&) = delete;
  ClosedPort& operator=(const ClosedPort&) = delete;

  std::uint16_t port() const { return port_; }
  // "http://127.0.0.1:<port>"
  const std::string& url() const { return url_; }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::string url_;
};

}  // namespace referkit::test

#endif  // REFERKIT_TESTS_SUPPORT_LOOPBACK_HPP
