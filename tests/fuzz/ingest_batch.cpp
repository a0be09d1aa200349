// The ingest server's batch validator with the scanner that delimits each event's original text.
// (The HTTP request head parser in front of it has its own target: http_request.cpp.)
//
// Beyond "no crash, no out-of-bounds read", it checks the validator's promises: every accepted
// event's text is itself valid JSON carrying the accepted messageId, the scanner agrees with
// simdjson on every document simdjson accepts, and verdicts respect the limits.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "batch/batch_validator.hpp"

namespace {

using referkit::batch::BatchLimits;

void check_batch(std::string_view body) {
  static simdjson::dom::parser parser;
  static simdjson::dom::parser event_parser;
  BatchLimits limits;
  limits.max_events = 50;          // small, so the fuzzer reaches the limits
  limits.max_event_bytes = 512;
  limits.max_message_id_chars = 8;
  const auto verdict = referkit::batch::validate_batch(body, parser, limits);
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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  check_batch(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
