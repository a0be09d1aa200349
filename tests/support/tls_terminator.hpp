// The TLS side of HttpTestServer's TLS mode: accepts TLS on 127.0.0.1 (OpenSSL's SSL_* API) and
// relays each connection's decrypted bytes to the plain server on another loopback port, so the
// one HTTP implementation serves both modes. A thread per connection with blocking sockets is
// fine for the few connections a TLS test makes; every wait is bounded and stop() ends them all.
//
// It also counts what arrived: completed and failed handshakes, and connections whose first byte
// was not a TLS handshake record (a client talking plain HTTP to an https endpoint).
#ifndef REFERKIT_TESTS_SUPPORT_TLS_TERMINATOR_HPP
#define REFERKIT_TESTS_SUPPORT_TLS_TERMINATOR_HPP

#include <atomic>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace referkit::test {

struct TlsServerOptions {
  std::string cert_file;  // PEM; see test_certificates.hpp
  std::string key_file;
  // Caps the protocol version the server offers (TLS1_1_VERSION to test that clients refuse
  // it); 0 leaves OpenSSL's default. A cap below TLS 1.2 also drops the server's security level
  // to 0, which OpenSSL 3 needs before it will speak TLS 1.1 at all.
  int max_version = 0;
};

class TlsTerminator {
 public:
  // Listens on 127.0.0.1:0 and relays to 127.0.0.1:backend_port. Throws std::runtime_error
  // (OpenSSL) or std::system_error (sockets, threads).
  TlsTerminator(std::uint16_t backend_port, const TlsServerOptions& options);
  ~TlsTerminator();  // stop()
  TlsTerminator(const TlsTerminator&) = delete;
  TlsTerminator& operator=(const TlsTerminator&) = delete;

  std::uint16_t port() const { return port_; }
  // Closes every connection and joins every thread; idempotent.
  void stop();

  std::uint64_t handshakes() const { return handshakes_.load(); }
  std::uint64_t failed_handshakes() const { return failed_handshakes_.load(); }
  std::uint64_t plaintext_connections() const { return plaintext_connections_.load(); }

 private:
  void accept_loop();
  void serve(int fd);

  struct Context;
  std::unique_ptr<Context> context_;  // the SSL_CTX
  std::uint16_t backend_port_;
  std::uint16_t port_ = 0;
  int listen_fd_ = -1;
  int stop_read_ = -1;  // readable once stop() has begun: every thread polls it
  int stop_write_ = -1;
  std::atomic<std::uint64_t> handshakes_{0};
  std::atomic<std::uint64_t> failed_handshakes_{0};
  std::atomic<std::uint64_t> plaintext_connections_{0};
  std::mutex mutex_;
  std::list<std::thread> connections_;  // guarded by mutex_
  std::thread acceptor_;
};

}  // namespace referkit::test

#endif  // REFERKIT_TESTS_SUPPORT_TLS_TERMINATOR_HPP
