// rk_webhook_*: signed-payload verification (and signing, for merchants' tests) behind the C ABI.
#include <cstring>
#include <string>
#include <vector>

#include "capi/boundary.hpp"
#include "referkit/webhooks.hpp"

namespace capi = referkit::capi;
using capi::guarded;

struct rk_webhook_verifier_options {
  std::vector<std::string> secrets;
  referkit::WebhookVerifierOptions options;
};

struct rk_webhook_verifier {
  referkit::WebhookVerifier verifier;
};

extern "C" {

rk_status rk_webhook_verifier_options_new(rk_webhook_verifier_options** out) {
  return guarded([&] {
    if (out == nullptr) return capi::null_handle("out");
    *out = new rk_webhook_verifier_options();
    return RK_OK;
  });
}

void rk_webhook_verifier_options_free(rk_webhook_verifier_options* options) { delete options; }

rk_status rk_webhook_verifier_options_add_secret(rk_webhook_verifier_options* o, const char* secret, size_t len) {
  return guarded([&] {
    if (o == nullptr) return capi::null_handle("options");
    // Secrets are raw bytes, not text: only the NULL-with-length check applies.
    if (secret == nullptr && len != 0) return capi::fail(RK_INVALID_ARGUMENT, "secret: NULL pointer with a length");
    o->secrets.emplace_back(secret == nullptr ? "" : secret, len);
    return RK_OK;
  });
}

rk_status rk_webhook_verifier_options_set_tolerance_s(rk_webhook_verifier_options* o, uint32_t seconds) {
  if (o == nullptr) return capi::null_handle("options");
  o->options.tolerance = std::chrono::seconds(seconds);
  return RK_OK;
}

rk_status rk_webhook_verifier_create(const rk_webhook_verifier_options* o, rk_webhook_verifier** out) {
  return guarded([&] {
    if (out == nullptr) return capi::null_handle("out");
    *out = nullptr;
    if (o == nullptr) return capi::null_handle("options");
    auto verifier = referkit::WebhookVerifier::create(o->secrets, o->options);
    if (!verifier.ok()) return capi::fail(verifier.status());
    *out = new rk_webhook_verifier{std::move(*verifier)};
    return RK_OK;
  });
}

void rk_webhook_verifier_free(rk_webhook_verifier* verifier) { delete verifier; }

rk_status rk_webhook_verifier_verify(const rk_webhook_verifier* v, const char* header, size_t header_len,
                                     const char* body, size_t body_len, int64_t now_ms, int64_t* signed_at_ms) {
  return guarded([&] {
    if (v == nullptr) return capi::null_handle("verifier");
    if (header == nullptr && header_len != 0) return capi::fail(RK_INVALID_ARGUMENT, "header: NULL pointer with a length");
    if (body == nullptr && body_len != 0) return capi::fail(RK_INVALID_ARGUMENT, "body: NULL pointer with a length");
    // The body is raw bytes as received (it need not be UTF-8); the verifier never reads past it.
    auto signed_at = v->verifier.verify(std::string_view(header == nullptr ? "" : header, header_len),
                                        std::string_view(body == nullptr ? "" : body, body_len),
                                        capi::time_arg(now_ms));
    if (!signed_at.ok()) return capi::fail(signed_at.status());
    if (signed_at_ms != nullptr) *signed_at_ms = capi::unix_ms(*signed_at);
    return RK_OK;
  });
}

rk_status rk_webhook_sign(const char* secret, size_t secret_len, int64_t unix_seconds, const char* body,
                          size_t body_len, char* out, size_t out_size, size_t* len) {
  return guarded([&] {
    if (out == nullptr) return capi::null_handle("out");
    if (secret == nullptr && secret_len != 0) return capi::fail(RK_INVALID_ARGUMENT, "secret: NULL pointer with a length");
    if (body == nullptr && body_len != 0) return capi::fail(RK_INVALID_ARGUMENT, "body: NULL pointer with a length");
    if (unix_seconds < 0) return capi::fail(RK_INVALID_ARGUMENT, "unix_seconds: must not be negative");
    const std::string header = referkit::sign_payload(std::string_view(secret == nullptr ? "" : secret, secret_len),
                                                      unix_seconds,
                                                      std::string_view(body == nullptr ? "" : body, body_len));
    if (len != nullptr) *len = header.size();
    if (header.size() + 1 > out_size) {
      return capi::fail(RK_RESOURCE_EXHAUSTED, "out: " + std::to_string(header.size() + 1) + " bytes needed");
    }
    std::memcpy(out, header.c_str(), header.size() + 1);
    return RK_OK;
  });
}

}  // extern "C"
