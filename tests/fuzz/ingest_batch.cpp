// The ingest server's input path from bytes to verdict: the HTTP request head parser, and the
// batch validator with the scanner that delimits each event's original text. The first byte picks
// the target (even: batch body, odd: request head), so one corpus grows both.
//
// Beyond "no crash, no out-of-bounds read", it checks the validator's promises: every accepted
// event's text is itself valid JSON carrying the accepted messageId, the scanner agrees with
// simdjson on every document simdjson accepts, and verdicts respect the limits.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "batch_validator.hpp"
#include "http_request_parser.hpp"

namespace {

using referkit::ingest::BatchLimits;

void check_batch(std::string_view body) {
  static simdjson::dom::parser parser;
  static simdjson::dom::parser event_parser;
  BatchLimits limits;
  limits.max_events = 50;          // small, so the fuzzer reaches the limits
  limits.max_event_bytes = 512;
  limits.max_message_id_chars = 8;
  const auto verdict = referkit::ingest::validate_batch(body, parser, limits);
  if (verdict.refused()) {
    if (!verdict.accepted.empty() || !verdict.rejected.empty()) std::abort();
    if (verdict.error == "could not delimit the events of the batch") std::abort();  // scanner bug
    return;
  }
  if (verdict.accepted.size() + verdict.rejected.size() > limits.max_events) std::abort();
  for (const auto& event : verdict.accepted) {
    if (event.json.size() > limits.max_event_bytes || event.message_id.empty()) std::abort();
    // The slice must be exactly one JSON object with the same messageId.
    const std::string copy(event.json);
    std::string_view id;
    if (event_parser.parse(copy).at_key("messageId").get_string().get(id) != simdjson::SUCCESS) std::abort();
    if (id != event.message_id) std::abort();
  }
}

void check_head(std::string_view bytes) {
  referkit::ingest::HttpLimits limits;
  limits.max_head_bytes = 1024;
  limits.max_headers = 8;
  limits.max_body_bytes = 4096;
  const auto parsed = referkit::ingest::parse_request_head(bytes, limits);
  using State = referkit::ingest::HeadParse::State;
  if (parsed.state == State::kComplete) {
    const auto& head = parsed.head;
    if (head.head_bytes > bytes.size() || head.head_bytes > limits.max_head_bytes) std::abort();
    if (head.content_length > limits.max_body_bytes || head.request.headers.size() > limits.max_headers) std::abort();
  } else if (parsed.state == State::kError) {
    if (parsed.status < 400 || parsed.status > 599 || parsed.reason.empty()) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  if ((data[0] & 1) == 0) {
    check_batch(input);
  } else {
    check_head(input);
  }
  return 0;
}
