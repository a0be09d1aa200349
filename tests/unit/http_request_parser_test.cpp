// The shared HTTP/1.1 library (examples/shared/http): request heads parsed strictly within their
// limits, header lookup, and response serialization. The servers' own behaviour over sockets is
// tested in tests/integration (ingest_server_test, curl_transport_test).
#include <doctest/doctest.h>

#include <string>
#include <string_view>

#include "http/message.hpp"
#include "http/request_parser.hpp"

using namespace referkit::http;
using State = HeadParse::State;

namespace {

HeadParse parse(std::string_view text, Limits limits = {}) { return parse_request_head(text, limits); }

int status_of(std::string_view text, Limits limits = {}) {
  const HeadParse p = parse(text, limits);
  return p.state == State::kError ? p.status : 0;
}

}  // namespace

TEST_SUITE("http") {

TEST_CASE("a complete head: request line, headers, framing and connection") {
  const std::string text =
      "POST /v1/batch?x=1 HTTP/1.1\r\nHost: a\r\ncontent-length: 2\r\nX-Pad:  spaced value \t\r\n\r\n{}";
  const HeadParse p = parse(text);
  REQUIRE(p.state == State::kComplete);
  const Request& r = p.head.request;
  CHECK(r.method == "POST");
  CHECK(r.target == "/v1/batch?x=1");
  CHECK(r.path() == "/v1/batch");
  CHECK(r.version == "HTTP/1.1");
  REQUIRE(r.headers.size() == 3);
  CHECK(r.headers[1].first == "content-length");  // names as sent
  CHECK(r.header("Content-Length") == "2");       // looked up case-insensitively
  CHECK(r.header("x-pad") == "spaced value");     // values without surrounding OWS
  CHECK(r.header_count("HOST") == 1);
  CHECK_FALSE(r.header("Missing").has_value());
  CHECK(r.body.empty());
  CHECK(p.head.content_length == 2);
  CHECK(p.head.head_bytes == text.size() - 2);
  CHECK(p.head.keep_alive);
  CHECK_FALSE(p.head.expect_continue);
}

TEST_CASE("incomplete heads wait; leading empty lines are skipped") {
  CHECK(parse("GET / HTTP/1.1\r\nHost: a\r\n").state == State::kIncomplete);
  CHECK(parse("").state == State::kIncomplete);
  const HeadParse p = parse("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n");
  REQUIRE(p.state == State::kComplete);
  CHECK(p.head.head_bytes == 4 + 27);  // the empty lines count too
}

TEST_CASE("keep-alive follows the version and the Connection list") {
  CHECK(parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: foo, Close\r\n\r\n").head.keep_alive == false);
  CHECK(parse("GET / HTTP/1.0\r\n\r\n").head.keep_alive == false);
  CHECK(parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").head.keep_alive == true);
}

TEST_CASE("Expect: 100-continue is honoured only with a body; other expectations get 417") {
  CHECK(parse("POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 5\r\n\r\n").head.expect_continue);
  CHECK_FALSE(parse("POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n").head.expect_continue);
  CHECK(status_of("POST / HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\n\r\n") == 417);
}

TEST_CASE("malformed request lines and headers get 400, other versions 505") {
  CHECK(status_of("GET  / HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
  CHECK(status_of("GET / HTTP/1.1 x\r\nHost: a\r\n\r\n") == 400);
  CHECK(status_of("G(T / HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
  CHECK(status_of("GET /\x7f HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
  CHECK(status_of("GET / FTP/1.1\r\nHost: a\r\n\r\n") == 400);
  CHECK(status_of("GET / HTTP/2.0\r\nHost: a\r\n\r\n") == 505);
  CHECK(status_of("GET / HTTP/1.1\r\nBad Header: v\r\n\r\n") == 400);
  CHECK(status_of("GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n") == 400);
  CHECK(status_of("GET / HTTP/1.1\r\nNo-Colon\r\n\r\n") == 400);
  CHECK(status_of(std::string_view("GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n", 30)) == 400);
  CHECK(status_of("GET / HTTP/1.1\r\n\r\n") == 400);  // HTTP/1.1 needs Host
}

TEST_CASE("framing: Content-Length must be digits and agree; chunked gets 411; too large 413") {
  CHECK(status_of("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n") == 400);
  CHECK(status_of("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n") == 400);
  CHECK(status_of("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\ncontent-length: 3\r\n\r\n") == 0);
  CHECK(status_of("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1234567890123456789\r\n\r\n") == 400);
  Limits small;
  small.max_body_bytes = 10;
  CHECK(status_of("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n", small) == 413);
  CHECK(status_of("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n", small) == 0);
  // Framing errors come first, whatever else is wrong (here: no Host).
  CHECK(status_of("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n") == 411);
  CHECK(status_of("POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n", small) == 413);
}

TEST_CASE("limits on the head: its size and its number of fields give 431 with a reason") {
  Limits limits;
  limits.max_head_bytes = 64;
  limits.max_headers = 2;
  const HeadParse big = parse("GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(100, 'a'), limits);
  CHECK(big.state == State::kError);
  CHECK(big.status == 431);
  CHECK(big.reason == "the request head exceeds 64 bytes");
  CHECK(parse("GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(20, 'a'), limits).state == State::kIncomplete);
  const HeadParse many = parse("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n", limits);
  CHECK(many.status == 431);
  CHECK(many.reason == "more than 2 header fields");
}

TEST_CASE("serialize_response frames the body itself") {
  const std::string out = serialize_response(
      404, {{"Content-Type", "text/plain"}, {"content-length", "999"}, {"Connection", "keep-alive"}}, "nope", true);
  CHECK(out ==
        "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 4\r\nConnection: close\r\n\r\nnope");
  CHECK(serialize_response(200, {}, "", false) == "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  CHECK(std::string_view(reason_phrase(599)) == "Unknown");
  CHECK(kContinueResponse == "HTTP/1.1 100 Continue\r\n\r\n");
}

}  // TEST_SUITE
