// A request's body as the JSON text it carries, for the servers that take Segment batches
// (referkit-ingest and `referkit serve`): one decoder, so both refuse the same bodies the same way.
#ifndef REFERKIT_EXAMPLES_SHARED_HTTP_BODY_HPP
#define REFERKIT_EXAMPLES_SHARED_HTTP_BODY_HPP

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "http/message.hpp"
#include "http/response.hpp"

namespace referkit::http {

// Content-Encoding gzip (or x-gzip) is inflated, stopping at max_bytes (a few KB of gzip can
// claim gigabytes); identity is taken as sent, up to max_bytes. On success the text is moved
// into `json` and nullopt returned; otherwise the reply to send: 413 (too big), 400 (not valid
// gzip) or 415 (another encoding), and `json` is untouched.
std::optional<Response> decode_body(Request& request, std::size_t max_bytes, std::string& json);

// A header value fit to echo in a reply: printable ASCII only (the JSON writer needs valid
// UTF-8, and header values may hold any byte), at most 64 bytes.
std::string printable(std::string_view value);

}  // namespace referkit::http

#endif  // REFERKIT_EXAMPLES_SHARED_HTTP_BODY_HPP
