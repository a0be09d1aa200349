#include "tracking/batch.hpp"

#include <simdjson.h>

#include "referkit/version.hpp"

namespace referkit::detail {

void batch_body(const Batch& batch, TimePoint sent_at, std::string& body) {
  static constexpr std::string_view kOpen = "{\"batch\":[";
  static constexpr std::string_view kClose =
      "],\"context\":{\"library\":{\"name\":\"referkit-cpp\",\"version\":\"" REFERKIT_VERSION_STRING "\"}},\"sentAt\":\"";
  std::size_t size = kOpen.size() + kClose.size() + 32;
  for (const QueuedEvent& e : batch.events) size += e.json.size() + 1;
  body.clear();
  body.reserve(size);
  body += kOpen;
  for (std::size_t i = 0; i < batch.events.size(); ++i) {
    if (i > 0) body += ',';
    body += batch.events[i].json;
  }
  body += kClose;
  body += format_rfc3339(sent_at);
  body += "\"}";
}

EncodedBody encode_batch(const Batch& batch, TimePoint sent_at, SteadyTime made, bool gzip,
                         std::size_t gzip_min_bytes, BatchEncoder& encoder) {
  EncodedBody out;
  out.sent_at = sent_at;
  batch_body(batch, sent_at, encoder.raw);
  out.raw_size = encoder.raw.size();
  out.gzipped = gzip && encoder.raw.size() >= gzip_min_bytes;
  if (out.gzipped) {
    encoder.gzip.compress(encoder.raw, out.bytes);
  } else if (gzip) {
    out.bytes = encoder.raw;  // under gzip_min_bytes: copied, and the buffer stays for the next
  } else {
    out.bytes.swap(encoder.raw);  // without gzip the buffer has nothing else to do
  }
  out.made = made;
  return out;
}

std::vector<DeadLetter> parse_rejections(std::string_view reply_body) {
  std::vector<DeadLetter> out;
  if (reply_body.empty()) return out;
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(reply_body.data(), reply_body.size(), true).get(root)) return out;
  simdjson::dom::array rejected;
  if (root["rejected"].get_array().get(rejected)) return out;
  for (simdjson::dom::element item : rejected) {
    std::string_view id;
    if (item["messageId"].get_string().get(id)) continue;
    std::string_view reason;
    if (item["reason"].get_string().get(reason)) reason = "rejected by the server";
    out.push_back(DeadLetter{std::string(id), std::string(reason)});
  }
  return out;
}

}  // namespace referkit::detail
