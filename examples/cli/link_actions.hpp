// Minting and verifying links from text inputs, and their JSON: one code path for `referkit link
// create|verify` and the sidecar's POST /v1/links and /v1/links/verify, so both take the same
// inputs, refuse them with the same messages and answer the same JSON.
#ifndef REFERKIT_EXAMPLES_CLI_LINK_ACTIONS_HPP
#define REFERKIT_EXAMPLES_CLI_LINK_ACTIONS_HPP

#include <string>
#include <vector>

#include "referkit/links.hpp"
#include "referkit/status.hpp"

namespace referkit::cli {

// What `link create` takes, as text (flags, or members of a JSON body).
struct LinkInputs {
  std::string campaign, referrer, name;
  std::string ttl;         // "30d", "12h"...: from the issue time
  std::string expires_at;  // RFC 3339, instead of ttl
  std::string issued_at;   // RFC 3339; empty: now
  std::vector<std::string> utm;  // "source=email" or "utm_source=email"
};

// The request, or kInvalidArgument naming the input ("--ttl: ...", with `flag_prefix` "--"; the
// sidecar passes "" so that its messages name JSON members).
Result<LinkRequest> make_link_request(const LinkInputs& in, const std::string& flag_prefix);

// {url, token, share_code, key_id, issued_at, expires_at}
std::string link_json(const Link& link);

// The claims (ok), or {error, message[, claims]}.
std::string verification_json(const LinkVerification& v);

// The host (and port) of a base URL: "https://refer.shop.example/invite" -> "refer.shop.example".
std::string host_of(std::string_view base_url);

}  // namespace referkit::cli

#endif  // REFERKIT_EXAMPLES_CLI_LINK_ACTIONS_HPP
