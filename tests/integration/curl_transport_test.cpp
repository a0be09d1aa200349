// The libcurl transport against the in-process test server on 127.0.0.1.
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "referkit/transport.hpp"
#include "support/http_test_server.hpp"
#include "support/loopback.hpp"
#include "transport/gzip.hpp"

using referkit::HttpOptions;
using referkit::HttpRequest;
using referkit::HttpResponse;
using referkit::make_curl_transport;
using referkit::StatusCode;
using referkit::Transport;
using referkit::test::HttpTestServer;
using referkit::test::Reply;
using referkit::test::Request;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

constexpr std::size_t kMiB = std::size_t{1} << 20;

// libcurl honours http_proxy and friends when HttpOptions::proxy is empty; these tests talk to
// 127.0.0.1 only and must never go through a developer's proxy. Done once, before any server
// thread exists.
void bypass_proxies_for_loopback() {
  static std::once_flag once;
  std::call_once(once, [] {
    ::setenv("no_proxy", "127.0.0.1,localhost", 1);
    ::setenv("NO_PROXY", "127.0.0.1,localhost", 1);
  });
}

std::unique_ptr<Transport> make_transport(HttpOptions options = {}) {
  bypass_proxies_for_loopback();
  auto transport = make_curl_transport(options);
  REQUIRE_MESSAGE(transport.ok(), transport.status().to_string());
  return std::move(*transport);
}

HttpRequest post(const std::string& url, std::string body = "{}") {
  HttpRequest request;
  request.url = url;
  request.headers = {{"Content-Type", "application/json"}};
  request.body = std::move(body);
  return request;
}

milliseconds since(Clock::time_point start) {
  return std::chrono::duration_cast<milliseconds>(Clock::now() - start);
}

