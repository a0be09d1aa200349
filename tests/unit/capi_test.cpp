// The C ABI (referkit/referkit.h) from its caller's side: every refusal of bad input is a clear
// status with a message, results are owned as documented, and the wrappers reach the C++ paths.
// Delivery over HTTP is covered by the Python and PHP binding tests against referkit-ingest.
#include <doctest/doctest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>

#include "referkit/referkit.h"
#include "support/temp_dir.hpp"
#include "support/thread_nice.hpp"

namespace {

// Nothing listens on port 1 of loopback: tracking works (it never does I/O), delivery does not.
constexpr std::string_view kDeadEndpoint = "http://127.0.0.1:1";
constexpr std::string_view kKeys = "k1:00112233445566778899aabbccddeeff";
constexpr std::string_view kSecret = "webhook-secret-0123456789";

// An out-of-range value of a C enum, as a C caller (or an FFI) can pass one.
template <typename Enum>
Enum out_of_range(int v) {
  Enum e;
  static_assert(sizeof e == sizeof v);
  std::memcpy(&e, &v, sizeof e);
  return e;
}

std::string last_error() { return rk_last_error_message(nullptr); }

rk_status set(rk_status (*fn)(rk_tracker_options*, const char*, size_t), rk_tracker_options* o, std::string_view v) {
  return fn(o, v.data(), v.size());
}

// A memory-mode tracker on the dead endpoint.
rk_tracker* open_tracker() {
  rk_tracker_options* o = nullptr;
  REQUIRE(rk_tracker_options_new(&o) == RK_OK);
  REQUIRE(set(rk_tracker_options_set_endpoint, o, kDeadEndpoint) == RK_OK);
  REQUIRE(set(rk_tracker_options_set_write_key, o, "wk") == RK_OK);
  rk_tracker* t = nullptr;
  REQUIRE(rk_tracker_open(o, &t) == RK_OK);
  rk_tracker_options_free(o);  // open copied what it needs
  REQUIRE(t != nullptr);
  return t;
}

rk_status track(rk_tracker* t, std::string_view json) { return rk_tracker_track_json(t, json.data(), json.size()); }

std::string stats(rk_tracker* t) {
  char* json = nullptr;
  size_t len = 0;
  REQUIRE(rk_tracker_stats_json(t, &json, &len) == RK_OK);
  std::string out(json, len);
  CHECK(std::strlen(json) == len);
  rk_string_free(json);
  return out;
}

rk_link_signer* make_signer() {
  rk_link_signer_options* o = nullptr;
  REQUIRE(rk_link_signer_options_new(&o) == RK_OK);
  REQUIRE(rk_link_signer_options_set_keys(o, kKeys.data(), kKeys.size()) == RK_OK);
  REQUIRE(rk_link_signer_options_set_base_url(o, "https://refer.shop.test", 23) == RK_OK);
  rk_link_signer* s = nullptr;
  REQUIRE(rk_link_signer_create(o, &s) == RK_OK);
  rk_link_signer_options_free(o);
  return s;
}

std::string link_field(const rk_link* link, rk_link_field f) {
  const char* p = nullptr;
  size_t n = 0;
  REQUIRE(rk_link_get(link, f, &p, &n) == RK_OK);
  return std::string(p, n);
}

std::string claims_field(const rk_link_claims* c, rk_claims_field f) {
  const char* p = nullptr;
  size_t n = 0;
  REQUIRE(rk_link_claims_get(c, f, &p, &n) == RK_OK);
  return std::string(p, n);
}

}  // namespace

TEST_CASE("capi: version, ABI version and status names") {
  CHECK(std::string(rk_version()).find('.') != std::string::npos);
  CHECK(rk_abi_version() == RK_ABI_VERSION);
  CHECK(std::string(rk_status_name(RK_OK)) == "ok");
  CHECK(std::string(rk_status_name(RK_BAD_SIGNATURE)) == "bad_signature");
  CHECK(std::string(rk_status_name(RK_INTERNAL)) == "internal");
  CHECK(std::string(rk_status_name(out_of_range<rk_status>(99))) == "unknown");
}

