// The text around tokens: what users paste (URLs with queries, stray whitespace, a trailing
// slash) and what we print back in error messages.
#ifndef REFERKIT_SRC_LINKS_LINK_TEXT_HPP
#define REFERKIT_SRC_LINKS_LINK_TEXT_HPP

#include <optional>
#include <string>
#include <string_view>

#include "referkit/links.hpp"

namespace referkit::detail {

// is_printable_utf8 (common/utf8.hpp), but settling printable ASCII eight bytes at a time first:
// campaigns, referrers and query parameters are nearly always ASCII, and decoding them code point
// by code point was a measurable part of the link budget.
bool is_printable(std::string_view s);

// At most 40 bytes of s with anything but printable ASCII replaced by '?': safe to put in an
// error message whatever the input was.
std::string printable_excerpt(std::string_view s);

// nullopt on a broken %-escape; '+' is a space (form encoding, as browsers send queries).
std::optional<std::string> percent_decode(std::string_view s);

struct PastedLink {
  std::string_view credential;  // the token or share code, still unchecked
  QueryParams utm;
  // For a URL: its scheme ("https") and authority ("refer.example", "host:8443", "user@host");
  // both empty for a bare token or code.
  std::string_view scheme, authority;
};

// Finds the credential in what a user pasted: a URL whose path holds /r/<credential>, or a bare
// token or code. Status kMalformed on anything else.
Result<PastedLink> parse_pasted_link(std::string_view input);

// base_url + "/r/" + token + "?k=v&..." with each key and value percent-encoded (RFC 3986
// unreserved characters stay, everything else is %XX).
std::string build_link_url(std::string_view base_url, std::string_view token, const QueryParams& utm);

}  // namespace referkit::detail

#endif  // REFERKIT_SRC_LINKS_LINK_TEXT_HPP
