// --accepted-log needs the messageId each accepted line is sent with. Lines go to the tracker as
// text (Tracker::track_json, byte for byte), so the id is read from the line, or, when the line
// names none, made here and written into it, as track_json would have added one.
#ifndef REFERKIT_EXAMPLES_CLI_ACCEPTED_ID_HPP
#define REFERKIT_EXAMPLES_CLI_ACCEPTED_ID_HPP

#include <simdjson.h>

#include <optional>
#include <string>

namespace referkit::cli {

// The line's messageId, or a new UUIDv7 put at the front of its object. nullopt when the line is
// not a JSON object or its messageId is not a string: track_json() then refuses the line and
// says why. `line` gets simdjson's padding as spare capacity (no copy).
std::optional<std::string> message_id_for_log(simdjson::ondemand::parser& parser, std::string& line);

}  // namespace referkit::cli

#endif  // REFERKIT_EXAMPLES_CLI_ACCEPTED_ID_HPP
