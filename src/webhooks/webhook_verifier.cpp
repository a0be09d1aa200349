#include <string>

#include "crypto/encoding.hpp"
#include "crypto/hmac_sha256.hpp"
#include "referkit/webhooks.hpp"

namespace referkit {
inline namespace v1 {
namespace {

using detail::HmacSha256;
using detail::Sha256Digest;

constexpr std::size_t kMinSecretBytes = 16;
constexpr std::size_t kMaxHeaderBytes = 4096;
constexpr std::size_t kMaxSignatures = 8;
constexpr std::int64_t kMaxTimestamp = 253'402'300'799;  // 9999-12-31T23:59:59Z

Sha256Digest signature_of(const HmacSha256& key, std::string_view t, std::string_view body) {
  return key.mac({t, ".", body});
}

struct ParsedHeader {
  std::string_view timestamp_text;
  std::int64_t timestamp = -1;
  std::vector<std::string> signatures;  // decoded 32-byte v1 values
};

Status malformed(const char* why) { return Status(StatusCode::kMalformed, why); }

Result<ParsedHeader> parse_header(std::string_view header) {
  if (header.size() > kMaxHeaderBytes) return malformed("signature header longer than 4096 bytes");
  if (header.empty()) return malformed("empty signature header");
  ParsedHeader out;
  // One rule for every empty item, wherever it is (",,", a leading or a trailing comma): refused.
  // Stripe's verifiers skip empty items, but no conforming sender (sign_payload included) writes
  // one, and accepting ",v1=..." at the end while refusing ",," in the middle was two rules.
  for (bool more = true; more;) {
    const std::size_t comma = header.find(',');
    more = comma != std::string_view::npos;
    std::string_view item = header.substr(0, comma);
    header = more ? header.substr(comma + 1) : std::string_view{};
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item.empty()) return malformed("signature header has an empty item (a leading, trailing or doubled comma)");
    std::size_t eq = item.find('=');
    if (eq == std::string_view::npos) return malformed("signature header item without '='");
    std::string_view key = item.substr(0, eq);
    std::string_view value = item.substr(eq + 1);
    if (key == "t") {
      if (out.timestamp >= 0) return malformed("signature header has two timestamps");
      if (value.empty() || value.size() > 12) return malformed("signature timestamp is not unix seconds");
      std::int64_t t = 0;
      for (char c : value) {
        if (c < '0' || c > '9') return malformed("signature timestamp is not unix seconds");
        t = t * 10 + (c - '0');
      }
      if (t > kMaxTimestamp) return malformed("signature timestamp out of range");
      out.timestamp = t;
      out.timestamp_text = value;
    } else if (key == "v1") {
      auto bytes = value.size() == 64 ? detail::hex_decode(value) : std::nullopt;
      if (!bytes) return malformed("v1 signature is not 64 hex digits");
      if (out.signatures.size() == kMaxSignatures) return malformed("more than 8 v1 signatures");
      out.signatures.push_back(std::move(*bytes));
    }
    // Other schemes (v0, v2...) are skipped, so senders can add one without breaking receivers.
  }
  if (out.timestamp < 0) return malformed("signature header has no t= timestamp");
  if (out.signatures.empty()) return malformed("signature header has no v1= signature");
  return out;
}

}  // namespace

std::string sign_payload(std::string_view secret, std::int64_t unix_seconds, std::string_view body) {
  const std::string t = std::to_string(unix_seconds);
  Sha256Digest sig = signature_of(HmacSha256(secret), t, body);
  return "t=" + t + ",v1=" +
         detail::hex_encode(std::string_view(reinterpret_cast<const char*>(sig.data()), sig.size()));
}

struct WebhookVerifier::Impl {
  std::vector<HmacSha256> keys;
  WebhookVerifierOptions options;
};

WebhookVerifier::WebhookVerifier(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
WebhookVerifier::WebhookVerifier(WebhookVerifier&&) noexcept = default;
WebhookVerifier& WebhookVerifier::operator=(WebhookVerifier&&) noexcept = default;
WebhookVerifier::~WebhookVerifier() = default;

Result<WebhookVerifier> WebhookVerifier::create(const std::vector<std::string>& secrets,
                                                WebhookVerifierOptions options) {
  if (secrets.empty()) return Status(StatusCode::kInvalidArgument, "no webhook secrets given");
  if (options.tolerance.count() < 0 || options.tolerance > std::chrono::hours(24 * 365)) {
    return Status(StatusCode::kInvalidArgument, "tolerance must be between 0 and 365 days");
  }
  auto impl = std::make_unique<Impl>();
  for (const std::string& s : secrets) {
    if (s.size() < kMinSecretBytes) {
      return Status(StatusCode::kInvalidArgument, "webhook secrets must be at least 16 bytes");
    }
    impl->keys.emplace_back(s);
  }
  impl->options = options;
  return WebhookVerifier(std::move(impl));
}

Result<TimePoint> WebhookVerifier::verify(std::string_view signature_header, std::string_view body,
                                          TimePoint now) const {
  auto header = parse_header(signature_header);
  if (!header) return header.status();
  bool match = false;
  // Every (secret, signature) pair is compared, so timing does not reveal which one matched.
  for (const HmacSha256& key : impl_->keys) {
    Sha256Digest expected = signature_of(key, header->timestamp_text, body);
    for (const std::string& sig : header->signatures) {
      match |= detail::constant_time_equal(expected.data(), sig.data(), expected.size());
    }
  }
  if (!match) return Status(StatusCode::kBadSignature, "no v1 signature matches the body");
  const TimePoint signed_at{std::chrono::seconds(header->timestamp)};
  const auto skew = now > signed_at ? now - signed_at : signed_at - now;
  if (skew > impl_->options.tolerance) {
    return Status(StatusCode::kExpired, "signed at " + format_rfc3339(signed_at) +
                                            ", outside the tolerance of " +
                                            std::to_string(impl_->options.tolerance.count()) + " s");
  }
  return signed_at;
}

}  // namespace v1
}  // namespace referkit
