// The response a Server's handler returns: plain data, no sockets. Besides status, headers and
// body it can ask the server to close without replying or to hold the reply back, which
// referkit-ingest's fault injection uses. Errors share one JSON body shape across the servers.
#ifndef REFERKIT_EXAMPLES_SHARED_HTTP_RESPONSE_HPP
#define REFERKIT_EXAMPLES_SHARED_HTTP_RESPONSE_HPP

#include <chrono>
#include <string>
#include <string_view>

#include "http/message.hpp"

namespace referkit::http {

struct Response {
  int status = 200;
  HeaderList headers;  // Content-Length and Connection are added by the server
  std::string body;
  // Fault injection: close the connection without sending anything.
  bool drop_connection = false;
  // Fault injection: hold the response this long before sending it (the worker is not held).
  std::chrono::milliseconds delay{0};

  static Response json(int status, std::string body);
  static Response text(int status, std::string body);
  // {"error":"<a stable code for the status>","reason":"<reason>"}: every refusal looks alike,
  // whether the HTTP layer or the service behind it refuses.
  static Response error(int status, std::string_view reason);
  // 405 with Allow: `allow`.
  static Response method_not_allowed(std::string_view allow);
  // 401 with WWW-Authenticate: Basic realm="<realm>".
  static Response unauthorized(std::string_view reason, std::string_view realm);
};

// serialize_response() of message.hpp, of its parts.
std::string serialize_response(const Response& response, bool close_connection);

}  // namespace referkit::http

#endif  // REFERKIT_EXAMPLES_SHARED_HTTP_RESPONSE_HPP
