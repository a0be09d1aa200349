// Requests and responses as the server's handler sees them: plain data, no sockets.
#ifndef REFERKIT_INGEST_HTTP_MESSAGE_HPP
#define REFERKIT_INGEST_HTTP_MESSAGE_HPP

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace referkit::ingest {

using HttpHeaderList = std::vector<std::pair<std::string, std::string>>;

// ASCII case-insensitive equality, for header names and tokens.
bool iequals(std::string_view a, std::string_view b);

struct HttpRequest {
  std::string method;
  std::string target;   // origin-form as sent: path and query
  std::string version;  // "HTTP/1.1" or "HTTP/1.0"
  HttpHeaderList headers;  // names as sent, values trimmed
  std::string body;        // exactly Content-Length bytes, as received

  // The path without the query string.
  std::string_view path() const;
  // The first header with this name (case-insensitive), or nullopt.
  std::optional<std::string_view> header(std::string_view name) const;
};

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

// "HTTP/1.1 <status> <reason>\r\n", the headers, Content-Length, "Connection: close" when asked,
// the blank line and the body.
std::string serialize_response(const HttpResponse& response, bool close_connection);

const char* reason_phrase(int status);

}  // namespace referkit::ingest

#endif  // REFERKIT_INGEST_HTTP_MESSAGE_HPP
