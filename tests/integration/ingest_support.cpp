#include "ingest_support.hpp"

#include <doctest/doctest.h>
#include <poll.h>
#include <simdjson.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <mutex>

#include "common/text.hpp"
#include "crypto/encoding.hpp"
#include "support/json_field.hpp"
#include "support/loopback.hpp"
#include "transport/gzip.hpp"

namespace referkit::test::ingest {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// libcurl honours http_proxy when no proxy is configured; loopback tests must never use one.
void bypass_proxies() {
  static std::once_flag once;
  std::call_once(once, [] {
    ::setenv("no_proxy", "127.0.0.1,localhost", 1);
    ::setenv("NO_PROXY", "127.0.0.1,localhost", 1);
  });
}

// The status code of a response head, 0 when it is not one.
int status_of(std::string_view head) {
  if (head.size() < 12 || head.substr(0, 5) != "HTTP/") return 0;
  return std::atoi(std::string(head.substr(9, 3)).c_str());
}

std::optional<std::size_t> content_length(std::string_view head) {
  const std::string lower = detail::ascii_lowercase(head);
  const auto at = lower.find("\r\ncontent-length:");
  if (at == std::string::npos) return std::nullopt;
  return static_cast<std::size_t>(std::strtoull(lower.c_str() + at + 17, nullptr, 10));
}

}  // namespace

TempDir::TempDir() {
  char pattern[] = "/tmp/referkit-ingest-test-XXXXXX";
  REQUIRE(::mkdtemp(pattern) != nullptr);
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

IngestServer::IngestServer(const std::string& db, const std::vector<std::string>& extra)
    : process_([&] {
        std::vector<std::string> args = {"--db", db, "--write-key", "wk"};
        if (std::find(extra.begin(), extra.end(), "--listen") == extra.end()) {
          args.insert(args.end(), {"--listen", "127.0.0.1:0"});
        }
        args.insert(args.end(), extra.begin(), extra.end());
        return Process::start(REFERKIT_INGEST_PATH, args);
      }()) {
  const auto line = process_.read_line(std::chrono::seconds(15));
  REQUIRE_MESSAGE(line.has_value(), "referkit-ingest printed nothing; stderr: " << process_.stderr_text());
  constexpr std::string_view prefix = "listening on http://127.0.0.1:";
  REQUIRE_MESSAGE(line->rfind(prefix, 0) == 0, "first line: " << *line);
  url_ = line->substr(std::string_view("listening on ").size());
  port_ = static_cast<std::uint16_t>(std::stoul(line->substr(prefix.size())));
}

ExitStatus IngestServer::stop() { return process_.terminate(std::chrono::seconds(15)); }

std::string track_json(std::string_view message_id, std::string_view name) {
  return std::string(R"({"type":"track","event":")") + std::string(name) + R"(","messageId":")" +
         std::string(message_id) +
         R"(","anonymousId":"visitor-1","timestamp":"2026-11-27T09:30:00.123Z","properties":{"total":19.90,"currency":"EUR"}})";
}

std::string batch_json(const std::vector<std::string>& events) {
  std::string out = R"({"batch":[)";
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (i > 0) out += ',';
    out += events[i];
  }
  out += R"(],"sentAt":"2026-11-27T09:30:01.000Z","context":{"library":{"name":"test","version":"0"}}})";
  return out;
}

std::string basic_auth(std::string_view write_key) {
  return "Basic " + detail::base64_encode(std::string(write_key) + ":");
}

HttpResponse post_batch(const std::string& url, std::string body, const PostOptions& options) {
  bypass_proxies();
  HttpOptions http;
  http.connect_timeout = std::chrono::seconds(5);
  http.total_timeout = std::chrono::seconds(20);
  auto transport = make_curl_transport(http);
  REQUIRE(transport.ok());
  HttpRequest request;
  request.url = url + "/v1/batch";
  request.headers = {{"Content-Type", "application/json"}};
  if (!options.write_key.empty()) request.headers.emplace_back("Authorization", basic_auth(options.write_key));
  if (options.gzip) {
    body = detail::gzip_compress(body, 6);
    request.headers.emplace_back("Content-Encoding", "gzip");
  }
  request.headers.insert(request.headers.end(), options.extra_headers.begin(), options.extra_headers.end());
  request.body = std::move(body);
  return (*transport)->send(request);
}

