// Validation of a JSON tree (properties, traits, context): nesting depth, UTF-8, and the size of
// its JSON, so the serializer allocates its output once.
#ifndef REFERKIT_SRC_EVENTS_VALUE_CHECK_HPP
#define REFERKIT_SRC_EVENTS_VALUE_CHECK_HPP

#include <cstddef>
#include <string_view>

#include "referkit/events.hpp"
#include "referkit/status.hpp"

namespace referkit::detail {

// Containers nested deeper than this are refused: consumers (and our own recursive writer)
// must not be driven into deep recursion by one event.
inline constexpr int kMaxValueDepth = 32;

// The size of the tree as JSON when no string needs escaping (exact then, a lower bound
// otherwise), or kTooDeep when containers nest deeper than kMaxValueDepth (`root`, an object or
// array, is level 1). The serializer's hot path: no UTF-8 check (its string writer does that
// while escaping) and nothing allocated.
inline constexpr std::size_t kTooDeep = static_cast<std::size_t>(-1);
std::size_t json_size(const Value& root);

// Explains why a tree cannot be serialized: kInvalidArgument naming the path from root_name
// ("properties.items[2].name: invalid UTF-8", "properties: nested deeper than 32 levels"), or OK
// if it can. The slow path, run only once json_size or writing has failed.
Status explain_value_tree(const Value& root, std::string_view root_name);

}  // namespace referkit::detail

#endif  // REFERKIT_SRC_EVENTS_VALUE_CHECK_HPP