TEST_CASE("capi: NULL handles, NULL pointers with a length and bad UTF-8 are refused with a message") {
  CHECK(rk_tracker_track_json(nullptr, "{}", 2) == RK_INVALID_ARGUMENT);
  CHECK(last_error() == "tracker is NULL");
  CHECK(rk_tracker_flush(nullptr, 10) == RK_INVALID_ARGUMENT);
  CHECK(rk_tracker_pause(nullptr, RK_LANE_CONVERSIONS) == RK_INVALID_ARGUMENT);
  CHECK(rk_tracker_open(nullptr, nullptr) == RK_INVALID_ARGUMENT);
  rk_tracker* t = reinterpret_cast<rk_tracker*>(1);
  CHECK(rk_tracker_open(nullptr, &t) == RK_INVALID_ARGUMENT);
  CHECK(t == nullptr);  // out parameters are cleared on failure
  CHECK(rk_tracker_close(nullptr, 0) == RK_OK);  // a no-op
  rk_tracker_options_free(nullptr);
  rk_link_signer_free(nullptr);
  rk_link_free(nullptr);
  rk_link_claims_free(nullptr);
  rk_webhook_verifier_free(nullptr);
  rk_event_free(nullptr);
  rk_string_free(nullptr);

  rk_tracker_options* o = nullptr;
  REQUIRE(rk_tracker_options_new(&o) == RK_OK);
  CHECK(rk_tracker_options_set_endpoint(o, nullptr, 5) == RK_INVALID_ARGUMENT);
  CHECK(last_error() == "endpoint: NULL pointer with length 5");
  CHECK(rk_tracker_options_set_write_key(o, "\xff\xfe", 2) == RK_INVALID_ARGUMENT);
  CHECK(last_error() == "write_key: not valid UTF-8");
  CHECK(rk_tracker_options_set_flush_interval_ms(o, 0) == RK_INVALID_ARGUMENT);
  // An endpoint is required: the C++ validation speaks.
  rk_tracker* none = nullptr;
  CHECK(rk_tracker_open(o, &none) == RK_INVALID_ARGUMENT);
  CHECK(last_error().find("endpoint") != std::string::npos);
  CHECK(none == nullptr);
  rk_tracker_options_free(o);
}

TEST_CASE("capi: background_nice is checked, and nices the tracker's threads only") {
  rk_tracker_options* o = nullptr;
  REQUIRE(rk_tracker_options_new(&o) == RK_OK);
  CHECK(rk_tracker_options_set_background_nice(nullptr, 5) == RK_INVALID_ARGUMENT);
  CHECK(rk_tracker_options_set_background_nice(o, -1) == RK_INVALID_ARGUMENT);
  CHECK(last_error() == "background_nice: must be 0-19");
  CHECK(rk_tracker_options_set_background_nice(o, 20) == RK_INVALID_ARGUMENT);
  REQUIRE(rk_tracker_options_set_background_nice(o, 6) == RK_OK);
  REQUIRE(set(rk_tracker_options_set_endpoint, o, kDeadEndpoint) == RK_OK);
  REQUIRE(set(rk_tracker_options_set_write_key, o, "wk") == RK_OK);
  const int caller_nice = getpriority(PRIO_PROCESS, static_cast<id_t>(gettid()));
  rk_tracker* t = nullptr;
  REQUIRE(rk_tracker_open(o, &t) == RK_OK);
  rk_tracker_options_free(o);
  // The worker nices itself as it starts: wait for it, a bounded while.
  auto worker_at_6 = [] {
    for (const auto& thread : referkit::test::threads_with_nice()) {
      if (thread.name == "rk-worker" && thread.nice == 6) return true;
    }
    return false;
  };
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!worker_at_6() && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  CHECK(worker_at_6());
  CHECK(getpriority(PRIO_PROCESS, static_cast<id_t>(gettid())) == caller_nice);
  CHECK(rk_tracker_close(t, 0) == RK_OK);
}

