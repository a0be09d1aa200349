#include "http/response.hpp"

#include "json/json_writer.hpp"

namespace referkit::http {
namespace {

Response typed(int status, const char* content_type, std::string body) {
  Response r;
  r.status = status;
  r.headers.emplace_back("Content-Type", content_type);
  r.body = std::move(body);
  return r;
}

const char* error_code(int status) {
  switch (status) {
    case 400: return "bad_request";
    case 401: return "unauthorized";
    case 404: return "not_found";
    case 405: return "method_not_allowed";
    case 408: return "request_timeout";
    case 411: return "length_required";
    case 413: return "payload_too_large";
    case 415: return "unsupported_media_type";
    case 417: return "expectation_failed";
    case 429: return "too_many_requests";
    case 431: return "header_fields_too_large";
    case 503: return "unavailable";
    case 505: return "http_version_not_supported";
    default: return status >= 500 ? "internal_error" : "error";
  }
}

}  // namespace

Response Response::json(int status, std::string body) {
  return typed(status, "application/json", std::move(body));
}

Response Response::text(int status, std::string body) {
  return typed(status, "text/plain; charset=utf-8", std::move(body));
}

Response Response::error(int status, std::string_view reason) {
  std::string body;
  detail::JsonWriter w(body);
  w.begin_object().key("error").value(error_code(status)).key("reason").value(reason).end_object();
  return json(status, std::move(body));
}

Response Response::method_not_allowed(std::string_view allow) {
  Response r = error(405, "use " + std::string(allow));
  r.headers.emplace_back("Allow", std::string(allow));
  return r;
}

Response Response::unauthorized(std::string_view reason, std::string_view realm) {
  Response r = error(401, reason);
  r.headers.emplace_back("WWW-Authenticate", "Basic realm=\"" + std::string(realm) + "\"");
  return r;
}

std::string serialize_response(const Response& response, bool close_connection) {
  return serialize_response(response.status, response.headers, response.body, close_connection);
}

}  // namespace referkit::http
