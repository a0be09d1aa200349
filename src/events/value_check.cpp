#include "events/value_check.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "common/utf8.hpp"

namespace referkit::detail {
namespace {

std::size_t integer_chars(std::int64_t v) {
  std::size_t n = v < 0 ? 2 : 1;
  auto magnitude = v < 0 ? 0 - static_cast<std::uint64_t>(v) : static_cast<std::uint64_t>(v);
  while (magnitude >= 10) {
    magnitude /= 10;
    ++n;
  }
  return n;
}

std::size_t scalar_size(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kNull: return 4;
    case Value::Kind::kBool: return v.as_bool() ? 4u : 5u;
    case Value::Kind::kInteger: return integer_chars(v.as_integer());
    case Value::Kind::kDecimal: return v.text().size();
    case Value::Kind::kString: return v.text().size() + 2;
    case Value::Kind::kArray:
    case Value::Kind::kObject: break;
  }
  return 0;
}

bool is_container(const Value& v) {
  return v.kind() == Value::Kind::kObject || v.kind() == Value::Kind::kArray;
}

// Recursion only for containers: most members are scalars, sized in the loop.
std::size_t container_size(const Value& v, int depth) {
  const auto& items = v.items();
  const bool is_object = v.kind() == Value::Kind::kObject;
  std::size_t bytes = 2 + (items.empty() ? 0 : items.size() - 1);  // brackets and commas
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (is_object) bytes += v.keys()[i].size() + 3;  // quotes and colon
    const Value& item = items[i];
    if (!is_container(item)) {
      bytes += scalar_size(item);
      continue;
    }
    if (depth == kMaxValueDepth) return kTooDeep;
    const std::size_t inner = container_size(item, depth + 1);
    if (inner == kTooDeep) return kTooDeep;
    bytes += inner;
  }
  return bytes;
}

// Why a tree was refused. The path is collected leaf first while the recursion unwinds.
struct Failure {
  std::string what;
  std::vector<std::string> reversed_path;
  bool show_path = true;  // a depth failure would list 32 segments; the root says enough there
};

bool explain(const Value& v, int depth, Failure& failure) {
  if (v.kind() == Value::Kind::kString && !is_valid_utf8(v.text())) {
    failure.what = "invalid UTF-8";
    return false;
  }
  if (!is_container(v)) return true;
  if (depth > kMaxValueDepth) {
    failure.what = fmt::format("nested deeper than {} levels", kMaxValueDepth);
    failure.show_path = false;
    return false;
  }
  const bool is_object = v.kind() == Value::Kind::kObject;
  const auto& items = v.items();
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (is_object && !is_valid_utf8(v.keys()[i])) {
      failure.what = fmt::format("key #{} is invalid UTF-8", i + 1);
      return false;
    }
    if (!explain(items[i], depth + 1, failure)) {
      failure.reversed_path.push_back(is_object ? "." + v.keys()[i] : fmt::format("[{}]", i));
      return false;
    }
  }
  return true;
}

}  // namespace

std::size_t json_size(const Value& root) {
  return is_container(root) ? container_size(root, 1) : scalar_size(root);
}

Status explain_value_tree(const Value& root, std::string_view root_name) {
  Failure failure;
  if (explain(root, 1, failure)) return Status();
  std::string message(root_name);
  if (failure.show_path) {
    for (auto it = failure.reversed_path.rbegin(); it != failure.reversed_path.rend(); ++it) {
      message += *it;
    }
  }
  message += ": ";
  message += failure.what;
  return Status(StatusCode::kInvalidArgument, std::move(message));
}

}  // namespace referkit::detail