TEST_CASE("capi: track_json validates as Tracker::track_json does") {
  rk_tracker* t = open_tracker();
  CHECK(rk_tracker_track_json(t, nullptr, 3) == RK_INVALID_ARGUMENT);
  CHECK(last_error() == "json: NULL pointer with length 3");
  CHECK(rk_tracker_track_json(t, nullptr, 0) == RK_MALFORMED);  // empty text is not JSON
  CHECK(track(t, "not json") == RK_MALFORMED);
  CHECK(track(t, "[1,2]") == RK_INVALID_ARGUMENT);
  CHECK(track(t, R"({"type":"track","event":"X"})") == RK_INVALID_ARGUMENT);  // no user
  CHECK(last_error() == "user_id or anonymous_id is required");
  CHECK(track(t, "{\"type\":\"track\",\"event\":\"\xc3\x28\",\"userId\":\"u\"}") == RK_MALFORMED);
  CHECK(last_error().find("UTF-8") != std::string::npos);
  CHECK(track(t, R"({"type":"track","event":"Order Completed","userId":"u-1","properties":{"total":1}})") == RK_OK);
  CHECK(track(t, R"({"type":"track","event":"Link Clicked","anonymousId":"a-1"})") == RK_OK);
  const std::string s = stats(t);
  CHECK(s.find("\"tracked\":2") != std::string::npos);
  CHECK(s.find("\"lanes\":{\"conversions\":{\"tracked\":1") != std::string::npos);
  // Nothing can be delivered: a short flush says so and returns in time.
  CHECK(rk_tracker_flush(t, 50) == RK_DEADLINE_EXCEEDED);
  CHECK(rk_tracker_close(t, 0) != RK_OK);  // two events undelivered
  CHECK(last_error().find("undelivered") != std::string::npos);
}

TEST_CASE("capi: pause and resume a lane") {
  rk_tracker* t = open_tracker();
  CHECK(rk_tracker_pause(t, RK_LANE_ENGAGEMENT) == RK_OK);
  CHECK(stats(t).find("\"engagement\":{\"tracked\":0,\"queued\":0,\"queued_bytes\":0,\"spool_bytes\":0,"
                      "\"acknowledged\":0,\"dead_lettered\":0,\"dropped\":0,\"retried\":0,\"paused\":true}") !=
        std::string::npos);
  CHECK(rk_tracker_pause(t, out_of_range<rk_lane>(7)) == RK_INVALID_ARGUMENT);
  CHECK(rk_tracker_resume(t, RK_LANE_ENGAGEMENT) == RK_OK);
  CHECK(stats(t).find("\"paused\":true") == std::string::npos);
  CHECK(rk_tracker_close(t, 0) == RK_OK);  // nothing tracked, nothing left
}

