#include "spool/dead_letters.hpp"

#include <simdjson.h>

#include "common/utf8.hpp"
#include "json/json_writer.hpp"

namespace referkit::detail {

void append_dead_letter_line(std::string& out, TimePoint at, std::string_view message_id, std::string_view reason,
                             std::string_view event_json) {
  JsonWriter w(out);
  w.begin_object();
  w.key("at").value(format_rfc3339(at));
  w.key("messageId").value(message_id);
  w.key("reason").value(to_valid_utf8(reason));
  w.key("event").raw(event_json);
  w.end_object();
  out += '\n';
}

std::optional<SpoolDeadLetter> parse_dead_letter_line(std::string_view line) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(line.data(), line.size()).get(doc) != simdjson::SUCCESS) return std::nullopt;
  SpoolDeadLetter out;
  std::string_view at, id, reason;
  simdjson::dom::element event;
  if (doc["at"].get(at) != simdjson::SUCCESS || doc["messageId"].get(id) != simdjson::SUCCESS ||
      doc["reason"].get(reason) != simdjson::SUCCESS || doc["event"].get(event) != simdjson::SUCCESS) {
    return std::nullopt;
  }
  out.at = std::string(at);
  out.message_id = std::string(id);
  out.reason = std::string(reason);
  out.event_json = simdjson::minify(event);
  return out;
}

}  // namespace referkit::detail
