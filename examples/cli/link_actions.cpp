#include "link_actions.hpp"

#include "cli_common.hpp"
#include "json/json_writer.hpp"
#include "referkit/time.hpp"

namespace referkit::cli {
namespace {

Result<TimePoint> time_input(const std::string& name, const std::string& text) {
  auto t = parse_rfc3339(text);
  if (!t) return Status(StatusCode::kInvalidArgument, name + ": " + t.status().message());
  return t;
}

}  // namespace

std::string host_of(std::string_view base_url) {
  if (auto scheme = base_url.find("://"); scheme != std::string_view::npos) base_url.remove_prefix(scheme + 3);
  return std::string(base_url.substr(0, base_url.find('/')));
}

Result<LinkRequest> make_link_request(const LinkInputs& in, const std::string& flag_prefix) {
  const auto name = [&](const char* input) { return flag_prefix + input; };
  LinkRequest request;
  request.campaign = in.campaign;
  request.referrer = in.referrer;
  request.name = in.name;
  request.issued_at = now_ms();
  if (!in.issued_at.empty()) {
    auto t = time_input(name(flag_prefix.empty() ? "issued_at" : "issued-at"), in.issued_at);
    if (!t) return t.status();
    request.issued_at = *t;
  }
  if (!in.ttl.empty() && !in.expires_at.empty()) {
    return Status(StatusCode::kInvalidArgument,
                  "give " + name("ttl") + " or " + name(flag_prefix.empty() ? "expires_at" : "expires-at") + ", not both");
  }
  if (!in.ttl.empty()) {
    auto ttl = parse_duration(in.ttl);
    if (!ttl) return Status(StatusCode::kInvalidArgument, name("ttl") + ": expected e.g. 30d, 12h, 90m");
    request.expires_at = *request.issued_at + *ttl;
  }
  if (!in.expires_at.empty()) {
    auto t = time_input(name(flag_prefix.empty() ? "expires_at" : "expires-at"), in.expires_at);
    if (!t) return t.status();
    request.expires_at = *t;
  }
  for (const std::string& kv : in.utm) {
    std::size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      return Status(StatusCode::kInvalidArgument, name("utm") + ": expected key=value, got " + kv);
    }
    std::string key = kv.substr(0, eq);
    if (key.rfind("utm_", 0) != 0) key = "utm_" + key;  // source=email means utm_source
    request.utm.emplace_back(std::move(key), kv.substr(eq + 1));
  }
  return request;
}

std::string link_json(const Link& link) {
  std::string out;
  detail::JsonWriter w(out);
  w.begin_object();
  w.key("url").value(link.url);
  w.key("token").value(link.token);
  w.key("share_code").value(link.share_code);
  w.key("key_id").value(link.key_id);
  w.key("issued_at").value(format_rfc3339(link.issued_at));
  w.key("expires_at");
  if (link.expires_at) w.value(format_rfc3339(*link.expires_at)); else w.null();
  w.end_object();
  return out;
}

std::string verification_json(const LinkVerification& v) {
  std::string out;
  detail::JsonWriter w(out);
  if (v.ok()) {
    write_claims(w, *v.claims);
  } else {
    w.begin_object().key("error").value(to_string(v.status.code())).key("message").value(v.status.message());
    if (v.claims) {
      w.key("claims");
      write_claims(w, *v.claims);
    }
    w.end_object();
  }
  return out;
}

}  // namespace referkit::cli
