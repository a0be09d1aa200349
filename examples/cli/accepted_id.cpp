#include "accepted_id.hpp"

#include <string_view>

#include "events/uuid.hpp"
#include "referkit/time.hpp"

namespace referkit::cli {

std::optional<std::string> message_id_for_log(simdjson::ondemand::parser& parser, std::string& line) {
  const std::size_t open = line.find_first_not_of(" \t\r\n");
  if (open == std::string::npos || line[open] != '{') return std::nullopt;
  {
    line.reserve(line.size() + simdjson::SIMDJSON_PADDING);
    simdjson::ondemand::document doc;
    simdjson::ondemand::object obj;
    if (parser.iterate(line.data(), line.size(), line.capacity()).get(doc) || doc.get_object().get(obj)) {
      return std::nullopt;
    }
    simdjson::ondemand::value id;
    const simdjson::error_code found = obj.find_field_unordered("messageId").get(id);
    if (found == simdjson::SUCCESS) {
      std::string_view text;
      if (id.get_string().get(text)) return std::nullopt;
      return std::string(text);
    }
    if (found != simdjson::NO_SUCH_FIELD) return std::nullopt;
  }
  std::string id = detail::make_uuid_v7(now_ms());
  const std::size_t next = line.find_first_not_of(" \t\r\n", open + 1);
  const bool empty_object = next != std::string::npos && line[next] == '}';
  line.insert(open + 1, "\"messageId\":\"" + id + (empty_object ? "\"" : "\","));
  return id;
}

}  // namespace referkit::cli