// A port on 127.0.0.1 that nothing listens on: bound to reserve it from the kernel, then closed.
// Raw exchange with the test server, for what our client never sends: writes `data`, then reads
// until the server closes the connection or `expected_responses` status lines have arrived.
std::string raw_exchange(std::uint16_t port, const std::string& data, int expected_responses) {
  const int fd = referkit::test::connect_loopback(port);
  REQUIRE(fd >= 0);
  REQUIRE(::send(fd, data.data(), data.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(data.size()));
  std::string in;
  const auto deadline = Clock::now() + milliseconds(10'000);
  auto responses = [&in] {
    int n = 0;
    for (std::size_t p = 0; (p = in.find("HTTP/1.1 ", p)) != std::string::npos; ++p) ++n;
    return n;
  };
  while (responses() < expected_responses && Clock::now() < deadline) {
    pollfd pfd{fd, POLLIN, 0};
    if (::poll(&pfd, 1, 100) <= 0) continue;
    char buffer[4096];
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    in.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return in;
}

Reply ok_reply(const Request&) { return Reply::json(200, R"({"accepted":1})"); }

}  // namespace

TEST_SUITE("transport") {

TEST_CASE("the request arrives intact and the response comes back") {
  HttpTestServer server([](const Request&) {
    Reply reply = Reply::json(202, R"({"accepted":3,"rejected":[]})");
    reply.headers.emplace_back("X-Echo", "yes");
    return reply;
  });
  auto transport = make_transport();
  std::string body;
  for (int i = 0; i < 100'000; ++i) body += static_cast<char>(i % 256);  // every byte value
  HttpRequest request = post(server.url() + "/v1/batch?x=1", body);
  request.headers = {{"Content-Type", "application/json"},
                     {"Content-Encoding", "gzip"},
                     {"Authorization", "Basic d2s6"},
                     {"User-Agent", "referkit-cpp/0.1.0"},
                     {"X-Referkit-Batch-Id", "b-123"},
                     {"X-Referkit-Attempt", "2"},
                     {"X-Empty", ""}};

  const HttpResponse response = transport->send(request);
  REQUIRE_MESSAGE(response.status.ok(), response.status.to_string());
  CHECK(response.code == 202);
  CHECK(response.body == R"({"accepted":3,"rejected":[]})");
  CHECK_FALSE(response.retry_after.has_value());

  REQUIRE(server.request_count() == 1);
  const Request seen = server.requests().at(0);
  CHECK(seen.method == "POST");
  CHECK(seen.target == "/v1/batch?x=1");
  CHECK(seen.version == "HTTP/1.1");
  CHECK(seen.body == body);
  CHECK(seen.header("Content-Length") == std::to_string(body.size()));
  CHECK(seen.header_count("Content-Type") == 1);
  CHECK(seen.header("Content-Type") == "application/json");
  CHECK(seen.header("content-encoding") == "gzip");
  CHECK(seen.header("Authorization") == "Basic d2s6");
  CHECK(seen.header("User-Agent") == "referkit-cpp/0.1.0");
  CHECK(seen.header("X-Referkit-Batch-Id") == "b-123");
  CHECK(seen.header("X-Referkit-Attempt") == "2");
  CHECK(seen.header("X-Empty") == "");
  CHECK(seen.header_count("Expect") == 0);  // no 100-continue round trip
  CHECK(seen.header_count("Transfer-Encoding") == 0);
}

TEST_CASE("no Content-Type is sent unless the request has one") {
  HttpTestServer server(ok_reply);
  auto transport = make_transport();
  HttpRequest request = post(server.url() + "/v1/batch");
  request.headers.clear();
  REQUIRE(transport->send(request).status.ok());
  CHECK(server.requests().at(0).header_count("Content-Type") == 0);
}

TEST_CASE("an empty body is sent as Content-Length: 0") {
  HttpTestServer server(ok_reply);
  auto transport = make_transport();
  REQUIRE(transport->send(post(server.url() + "/v1/batch", "")).status.ok());
  CHECK(server.requests().at(0).header("Content-Length") == "0");
  CHECK(server.requests().at(0).body.empty());
}

TEST_CASE("consecutive sends reuse one connection") {
  HttpTestServer server(ok_reply);
  auto transport = make_transport();
  for (int i = 0; i < 5; ++i) {
    const HttpResponse response = transport->send(post(server.url() + "/v1/batch", std::string(5'000, 'a')));
    REQUIRE_MESSAGE(response.status.ok(), response.status.to_string());
    CHECK(response.code == 200);
  }
  CHECK(server.request_count() == 5);
  CHECK(server.connections_accepted() == 1);
}

TEST_CASE("error statuses are responses, and Retry-After is captured") {
  HttpTestServer server([](const Request&) {
    Reply reply = Reply::json(429, R"({"error":"slow down"})");
    reply.headers.emplace_back("retry-after", "  7 ");  // any case, whitespace trimmed
    return reply;
  });
  auto transport = make_transport();
  const HttpResponse response = transport->send(post(server.url() + "/v1/batch"));
  REQUIRE_MESSAGE(response.status.ok(), response.status.to_string());
  CHECK(response.code == 429);
  CHECK(response.retry_after == "7");
  CHECK(response.body == R"({"error":"slow down"})");

  SUBCASE("and it does not leak into the next response") {
    HttpTestServer plain(ok_reply);
    const HttpResponse next = transport->send(post(plain.url() + "/v1/batch"));
    REQUIRE(next.status.ok());
    CHECK_FALSE(next.retry_after.has_value());
  }
}

TEST_CASE("a response body over 1 MiB is cut at 1 MiB without an error") {
  std::string big;
  for (std::size_t i = 0; i < kMiB + kMiB / 2; ++i) big += static_cast<char>('a' + i % 26);
  HttpTestServer server([&big](const Request&) { return Reply::text(200, big); });
  auto transport = make_transport();
  const HttpResponse response = transport->send(post(server.url() + "/v1/batch"));
  REQUIRE_MESSAGE(response.status.ok(), response.status.to_string());
  CHECK(response.code == 200);
  CHECK(response.body.size() == kMiB);
  CHECK(response.body == big.substr(0, kMiB));
  // The rest was read and discarded, so the connection is still good for the next request.
  REQUIRE(transport->send(post(server.url() + "/v1/batch")).status.ok());
  CHECK(server.connections_accepted() == 1);
}

TEST_CASE("connection refused is unavailable, quickly") {
  auto transport = make_transport();
  const referkit::test::ClosedPort down;
  const auto start = Clock::now();
  const HttpResponse response = transport->send(post(down.url() + "/v1/batch"));
  CHECK(response.status.code() == StatusCode::kUnavailable);
  CHECK_FALSE(response.status.message().empty());
  CHECK(response.code == 0);
  CHECK(since(start) < milliseconds(5'000));
}

TEST_CASE("a server that drops the connection after reading the request: unavailable") {
  HttpTestServer server([](const Request&) { return Reply::close_without_reply(); });
  auto transport = make_transport();
  const HttpResponse response = transport->send(post(server.url() + "/v1/batch"));
  CHECK(response.status.code() == StatusCode::kUnavailable);
  CHECK_FALSE(response.status.message().empty());
  CHECK(server.request_count() >= 1);
}

TEST_CASE("a server that never replies: deadline exceeded after total_timeout") {
  HttpTestServer server([](const Request&) { return Reply::never_reply(); });
  HttpOptions options;
  options.total_timeout = milliseconds(300);
  auto transport = make_transport(options);
  const auto start = Clock::now();
  const HttpResponse response = transport->send(post(server.url() + "/v1/batch"));
  const auto elapsed = since(start);
  CHECK(response.status.code() == StatusCode::kDeadlineExceeded);
  CHECK(elapsed >= milliseconds(250));
  CHECK(elapsed < milliseconds(10'000));  // generous for sanitizer builds
}

TEST_CASE("cancel() aborts a request in flight, reset_cancel() re-enables sending") {
  HttpTestServer server([](const Request& r) {
    return r.target == "/hang" ? Reply::never_reply() : Reply::json(200, "{}");
  });
  HttpOptions options;
  options.total_timeout = milliseconds(60'000);
  auto transport = make_transport(options);

  auto pending = std::async(std::launch::async, [&] { return transport->send(post(server.url() + "/hang")); });
  REQUIRE(server.wait_for_requests(1, milliseconds(10'000)));
  const auto cancelled_at = Clock::now();
  transport->cancel();
  REQUIRE(pending.wait_for(milliseconds(10'000)) == std::future_status::ready);
  const HttpResponse response = pending.get();
  CHECK(since(cancelled_at) < milliseconds(5'000));
  CHECK(response.status.code() == StatusCode::kFailedPrecondition);
  CHECK(response.status.message() == "cancelled");

  // Still cancelled: returns at once without touching the network.
  CHECK(transport->send(post(server.url() + "/v1/batch")).status.code() == StatusCode::kFailedPrecondition);
  CHECK(server.request_count() == 1);

  transport->reset_cancel();
  const HttpResponse after = transport->send(post(server.url() + "/v1/batch"));
  REQUIRE_MESSAGE(after.status.ok(), after.status.to_string());
  CHECK(after.code == 200);
}

TEST_CASE("cancel() also aborts a connect that hangs") {
  // A listener whose backlog is full and that never accepts: the kernel drops further SYNs,
  // so connect() hangs. Only loopback is involved.
  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(listener >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(listener, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::listen(listener, 0) == 0);
  socklen_t len = sizeof addr;
  REQUIRE(::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  // Fill the accept queue with connections nobody accepts.
  std::vector<int> fillers;
  for (int i = 0; i < 8; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    REQUIRE(fd >= 0);
    (void)::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
    fillers.push_back(fd);
  }
  HttpOptions options;
  options.connect_timeout = milliseconds(60'000);
  options.total_timeout = milliseconds(60'000);
  auto transport = make_transport(options);
  const std::string url = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/v1/batch";
  auto pending = std::async(std::launch::async, [&] { return transport->send(post(url)); });
  std::this_thread::sleep_for(milliseconds(300));  // let it reach connect(); no event to wait for
  const auto cancelled_at = Clock::now();
  transport->cancel();
  const bool finished = pending.wait_for(milliseconds(10'000)) == std::future_status::ready;
  for (int fd : fillers) ::close(fd);
  ::close(listener);
  REQUIRE(finished);
  const HttpResponse response = pending.get();
  // If the kernel let the connection through after all, the request may instead have been
  // cancelled while waiting for a reply; either way it is cancelled, promptly.
  CHECK(response.status.code() == StatusCode::kFailedPrecondition);
  CHECK(since(cancelled_at) < milliseconds(5'000));
}

TEST_CASE("a forked child sends through its own connection, the parent's stays usable") {
  HttpTestServer server([](const Request&) { return Reply::json(200, "{}"); });
  auto transport = make_transport();
  // The parent's connection is open and idle in the handle when the child is forked.
  REQUIRE(transport->send(post(server.url() + "/v1/batch", "parent-1")).status.ok());

  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // No doctest here: report through the exit status, and skip atexit handlers.
    HttpRequest request = post(server.url() + "/v1/batch", "child");
    const HttpResponse response = transport->send(request);
    ::_exit(!response.status.ok() ? 10 + static_cast<int>(response.status.code()) : response.code == 200 ? 0 : 2);
  }
  int wstatus = 0;
  pid_t waited = 0;
  const auto deadline = Clock::now() + milliseconds(30'000);
  while ((waited = ::waitpid(child, &wstatus, WNOHANG)) == 0 && Clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  if (waited == 0) {
    ::kill(child, SIGKILL);
    ::waitpid(child, &wstatus, 0);
    FAIL("the child did not finish within 30 s");
  }
  REQUIRE(WIFEXITED(wstatus));
  CHECK(WEXITSTATUS(wstatus) == 0);

  REQUIRE(transport->send(post(server.url() + "/v1/batch", "parent-2")).status.ok());
  const auto requests = server.requests();
  REQUIRE(requests.size() == 3);
  CHECK(requests[0].body == "parent-1");
  CHECK(requests[1].body == "child");
  CHECK(requests[2].body == "parent-2");
  // The child opened a connection of its own, and left the parent's alone: the parent's next
  // request still goes over its first connection.
  CHECK(requests[1].connection != requests[0].connection);
  CHECK(requests[2].connection == requests[0].connection);
}

TEST_CASE("HttpOptions::proxy sends the request through the proxy") {
  // The test server plays the proxy; the target host is never resolved or contacted, because
  // a plain-HTTP proxy gets the whole URL in the request line.
  HttpTestServer proxy(ok_reply);
  HttpOptions options;
  options.proxy = proxy.url();
  auto transport = make_transport(options);
  const HttpResponse response = transport->send(post("http://ingest.invalid/v1/batch"));
  REQUIRE_MESSAGE(response.status.ok(), response.status.to_string());
  REQUIRE(proxy.request_count() == 1);
  CHECK(proxy.requests().at(0).target == "http://ingest.invalid/v1/batch");
}

TEST_CASE("bad requests and options are refused without network I/O") {
  HttpTestServer server(ok_reply);
  auto transport = make_transport();
  HttpRequest injected = post(server.url() + "/v1/batch");
  injected.headers.emplace_back("X-Evil", "a\r\nX-Injected: 1");
  CHECK(transport->send(injected).status.code() == StatusCode::kInvalidArgument);
  HttpRequest bad_name = post(server.url() + "/v1/batch");
  bad_name.headers.emplace_back("Bad Name", "x");
  CHECK(transport->send(bad_name).status.code() == StatusCode::kInvalidArgument);
  HttpRequest framing = post(server.url() + "/v1/batch");
  framing.headers.emplace_back("Content-Length", "5");
  CHECK(transport->send(framing).status.code() == StatusCode::kInvalidArgument);
  // Only http and https: other schemes are refused by libcurl before any I/O.
  CHECK(transport->send(post("file:///etc/passwd")).status.code() == StatusCode::kInvalidArgument);
  CHECK(transport->send(post("ftp://127.0.0.1:1/x")).status.code() == StatusCode::kInvalidArgument);
  CHECK(server.request_count() == 0);

  HttpOptions no_timeout;
  no_timeout.total_timeout = milliseconds(0);
  CHECK(make_curl_transport(no_timeout).status().code() == StatusCode::kInvalidArgument);
  HttpOptions no_connect_timeout;
  no_connect_timeout.connect_timeout = milliseconds(-1);
  CHECK(make_curl_transport(no_connect_timeout).status().code() == StatusCode::kInvalidArgument);
}

TEST_CASE("the test server answers pipelined requests in order and refuses what it cannot frame") {
  HttpTestServer server([](const Request& r) { return Reply::text(200, r.target + ":" + r.body); });
  const std::string two = "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nonePOST /b HTTP/1.1\r\n"
                          "host: x\r\ncontent-length: 3\r\n\r\ntwo";
  const std::string replies = raw_exchange(server.port(), two, 2);
  CHECK(replies.find("/a:one") != std::string::npos);
  CHECK(replies.find("/b:two") != std::string::npos);
  CHECK(replies.find("/a:one") < replies.find("/b:two"));

  const std::string chunked =
      raw_exchange(server.port(), "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", 1);
  CHECK(chunked.rfind("HTTP/1.1 411 ", 0) == 0);
  const std::string too_big = raw_exchange(server.port(), "POST /d HTTP/1.1\r\nContent-Length: 999999999\r\n\r\n", 1);
  CHECK(too_big.rfind("HTTP/1.1 413 ", 0) == 0);
  const std::string huge_header = raw_exchange(server.port(), "POST /e HTTP/1.1\r\nX: " + std::string(70'000, 'a'), 1);
  CHECK(huge_header.rfind("HTTP/1.1 431 ", 0) == 0);
  CHECK(server.request_count() == 2);  // refused requests never reach the handler
}

TEST_CASE("the test server's collector counts Segment events by messageId") {
  referkit::test::SegmentCollector collector;
  HttpTestServer server(collector.handler());
  auto transport = make_transport();
  const std::string batch =
      R"({"batch":[{"type":"track","messageId":"m1"},{"type":"track","messageId":"m2"},{"type":"track"}]})";
  HttpResponse first = transport->send(post(server.url() + "/v1/batch", batch));
  REQUIRE(first.status.ok());
  CHECK(first.code == 200);
  CHECK(first.body == R"({"accepted":2,"duplicates":0,"rejected":[{"messageId":"","reason":"missing messageId"}]})");
  HttpResponse again = transport->send(post(server.url() + "/v1/batch", batch));
  CHECK(again.body == R"({"accepted":0,"duplicates":2,"rejected":[{"messageId":"","reason":"missing messageId"}]})");
  CHECK(collector.unique_events() == 2);
  CHECK(collector.duplicate_events() == 2);
  CHECK(collector.message_counts().at("m1") == 2);
  CHECK(collector.events().at(0) == R"({"type":"track","messageId":"m1"})");
  CHECK(transport->send(post(server.url() + "/v1/batch", "not json")).code == 400);

  HttpRequest gzipped = post(server.url() + "/v1/batch",
                             referkit::detail::gzip_compress(R"({"batch":[{"messageId":"m3"}]})", 1));
  gzipped.headers.emplace_back("Content-Encoding", "gzip");
  const HttpResponse third = transport->send(gzipped);
  CHECK(third.code == 200);
  CHECK(collector.unique_events() == 3);
  CHECK(collector.batches() == 3);
}

}  // TEST_SUITE
