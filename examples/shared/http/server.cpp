#include "http/server.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <mutex>
#include <optional>
#include <system_error>
#include <unordered_map>
#include <vector>

#include "http/worker_pool.hpp"

namespace referkit::http {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr std::size_t kReadChunk = 64 * 1024;
// When accept() fails for lack of descriptors or memory, the listening socket stays readable;
// pausing keeps the loop from spinning until resources come back.
constexpr milliseconds kAcceptBackoff{100};
// Accepts per loop iteration at most: at the connection limit each accept evicts someone, and a
// flood in the backlog must not keep the loop from serving the connections it has.
constexpr std::size_t kMaxAcceptsPerTurn = 128;

enum class Phase {
  kReading,     // waiting for (the rest of) a request
  kProcessing,  // a worker has the request; the socket is left alone until the reply comes back
  kDelaying,    // the reply is ready but held back (--delay-ms)
  kWriting,     // sending the reply
  kLingering,   // last reply sent and write side shut; discarding input until the client closes
};

struct Connection {
  int fd = -1;
  std::uint64_t id = 0;
  Phase phase = Phase::kReading;
  std::string in;
  std::optional<RequestHead> head;  // parsed; the body is still arriving
  bool keep_alive = true;           // what the request in progress asked for
  bool peer_closed = false;         // recv() returned 0: no more input will come
  bool close_after_write = false;
  bool dead = false;  // removed at the end of the loop iteration
  std::string out;
  std::size_t out_sent = 0;
  std::optional<Response> delayed;
  Clock::time_point deadline;
  // When the current state began: the request's start (accept, or its first byte), the start of
  // an idle spell, or of lingering. Who is evicted first, and what the deadlines count from.
  Clock::time_point since;
  bool served = false;  // a reply went out: an idle connection is a keep-alive one

  Connection() = default;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection() {
    if (fd >= 0) ::close(fd);
  }

  // Nothing of a next request has arrived: closing loses nothing.
  bool idle() const { return phase == Phase::kReading && in.empty() && !head; }
  // Who gives up the slot when a new client waits and none is free: first an idle keep-alive
  // or lingering connection (it loses nothing, or only a reply it is not reading), then a
  // request still arriving (a fresh silent connection included). Never one being handled or
  // answered.
  int eviction_tier() const {
    if ((phase == Phase::kReading && idle() && served) || phase == Phase::kLingering) return 0;
    if (phase == Phase::kReading) return 1;
    return -1;
  }
};

struct Completion {
  std::uint64_t connection = 0;
  Response response;
};

void drain_pipe(int fd) {
  char buffer[256];
  while (::read(fd, buffer, sizeof buffer) > 0) {
  }
}

}  // namespace

struct Server::Impl {
  Impl(int fd, Handler h, ServerOptions o)
      : listen_fd(fd), handler(std::move(h)), options(o), pool(o.workers) {
    int fds[2];
    if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) {
      ::close(listen_fd);
      pool.shutdown();
      throw std::system_error(errno, std::generic_category(), "pipe");
    }
    wake_read = fds[0];
    wake_write = fds[1];
  }
  ~Impl() {
    pool.shutdown();  // workers refer to this object
    connections.clear();
    for (int fd : {listen_fd, wake_read, wake_write}) {
      if (fd >= 0) ::close(fd);
    }
  }

  void run(int stop_fd);
  void begin_drain(Clock::time_point now);
  void accept_all(Clock::time_point now);
  Connection* eviction_victim();
  void arm_read_deadline(Connection& c, Clock::time_point now);
  void on_readable(Connection& c, Clock::time_point now);
  void process(Connection& c, Clock::time_point now);
  void dispatch(Connection& c);
  void take_completions(Clock::time_point now);
  void respond(Connection& c, Response response, Clock::time_point now);
  void refuse(Connection& c, int status, std::string_view reason, Clock::time_point now);
  void write_some(Connection& c, Clock::time_point now);
  void start_linger(Connection& c, Clock::time_point now);
  void expire(Connection& c, Clock::time_point now);
  void wake();

  int listen_fd;
  Handler handler;
  ServerOptions options;
  WorkerPool pool;
  int wake_read = -1;
  int wake_write = -1;

  std::mutex completions_mutex;  // the only state shared with the workers
  std::vector<Completion> completions;

  // Loop thread only from here on.
  std::unordered_map<std::uint64_t, std::unique_ptr<Connection>> connections;
  std::uint64_t next_id = 0;
  std::size_t evictable = 0;  // connections with an eviction tier, as of the last poll() setup
  Clock::time_point accept_resume{};
  bool draining = false;
  Clock::time_point drain_deadline{};
};

