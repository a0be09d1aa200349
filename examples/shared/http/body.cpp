#include "http/body.hpp"

#include <utility>

#include "common/text.hpp"
#include "transport/gzip.hpp"

namespace referkit::http {

std::optional<Response> decode_body(Request& request, std::size_t max_bytes, std::string& json) {
  const std::string_view encoding = request.header("Content-Encoding").value_or("identity");
  if (detail::iequals(encoding, "gzip") || detail::iequals(encoding, "x-gzip")) {
    auto inflated = detail::gzip_decompress(request.body, max_bytes);
    if (!inflated) {
      const bool too_big = inflated.status().code() == StatusCode::kResourceExhausted;
      return Response::error(too_big ? 413 : 400, inflated.status().message());
    }
    json = std::move(*inflated);
    return std::nullopt;
  }
  if (!detail::iequals(encoding, "identity")) {
    return Response::error(415, "Content-Encoding \"" + printable(encoding) + "\" is not supported; use gzip or identity");
  }
  if (request.body.size() > max_bytes) {
    return Response::error(413, "the body exceeds " + std::to_string(max_bytes) + " bytes");
  }
  json = std::move(request.body);
  return std::nullopt;
}

std::string printable(std::string_view value) {
  std::string out;
  for (char c : value.substr(0, 64)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  return out;
}

}  // namespace referkit::http
