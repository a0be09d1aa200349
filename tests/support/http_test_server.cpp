#include "support/http_test_server.hpp"

#include <fcntl.h>
#include <poll.h>
#include <simdjson.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <exception>
#include <list>
#include <system_error>
#include <thread>

#include "common/text.hpp"
#include "http/request_parser.hpp"
#include "json/json_writer.hpp"
#include "support/loopback.hpp"
#include "transport/gzip.hpp"

namespace referkit::test {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// A connection that has sent its last response lingers this long, reading and discarding, so
// that closing with unread input (which makes the kernel send a reset) cannot destroy the
// response before the client has read it.
constexpr milliseconds kLingerTime{1'000};

[[noreturn]] void throw_errno(const char* what) { throw std::system_error(errno, std::generic_category(), what); }

struct Connection {
  int fd = -1;
  std::uint64_t id = 0;
  std::string in;
  std::string out;
  std::size_t out_sent = 0;
  bool close_after_write = false;  // the last response is queued
  bool lingering = false;          // it has been sent; reading only to let the client finish
  bool silent = false;             // kNeverReply: hold until stop()
  bool eof = false;                // the client has closed its side
  bool continued = false;          // "100 Continue" sent for the request in progress
  bool dead = false;
  Clock::time_point deadline;  // idle (or linger) limit

  ~Connection() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

std::optional<std::string> Request::header(std::string_view name) const {
  const auto value = http::Request::header(name);
  return value ? std::optional<std::string>(*value) : std::nullopt;
}

Result<std::string> Request::decoded_body(std::size_t max_output) const {
  const std::string encoding = header("Content-Encoding").value_or("identity");
  if (detail::iequals(encoding, "gzip")) return detail::gzip_decompress(body, max_output);
  if (!detail::iequals(encoding, "identity")) return Status(StatusCode::kMalformed, "unsupported Content-Encoding: " + encoding);
  if (body.size() > max_output) return Status(StatusCode::kResourceExhausted, "body too large");
  return body;
}

Reply Reply::json(int status, std::string body) {
  Reply r;
  r.status = status;
  r.headers = {{"Content-Type", "application/json"}};
  r.body = std::move(body);
  return r;
}

Reply Reply::text(int status, std::string body) {
  Reply r;
  r.status = status;
  r.headers = {{"Content-Type", "text/plain"}};
  r.body = std::move(body);
  return r;
}

Reply Reply::close_without_reply() {
  Reply r;
  r.action = Action::kCloseWithoutReply;
  return r;
}

Reply Reply::never_reply() {
  Reply r;
  r.action = Action::kNeverReply;
  return r;
}

struct HttpTestServer::Impl {
  Handler handler;
  ServerLimits limits;
  int listen_fd = -1;
  int wake_read = -1;  // stop() writes to wake_write to interrupt poll()
  int wake_write = -1;
  std::uint16_t port = 0;
  std::thread thread;
  std::mutex stop_mutex;  // serialises stop() callers

  mutable std::mutex mutex;  // guards requests
  mutable std::condition_variable arrived;
  std::vector<Request> requests;
  std::atomic<std::uint64_t> accepted{0};

  // Only the server thread touches these.
  std::list<Connection> connections;

  ~Impl() {
    for (int fd : {listen_fd, wake_read, wake_write}) {
      if (fd >= 0) ::close(fd);
    }
  }

  void run();
  void accept_all(Clock::time_point now);
  void read_from(Connection& c, Clock::time_point now);
  void process(Connection& c);
  void respond(Connection& c, const Reply& reply, bool close);
  void write_to(Connection& c, Clock::time_point now);
  Reply call_handler(const Request& request);
};

void HttpTestServer::Impl::run() {
  std::vector<pollfd> fds;
  for (;;) {
    fds.clear();
    fds.push_back({wake_read, POLLIN, 0});
    fds.push_back({listen_fd, POLLIN, 0});
    auto next_deadline = Clock::now() + milliseconds(1'000);
    for (const Connection& c : connections) {
      short events = c.eof ? 0 : POLLIN;  // at end of input POLLIN would fire forever
      if (c.out_sent < c.out.size()) events = static_cast<short>(events | POLLOUT);
      fds.push_back({c.fd, events, 0});
      if (!c.silent) next_deadline = std::min(next_deadline, c.deadline);
    }
    const auto wait = std::chrono::duration_cast<milliseconds>(next_deadline - Clock::now()).count();
    const int n = ::poll(fds.data(), fds.size(), static_cast<int>(std::clamp<long long>(wait + 1, 0, 1'000)));
    if (n < 0 && errno != EINTR) return;  // cannot happen with valid descriptors; stop serving
    if (fds[0].revents != 0) return;  // stop()
    const auto now = Clock::now();
    std::size_t i = 2;
    for (Connection& c : connections) {  // fds[2..] follow `connections` in order
      const short revents = fds[i++].revents;
      if ((revents & (POLLIN | POLLHUP | POLLERR)) != 0) read_from(c, now);
      if (!c.dead && (revents & POLLOUT) != 0) write_to(c, now);
      if (!c.silent && now >= c.deadline) c.dead = true;  // idle, or done lingering
    }
    connections.remove_if([](const Connection& c) { return c.dead; });
    if ((fds[1].revents & POLLIN) != 0) accept_all(now);
  }
}

void HttpTestServer::Impl::accept_all(Clock::time_point now) {
  for (;;) {
    const int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;  // EAGAIN, or a connection that died in the queue
    if (connections.size() >= limits.max_connections) {
      ::close(fd);
      continue;
    }
    Connection& c = connections.emplace_back();
    c.fd = fd;
    c.id = ++accepted;
    c.deadline = now + limits.idle_timeout;
  }
}

void HttpTestServer::Impl::read_from(Connection& c, Clock::time_point now) {
  char buffer[64 * 1024];
  for (;;) {
    const ssize_t n = ::recv(c.fd, buffer, sizeof buffer, 0);
    if (n > 0) {
      // Silent and lingering connections discard input; the others parse it as it comes, so
      // `in` never holds much more than one request.
      if (!c.silent && !c.lingering && !c.close_after_write) c.in.append(buffer, static_cast<std::size_t>(n));
      if (!c.silent && !c.lingering) c.deadline = now + limits.idle_timeout;
      process(c);
      if (c.dead) return;
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (n < 0 && errno == EINTR) continue;
    // End of input or a reset. A request already in `in` was answered by process(); what is
    // left is incomplete, so the connection is finished once its output is written.
    if (n < 0 || c.out_sent >= c.out.size()) {
      c.dead = true;
      return;
    }
    c.eof = true;
    c.close_after_write = true;
    c.in.clear();
    break;
  }
  write_to(c, now);
}

void HttpTestServer::Impl::process(Connection& c) {
  http::Limits http_limits;
  http_limits.max_head_bytes = limits.max_header_bytes;
  http_limits.max_headers = limits.max_headers;
  http_limits.max_body_bytes = limits.max_body_bytes;
  while (!c.silent && !c.close_after_write && !c.dead) {
    // The head is parsed again as each piece of its body arrives: heads are small, and it keeps
    // the connection's state down to its input buffer.
    http::HeadParse parsed = http::parse_request_head(c.in, http_limits);
    if (parsed.state == http::HeadParse::State::kIncomplete) return;
    if (parsed.state == http::HeadParse::State::kError) {
      respond(c, Reply::text(parsed.status, parsed.reason + "\n"), true);
      return;
    }
    http::RequestHead& head = parsed.head;
    const std::size_t body_start = head.head_bytes;
    if (c.in.size() - body_start < head.content_length) {  // wait for the rest
      if (head.expect_continue && !c.continued) {
        c.out += http::kContinueResponse;
        c.continued = true;
      }
      return;
    }
    c.continued = false;
    Request request;
    static_cast<http::Request&>(request) = std::move(head.request);
    request.body = c.in.substr(body_start, head.content_length);
    request.connection = c.id;
    c.in.erase(0, body_start + head.content_length);
    {
      std::lock_guard<std::mutex> lock(mutex);
      requests.push_back(request);
    }
    arrived.notify_all();
    const Reply reply = call_handler(request);
    switch (reply.action) {
      case Reply::Action::kRespond:
        respond(c, reply, !head.keep_alive);
        break;
      case Reply::Action::kCloseWithoutReply:
        c.dead = true;
        return;
      case Reply::Action::kNeverReply:
        c.silent = true;
        c.in.clear();
        return;
    }
  }
}

Reply HttpTestServer::Impl::call_handler(const Request& request) {
  // A failing assertion inside a handler may throw; it must not take the server thread down.
  try {
    return handler(request);
  } catch (const std::exception& e) {
    return Reply::text(500, std::string("handler threw: ") + e.what() + "\n");
  } catch (...) {
    return Reply::text(500, "handler threw\n");
  }
}

void HttpTestServer::Impl::respond(Connection& c, const Reply& reply, bool close) {
  c.out += http::serialize_response(reply.status, reply.headers, reply.body, close);
  if (close) {
    c.close_after_write = true;
    c.in.clear();
  }
}

void HttpTestServer::Impl::write_to(Connection& c, Clock::time_point now) {
  while (c.out_sent < c.out.size()) {
    const ssize_t n = ::send(c.fd, c.out.data() + c.out_sent, c.out.size() - c.out_sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n < 0) {
      c.dead = true;
      return;
    }
    c.out_sent += static_cast<std::size_t>(n);
    c.deadline = now + limits.idle_timeout;
  }
  c.out.clear();
  c.out_sent = 0;
  if (c.close_after_write && c.eof) {
    c.dead = true;  // nothing more can arrive: no need to linger
    return;
  }
  if (c.close_after_write && !c.lingering) {
    ::shutdown(c.fd, SHUT_WR);
    c.lingering = true;
    c.deadline = now + kLingerTime;
  }
}

HttpTestServer::HttpTestServer(Handler handler, ServerLimits limits) : impl_(std::make_unique<Impl>()) {
  impl_->handler = std::move(handler);
  impl_->limits = limits;
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) != 0) throw_errno("pipe2");
  impl_->wake_read = pipe_fds[0];
  impl_->wake_write = pipe_fds[1];

  impl_->listen_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (impl_->listen_fd < 0) throw_errno("socket");
  impl_->port = bind_loopback(impl_->listen_fd);
  if (impl_->port == 0) throw_errno("bind");
  if (::listen(impl_->listen_fd, 128) != 0) throw_errno("listen");
  impl_->thread = std::thread([impl = impl_.get()] { impl->run(); });
}

HttpTestServer::HttpTestServer(Handler handler, ServerLimits limits, const TlsServerOptions& tls)
    : HttpTestServer(std::move(handler), limits) {
  tls_ = std::make_unique<TlsTerminator>(impl_->port, tls);
}

HttpTestServer::~HttpTestServer() { stop(); }

void HttpTestServer::stop() {
  if (tls_) tls_->stop();  // first: its relays would otherwise wait on connections closed below
  std::lock_guard<std::mutex> lock(impl_->stop_mutex);
  if (!impl_->thread.joinable()) return;
  const char byte = 0;
  (void)!::write(impl_->wake_write, &byte, 1);
  impl_->thread.join();
  impl_->connections.clear();  // closes them; the thread is gone, so this is safe
  ::close(impl_->listen_fd);
  impl_->listen_fd = -1;
}

std::uint16_t HttpTestServer::port() const { return tls_ ? tls_->port() : impl_->port; }

std::string HttpTestServer::url() const {
  return (tls_ ? "https://127.0.0.1:" : "http://127.0.0.1:") + std::to_string(port());
}

const TlsTerminator* HttpTestServer::tls() const { return tls_.get(); }

std::vector<Request> HttpTestServer::requests() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->requests;
}

std::size_t HttpTestServer::request_count() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->requests.size();
}

bool HttpTestServer::wait_for_requests(std::size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(impl_->mutex);
  return impl_->arrived.wait_for(lock, timeout, [&] { return impl_->requests.size() >= n; });
}

std::uint64_t HttpTestServer::connections_accepted() const { return impl_->accepted.load(); }

// ---- SegmentCollector ----

namespace {

Reply json_error(int status, std::string_view message) {
  std::string body = "{\"error\":";
  detail::append_json_string(body, message);
  body += "}";
  return Reply::json(status, std::move(body));
}

}  // namespace

Reply SegmentCollector::handle(const Request& request) {
  if (request.method != "POST") return json_error(405, "POST only");
  Result<std::string> body = request.decoded_body();
  if (!body.ok()) return json_error(400, body.status().to_string());
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  simdjson::dom::array batch;
  if (const auto error = parser.parse(*body).get(root); error != simdjson::SUCCESS) {
    return json_error(400, simdjson::error_message(error));
  }
  if (root["batch"].get_array().get(batch) != simdjson::SUCCESS) return json_error(400, "no \"batch\" array");

  std::vector<std::pair<std::string, std::string>> valid;  // messageId, minified event
  std::size_t missing_ids = 0;
  for (simdjson::dom::element event : batch) {
    std::string_view id;
    if (event["messageId"].get_string().get(id) != simdjson::SUCCESS || id.empty()) {
      ++missing_ids;
      continue;
    }
    valid.emplace_back(std::string(id), simdjson::minify(event));
  }

  std::size_t accepted = 0;
  std::size_t duplicates = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& [id, json] : valid) {
      if (++counts_[id] == 1) {
        ++accepted;
        events_.push_back(std::move(json));
      } else {
        ++duplicates;
      }
    }
    duplicates_ += duplicates;
    ++batches_;
  }
  arrived_.notify_all();

  std::string reply = "{\"accepted\":" + std::to_string(accepted) + ",\"duplicates\":" + std::to_string(duplicates) +
                      ",\"rejected\":[";
  for (std::size_t i = 0; i < missing_ids; ++i) {
    reply += i == 0 ? "" : ",";
    reply += R"({"messageId":"","reason":"missing messageId"})";
  }
  reply += "]}";
  return Reply::json(200, std::move(reply));
}

std::size_t SegmentCollector::batches() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return batches_;
}

std::size_t SegmentCollector::unique_events() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return counts_.size();
}

std::size_t SegmentCollector::duplicate_events() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return duplicates_;
}

std::map<std::string, std::size_t> SegmentCollector::message_counts() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return counts_;
}

std::vector<std::string> SegmentCollector::events() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return events_;
}

bool SegmentCollector::wait_for_unique_events(std::size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(mutex_);
  return arrived_.wait_for(lock, timeout, [&] { return counts_.size() >= n; });
}

}  // namespace referkit::test