Server::Server(int listen_fd, Handler handler, ServerOptions options)
    : impl_(std::make_unique<Impl>(listen_fd, std::move(handler), options)) {}

Server::~Server() = default;

void Server::run(int stop_fd) { impl_->run(stop_fd); }

void Server::Impl::run(int stop_fd) {
  std::vector<pollfd> fds;
  std::vector<Connection*> polled;  // fds[3 + i] belongs to polled[i]
  for (;;) {
    auto now = Clock::now();
    if (draining && (connections.empty() || now >= drain_deadline)) break;
    fds.clear();
    polled.clear();
    fds.push_back({stop_fd, POLLIN, 0});
    fds.push_back({wake_read, POLLIN, 0});
    fds.push_back({-1, POLLIN, 0});  // the listening socket: decided below
    auto next = now + milliseconds(1'000);
    if (listen_fd >= 0 && now < accept_resume) next = std::min(next, accept_resume);
    if (draining) next = std::min(next, drain_deadline);
    evictable = 0;
    for (auto& entry : connections) {
      Connection& c = *entry.second;
      if (c.eviction_tier() >= 0) ++evictable;
      if (c.phase == Phase::kProcessing) continue;  // the worker's reply wakes us
      next = std::min(next, c.deadline);
      short events = 0;
      if (c.phase == Phase::kReading) {
        if (!c.peer_closed) events = POLLIN;
        if (c.out_sent < c.out.size()) events = static_cast<short>(events | POLLOUT);  // 100 Continue
      } else if (c.phase == Phase::kWriting) {
        events = POLLOUT;
      } else if (c.phase == Phase::kLingering) {
        events = POLLIN;
      }
      if (events == 0) continue;  // kDelaying: a timer only
      fds.push_back({c.fd, events, 0});
      polled.push_back(&c);
    }
    // At the limit a waiting client evicts someone (see ServerOptions::max_connections);
    // with no one to evict, it waits in the kernel's listen backlog.
    const bool accepting = listen_fd >= 0 && now >= accept_resume &&
                           (connections.size() < options.max_connections || evictable > 0);
    fds[2] = {accepting ? listen_fd : -1, POLLIN, 0};  // poll() skips negative descriptors
    const auto wait = std::chrono::duration_cast<milliseconds>(next - now).count() + 1;
    const int ready = ::poll(fds.data(), fds.size(), static_cast<int>(std::clamp<long long>(wait, 0, 1'000)));
    if (ready < 0 && errno != EINTR) {
      fmt::print(stderr, "{}: poll: {}\n", options.program, std::strerror(errno));
      break;
    }
    now = Clock::now();
    if (ready > 0) {
      if (fds[0].revents != 0) {
        drain_pipe(stop_fd);
        if (draining) break;  // a second signal: stop waiting for the stragglers
        begin_drain(now);
      }
      if (fds[1].revents != 0) {
        drain_pipe(wake_read);
        take_completions(now);
      }
      for (std::size_t i = 0; i < polled.size(); ++i) {
        Connection& c = *polled[i];
        const short revents = fds[3 + i].revents;
        if (c.dead || revents == 0) continue;
        if ((revents & (POLLIN | POLLHUP | POLLERR)) != 0) on_readable(c, now);
        if (!c.dead && (revents & POLLOUT) != 0) write_some(c, now);
      }
      if (listen_fd >= 0 && (fds[2].revents & POLLIN) != 0) accept_all(now);
    }
    for (auto it = connections.begin(); it != connections.end();) {
      Connection& c = *it->second;
      if (!c.dead && c.phase != Phase::kProcessing && now >= c.deadline) expire(c, now);
      it = c.dead ? connections.erase(it) : std::next(it);
    }
  }
  connections.clear();
  pool.shutdown();  // requests already handed over finish (and are stored) before we return
}

void Server::Impl::begin_drain(Clock::time_point now) {
  draining = true;
  drain_deadline = now + options.drain_timeout;
  if (listen_fd >= 0) {
    ::close(listen_fd);
    listen_fd = -1;
  }
  for (auto& entry : connections) {
    Connection& c = *entry.second;
    if (c.idle()) {
      c.dead = true;
    } else if (c.phase == Phase::kDelaying) {
      respond(c, std::move(*c.delayed), now);
    } else if (c.phase == Phase::kLingering) {
      c.deadline = std::min(c.deadline, drain_deadline);
    }
  }
}

void Server::Impl::accept_all(Clock::time_point now) {
  // Slots of connections already closed this turn are free.
  for (auto it = connections.begin(); it != connections.end();) {
    it = it->second->dead ? connections.erase(it) : std::next(it);
  }
  for (std::size_t turn = 0; turn < kMaxAcceptsPerTurn; ++turn) {
    // At the limit, pick whom to evict first (no one: the client waits in the backlog), but
    // evict only once accept() has shown that a client is really there.
    Connection* victim = nullptr;
    if (connections.size() >= options.max_connections) {
      victim = eviction_victim();
      if (victim == nullptr) return;
    }
    const int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        accept_resume = now + kAcceptBackoff;
      }
      return;  // EAGAIN: the backlog is empty
    }
    // Closed without a word: a 408 would need the slot for the linger that protects it.
    if (victim != nullptr) connections.erase(std::uint64_t{victim->id});  // a copy: erase() destroys it
    // Replies are written whole; do not let Nagle hold back their last segment.
    const int yes = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
    auto owned = std::make_unique<Connection>();
    Connection& c = *owned;
    c.fd = fd;
    c.id = ++next_id;
    c.since = now;
    arm_read_deadline(c, now);
    connections.emplace(c.id, std::move(owned));
    // A client usually sends its request with the connection: take it now, so that it is being
    // handled (and cannot be evicted) before the next accept looks for a slot.
    on_readable(c, now);
    if (c.dead) connections.erase(std::uint64_t{c.id});  // a copy: erase() destroys c
  }
}

Connection* Server::Impl::eviction_victim() {
  Connection* victim = nullptr;
  for (auto& entry : connections) {
    Connection& c = *entry.second;
    const int tier = c.eviction_tier();
    if (tier < 0) continue;
    if (victim == nullptr || tier < victim->eviction_tier() ||
        (tier == victim->eviction_tier() && c.since < victim->since)) {
      victim = &c;
    }
  }
  return victim;
}

// The deadline of a connection that is reading: see ServerOptions for the three kinds.
void Server::Impl::arm_read_deadline(Connection& c, Clock::time_point now) {
  if (c.idle() && c.served) {
    c.deadline = c.since + options.idle_timeout;
  } else if (!c.head) {
    c.deadline = c.since + std::min(options.header_timeout, options.request_timeout);
  } else {
    c.deadline = std::min(now + options.body_timeout, c.since + options.request_timeout);
  }
}

void Server::Impl::on_readable(Connection& c, Clock::time_point now) {
  char buffer[kReadChunk];
  for (;;) {
    if (c.phase != Phase::kReading && c.phase != Phase::kLingering) return;
    const ssize_t n = ::recv(c.fd, buffer, sizeof buffer, 0);
    if (n > 0) {
      if (c.phase == Phase::kLingering) continue;  // discarded
      if (c.idle() && c.served) c.since = now;  // the next request on a keep-alive connection starts
      c.in.append(buffer, static_cast<std::size_t>(n));
      process(c, now);
      if (c.dead) return;
      if (c.phase == Phase::kReading) arm_read_deadline(c, now);  // the body's progress counts
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n < 0 || c.phase == Phase::kLingering) {  // a reset, or the client is done with us
      c.dead = true;
      return;
    }
    c.peer_closed = true;
    process(c, now);
    return;
  }
}

void Server::Impl::process(Connection& c, Clock::time_point now) {
  if (c.phase != Phase::kReading || c.dead) return;
  if (!c.head) {
    if (c.in.empty()) {
      if (c.peer_closed && c.out_sent >= c.out.size()) c.dead = true;  // closed between requests
      return;
    }
    HeadParse parsed = parse_request_head(c.in, options.limits);
    if (parsed.state == HeadParse::State::kError) {
      refuse(c, parsed.status, parsed.reason, now);
      return;
    }
    if (parsed.state == HeadParse::State::kIncomplete) {
      if (c.peer_closed) refuse(c, 400, "the connection closed in the middle of the request head", now);
      return;
    }
    c.in.erase(0, parsed.head.head_bytes);
    c.keep_alive = parsed.head.keep_alive;
    const std::size_t length = parsed.head.content_length;
    if (parsed.head.expect_continue && c.in.size() < length) {
      c.out += kContinueResponse;
      write_some(c, now);
      if (c.dead) return;
    }
    c.in.reserve(length);
    c.head = std::move(parsed.head);
  }
  if (c.in.size() < c.head->content_length) {
    if (c.peer_closed) refuse(c, 400, "the body is shorter than its Content-Length", now);
    return;
  }
  dispatch(c);
}

void Server::Impl::dispatch(Connection& c) {
  const std::size_t length = c.head->content_length;
  Request request = std::move(c.head->request);
  c.head.reset();
  if (c.in.size() == length) {
    request.body.swap(c.in);  // the usual case: no pipelined bytes behind the body
  } else {
    request.body.assign(c.in, 0, length);
    c.in.erase(0, length);
  }
  c.phase = Phase::kProcessing;
  pool.submit([this, id = c.id, request = std::move(request)]() mutable {
    Response response;
    try {
      response = handler(request);
    } catch (const std::exception& e) {
      response = Response::error(500, std::string("the server failed: ") + e.what());
    } catch (...) {
      response = Response::error(500, "the server failed");
    }
    {
      std::lock_guard<std::mutex> lock(completions_mutex);
      completions.push_back(Completion{id, std::move(response)});
    }
    wake();
  });
}

void Server::Impl::wake() {
  const char byte = 'w';
  // A full pipe already holds enough wake-ups; the loop takes every completion at once.
  [[maybe_unused]] const ssize_t n = ::write(wake_write, &byte, 1);
}

void Server::Impl::take_completions(Clock::time_point now) {
  std::vector<Completion> done;
  {
    std::lock_guard<std::mutex> lock(completions_mutex);
    done.swap(completions);
  }
  for (Completion& d : done) {
    const auto it = connections.find(d.connection);
    if (it == connections.end()) continue;  // the connection is gone; the reply has no reader
    Connection& c = *it->second;
    if (c.dead || c.phase != Phase::kProcessing) continue;
    if (d.response.drop_connection) {
      c.dead = true;  // closed below without a byte written: the client sees an empty reply
      continue;
    }
    if (d.response.delay.count() > 0 && !draining) {
      c.phase = Phase::kDelaying;
      c.deadline = now + d.response.delay;
      c.delayed = std::move(d.response);
      continue;
    }
    respond(c, std::move(d.response), now);
  }
}

void Server::Impl::respond(Connection& c, Response response, Clock::time_point now) {
  c.close_after_write = c.close_after_write || !c.keep_alive || draining;
  c.out += serialize_response(response, c.close_after_write);
  c.delayed.reset();
  c.phase = Phase::kWriting;
  c.deadline = now + options.write_timeout;
  write_some(c, now);
}

void Server::Impl::refuse(Connection& c, int status, std::string_view reason, Clock::time_point now) {
  // What follows on the connection cannot be framed any more (or is not wanted): close it.
  c.close_after_write = true;
  c.head.reset();
  respond(c, Response::error(status, reason), now);
}

void Server::Impl::write_some(Connection& c, Clock::time_point now) {
  while (c.out_sent < c.out.size()) {
    const ssize_t n = ::send(c.fd, c.out.data() + c.out_sent, c.out.size() - c.out_sent, MSG_NOSIGNAL);
    if (n > 0) {
      c.out_sent += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    c.dead = true;  // EPIPE, ECONNRESET: the client is gone
    return;
  }
  c.out.clear();
  c.out_sent = 0;
  if (c.phase != Phase::kWriting) return;  // an interim 100 Continue went out
  c.served = true;
  if (c.close_after_write) {
    start_linger(c, now);
    return;
  }
  c.phase = Phase::kReading;
  c.since = now;  // idle from now, or a pipelined request starts
  process(c, now);  // a pipelined request may be waiting in the buffer already
  if (!c.dead && c.phase == Phase::kReading) arm_read_deadline(c, now);
}

void Server::Impl::start_linger(Connection& c, Clock::time_point now) {
  if (c.peer_closed) {
    c.dead = true;
    return;
  }
  ::shutdown(c.fd, SHUT_WR);
  c.phase = Phase::kLingering;
  c.in.clear();
  c.in.shrink_to_fit();
  c.since = now;
  c.deadline = now + options.linger;
  if (draining) c.deadline = std::min(c.deadline, drain_deadline);
}

void Server::Impl::expire(Connection& c, Clock::time_point now) {
  switch (c.phase) {
    case Phase::kReading:
      if (c.idle()) {
        c.dead = true;  // an idle keep-alive connection: close quietly
      } else {
        refuse(c, 408, "the request did not arrive in time", now);
      }
      break;
    case Phase::kDelaying:
      respond(c, std::move(*c.delayed), now);
      break;
    case Phase::kProcessing:
      break;
    case Phase::kWriting:
    case Phase::kLingering:
      c.dead = true;
      break;
  }
}

}  // namespace referkit::http
