// The sidecar's links and webhook checks over HTTP (`referkit serve --keys FILE`), for languages
// without the C ABI. The same code paths as `referkit link create|verify` (link_actions.hpp) and
// the same key file; webhook checks use the library's WebhookVerifier, as `referkit webhook verify`.
//
//   POST /v1/links          {"campaign","referrer","name"?,"ttl"?|"expires_at"?,"issued_at"?,
//                            "utm"?:{"source":"email",...}} -> 200 {url, token, share_code, ...}
//   POST /v1/links/verify   {"link": url, token or share code, "now"?} -> 200 claims, or 422
//                            {error, message[, claims]}
//   POST /v1/webhooks/verify the webhook's body exactly as received, its X-Referkit-Signature
//                            header as received -> 200 {ok, signed_at}, or 422 {error, message}
// A body that cannot be read as those inputs is a 400.
#ifndef REFERKIT_EXAMPLES_CLI_KEYED_ENDPOINTS_HPP
#define REFERKIT_EXAMPLES_CLI_KEYED_ENDPOINTS_HPP

#include <optional>
#include <string>
#include <vector>

#include "http/response.hpp"
#include "referkit/links.hpp"
#include "referkit/webhooks.hpp"

namespace referkit::cli {

// Thread safety: immutable after create(); handle() may run on several workers at once.
class KeyedEndpoints {
 public:
  // Loads the key file (load_keys) and makes the signer for `base_url` (required) and, when
  // secrets are given, the webhook verifier. On failure prints the JSON error, sets `exit`.
  static std::optional<KeyedEndpoints> create(const std::string& keys_file, const std::string& base_url,
                                              const std::vector<std::string>& webhook_secrets, int& exit);

  http::Response handle(const http::Request& request) const;

 private:
  KeyedEndpoints(LinkSigner signer, std::optional<WebhookVerifier> webhooks)
      : signer_(std::move(signer)), webhooks_(std::move(webhooks)) {}
  http::Response create_link(const std::string& body) const;
  http::Response verify_link(const std::string& body) const;
  http::Response verify_webhook(const http::Request& request) const;

  LinkSigner signer_;
  std::optional<WebhookVerifier> webhooks_;
};

}  // namespace referkit::cli

#endif  // REFERKIT_EXAMPLES_CLI_KEYED_ENDPOINTS_HPP