TEST_CASE("capi: typed events by field name") {
  rk_tracker* t = open_tracker();
  rk_event* e = nullptr;
  CHECK(rk_event_new(out_of_range<rk_event_kind>(0), &e) == RK_INVALID_ARGUMENT);
  CHECK(e == nullptr);
  REQUIRE(rk_event_new(RK_EVENT_ORDER_COMPLETED, &e) == RK_OK);
  CHECK(rk_event_set_string(e, "user_id", 7, "cust-1", 6) == RK_OK);
  CHECK(rk_event_set_string(e, "order_id", 8, "o-1", 3) == RK_OK);
  CHECK(rk_event_set_string(e, "channel", 7, "sms", 3) == RK_NOT_FOUND);  // not a field of orders
  CHECK(last_error() == "this kind of event has no string field 'channel'");
  CHECK(rk_event_set_money(e, "total", 5, 1999, "USD", 3) == RK_OK);
  CHECK(rk_event_set_bool(e, "new_customer", 12, 1) == RK_OK);
  CHECK(rk_event_add_product(e, "sku-1", 5, "Mug", 3, 2, 999, "USD", 3, nullptr, 0) == RK_OK);
  CHECK(rk_tracker_track_event(t, e) == RK_OK);
  // The C++ checks apply: a currency that is not ISO 4217 is refused at track time.
  CHECK(rk_event_set_money(e, "total", 5, 1999, "XYZ", 3) == RK_OK);
  CHECK(rk_tracker_track_event(t, e) == RK_INVALID_ARGUMENT);
  CHECK(rk_tracker_track_event(t, nullptr) == RK_INVALID_ARGUMENT);
  rk_event_free(e);

  const rk_event_kind kinds[] = {RK_EVENT_REFERRAL_LINK_CREATED, RK_EVENT_REFERRAL_LINK_SHARED,
                                 RK_EVENT_REFERRAL_LINK_CLICKED, RK_EVENT_REFEREE_SIGNED_UP,
                                 RK_EVENT_ORDER_REFUNDED, RK_EVENT_ORDER_CANCELLED, RK_EVENT_REWARD_ISSUED};
  for (rk_event_kind kind : kinds) {
    CAPTURE(kind);
    REQUIRE(rk_event_new(kind, &e) == RK_OK);
    CHECK(rk_event_set_string(e, "user_id", 7, "cust-1", 6) == RK_OK);
    CHECK(rk_tracker_track_event(t, e) == RK_INVALID_ARGUMENT);  // each kind has a required field
    CHECK(!last_error().empty());
    rk_event_free(e);
  }
  REQUIRE(rk_event_new(RK_EVENT_REFERRAL_LINK_SHARED, &e) == RK_OK);
  CHECK(rk_event_set_string(e, "anonymous_id", 12, "v-1", 3) == RK_OK);
  CHECK(rk_event_set_string(e, "referral_code", 13, "JANE-7KQ3", 9) == RK_OK);
  CHECK(rk_event_set_string(e, "channel", 7, "email", 5) == RK_OK);
  CHECK(rk_tracker_track_event(t, e) == RK_OK);
  rk_event_free(e);
  const std::string s = stats(t);
  CHECK(s.find("\"conversions\":{\"tracked\":1") != std::string::npos);
  CHECK(s.find("\"engagement\":{\"tracked\":1") != std::string::npos);
  (void)rk_tracker_close(t, 0);  // undelivered: the endpoint is dead
}

