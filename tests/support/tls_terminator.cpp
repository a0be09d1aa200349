#include "support/tls_terminator.hpp"

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <string_view>
#include <system_error>

#include "support/loopback.hpp"

namespace referkit::test {
namespace {

constexpr int kPollSliceMs = 100;        // how often a waiting thread looks at the stop pipe
constexpr int kFirstByteTimeoutMs = 5'000;
constexpr int kSocketTimeoutSeconds = 2;  // bounds a blocking SSL_accept/SSL_read/SSL_write
constexpr unsigned char kTlsHandshakeRecord = 0x16;

[[noreturn]] void throw_errno(const char* what) { throw std::system_error(errno, std::generic_category(), what); }

[[noreturn]] void throw_openssl(const std::string& what) {
  char detail[256] = "";
  ERR_error_string_n(ERR_get_error(), detail, sizeof detail);
  throw std::runtime_error("TLS test server: " + what + ": " + detail);
}

// OpenSSL writes to the socket with write(), which raises SIGPIPE when the client has gone, and
// the default action kills the test process. Blocked in this thread only, the signal stays
// pending on it (dropped when it exits) and the write fails with EPIPE instead; the rest of
// the process keeps its dispositions.
void block_sigpipe_in_this_thread() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

bool send_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// A connection's sockets and TLS state, released on every path out of serve().
struct Session {
  int client = -1;
  int backend = -1;
  SSL* ssl = nullptr;
  ~Session() {
    if (ssl != nullptr) {
      SSL_shutdown(ssl);  // best effort: a close_notify, without waiting for the peer's
      SSL_free(ssl);
    }
    for (int fd : {client, backend}) {
      if (fd >= 0) ::close(fd);
    }
  }
};

}  // namespace

struct TlsTerminator::Context {
  SSL_CTX* ctx = nullptr;
  ~Context() { SSL_CTX_free(ctx); }
};

TlsTerminator::TlsTerminator(std::uint16_t backend_port, const TlsServerOptions& options)
    : context_(std::make_unique<Context>()), backend_port_(backend_port) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) throw_openssl("SSL_CTX_new");
  context_->ctx = ctx;
  if (SSL_CTX_use_certificate_chain_file(ctx, options.cert_file.c_str()) != 1) throw_openssl(options.cert_file);
  if (SSL_CTX_use_PrivateKey_file(ctx, options.key_file.c_str(), SSL_FILETYPE_PEM) != 1) throw_openssl(options.key_file);
  if (options.max_version != 0) {
    if (options.max_version < TLS1_2_VERSION) {
      SSL_CTX_set_security_level(ctx, 0);
      if (SSL_CTX_set_cipher_list(ctx, "DEFAULT:@SECLEVEL=0") != 1) throw_openssl("cipher list");
      SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION);
    }
    if (SSL_CTX_set_max_proto_version(ctx, options.max_version) != 1) throw_openssl("max protocol version");
  }

  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw_errno("pipe2");
  stop_read_ = fds[0];
  stop_write_ = fds[1];
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) throw_errno("socket");
  port_ = bind_loopback(listen_fd_);
  if (port_ == 0 || ::listen(listen_fd_, 64) != 0) throw_errno("bind/listen");
  acceptor_ = std::thread([this] { accept_loop(); });
}

TlsTerminator::~TlsTerminator() {
  stop();
  for (int fd : {listen_fd_, stop_read_, stop_write_}) {
    if (fd >= 0) ::close(fd);
  }
}

void TlsTerminator::stop() {
  if (!acceptor_.joinable()) return;
  const char byte = 0;
  [[maybe_unused]] const ssize_t n = ::write(stop_write_, &byte, 1);  // never read: stays readable
  acceptor_.join();
  std::lock_guard<std::mutex> lock(mutex_);
  for (std::thread& t : connections_) t.join();
  connections_.clear();
}

void TlsTerminator::accept_loop() {
  for (;;) {
    pollfd fds[2] = {{stop_read_, POLLIN, 0}, {listen_fd_, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0 && errno != EINTR) return;
    if (fds[0].revents != 0) return;
    if ((fds[1].revents & POLLIN) == 0) continue;
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    std::lock_guard<std::mutex> lock(mutex_);
    connections_.emplace_back([this, fd] { serve(fd); });
  }
}

void TlsTerminator::serve(int fd) {
  block_sigpipe_in_this_thread();
  Session s;
  s.client = fd;
  const timeval timeout{kSocketTimeoutSeconds, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);

  // What does the client open with? A TLS client sends a handshake record first.
  for (int waited = 0;; waited += kPollSliceMs) {
    if (waited >= kFirstByteTimeoutMs) return;
    pollfd fds[2] = {{stop_read_, POLLIN, 0}, {fd, POLLIN, 0}};
    if (::poll(fds, 2, kPollSliceMs) < 0 && errno != EINTR) return;
    if (fds[0].revents != 0) return;
    if (fds[1].revents != 0) break;
  }
  unsigned char first = 0;
  if (::recv(fd, &first, 1, MSG_PEEK) != 1) return;
  if (first != kTlsHandshakeRecord) {
    plaintext_connections_.fetch_add(1);
    return;
  }

  s.ssl = SSL_new(context_->ctx);
  if (s.ssl == nullptr || SSL_set_fd(s.ssl, fd) != 1 || SSL_accept(s.ssl) != 1) {
    failed_handshakes_.fetch_add(1);
    ERR_clear_error();
    if (s.ssl != nullptr) {
      SSL_free(s.ssl);  // no close_notify after a failed handshake
      s.ssl = nullptr;
    }
    return;
  }
  handshakes_.fetch_add(1);

  s.backend = connect_loopback(backend_port_);
  if (s.backend < 0) return;

  char buffer[16 * 1024];
  for (;;) {
    // Decrypted bytes OpenSSL already holds do not make the socket readable: serve them first.
    const bool tls_buffered = SSL_pending(s.ssl) > 0;
    pollfd fds[3] = {{stop_read_, POLLIN, 0}, {fd, POLLIN, 0}, {s.backend, POLLIN, 0}};
    if (::poll(fds, 3, tls_buffered ? 0 : kPollSliceMs) < 0 && errno != EINTR) return;
    if (fds[0].revents != 0) return;
    if (tls_buffered || fds[1].revents != 0) {
      const int n = SSL_read(s.ssl, buffer, sizeof buffer);
      if (n <= 0 || !send_all(s.backend, std::string_view(buffer, static_cast<std::size_t>(n)))) return;
    }
    if (fds[2].revents != 0) {
      const ssize_t n = ::recv(s.backend, buffer, sizeof buffer, 0);
      if (n <= 0 || SSL_write(s.ssl, buffer, static_cast<int>(n)) != static_cast<int>(n)) return;
    }
  }
}

}  // namespace referkit::test
