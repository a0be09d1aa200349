// Byte-to-text encodings used on the wire and in tokens. Decoders are strict: they accept only
// the canonical form, so one token or header has exactly one spelling.
#ifndef REFERKIT_SRC_CRYPTO_ENCODING_HPP
#define REFERKIT_SRC_CRYPTO_ENCODING_HPP

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "common/text.hpp"  // hex_encode, hex_decode: with the other text helpers

namespace referkit::detail {

// RFC 4648 section 5 alphabet, no padding.
std::string base64url_encode(std::string_view bytes);
// Rejects padding, characters outside the alphabet, impossible lengths and non-zero trailing bits.
std::optional<std::string> base64url_decode(std::string_view text);

// How many bytes base64url_decode_into writes for a text of this many characters.
constexpr std::size_t base64url_decoded_size(std::size_t chars) {
  return chars / 4 * 3 + (chars % 4 == 0 ? 0 : chars % 4 - 1);
}
// base64url_decode into a caller's buffer of base64url_decoded_size(text.size()) bytes, for
// callers that decode on a hot path without allocating; false on anything base64url_decode refuses.
bool base64url_decode_into(std::string_view text, char* out);

// RFC 4648 section 4 with padding (HTTP Basic credentials).
std::string base64_encode(std::string_view bytes);

}  // namespace referkit::detail

#endif  // REFERKIT_SRC_CRYPTO_ENCODING_HPP
