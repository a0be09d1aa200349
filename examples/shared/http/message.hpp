// HTTP/1.1 messages as plain data: a parsed request, and the serialized form of a response.
// No sockets, no I/O; each server keeps its own response type (fault injection, reply
// actions) and calls serialize_response with its parts.
#ifndef REFERKIT_EXAMPLES_SHARED_HTTP_MESSAGE_HPP
#define REFERKIT_EXAMPLES_SHARED_HTTP_MESSAGE_HPP

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace referkit::http {

// In order, names as sent.
using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct Request {
  std::string method;
  std::string target;   // origin-form as sent: path and query
  std::string version;  // "HTTP/1.1" or "HTTP/1.0"
  HeaderList headers;   // names as sent, values without surrounding spaces and tabs
  std::string body;     // exactly Content-Length bytes, as received

  // The target without the query string.
  std::string_view path() const;
  // The first header with this name (ASCII case-insensitive), or nullopt.
  std::optional<std::string_view> header(std::string_view name) const;
  // How many headers have this name.
  std::size_t header_count(std::string_view name) const;
};

// The standard reason phrase, or "Unknown" for a status this table does not list.
const char* reason_phrase(int status);

// "HTTP/1.1 <status> <reason>\r\n", `headers` except any Content-Length or Connection (the
// framing is this function's job), Content-Length of `body`, "Connection: close" when asked, the
// blank line and the body.
std::string serialize_response(int status, const HeaderList& headers, std::string_view body, bool close_connection);

// The interim reply a client that sent "Expect: 100-continue" waits for before its body.
inline constexpr std::string_view kContinueResponse = "HTTP/1.1 100 Continue\r\n\r\n";

}  // namespace referkit::http

#endif  // REFERKIT_EXAMPLES_SHARED_HTTP_MESSAGE_HPP
