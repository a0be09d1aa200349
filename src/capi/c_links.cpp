// rk_link_*: link and share-code minting and verification behind the C ABI. Results are handles
// that own their strings, so every (pointer, length) handed out lives exactly as long as the
// handle the caller frees.
#include <optional>
#include <string>
#include <vector>

#include "capi/boundary.hpp"
#include "referkit/links.hpp"

namespace capi = referkit::capi;
using capi::guarded;

struct rk_link_signer_options {
  std::optional<referkit::Keyring> keys;
  referkit::LinkSignerOptions options;
};

struct rk_link_signer {
  referkit::LinkSigner signer;
};

struct rk_link {
  referkit::Link link;
};

struct rk_link_claims {
  referkit::LinkClaims claims;
};

namespace {

rk_status out_string(const std::string& s, const char** ptr, size_t* len) {
  if (ptr == nullptr) return capi::null_handle("ptr");
  *ptr = s.c_str();
  if (len != nullptr) *len = s.size();
  return RK_OK;
}

}  // namespace

extern "C" {

rk_status rk_link_signer_options_new(rk_link_signer_options** out) {
  return guarded([&] {
    if (out == nullptr) return capi::null_handle("out");
    *out = new rk_link_signer_options();
    return RK_OK;
  });
}

void rk_link_signer_options_free(rk_link_signer_options* options) { delete options; }

rk_status rk_link_signer_options_set_keys(rk_link_signer_options* o, const char* keys, size_t len) {
  return guarded([&] {
    if (o == nullptr) return capi::null_handle("options");
    std::string_view text;
    if (rk_status s = capi::text_arg(keys, len, "keys", text); s != RK_OK) return s;
    auto parsed = referkit::Keyring::parse(text);
    if (!parsed.ok()) return capi::fail(RK_INVALID_ARGUMENT, "keys: " + parsed.status().message());
    o->keys = std::move(*parsed);
    return RK_OK;
  });
}

rk_status rk_link_signer_options_set_base_url(rk_link_signer_options* o, const char* url, size_t len) {
  return guarded([&] {
    if (o == nullptr) return capi::null_handle("options");
    std::string_view text;
    if (rk_status s = capi::text_arg(url, len, "base_url", text); s != RK_OK) return s;
    o->options.base_url = std::string(text);
    return RK_OK;
  });
}

rk_status rk_link_signer_options_add_share_host(rk_link_signer_options* o, const char* host, size_t len) {
  return guarded([&] {
    if (o == nullptr) return capi::null_handle("options");
    std::string_view text;
    if (rk_status s = capi::text_arg(host, len, "share_host", text); s != RK_OK) return s;
    o->options.share_hosts.emplace_back(text);
    return RK_OK;
  });
}

rk_status rk_link_signer_create(const rk_link_signer_options* o, rk_link_signer** out) {
  return guarded([&] {
    if (out == nullptr) return capi::null_handle("out");
    *out = nullptr;
    if (o == nullptr) return capi::null_handle("options");
    if (!o->keys) return capi::fail(RK_INVALID_ARGUMENT, "keys: required (rk_link_signer_options_set_keys)");
    auto signer = referkit::LinkSigner::create(*o->keys, o->options);
    if (!signer.ok()) return capi::fail(signer.status());
    *out = new rk_link_signer{std::move(*signer)};
    return RK_OK;
  });
}

void rk_link_signer_free(rk_link_signer* signer) { delete signer; }

rk_status rk_link_signer_mint(const rk_link_signer* signer, const char* campaign, size_t campaign_len,
                              const char* referrer, size_t referrer_len, const char* name, size_t name_len,
                              int64_t issued_at_ms, int64_t expires_at_ms, rk_link** out) {
  return guarded([&] {
    if (out == nullptr) return capi::null_handle("out");
    *out = nullptr;
    if (signer == nullptr) return capi::null_handle("signer");
    std::string_view campaign_v, referrer_v, name_v;
    if (rk_status s = capi::text_arg(campaign, campaign_len, "campaign", campaign_v); s != RK_OK) return s;
    if (rk_status s = capi::text_arg(referrer, referrer_len, "referrer", referrer_v); s != RK_OK) return s;
    if (rk_status s = capi::text_arg(name, name_len, "name", name_v); s != RK_OK) return s;
    referkit::LinkRequest request;
    request.campaign = std::string(campaign_v);
    request.referrer = std::string(referrer_v);
    request.name = std::string(name_v);
    if (issued_at_ms != 0) request.issued_at = capi::time_arg(issued_at_ms);
    if (expires_at_ms != 0) request.expires_at = capi::time_arg(expires_at_ms);
    auto link = signer->signer.mint(request);
    if (!link.ok()) return capi::fail(link.status());
    *out = new rk_link{std::move(*link)};
    return RK_OK;
  });
}

void rk_link_free(rk_link* link) { delete link; }

rk_status rk_link_get(const rk_link* link, rk_link_field field, const char** ptr, size_t* len) {
  if (link == nullptr) return capi::null_handle("link");
  switch (capi::enum_arg(field)) {
    case RK_LINK_URL: return out_string(link->link.url, ptr, len);
    case RK_LINK_TOKEN: return out_string(link->link.token, ptr, len);
    case RK_LINK_SHARE_CODE: return out_string(link->link.share_code, ptr, len);
    case RK_LINK_KEY_ID: return out_string(link->link.key_id, ptr, len);
  }
  return capi::fail(RK_INVALID_ARGUMENT, "field: not an rk_link_field");
}

rk_status rk_link_signer_verify(const rk_link_signer* signer, const char* text, size_t len, int64_t now_ms,
                                rk_link_claims** out) {
  return guarded([&] {
    if (out == nullptr) return capi::null_handle("out");
    *out = nullptr;
    if (signer == nullptr) return capi::null_handle("signer");
    std::string_view input;
    if (rk_status s = capi::text_arg(text, len, "link", input); s != RK_OK) {
      // Not UTF-8 cannot be a link: say so the way verify() would.
      return s == RK_INVALID_ARGUMENT && text != nullptr ? capi::fail(RK_MALFORMED, "link: not valid UTF-8") : s;
    }
    referkit::LinkVerification v = signer->signer.verify(input, capi::time_arg(now_ms));
    if (v.claims) *out = new rk_link_claims{std::move(*v.claims)};
    return capi::to_rk(v.status);
  });
}

void rk_link_claims_free(rk_link_claims* claims) { delete claims; }

rk_status rk_link_claims_get(const rk_link_claims* claims, rk_claims_field field, const char** ptr, size_t* len) {
  if (claims == nullptr) return capi::null_handle("claims");
  static const std::string kToken = "token", kShareCode = "share_code";
  const referkit::LinkClaims& c = claims->claims;
  switch (capi::enum_arg(field)) {
    case RK_CLAIMS_KIND:
      return out_string(c.kind == referkit::LinkClaims::Kind::kToken ? kToken : kShareCode, ptr, len);
    case RK_CLAIMS_KEY_ID: return out_string(c.key_id, ptr, len);
    case RK_CLAIMS_CAMPAIGN: return out_string(c.campaign, ptr, len);
    case RK_CLAIMS_REFERRER: return out_string(c.referrer, ptr, len);
    case RK_CLAIMS_SHARE_CODE: return out_string(c.share_code, ptr, len);
    case RK_CLAIMS_NAME_PREFIX: return out_string(c.name_prefix, ptr, len);
  }
  return capi::fail(RK_INVALID_ARGUMENT, "field: not an rk_claims_field");
}

rk_status rk_link_claims_times(const rk_link_claims* claims, int64_t* issued_at_ms, int64_t* expires_at_ms) {
  if (claims == nullptr) return capi::null_handle("claims");
  if (issued_at_ms != nullptr) *issued_at_ms = capi::unix_ms(claims->claims.issued_at);
  if (expires_at_ms != nullptr) {
    *expires_at_ms = claims->claims.expires_at ? capi::unix_ms(*claims->claims.expires_at) : 0;
  }
  return RK_OK;
}

rk_status rk_link_signer_share_code_matches(const rk_link_signer* signer, const char* code, size_t code_len,
                                            const char* campaign, size_t campaign_len, const char* referrer,
                                            size_t referrer_len, int* matches) {
  return guarded([&] {
    if (matches == nullptr) return capi::null_handle("matches");
    *matches = 0;
    if (signer == nullptr) return capi::null_handle("signer");
    std::string_view code_v, campaign_v, referrer_v;
    if (rk_status s = capi::text_arg(code, code_len, "code", code_v); s != RK_OK) return s;
    if (rk_status s = capi::text_arg(campaign, campaign_len, "campaign", campaign_v); s != RK_OK) return s;
    if (rk_status s = capi::text_arg(referrer, referrer_len, "referrer", referrer_v); s != RK_OK) return s;
    *matches = signer->signer.share_code_matches(code_v, campaign_v, referrer_v) ? 1 : 0;
    return RK_OK;
  });
}

}  // extern "C"
