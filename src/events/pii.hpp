// The PII transforms the serializers apply inside track(), without allocating.
#ifndef REFERKIT_SRC_EVENTS_PII_HPP
#define REFERKIT_SRC_EVENTS_PII_HPP

#include <cstddef>
#include <string_view>

namespace referkit::detail {

inline constexpr std::size_t kEmailSha256Chars = 64;

// email_sha256(email) (referkit/events.hpp) into out[0, 64): lowercase hex of the SHA-256 of the
// trimmed, ASCII-lowercased address.
void write_email_sha256(char* out, std::string_view email);

}  // namespace referkit::detail

#endif  // REFERKIT_SRC_EVENTS_PII_HPP
