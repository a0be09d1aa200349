// The dead-letter file's lines: one JSON object per event the server refused, with the reason,
// so an operator can see (and replay) exactly what was not delivered.
//   {"at":"<RFC 3339>","messageId":"...","reason":"...","event":{...the event as sent...}}
#ifndef REFERKIT_SRC_SPOOL_DEAD_LETTERS_HPP
#define REFERKIT_SRC_SPOOL_DEAD_LETTERS_HPP

#include <optional>
#include <string>
#include <string_view>

#include "referkit/spool.hpp"
#include "referkit/time.hpp"

namespace referkit::detail {

// Appends one line (with its newline). The reason may be any bytes; it is made valid UTF-8.
void append_dead_letter_line(std::string& out, TimePoint at, std::string_view message_id, std::string_view reason,
                             std::string_view event_json);
std::optional<SpoolDeadLetter> parse_dead_letter_line(std::string_view line);

}  // namespace referkit::detail

#endif  // REFERKIT_SRC_SPOOL_DEAD_LETTERS_HPP
