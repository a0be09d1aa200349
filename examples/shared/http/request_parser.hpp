// HTTP/1.1 request heads (RFC 9112), parsed strictly and within fixed limits, from whatever a
// connection has buffered so far. Pure: a server feeds it bytes and acts on the verdict (reply
// with `status` and close, or read `content_length` body bytes), and the fuzz target feeds it
// anything.
//
// Bodies must come with Content-Length: every client of these servers (libcurl with our
// transport, the Segment SDKs, the tests) sends one. Transfer-Encoding (chunked uploads) is
// refused with 411 rather than half-supported.
#ifndef REFERKIT_EXAMPLES_SHARED_HTTP_REQUEST_PARSER_HPP
#define REFERKIT_EXAMPLES_SHARED_HTTP_REQUEST_PARSER_HPP

#include <cstddef>
#include <string>
#include <string_view>

#include "http/message.hpp"

namespace referkit::http {

struct Limits {
  std::size_t max_head_bytes = 32 * 1024;  // request line and headers together, blank line included
  std::size_t max_headers = 100;
  std::size_t max_body_bytes = 1024 * 1024;  // larger Content-Length: 413 before reading the body
};

struct RequestHead {
  Request request;  // everything but the body
  std::size_t head_bytes = 0;  // bytes of the buffer the head took, blank line included
  std::size_t content_length = 0;
  bool keep_alive = true;
  bool expect_continue = false;  // the client waits for "100 Continue" before sending the body
};

struct HeadParse {
  enum class State {
    kIncomplete,  // the blank line has not arrived yet (and the limit is not reached)
    kComplete,
    kError,  // answer `status` with `reason`, then close the connection
  };
  State state = State::kIncomplete;
  int status = 0;      // kError: 400, 411, 413, 417, 431 or 505
  std::string reason;  // kError: for the reply body, never echoing the request's bytes
  RequestHead head;    // kComplete
};

// Parses the head at the start of `buffer`. Empty lines before the request line are skipped
// (RFC 9112 section 2.2); they count towards head_bytes. Framing is checked before anything else
// about the headers (Transfer-Encoding, Content-Length, then Host, then Expect), so a request
// that cannot be framed always gets the framing error.
HeadParse parse_request_head(std::string_view buffer, const Limits& limits);

}  // namespace referkit::http

#endif  // REFERKIT_EXAMPLES_SHARED_HTTP_REQUEST_PARSER_HPP
