#include "http/listen_socket.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace referkit::http {
namespace {

struct AddrInfoDeleter {
  void operator()(addrinfo* a) const { freeaddrinfo(a); }
};

// The URL clients use to reach the bound socket; IPv6 literals go in brackets.
std::string url_of(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return {};
  char host[INET6_ADDRSTRLEN] = {};
  unsigned port = 0;
  if (addr.ss_family == AF_INET6) {
    const auto* a6 = reinterpret_cast<const sockaddr_in6*>(&addr);
    ::inet_ntop(AF_INET6, &a6->sin6_addr, host, sizeof host);
    port = ntohs(a6->sin6_port);
    return "http://[" + std::string(host) + "]:" + std::to_string(port);
  }
  const auto* a4 = reinterpret_cast<const sockaddr_in*>(&addr);
  ::inet_ntop(AF_INET, &a4->sin_addr, host, sizeof host);
  port = ntohs(a4->sin_port);
  return "http://" + std::string(host) + ":" + std::to_string(port);
}

bool is_loopback(const sockaddr* addr) {
  if (addr->sa_family == AF_INET) {
    const auto* a4 = reinterpret_cast<const sockaddr_in*>(addr);
    return (ntohl(a4->sin_addr.s_addr) >> 24) == 127;
  }
  if (addr->sa_family == AF_INET6) {
    const auto* a6 = reinterpret_cast<const sockaddr_in6*>(addr);
    return IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr) != 0;
  }
  return false;
}

// unix:PATH. The file mode is set on the socket before bind (umask 0117 for the call), so no
// client outside the owner and group can connect even for an instant.
Result<ListenSocket> open_unix_socket(const std::string& path) {
  sockaddr_un addr{};
  if (path.empty() || path.size() >= sizeof addr.sun_path) {
    return Status(StatusCode::kInvalidArgument, "--listen unix:PATH needs a path of 1-107 bytes");
  }
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  struct stat st{};
  if (::lstat(path.c_str(), &st) == 0) {
    // A socket left by an earlier run that died may go; a live one (someone answers) or any
    // other kind of file is not ours to delete.
    if (!S_ISSOCK(st.st_mode)) return Status(StatusCode::kUnavailable, path + " exists and is not a socket");
    const int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const bool live = probe >= 0 && ::connect(probe, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
    if (probe >= 0) ::close(probe);
    if (live) return Status(StatusCode::kUnavailable, path + " is in use by a running server");
    ::unlink(path.c_str());
  }
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status(StatusCode::kUnavailable, std::string("socket: ") + std::strerror(errno));
  const mode_t old_mask = ::umask(0117);
  const int bound = ::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  const int bind_errno = errno;
  ::umask(old_mask);
  if (bound != 0 || ::chmod(path.c_str(), 0660) != 0 || ::listen(fd, SOMAXCONN) != 0) {
    const std::string why = std::strerror(bound != 0 ? bind_errno : errno);
    ::close(fd);
    return Status(StatusCode::kUnavailable, "cannot listen on " + path + ": " + why);
  }
  return ListenSocket{fd, "unix:" + path, true, path};
}

}  // namespace

Result<ListenSocket> open_listen_socket(const std::string& address, Exposure exposure) {
  if (address.rfind("unix:", 0) == 0) return open_unix_socket(address.substr(5));
  const std::size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon + 1 == address.size()) {
    return Status(StatusCode::kInvalidArgument, "--listen wants HOST:PORT, got \"" + address + "\"");
  }
  std::string host = address.substr(0, colon);
  const std::string port = address.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty()) return Status(StatusCode::kInvalidArgument, "--listen needs a host, e.g. 127.0.0.1:0");

  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (const int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    return Status(StatusCode::kInvalidArgument, "--listen " + address + ": " + ::gai_strerror(rc));
  }
  std::unique_ptr<addrinfo, AddrInfoDeleter> list(found);
  std::string last_error = "no usable address";
  for (const addrinfo* a = list.get(); a != nullptr; a = a->ai_next) {
    if (exposure == Exposure::kLoopbackOnly && !is_loopback(a->ai_addr)) {
      return Status(StatusCode::kPermissionDenied,
                    "--listen " + address + " is not a loopback address; pass --allow-non-loopback to expose it");
    }
    const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      last_error = std::strerror(errno);
      continue;
    }
    // A restarted server can rebind at once while old connections sit in TIME_WAIT.
    const int yes = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    if (::bind(fd, a->ai_addr, a->ai_addrlen) == 0 && ::listen(fd, SOMAXCONN) == 0) {
      return ListenSocket{fd, url_of(fd), is_loopback(a->ai_addr), {}};
    }
    last_error = std::strerror(errno);
    ::close(fd);
  }
  return Status(StatusCode::kUnavailable, "cannot listen on " + address + ": " + last_error);
}

}  // namespace referkit::http
