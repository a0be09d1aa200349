// The shared HTTP/1.1 request head parser (examples/shared/http) on arbitrary bytes: no crash,
// no read past the input, verdicts within the limits, and a complete head means what it says:
// written out again from its parts, it parses to the same request.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "http/request_parser.hpp"

namespace {

using referkit::http::HeadParse;
using referkit::http::Limits;
using referkit::http::parse_request_head;
using referkit::http::RequestHead;

// The canonical form of a parsed head: what a well-behaved client would have sent.
std::string rewrite(const RequestHead& head) {
  const auto& r = head.request;
  std::string out = r.method + " " + r.target + " " + r.version + "\r\n";
  for (const auto& [name, value] : r.headers) out += name + ": " + value + "\r\n";
  return out + "\r\n";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  Limits limits;
  limits.max_head_bytes = 1024;  // small, so the fuzzer reaches the limits
  limits.max_headers = 8;
  limits.max_body_bytes = 4096;
  const HeadParse parsed = parse_request_head(bytes, limits);
  switch (parsed.state) {
    case HeadParse::State::kIncomplete:
      if (bytes.size() > limits.max_head_bytes) std::abort();  // must have been refused with 431
      break;
    case HeadParse::State::kError:
      if (parsed.status < 400 || parsed.status > 599 || parsed.reason.empty()) std::abort();
      break;
    case HeadParse::State::kComplete: {
      const RequestHead& head = parsed.head;
      if (head.head_bytes > bytes.size() || head.head_bytes > limits.max_head_bytes) std::abort();
      if (head.content_length > limits.max_body_bytes || head.request.headers.size() > limits.max_headers) std::abort();
      if (!head.request.body.empty()) std::abort();  // the head parser never takes body bytes
      const std::string again_text = rewrite(head);
      Limits roomy = limits;
      roomy.max_head_bytes = again_text.size() + 1;  // the rewrite may be longer (": " after names)
      const HeadParse again = parse_request_head(again_text, roomy);
      if (again.state != HeadParse::State::kComplete) std::abort();
      const auto& a = again.head;
      if (a.request.method != head.request.method || a.request.target != head.request.target ||
          a.request.version != head.request.version || a.request.headers != head.request.headers ||
          a.content_length != head.content_length || a.keep_alive != head.keep_alive ||
          a.expect_continue != head.expect_continue || a.head_bytes != again_text.size()) {
        std::abort();
      }
      break;
    }
  }
  return 0;
}
