/* Calls every function of referkit.h from C11 against an installed referkit, checking results
 * and refusals. No network: the tracker points at a closed loopback port, so events are accepted
 * (tracking never does I/O) and flush() times out. */
#include <referkit/referkit.h>

#include <stdio.h>
#include <string.h>

static int failures = 0;

#define CHECK(cond)                                                                              \
  do {                                                                                           \
    if (!(cond)) {                                                                               \
      fprintf(stderr, "c_consumer: %s:%d: CHECK(%s) failed; last error: %s\n", __FILE__, __LINE__, \
              #cond, rk_last_error_message(NULL));                                               \
      ++failures;                                                                                \
    }                                                                                            \
  } while (0)

/* A (pointer, length) pair for a string literal. */
#define S(lit) (lit), (sizeof(lit) - 1)

static int log_calls = 0;
static void on_log(void* user, rk_log_level level, const char* message, size_t len) {
  (void)level;
  (void)message;
  (void)len;
  *(int*)user += 1;
}

static void test_tracker(void) {
  rk_tracker_options* o = NULL;
  CHECK(rk_tracker_options_new(&o) == RK_OK);
  CHECK(rk_tracker_options_set_endpoint(o, S("http://127.0.0.1:1")) == RK_OK);
  CHECK(rk_tracker_options_set_write_key(o, S("wk")) == RK_OK);
  CHECK(rk_tracker_options_set_spool_dir(o, NULL, 0) == RK_OK); /* memory mode */
  CHECK(rk_tracker_options_set_flush_interval_ms(o, 10) == RK_OK);
  CHECK(rk_tracker_options_set_background_nice(o, 20) == RK_INVALID_ARGUMENT);
  CHECK(rk_tracker_options_set_background_nice(o, 5) == RK_OK);
  CHECK(rk_tracker_options_set_logger(o, on_log, &log_calls) == RK_OK);
  CHECK(rk_tracker_options_set_endpoint(o, NULL, 3) == RK_INVALID_ARGUMENT);

  rk_tracker* t = NULL;
  CHECK(rk_tracker_open(o, &t) == RK_OK);
  rk_tracker_options_free(o);
  if (t == NULL) return;

  CHECK(rk_tracker_track_json(t, S("{\"event\":\"Order Completed\",\"userId\":\"u-1\"}")) == RK_OK);
  CHECK(rk_tracker_track_json(t, S("{\"event\":\"x\"")) == RK_MALFORMED);
  CHECK(rk_tracker_track_json(t, S("{\"event\":\"x\"}")) == RK_INVALID_ARGUMENT);
  CHECK(rk_tracker_track_json(NULL, S("{}")) == RK_INVALID_ARGUMENT);

  rk_event* e = NULL;
  CHECK(rk_event_new(RK_EVENT_ORDER_COMPLETED, &e) == RK_OK);
  CHECK(rk_event_set_string(e, S("user_id"), S("u-1")) == RK_OK);
  CHECK(rk_event_set_string(e, S("order_id"), S("o-1")) == RK_OK);
  CHECK(rk_event_set_money(e, S("total"), 1999, S("EUR")) == RK_OK);
  CHECK(rk_event_set_bool(e, S("new_customer"), 1) == RK_OK);
  CHECK(rk_event_add_product(e, S("sku-1"), S("Mug"), 1, 1999, S("EUR"), S("kitchen")) == RK_OK);
  CHECK(rk_tracker_track_event(t, e) == RK_OK);
  rk_event_free(e);

  CHECK(rk_tracker_pause(t, RK_LANE_ENGAGEMENT) == RK_OK);
  CHECK(rk_tracker_resume(t, RK_LANE_ENGAGEMENT) == RK_OK);

  char* stats = NULL;
  size_t len = 0;
  CHECK(rk_tracker_stats_json(t, &stats, &len) == RK_OK);
  CHECK(stats != NULL && strstr(stats, "\"tracked\":2") != NULL && strlen(stats) == len);
  rk_string_free(stats);

  CHECK(rk_tracker_flush(t, 50) == RK_DEADLINE_EXCEEDED);
  CHECK(rk_tracker_close(t, 0) != RK_OK); /* two events could not be delivered */
  CHECK(rk_tracker_close(NULL, 0) == RK_OK);

  rk_tracker* shared = NULL;
  rk_tracker* again = NULL;
  CHECK(rk_tracker_options_new(&o) == RK_OK);
  CHECK(rk_tracker_options_set_endpoint(o, S("http://127.0.0.1:1")) == RK_OK);
  CHECK(rk_tracker_options_set_write_key(o, S("wk")) == RK_OK);
  CHECK(rk_tracker_open_shared(o, 0, &shared) == RK_OK);
  CHECK(rk_tracker_open_shared(o, 0, &again) == RK_OK && again == shared);
  rk_tracker_options_free(o);
  CHECK(rk_tracker_close(shared, 0) == RK_FAILED_PRECONDITION); /* closed at exit instead */
}

static void test_links(void) {
  rk_link_signer_options* o = NULL;
  CHECK(rk_link_signer_options_new(&o) == RK_OK);
  CHECK(rk_link_signer_options_set_keys(o, S("k1:00112233445566778899aabbccddeeff")) == RK_OK);
  CHECK(rk_link_signer_options_set_base_url(o, S("https://refer.shop.test")) == RK_OK);
  CHECK(rk_link_signer_options_add_share_host(o, S("refer.shop.test")) == RK_OK);
  rk_link_signer* s = NULL;
  CHECK(rk_link_signer_create(o, &s) == RK_OK);
  rk_link_signer_options_free(o);
  if (s == NULL) return;

  rk_link* link = NULL;
  CHECK(rk_link_signer_mint(s, S("bf"), S("cust-42"), S("Jane"), 0, 0, &link) == RK_OK);
  if (link == NULL) return;
  const char* url = NULL;
  const char* code = NULL;
  const char* text = NULL;
  size_t url_len = 0, code_len = 0;
  CHECK(rk_link_get(link, RK_LINK_URL, &url, &url_len) == RK_OK);
  CHECK(rk_link_get(link, RK_LINK_SHARE_CODE, &code, &code_len) == RK_OK);
  CHECK(rk_link_get(link, RK_LINK_TOKEN, &text, NULL) == RK_OK);
  CHECK(rk_link_get(link, RK_LINK_KEY_ID, &text, NULL) == RK_OK && strcmp(text, "k1") == 0);

  rk_link_claims* c = NULL;
  CHECK(rk_link_signer_verify(s, url, url_len, 0, &c) == RK_OK);
  CHECK(rk_link_claims_get(c, RK_CLAIMS_REFERRER, &text, NULL) == RK_OK && strcmp(text, "cust-42") == 0);
  CHECK(rk_link_claims_get(c, RK_CLAIMS_CAMPAIGN, &text, NULL) == RK_OK && strcmp(text, "bf") == 0);
  CHECK(rk_link_claims_get(c, RK_CLAIMS_KEY_ID, &text, NULL) == RK_OK && strcmp(text, "k1") == 0);
  CHECK(rk_link_claims_get(c, RK_CLAIMS_KIND, &text, NULL) == RK_OK && strcmp(text, "token") == 0);
  int64_t issued = 0, expires = 1;
  CHECK(rk_link_claims_times(c, &issued, &expires) == RK_OK && issued > 0 && expires == 0);
  rk_link_claims_free(c);

  CHECK(rk_link_signer_verify(s, S("https://evil.test/r/abc"), 0, &c) == RK_MALFORMED && c == NULL);
  CHECK(rk_link_signer_verify(s, code, code_len, 0, &c) == RK_OK);
  CHECK(rk_link_claims_get(c, RK_CLAIMS_SHARE_CODE, &text, NULL) == RK_OK && strcmp(text, code) == 0);
  CHECK(rk_link_claims_get(c, RK_CLAIMS_NAME_PREFIX, &text, NULL) == RK_OK && strcmp(text, "JANE") == 0);
  rk_link_claims_free(c);
  int matches = 0;
  CHECK(rk_link_signer_share_code_matches(s, code, code_len, S("bf"), S("cust-42"), &matches) == RK_OK);
  CHECK(matches == 1);
  rk_link_free(link);
  rk_link_signer_free(s);
}

static void test_webhooks(void) {
  static const char secret[] = "webhook-secret-0123456789";
  static const char body[] = "{\"type\":\"reward.issued\"}";
  char header[RK_SIGNATURE_HEADER_MAX];
  size_t len = 0;
  CHECK(rk_webhook_sign(S(secret), 1764400000, S(body), header, sizeof header, &len) == RK_OK);

  rk_webhook_verifier_options* o = NULL;
  CHECK(rk_webhook_verifier_options_new(&o) == RK_OK);
  CHECK(rk_webhook_verifier_options_add_secret(o, S(secret)) == RK_OK);
  CHECK(rk_webhook_verifier_options_set_tolerance_s(o, 300) == RK_OK);
  rk_webhook_verifier* v = NULL;
  CHECK(rk_webhook_verifier_create(o, &v) == RK_OK);
  rk_webhook_verifier_options_free(o);
  int64_t signed_at = 0;
  CHECK(rk_webhook_verifier_verify(v, header, len, S(body), 1764400001000, &signed_at) == RK_OK);
  CHECK(signed_at == 1764400000000);
  CHECK(rk_webhook_verifier_verify(v, header, len, S("{}"), 1764400001000, NULL) == RK_BAD_SIGNATURE);
  rk_webhook_verifier_free(v);
}

int main(void) {
  size_t len = 0;
  printf("referkit C ABI %u, library %s\n", (unsigned)rk_abi_version(), rk_version());
  CHECK(rk_abi_version() == RK_ABI_VERSION);
  CHECK(strcmp(rk_status_name(RK_EXPIRED), "expired") == 0);
  test_tracker();
  test_links();
  test_webhooks();
  CHECK(rk_tracker_flush(NULL, 0) == RK_INVALID_ARGUMENT);
  CHECK(strcmp(rk_last_error_message(&len), "tracker is NULL") == 0 && len == 15);
  if (failures != 0) {
    fprintf(stderr, "c_consumer: %d checks failed\n", failures);
    return 1;
  }
  printf("c_consumer: all checks passed\n");
  return 0;
}
