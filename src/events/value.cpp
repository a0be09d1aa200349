#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "referkit/events.hpp"

namespace referkit {
inline namespace v1 {
namespace {

// Longer than any amount of money needs, short enough that the text can never dominate an event.
constexpr std::size_t kMaxDecimalChars = 40;

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// The JSON number grammar without the exponent: -?(0|[1-9][0-9]*)(\.[0-9]+)?
// An exponent is refused because "1e5" reads as a float to most consumers, and money must not.
bool is_plain_decimal(std::string_view t) {
  std::size_t i = 0;
  if (i < t.size() && t[i] == '-') ++i;
  const std::size_t int_start = i;
  while (i < t.size() && is_digit(t[i])) ++i;
  const std::size_t int_digits = i - int_start;
  if (int_digits == 0) return false;                        // "", "-", ".5"
  if (int_digits > 1 && t[int_start] == '0') return false;  // "01": JSON allows no leading zeros
  if (i == t.size()) return true;
  if (t[i] != '.') return false;  // "1e5", "1,5", "5 "
  ++i;
  const std::size_t frac_start = i;
  while (i < t.size() && is_digit(t[i])) ++i;
  return i > frac_start && i == t.size();  // "5." has no fraction digits
}

// Integers beyond 64 bits are valid JSON, but common parsers (simdjson's DOM among them, which
// the reference ingest server uses) refuse the whole document over one, so a batch would fail.
// A fraction makes the number a double to those parsers, which they accept.
bool fits_64_bits(std::string_view t) {
  if (t.find('.') != std::string_view::npos) return true;
  const bool negative = t[0] == '-';
  const std::string_view digits = negative ? t.substr(1) : t;
  // Equal-length digit strings compare like the numbers they spell.
  if (negative) return digits.size() < 19 || (digits.size() == 19 && digits <= "9223372036854775808");
  return digits.size() < 20 || (digits.size() == 20 && digits <= "18446744073709551615");
}

}  // namespace

Result<Value> Value::decimal(std::string_view text) {
  if (text.size() > kMaxDecimalChars || !is_plain_decimal(text)) {
    // Show a bounded prefix: the text may be arbitrary caller input.
    std::string shown(text.substr(0, kMaxDecimalChars + 1));
    return Status(StatusCode::kInvalidArgument,
                  "not a decimal number (-?digits[.digits], at most 40 characters): \"" + shown + "\"");
  }
  if (!fits_64_bits(text)) {
    return Status(StatusCode::kInvalidArgument,
                  "decimal \"" + std::string(text) + "\" has no fraction and is outside the 64-bit integer range");
  }
  Value v(Kind::kDecimal);
  v.text_.assign(text.data(), text.size());
  return v;
}

Value& Value::set(std::string key, Value value) {
  if (kind_ != Kind::kObject) return *this;
  // Linear search: property objects are small, and insertion order must be kept anyway.
  for (std::size_t i = 0; i < keys_.size(); ++i) {
    if (keys_[i] == key) {
      items_[i] = std::move(value);
      return *this;
    }
  }
  keys_.push_back(std::move(key));
  items_.push_back(std::move(value));
  return *this;
}

Value Value::object_from(std::vector<std::string> keys, std::vector<Value> values) {
  const std::size_t n = std::min(keys.size(), values.size());
  // First pass over the untouched keys (the views point into them): the slot of every member.
  std::vector<std::size_t> slot(n);
  std::size_t distinct = 0;
  {
    std::unordered_map<std::string_view, std::size_t> first_slot;
    first_slot.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
      auto [it, inserted] = first_slot.emplace(keys[i], distinct);
      slot[i] = it->second;
      if (inserted) ++distinct;
    }
  }
  Value out(Kind::kObject);
  out.keys_.resize(distinct);
  out.items_.resize(distinct);
  std::size_t filled = 0;  // slots were numbered in order of first occurrence
  for (std::size_t i = 0; i < n; ++i) {
    if (slot[i] == filled) out.keys_[filled++] = std::move(keys[i]);
    out.items_[slot[i]] = std::move(values[i]);  // a later duplicate overwrites: the last value wins
  }
  return out;
}

Value& Value::push(Value value) {
  if (kind_ != Kind::kArray) return *this;
  items_.push_back(std::move(value));
  return *this;
}

Value& Value::reserve(std::size_t n) {
  if (kind_ == Kind::kObject) keys_.reserve(n);
  if (kind_ == Kind::kObject || kind_ == Kind::kArray) items_.reserve(n);
  return *this;
}

const Value* Value::find(std::string_view key) const noexcept {
  if (kind_ != Kind::kObject) return nullptr;
  for (std::size_t i = 0; i < keys_.size(); ++i) {
    if (keys_[i] == key) return &items_[i];
  }
  return nullptr;
}

}  // namespace v1
}  // namespace referkit
