#include "discard_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <simdjson.h>

#include <string_view>

#include "http/request_parser.hpp"
#include "transport/gzip.hpp"

namespace referkit::bench {

std::unique_ptr<DiscardServer> DiscardServer::start(bool count_events) {
  std::unique_ptr<DiscardServer> s(new DiscardServer());
  s->count_events_ = count_events;
  s->listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s->listen_fd_ < 0) return nullptr;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(s->listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(s->listen_fd_, 16) != 0 ||
      ::getsockname(s->listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return nullptr;
  }
  s->port_ = ntohs(addr.sin_port);
  s->acceptor_ = std::thread([p = s.get()] { p->accept_loop(); });
  return s;
}

DiscardServer::~DiscardServer() {
  stop_ = true;
  if (acceptor_.joinable()) acceptor_.join();  // polls with a timeout, so it sees stop_
  for (std::thread& t : connections_) t.join();
  if (listen_fd_ >= 0) ::close(listen_fd_);
}

void DiscardServer::accept_loop() {
  while (!stop_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    const int one = 1;
    (void)::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    connections_.emplace_back([this, fd] { serve(fd); });
  }
}

void DiscardServer::serve(int fd) {
  static constexpr std::string_view kOk = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 16\r\n\r\n{\"success\":true}";
  http::Limits limits;
  limits.max_body_bytes = 64u << 20;
  std::string buffer;
  char chunk[64 * 1024];
  while (!stop_) {
    http::HeadParse head = http::parse_request_head(buffer, limits);
    if (head.state == http::HeadParse::State::kError) break;
    if (head.state == http::HeadParse::State::kComplete &&
        buffer.size() >= head.head.head_bytes + head.head.content_length) {
      if (count_events_) {
        std::lock_guard<std::mutex> lk(kept_mu_);
        kept_.emplace_back(buffer, head.head.head_bytes, head.head.content_length);
      }
      buffer.erase(0, head.head.head_bytes + head.head.content_length);
      body_bytes_ += head.head.content_length;
      ++requests_;
      if (::send(fd, kOk.data(), kOk.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(kOk.size())) break;
      continue;
    }
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) break;
    buffer.append(chunk, static_cast<std::size_t>(n));
  }
  ::close(fd);
}

void DiscardServer::count_kept_bodies() {
  std::vector<std::string> bodies;
  {
    std::lock_guard<std::mutex> lk(kept_mu_);
    bodies.swap(kept_);
  }
  for (const std::string& body : bodies) count(body);
}

// A gzip member starts with 1f 8b, which no JSON text does: the body says how it was sent, so
// the Content-Encoding header need not be parsed.
void DiscardServer::count(std::string_view body) {
  std::string inflated;
  if (body.size() >= 2 && static_cast<unsigned char>(body[0]) == 0x1f && static_cast<unsigned char>(body[1]) == 0x8b) {
    auto plain = detail::gzip_decompress(body, std::size_t{256} << 20);
    if (!plain) {
      ++unreadable_;
      return;
    }
    inflated = std::move(*plain);
    body = inflated;
  }
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  simdjson::dom::array batch;
  if (parser.parse(body.data(), body.size()).get(root) != simdjson::SUCCESS || root["batch"].get(batch) != simdjson::SUCCESS) {
    ++unreadable_;
    return;
  }
  events_ += batch.size();
}

}  // namespace referkit::bench
