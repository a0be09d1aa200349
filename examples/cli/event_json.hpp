// Reads one Segment-style JSON object (a line of `referkit track` input) into an Event.
#ifndef REFERKIT_EXAMPLES_CLI_EVENT_JSON_HPP
#define REFERKIT_EXAMPLES_CLI_EVENT_JSON_HPP

#include <simdjson.h>

#include <string>

#include "referkit/events.hpp"

namespace referkit::cli {

// {"type":"track"|"identify","event":..,"userId":..,"anonymousId":..,"properties":{..},
//  "traits":{..},"context":{..},"timestamp":"RFC 3339","messageId":..}. Numbers keep their exact
// text (19.99 stays 19.99, never a double). kMalformed or kInvalidArgument says what is wrong.
// `line` gets simdjson's padding as spare capacity (no copy), so it is taken by reference.
Result<Event> parse_event_json(simdjson::ondemand::parser& parser, std::string& line);

}  // namespace referkit::cli

#endif  // REFERKIT_EXAMPLES_CLI_EVENT_JSON_HPP
