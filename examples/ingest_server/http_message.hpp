// Requests and responses as the server's handler sees them: plain data, no sockets. Requests and
// the wire format are the shared HTTP library's (examples/shared/http); the response type is the
// ingest server's own, with its fault injection and its JSON error body.
#ifndef REFERKIT_INGEST_HTTP_MESSAGE_HPP
#define REFERKIT_INGEST_HTTP_MESSAGE_HPP

#include <chrono>
#include <string>
#include <string_view>

#include "http/message.hpp"

namespace referkit::ingest {

using HttpHeaderList = http::HeaderList;
using HttpRequest = http::Request;

struct HttpResponse {
  int status = 200;
  HttpHeaderList headers;  // Content-Length and Connection are added by the server
  std::string body;
  // Fault injection: close the connection without sending anything.
  bool drop_connection = false;
  // Fault injection: hold the response this long before sending it (the worker is not held).
  std::chrono::milliseconds delay{0};

  static HttpResponse json(int status, std::string body);
  static HttpResponse text(int status, std::string body);
  // {"error":"<a stable code for the status>","reason":"<reason>"}: every refusal looks alike,
  // whether the HTTP layer or the ingest service refuses.
  static HttpResponse error(int status, std::string_view reason);
};

// http::serialize_response of its parts.
std::string serialize_response(const HttpResponse& response, bool close_connection);

}  // namespace referkit::ingest

#endif  // REFERKIT_INGEST_HTTP_MESSAGE_HPP
