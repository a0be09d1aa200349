// Where the elements of the "batch" array sit in the request body, byte for byte.
//
// simdjson's DOM validates the body and gives typed access, but it keeps no source positions, and
// re-serializing an element (simdjson::minify) would send every number through a double: "10.50"
// would be stored as 10.5 and long decimals would lose digits. The server stores each event's
// original text instead, so this scanner delimits the array elements in the raw body.
//
// It is meant to run on text simdjson has already accepted, but it checks every step anyway and
// never reads out of bounds, so arbitrary bytes only make it return nullopt (it is fuzzed).
#ifndef REFERKIT_EXAMPLES_SHARED_BATCH_JSON_EXTENTS_HPP
#define REFERKIT_EXAMPLES_SHARED_BATCH_JSON_EXTENTS_HPP

#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

namespace referkit::batch {

// The text of each element of the array that is the value of the `member_index`-th member
// (0-based, in document order) of the top-level object. Positional rather than by name, so the
// caller decides which member is "batch" exactly as its parser sees it (escaped keys, duplicate
// keys). nullopt when the text is not an object, has fewer members, or that value is not an array.
std::optional<std::vector<std::string_view>> member_array_elements(std::string_view json,
                                                                   std::size_t member_index);

}  // namespace referkit::batch

#endif  // REFERKIT_EXAMPLES_SHARED_BATCH_JSON_EXTENTS_HPP