TEST_CASE("capi: link mint and verify round trip, share codes, and refusals") {
  rk_link_signer_options* o = nullptr;
  REQUIRE(rk_link_signer_options_new(&o) == RK_OK);
  rk_link_signer* none = nullptr;
  CHECK(rk_link_signer_create(o, &none) == RK_INVALID_ARGUMENT);  // no keys
  CHECK(rk_link_signer_options_set_keys(o, "nonsense", 8) == RK_INVALID_ARGUMENT);
  CHECK(last_error().rfind("keys: ", 0) == 0);
  rk_link_signer_options_free(o);

  rk_link_signer* s = make_signer();
  rk_link* link = nullptr;
  CHECK(rk_link_signer_mint(s, "", 0, "cust-42", 7, nullptr, 0, 0, 0, &link) == RK_INVALID_ARGUMENT);
  CHECK(link == nullptr);
  REQUIRE(rk_link_signer_mint(s, "bf", 2, "cust-42", 7, "Jane", 4, 1764400000000, 0, &link) == RK_OK);
  const std::string url = link_field(link, RK_LINK_URL);
  CHECK(url.rfind("https://refer.shop.test/r/", 0) == 0);
  CHECK(link_field(link, RK_LINK_KEY_ID) == "k1");
  const std::string code = link_field(link, RK_LINK_SHARE_CODE);
  CHECK(code.rfind("JANE", 0) == 0);
  CHECK(rk_link_get(link, out_of_range<rk_link_field>(9), nullptr, nullptr) == RK_INVALID_ARGUMENT);

  rk_link_claims* c = nullptr;
  REQUIRE(rk_link_signer_verify(s, url.data(), url.size(), 0, &c) == RK_OK);
  CHECK(claims_field(c, RK_CLAIMS_KIND) == "token");
  CHECK(claims_field(c, RK_CLAIMS_REFERRER) == "cust-42");
  CHECK(claims_field(c, RK_CLAIMS_CAMPAIGN) == "bf");
  int64_t issued = 0, expires = -1;
  CHECK(rk_link_claims_times(c, &issued, &expires) == RK_OK);
  CHECK(issued == 1764400000000);
  CHECK(expires == 0);
  rk_link_claims_free(c);

  std::string tampered = url;
  tampered[tampered.size() - 3] = tampered[tampered.size() - 3] == 'A' ? 'B' : 'A';
  c = reinterpret_cast<rk_link_claims*>(1);
  CHECK(rk_link_signer_verify(s, tampered.data(), tampered.size(), 0, &c) != RK_OK);
  CHECK(c == nullptr);
  CHECK(rk_link_signer_verify(s, "\xff", 1, 0, &c) == RK_MALFORMED);
  CHECK(rk_link_signer_verify(s, nullptr, 4, 0, &c) == RK_INVALID_ARGUMENT);

  REQUIRE(rk_link_signer_verify(s, code.data(), code.size(), 0, &c) == RK_OK);
  CHECK(claims_field(c, RK_CLAIMS_KIND) == "share_code");
  CHECK(claims_field(c, RK_CLAIMS_SHARE_CODE) == code);
  rk_link_claims_free(c);
  int matches = -1;
  CHECK(rk_link_signer_share_code_matches(s, code.data(), code.size(), "bf", 2, "cust-42", 7, &matches) == RK_OK);
  CHECK(matches == 1);
  CHECK(rk_link_signer_share_code_matches(s, code.data(), code.size(), "bf", 2, "cust-43", 7, &matches) == RK_OK);
  CHECK(matches == 0);

  // An expired link is refused, and its (authentic) claims still come back.
  rk_link_free(link);
  REQUIRE(rk_link_signer_mint(s, "bf", 2, "cust-42", 7, nullptr, 0, 1764400000000, 1764400060000, &link) == RK_OK);
  const std::string token = link_field(link, RK_LINK_TOKEN);
  CHECK(rk_link_signer_verify(s, token.data(), token.size(), 1764400120000, &c) == RK_EXPIRED);
  REQUIRE(c != nullptr);
  CHECK(rk_link_claims_times(c, nullptr, &expires) == RK_OK);
  CHECK(expires == 1764400060000);
  rk_link_claims_free(c);
  rk_link_free(link);
  rk_link_signer_free(s);
}

TEST_CASE("capi: webhook sign and verify") {
  const std::string body = R"({"type":"reward.issued","id":"evt-1"})";
  char header[RK_SIGNATURE_HEADER_MAX];
  size_t len = 0;
  char tiny[8];
  CHECK(rk_webhook_sign(kSecret.data(), kSecret.size(), 1764400000, body.data(), body.size(), tiny, sizeof tiny,
                        &len) == RK_RESOURCE_EXHAUSTED);
  REQUIRE(rk_webhook_sign(kSecret.data(), kSecret.size(), 1764400000, body.data(), body.size(), header,
                          sizeof header, &len) == RK_OK);
  CHECK(std::string(header, len).rfind("t=1764400000,v1=", 0) == 0);

  rk_webhook_verifier_options* o = nullptr;
  REQUIRE(rk_webhook_verifier_options_new(&o) == RK_OK);
  rk_webhook_verifier* none = nullptr;
  CHECK(rk_webhook_verifier_create(o, &none) == RK_INVALID_ARGUMENT);  // no secret
  CHECK(rk_webhook_verifier_options_add_secret(o, kSecret.data(), kSecret.size()) == RK_OK);
  CHECK(rk_webhook_verifier_options_set_tolerance_s(o, 60) == RK_OK);
  rk_webhook_verifier* v = nullptr;
  REQUIRE(rk_webhook_verifier_create(o, &v) == RK_OK);
  rk_webhook_verifier_options_free(o);

  int64_t signed_at = 0;
  CHECK(rk_webhook_verifier_verify(v, header, len, body.data(), body.size(), 1764400010000, &signed_at) == RK_OK);
  CHECK(signed_at == 1764400000000);
  CHECK(rk_webhook_verifier_verify(v, header, len, body.data(), body.size() - 1, 1764400010000, nullptr) ==
        RK_BAD_SIGNATURE);
  CHECK(rk_webhook_verifier_verify(v, header, len, body.data(), body.size(), 1764500000000, nullptr) == RK_EXPIRED);
  CHECK(rk_webhook_verifier_verify(v, "garbage", 7, body.data(), body.size(), 0, nullptr) == RK_MALFORMED);
  CHECK(rk_webhook_verifier_verify(v, nullptr, 3, body.data(), body.size(), 0, nullptr) == RK_INVALID_ARGUMENT);
  CHECK(rk_webhook_verifier_verify(nullptr, header, len, body.data(), body.size(), 0, nullptr) == RK_INVALID_ARGUMENT);
  rk_webhook_verifier_free(v);
}