RawReply raw_exchange(std::uint16_t port, std::string_view bytes, bool half_close, milliseconds timeout) {
  RawReply reply;
  const int fd = connect_loopback(port);
  REQUIRE(fd >= 0);
  const auto deadline = Clock::now() + timeout;
  auto remaining_ms = [&] {
    return static_cast<int>(std::max<long long>(
        0, std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count()));
  };
  // Send and read at once: the server may answer (and stop reading) before the whole request is out.
  std::size_t sent = 0;
  bool writing = !bytes.empty();
  if (!writing && half_close) ::shutdown(fd, SHUT_WR);
  std::string in;
  for (;;) {
    pollfd p{fd, static_cast<short>(POLLIN | (writing ? POLLOUT : 0)), 0};
    if (::poll(&p, 1, remaining_ms()) <= 0) break;  // timed out
    if ((p.revents & POLLOUT) != 0 && writing) {
      const ssize_t n = ::send(fd, bytes.data() + sent, std::min<std::size_t>(bytes.size() - sent, 65536),
                               MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) sent += static_cast<std::size_t>(n);
      if (n < 0 && errno != EAGAIN) writing = false;  // the server stopped reading and reset
      if (sent == bytes.size()) {
        writing = false;
        if (half_close) ::shutdown(fd, SHUT_WR);
      }
    }
    if ((p.revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      char buffer[65536];
      const ssize_t n = ::recv(fd, buffer, sizeof buffer, MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN)) {
        reply.closed = true;
        break;
      }
      if (n > 0) in.append(buffer, static_cast<std::size_t>(n));
      const auto end = in.find("\r\n\r\n");
      if (end != std::string::npos) {
        const auto length = content_length(std::string_view(in).substr(0, end + 2));
        if (length && in.size() >= end + 4 + *length) break;
      }
    }
  }
  ::close(fd);
  const auto end = in.find("\r\n\r\n");
  if (end != std::string::npos) {
    reply.head = in.substr(0, end + 2);
    reply.body = in.substr(end + 4);
    reply.status = status_of(reply.head);
  }
  return reply;
}

RawClient::RawClient(std::uint16_t port) : fd_(connect_loopback(port)) { REQUIRE(fd_ >= 0); }

RawClient::~RawClient() { ::close(fd_); }

bool RawClient::send(std::string_view bytes) {
  while (!closed_ && !bytes.empty()) {
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      closed_ = closed_ || errno != EAGAIN;
      return !closed_ && n >= 0;
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return !closed_;
}

RawReply RawClient::read(milliseconds timeout) {
  RawReply reply;
  const auto deadline = Clock::now() + timeout;
  const auto whole_reply = [this]() -> std::size_t {  // its length, 0 until it is all here
    const auto end = in_.find("\r\n\r\n");
    if (end == std::string::npos) return 0;
    const std::size_t length = content_length(std::string_view(in_).substr(0, end + 2)).value_or(0);
    return in_.size() >= end + 4 + length ? end + 4 + length : 0;
  };
  while (!closed_ && whole_reply() == 0) {
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) break;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;  // EINTR, or the deadline: checked above
    char buffer[65536];
    const ssize_t n = ::recv(fd_, buffer, sizeof buffer, MSG_DONTWAIT);
    if (n > 0) in_.append(buffer, static_cast<std::size_t>(n));
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) closed_ = true;
  }
  reply.closed = closed_;
  const std::size_t length = whole_reply();
  const std::string taken = length > 0 ? in_.substr(0, length) : in_;
  in_.erase(0, taken.size());
  const auto end = taken.find("\r\n\r\n");
  if (end != std::string::npos) {
    reply.head = taken.substr(0, end + 2);
    reply.body = taken.substr(end + 4);
    reply.status = status_of(reply.head);
  }
  return reply;
}

std::string http_get(std::uint16_t port, std::string_view path) {
  const std::string request = "GET " + std::string(path) + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  RawReply reply = raw_exchange(port, request);
  REQUIRE_MESSAGE(reply.status == 200, "GET " << path << ": " << reply.head << reply.body);
  return reply.body;
}

std::uint64_t stat(std::uint16_t port, std::string_view key) { return json_uint(http_get(port, "/v1/stats"), key); }

std::uint64_t stat_by_event(std::uint16_t port, std::string_view event) {
  const std::string body = http_get(port, "/v1/stats");
  simdjson::dom::parser parser;
  std::uint64_t value = 0;
  if (parser.parse(body).at_key("by_event").at_key(event).get_uint64().get(value) != simdjson::SUCCESS) return 0;
  return value;
}

DbContents read_db(const std::string& path) {
  DbContents contents;
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &s, nullptr) == SQLITE_OK);
  while (sqlite3_step(s) == SQLITE_ROW) {
    if (!contents.integrity.empty()) contents.integrity += "; ";
    contents.integrity += reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
  }
  sqlite3_finalize(s);
  contents.integrity_ok = contents.integrity == "ok";
  REQUIRE(sqlite3_prepare_v2(db, "SELECT message_id FROM events", -1, &s, nullptr) == SQLITE_OK);
  while (sqlite3_step(s) == SQLITE_ROW) {
    ++contents.rows;
    contents.message_ids.emplace(reinterpret_cast<const char*>(sqlite3_column_text(s, 0)));
  }
  sqlite3_finalize(s);
  REQUIRE(sqlite3_prepare_v2(db, "SELECT coalesce(event, '') FROM events ORDER BY rowid", -1, &s, nullptr) == SQLITE_OK);
  while (sqlite3_step(s) == SQLITE_ROW) {
    contents.events_in_order.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(s, 0)));
  }
  sqlite3_finalize(s);
  sqlite3_close(db);
  return contents;
}

}  // namespace referkit::test::ingest
