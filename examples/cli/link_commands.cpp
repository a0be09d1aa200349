#include <algorithm>
#include <iostream>
#include <memory>
#include <string_view>
#include <vector>

#include "cli_common.hpp"
#include "commands.hpp"
#include "link_actions.hpp"
#include "links/link_text.hpp"

namespace referkit::cli {
namespace {

struct CreateOptions {
  std::string campaign, referrer, name, ttl, expires_at, issued_at, keys_file;
  std::string base_url;  // required (or REFERKIT_BASE_URL): no placeholder host
  std::vector<std::string> utm;
};

struct VerifyOptions {
  std::string input, now, keys_file, base_url;
  std::vector<std::string> share_hosts;
  bool any_host = false;
};

int run_create(const CreateOptions& o) {
  int exit = kExitOk;
  auto keys = load_keys(o.keys_file, exit);
  if (!keys) return exit;
  LinkSignerOptions signer_options;
  signer_options.base_url = o.base_url;
  auto signer = LinkSigner::create(*keys, signer_options);
  if (!signer) return print_error(signer.status(), kExitUsage);

  LinkInputs in;
  in.campaign = o.campaign;
  in.referrer = o.referrer;
  in.name = o.name;
  in.ttl = o.ttl;
  in.expires_at = o.expires_at;
  in.issued_at = o.issued_at;
  in.utm = o.utm;
  auto request = make_link_request(in, "--");
  if (!request) return print_error(request.status(), kExitUsage);
  auto link = signer->mint(*request);
  if (!link) return print_error(link.status(), kExitRejected);

  std::cout << link_json(*link) << '\n';
  return kExitOk;
}

int run_verify(const VerifyOptions& o) {
  int exit = kExitOk;
  auto keys = load_keys(o.keys_file, exit);
  if (!keys) return exit;
  LinkSignerOptions signer_options;
  if (!o.any_host) {
    // Only links a merchant actually issues verify: a pasted javascript:// or look-alike URL
    // with a valid token is refused. The default share host is the host of --base-url.
    for (const std::string& list : o.share_hosts) {
      for (std::size_t at = 0; at <= list.size();) {  // REFERKIT_SHARE_HOSTS is comma-separated
        const std::size_t comma = std::min(list.find(',', at), list.size());
        if (comma > at) signer_options.share_hosts.push_back(list.substr(at, comma - at));
        at = comma + 1;
      }
    }
    if (signer_options.share_hosts.empty() && !o.base_url.empty()) signer_options.share_hosts.push_back(host_of(o.base_url));
    // With no share host at all the library would accept any host; a full URL then needs an
    // explicit choice. Bare tokens and share codes carry no host, so they need none.
    auto pasted = detail::parse_pasted_link(o.input);
    if (signer_options.share_hosts.empty() && pasted && !pasted->scheme.empty()) {
      return print_error(Status(StatusCode::kInvalidArgument,
                                "a full URL needs --share-host HOST (or REFERKIT_SHARE_HOSTS, or --base-url), or --any-host"),
                         kExitUsage);
    }
  }
  // verify() needs no base URL (this signer mints nothing), but create() requires one: without
  // --base-url, a host under the reserved .invalid TLD (RFC 2606), which can never resolve.
  signer_options.base_url = o.base_url.empty() ? "https://unused.invalid" : o.base_url;
  auto signer = LinkSigner::create(*keys, signer_options);
  if (!signer) return print_error(signer.status(), kExitUsage);
  TimePoint now = now_ms();
  if (!o.now.empty()) {
    auto t = parse_rfc3339(o.now);
    if (!t) return print_error(Status(StatusCode::kInvalidArgument, "--now: " + t.status().message()), kExitUsage);
    now = *t;
  }
  LinkVerification v = signer->verify(o.input, now);
  std::cout << verification_json(v) << '\n';
  return v.ok() ? kExitOk : kExitRejected;
}

}  // namespace

void add_link_commands(CLI::App& app, int& exit_code) {
  CLI::App* link = app.add_subcommand("link", std::string("Mint and verify referral links and share codes.\n") + kKeysHelp);
  link->require_subcommand(1);

  auto create_opts = std::make_shared<CreateOptions>();
  CLI::App* create = link->add_subcommand(
      "create", "Mint a signed referral link and share code; prints {url, token, share_code, key_id, issued_at, expires_at}.");
  create->add_option("--campaign", create_opts->campaign, "Campaign id carried in the token (1-64 bytes)")->required();
  create->add_option("--referrer", create_opts->referrer,
                     "Referring customer's id; encrypted in the token, never shown in clear (1-128 bytes)")->required();
  create->add_option("--name", create_opts->name, "Referrer's display name; its first word, folded to ASCII, prefixes the share code");
  create->add_option("--ttl", create_opts->ttl, "Lifetime from the issue time: 90m, 12h, 30d, 2w (default: never expires)");
  create->add_option("--expires-at", create_opts->expires_at, "Absolute expiry, RFC 3339 (instead of --ttl)");
  create->add_option("--issued-at", create_opts->issued_at,
                     "Issue time, RFC 3339 (default now); fix it to re-issue byte-identical links");
  create->add_option("--base-url", create_opts->base_url,
                     "Scheme and host (and optional path) of the share links, e.g. https://refer.yourshop.com")
      ->envname("REFERKIT_BASE_URL")
      ->required();
  create->add_option("--utm", create_opts->utm, "UTM parameter key=value appended to the URL (repeatable; utm_ is implied)");
  create->add_option("--keys", create_opts->keys_file, "Key file (default: REFERKIT_LINK_KEYS)");
  create->callback([create_opts, &exit_code] { exit_code = run_create(*create_opts); });

  auto verify_opts = std::make_shared<VerifyOptions>();
  CLI::App* verify = link->add_subcommand(
      "verify", "Verify a link URL, token or share code; prints the claims (exit 0) or {error, message} (exit 1), "
                "error being malformed, bad_signature, unknown_key or expired.");
  verify->add_option("input", verify_opts->input, "A full URL, a bare token or a share code")->required();
  verify->add_option("--now", verify_opts->now, "Verify as of this RFC 3339 time (default now)");
  verify->add_option("--keys", verify_opts->keys_file, "Key file (default: REFERKIT_LINK_KEYS)");
  verify->add_option("--share-host", verify_opts->share_hosts,
                     "A host (with :port if any) that full URLs must point to, over https; repeatable, or "
                     "comma-separated in REFERKIT_SHARE_HOSTS (default: the host of --base-url). A full URL needs "
                     "one of them or --any-host; bare tokens and share codes are not affected")
      ->envname("REFERKIT_SHARE_HOSTS");
  verify->add_option("--base-url", verify_opts->base_url, "The share links' base URL; its host is the default --share-host")
      ->envname("REFERKIT_BASE_URL");
  verify->add_flag("--any-host", verify_opts->any_host, "Accept a URL with any scheme and host (no share-host check)");
  verify->callback([verify_opts, &exit_code] { exit_code = run_verify(*verify_opts); });
}

}  // namespace referkit::cli
