// Signed payloads: the webhooks the platform sends to merchants, and the batches the tracker
// uploads, carry `X-Referkit-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>`.
// The timestamp bounds replays; several v1 entries may appear while the sender rotates secrets.
#ifndef REFERKIT_WEBHOOKS_HPP
#define REFERKIT_WEBHOOKS_HPP

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "referkit/export.hpp"
#include "referkit/status.hpp"
#include "referkit/time.hpp"

namespace referkit {
inline namespace v1 {

inline constexpr std::string_view kSignatureHeader = "X-Referkit-Signature";

// The header value for body signed at unix_seconds (>= 0): "t=1764400000,v1=5f2c...".
// Receivers read it as comma-separated key=value items (spaces around an item ignored, unknown
// keys skipped); an empty item anywhere (",,", a leading or a trailing comma) makes it malformed.
[[nodiscard]] REFERKIT_EXPORT std::string sign_payload(std::string_view secret, std::int64_t unix_seconds,
                                                       std::string_view body);

struct WebhookVerifierOptions {
  // How far the signed timestamp may be from now, either way, before the payload counts as
  // replayed or stale (kExpired). At most 365 days.
  std::chrono::seconds tolerance{300};
};

// Thread safety: immutable after create(); verify() is const and may be called from any number of
// threads at once.
class REFERKIT_EXPORT WebhookVerifier {
 public:
  // Every secret verifies (rotation). Secrets are used as raw bytes, at least 16 of them.
  static Result<WebhookVerifier> create(const std::vector<std::string>& secrets,
                                        WebhookVerifierOptions options = {});

  WebhookVerifier(WebhookVerifier&&) noexcept;
  WebhookVerifier& operator=(WebhookVerifier&&) noexcept;
  WebhookVerifier(const WebhookVerifier&) = delete;
  WebhookVerifier& operator=(const WebhookVerifier&) = delete;
  ~WebhookVerifier();

  // Returns the signed time, or kMalformed (the header cannot be read), kBadSignature (no v1
  // entry matches any secret) or kExpired (authentic, but outside the tolerance window).
  // The body must be the raw bytes as received, before any JSON parsing.
  Result<TimePoint> verify(std::string_view signature_header, std::string_view body,
                           TimePoint now = now_ms()) const;

 private:
  struct Impl;
  explicit WebhookVerifier(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace v1
}  // namespace referkit

#endif  // REFERKIT_WEBHOOKS_HPP