TEST_CASE("capi: durable mode keeps what close() could not send; the logger gets its user data back") {
  referkit::test::TempDir dir;
  const std::string spool = (dir.path() / "spool").string();
  struct Seen {
    int calls = 0;
    std::string last;
  } seen;
  auto open_durable = [&](bool with_logger) {
    rk_tracker_options* o = nullptr;
    REQUIRE(rk_tracker_options_new(&o) == RK_OK);
    REQUIRE(set(rk_tracker_options_set_endpoint, o, kDeadEndpoint) == RK_OK);
    REQUIRE(set(rk_tracker_options_set_write_key, o, "wk") == RK_OK);
    REQUIRE(set(rk_tracker_options_set_spool_dir, o, spool) == RK_OK);
    if (with_logger) {
      REQUIRE(rk_tracker_options_set_logger(o, [](void* user, rk_log_level, const char* msg, size_t len) {
        auto* s = static_cast<Seen*>(user);
        ++s->calls;
        s->last.assign(msg, len);
      }, &seen) == RK_OK);
    }
    rk_tracker* t = nullptr;
    REQUIRE(rk_tracker_open(o, &t) == RK_OK);
    rk_tracker_options_free(o);
    return t;
  };
  rk_tracker* t = open_durable(false);
  CHECK(track(t, R"({"event":"Order Completed","userId":"u"})") == RK_OK);
  CHECK(rk_tracker_close(t, 0) != RK_OK);  // undelivered, but kept in the spool
  // The next tracker on the spool finds it, and says so through the logger at open().
  t = open_durable(true);
  CHECK(seen.calls > 0);
  CHECK(seen.last.find("1 events recovered") != std::string::npos);
  CHECK(stats(t).find("\"recovered\":1") != std::string::npos);
  (void)rk_tracker_close(t, 0);
}

TEST_CASE("capi: a shared tracker is one per process and options, and is not closed by rk_tracker_close") {
  rk_tracker_options* o = nullptr;
  REQUIRE(rk_tracker_options_new(&o) == RK_OK);
  REQUIRE(set(rk_tracker_options_set_endpoint, o, kDeadEndpoint) == RK_OK);
  REQUIRE(set(rk_tracker_options_set_write_key, o, "wk-shared") == RK_OK);
  rk_tracker* a = nullptr;
  rk_tracker* b = nullptr;
  REQUIRE(rk_tracker_open_shared(o, 0, &a) == RK_OK);
  REQUIRE(rk_tracker_open_shared(o, 0, &b) == RK_OK);
  CHECK(a == b);
  REQUIRE(set(rk_tracker_options_set_write_key, o, "wk-shared-2") == RK_OK);
  rk_tracker* c = nullptr;
  REQUIRE(rk_tracker_open_shared(o, 0, &c) == RK_OK);
  CHECK(c != a);
  REQUIRE(set(rk_tracker_options_set_write_key, o, "") == RK_OK);
  rk_tracker* bad = nullptr;
  CHECK(rk_tracker_open_shared(o, 0, &bad) == RK_INVALID_ARGUMENT);  // validated like open()
  CHECK(bad == nullptr);
  rk_tracker_options_free(o);
  CHECK(rk_tracker_close(a, 0) == RK_FAILED_PRECONDITION);
  CHECK(stats(a).find("\"tracked\":0") != std::string::npos);  // still valid
}
