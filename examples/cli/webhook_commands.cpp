#include <cstdio>
#include <iostream>
#include <memory>

#include "cli_common.hpp"
#include "commands.hpp"
#include "referkit/webhooks.hpp"

namespace referkit::cli {
namespace {

struct VerifyOptions {
  std::vector<std::string> secrets, secret_files;
  std::string signature, tolerance = "300s", now;
};

struct SignOptions {
  std::string secret, secret_file;
  std::int64_t timestamp = -1;
};

constexpr const char* kSecretEnv = "REFERKIT_WEBHOOK_SECRET";

// Webhook payloads are a few KiB; the cap keeps a wrong pipe (a disk image, /dev/zero) from
// being read into memory.
constexpr std::size_t kMaxBodyBytes = 16u << 20;

// The body exactly as received: bytes, not lines. kResourceExhausted past the cap, and a read
// error is an error, not a shorter body.
Result<std::string> read_stdin() {
  std::string body;
  char buf[65536];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, stdin)) > 0) {
    body.append(buf, n);
    if (body.size() > kMaxBodyBytes) {
      return Status(StatusCode::kResourceExhausted,
                    "the body on standard input is larger than " + std::to_string(kMaxBodyBytes) + " bytes");
    }
  }
  if (std::ferror(stdin)) return Status(StatusCode::kFailedPrecondition, "cannot read standard input");
  return body;
}

int run_verify(const VerifyOptions& o) {
  auto tolerance = parse_duration(o.tolerance);
  if (!tolerance) return print_error(Status(StatusCode::kInvalidArgument, "--tolerance: expected e.g. 300s, 5m"), kExitUsage);
  std::vector<std::string> secrets = o.secrets;
  for (const std::string& file : o.secret_files) {
    auto secret = resolve_secret("", file, "--secret");
    if (!secret) return print_error(secret.status(), exit_for_open_failure(secret.status()));
    secrets.push_back(std::move(*secret));
  }
  if (secrets.empty()) return print_error("usage", "give the secret: --secret, REFERKIT_WEBHOOK_SECRET or --secret-file", kExitUsage);
  WebhookVerifierOptions options;
  options.tolerance = std::chrono::duration_cast<std::chrono::seconds>(*tolerance);
  auto verifier = WebhookVerifier::create(secrets, options);
  if (!verifier) return print_error(verifier.status(), kExitUsage);
  TimePoint now = now_ms();
  if (!o.now.empty()) {
    auto t = parse_rfc3339(o.now);
    if (!t) return print_error(Status(StatusCode::kInvalidArgument, "--now: " + t.status().message()), kExitUsage);
    now = *t;
  }
  const auto body = read_stdin();
  if (!body) return print_error(body.status(), kExitFailure);
  auto signed_at = verifier->verify(o.signature, *body, now);
  if (!signed_at) return print_error(signed_at.status(), kExitRejected);
  std::string out;
  detail::JsonWriter w(out);
  w.begin_object().key("ok").value(true).key("signed_at").value(format_rfc3339(*signed_at)).end_object();
  std::cout << out << '\n';
  return kExitOk;
}

int run_sign(const SignOptions& o) {
  auto secret = resolve_secret(o.secret, o.secret_file, "--secret");
  if (!secret) return print_error(secret.status(), exit_for_open_failure(secret.status()));
  if (secret->empty()) return print_error("usage", "give the secret: --secret, REFERKIT_WEBHOOK_SECRET or --secret-file", kExitUsage);
  const std::int64_t t = o.timestamp >= 0
                             ? o.timestamp
                             : std::chrono::duration_cast<std::chrono::seconds>(now_ms().time_since_epoch()).count();
  const auto body = read_stdin();
  if (!body) return print_error(body.status(), kExitFailure);
  std::string out;
  detail::JsonWriter w(out);
  w.begin_object().key("header").value(kSignatureHeader).key("value").value(sign_payload(*secret, t, *body)).end_object();
  std::cout << out << '\n';
  return kExitOk;
}

}  // namespace

void add_webhook_commands(CLI::App& app, int& exit_code) {
  CLI::App* webhook = app.add_subcommand("webhook", "Verify or sign payloads with X-Referkit-Signature: t=<unix>,v1=<hex HMAC-SHA256>.");
  webhook->require_subcommand(1);

  auto verify_opts = std::make_shared<VerifyOptions>();
  CLI::App* verify = webhook->add_subcommand(
      "verify", "Verify the raw body on stdin against a signature header; prints {ok, signed_at} (exit 0) or "
                "{error, message} (exit 1), error being malformed, bad_signature or expired.");
  verify->add_option("--secret", verify_opts->secrets,
                     "Webhook secret (repeatable, for rotation; at least 16 bytes). Also from the environment variable "
                     "REFERKIT_WEBHOOK_SECRET (one secret), or from files with --secret-file")
      ->envname(kSecretEnv);
  verify->add_option("--secret-file", verify_opts->secret_files,
                     "Read a secret from this file (its content without a final line break; at most 1 MiB; repeatable)");
  verify->add_option("--signature", verify_opts->signature, "The X-Referkit-Signature header value")->required();
  verify->add_option("--tolerance", verify_opts->tolerance, "Largest accepted clock difference either way")->capture_default_str();
  verify->add_option("--now", verify_opts->now, "Verify as of this RFC 3339 time (default now)");
  verify->callback([verify_opts, &exit_code] { exit_code = run_verify(*verify_opts); });

  auto sign_opts = std::make_shared<SignOptions>();
  CLI::App* sign = webhook->add_subcommand("sign", "Sign the raw body on stdin; prints {header, value} (for tests and tooling).");
  add_secret_option(*sign, "--secret", sign_opts->secret, sign_opts->secret_file, kSecretEnv, "Signing secret");
  sign->add_option("--timestamp", sign_opts->timestamp, "Unix seconds to sign at (default now)");
  sign->callback([sign_opts, &exit_code] { exit_code = run_sign(*sign_opts); });
}

}  // namespace referkit::cli
