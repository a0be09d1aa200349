#include "json/json_writer.hpp"

#include <charconv>

namespace referkit::detail {

template <typename Integer>
JsonWriter& JsonWriter::integer(Integer v) {
  separate();
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out_.append(buf, r.ptr);
  return *this;
}

JsonWriter& JsonWriter::value(std::int64_t v) { return integer(v); }
JsonWriter& JsonWriter::value(std::uint64_t v) { return integer(v); }

}  // namespace referkit::detail
