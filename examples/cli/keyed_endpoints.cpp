#include "keyed_endpoints.hpp"

#include <simdjson.h>

#include "cli_common.hpp"
#include "json/json_writer.hpp"
#include "link_actions.hpp"
#include "referkit/time.hpp"

namespace referkit::cli {
namespace {

// {"error":"<status code name>","message":...}: the CLI's error shape, for a refusal on the merits.
http::Response refusal(int status, const Status& why) {
  std::string out;
  detail::JsonWriter w(out);
  w.begin_object().key("error").value(to_string(why.code())).key("message").value(why.message()).end_object();
  return http::Response::json(status, std::move(out));
}

// A string member into `out` (absent: left as it is); the refusal's reason when it is not a string.
std::optional<std::string> string_member(simdjson::dom::object object, std::string_view key, std::string& out) {
  simdjson::dom::element e;
  if (object[key].get(e) != simdjson::SUCCESS) return std::nullopt;  // absent
  std::string_view text;
  if (e.get_string().get(text) != simdjson::SUCCESS) return std::string(key) + " must be a string";
  out.assign(text);
  return std::nullopt;
}

}  // namespace

std::optional<KeyedEndpoints> KeyedEndpoints::create(const std::string& keys_file, const std::string& base_url,
                                                     const std::vector<std::string>& webhook_secrets, int& exit) {
  auto keys = load_keys(keys_file, exit);
  if (!keys) return std::nullopt;
  if (base_url.empty()) {
    exit = print_error("usage", "--keys needs --base-url (or REFERKIT_BASE_URL): the share links' base URL", kExitUsage);
    return std::nullopt;
  }
  LinkSignerOptions options;
  options.base_url = base_url;
  // As `link verify` does by default: only full URLs on the merchant's own share host verify.
  options.share_hosts.push_back(host_of(base_url));
  auto signer = LinkSigner::create(*keys, options);
  if (!signer) {
    exit = print_error(signer.status(), kExitUsage);
    return std::nullopt;
  }
  std::optional<WebhookVerifier> webhooks;
  if (!webhook_secrets.empty()) {
    auto verifier = WebhookVerifier::create(webhook_secrets);
    if (!verifier) {
      exit = print_error(verifier.status(), kExitUsage);
      return std::nullopt;
    }
    webhooks.emplace(std::move(*verifier));
  }
  return KeyedEndpoints(std::move(*signer), std::move(webhooks));
}

http::Response KeyedEndpoints::handle(const http::Request& request) const {
  const std::string_view path = request.path();
  if (path == "/v1/links") return create_link(request.body);
  if (path == "/v1/links/verify") return verify_link(request.body);
  return verify_webhook(request);
}

http::Response KeyedEndpoints::create_link(const std::string& body) const {
  simdjson::dom::parser parser;
  simdjson::dom::object object;
  if (parser.parse(body).get_object().get(object) != simdjson::SUCCESS) {
    return http::Response::error(400, "the body must be a JSON object");
  }
  LinkInputs in;
  for (auto [key, field] : {std::pair<std::string_view, std::string*>{"campaign", &in.campaign},
                            {"referrer", &in.referrer}, {"name", &in.name}, {"ttl", &in.ttl},
                            {"expires_at", &in.expires_at}, {"issued_at", &in.issued_at}}) {
    if (auto error = string_member(object, key, *field)) return http::Response::error(400, *error);
  }
  simdjson::dom::element utm;
  if (object["utm"].get(utm) == simdjson::SUCCESS) {
    simdjson::dom::object pairs;
    if (utm.get_object().get(pairs) != simdjson::SUCCESS) {
      return http::Response::error(400, "utm must be an object of strings, e.g. {\"source\":\"email\"}");
    }
    for (auto [key, value] : pairs) {
      std::string_view text;
      if (value.get_string().get(text) != simdjson::SUCCESS) return http::Response::error(400, "utm values must be strings");
      in.utm.push_back(std::string(key) + "=" + std::string(text));
    }
  }
  auto request = make_link_request(in, "");
  if (!request) return http::Response::error(400, request.status().message());
  auto link = signer_.mint(*request);
  if (!link) return refusal(422, link.status());
  return http::Response::json(200, link_json(*link));
}

http::Response KeyedEndpoints::verify_link(const std::string& body) const {
  simdjson::dom::parser parser;
  simdjson::dom::object object;
  if (parser.parse(body).get_object().get(object) != simdjson::SUCCESS) {
    return http::Response::error(400, "the body must be a JSON object with \"link\"");
  }
  std::string link, now_text;
  if (auto error = string_member(object, "link", link)) return http::Response::error(400, *error);
  if (auto error = string_member(object, "now", now_text)) return http::Response::error(400, *error);
  if (link.empty()) return http::Response::error(400, "link is required: a URL, token or share code");
  TimePoint now = now_ms();
  if (!now_text.empty()) {
    auto t = parse_rfc3339(now_text);
    if (!t) return http::Response::error(400, "now: " + t.status().message());
    now = *t;
  }
  const LinkVerification v = signer_.verify(link, now);
  return http::Response::json(v.ok() ? 200 : 422, verification_json(v));
}

http::Response KeyedEndpoints::verify_webhook(const http::Request& request) const {
  if (!webhooks_) return http::Response::error(404, "webhook checks need `referkit serve --webhook-secret`");
  const auto signature = request.header(kSignatureHeader);
  if (!signature) return http::Response::error(400, "send the webhook's " + std::string(kSignatureHeader) + " header");
  // Over the body exactly as received: that is what the platform signed.
  auto signed_at = webhooks_->verify(*signature, request.body, now_ms());
  if (!signed_at) return refusal(422, signed_at.status());
  std::string out;
  detail::JsonWriter w(out);
  w.begin_object().key("ok").value(true).key("signed_at").value(format_rfc3339(*signed_at)).end_object();
  return http::Response::json(200, std::move(out));
}

}  // namespace referkit::cli
