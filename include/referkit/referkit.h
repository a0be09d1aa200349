/* referkit's C ABI: the same engine as the C++ API, for C and for other languages (Python's
 * ctypes, PHP's FFI, Ruby's Fiddle, Node's N-API...). Usable from C11 and from C++.
 *
 * Rules that hold for every function below:
 * - Handles are opaque: rk_tracker, rk_link_signer, rk_webhook_verifier, and the option, event,
 *   link and claims objects. Options are built through setters, never a public struct, so the
 *   ABI can grow without breaking callers.
 * - A call that can fail returns an rk_status: RK_OK (0) or one of the codes below. After a
 *   non-OK status, rk_last_error_message() on the same thread says why, in words. It keeps that
 *   text until the next call on this thread that fails (like errno, a successful call leaves it
 *   alone, so that the hot path costs nothing). The only functions that do not return an
 *   rk_status are those that cannot fail: the *_free functions, rk_last_error_message,
 *   rk_status_name, rk_version and rk_abi_version.
 * - Strings going in are (pointer, length) UTF-8, never NUL-terminated by contract. A NULL
 *   pointer with length 0 is the empty string; a NULL pointer with a non-zero length is refused
 *   (RK_INVALID_ARGUMENT). Invalid UTF-8 is refused. The library copies what it keeps: the
 *   caller may free or reuse its buffers as soon as a call returns.
 * - Strings coming out are (pointer, length) too, and also NUL-terminated for convenience. Each
 *   function says who owns them and for how long.
 * - A NULL handle is refused with RK_INVALID_ARGUMENT (a NULL handle given to a *_free or to
 *   rk_tracker_close is a no-op). No C++ exception ever leaves the library: an unexpected
 *   failure is RK_INTERNAL (RK_RESOURCE_EXHAUSTED when memory ran out).
 * - Callbacks are plain C function pointers with a void* that is handed back untouched.
 * - Times are Unix epoch milliseconds (int64_t); where a time is an argument, 0 means "now".
 * - Only rk_* symbols are exported (from libreferkit_c.so); the same functions are in the static
 *   libreferkit.a and in a shared libreferkit.so.
 */
#ifndef REFERKIT_REFERKIT_H
#define REFERKIT_REFERKIT_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#  define RK_API
#elif defined(__GNUC__)
#  define RK_API __attribute__((visibility("default")))
#else
#  define RK_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped on any incompatible change of this header; compare with rk_abi_version() at run time. */
#define RK_ABI_VERSION 1

/* The codes mirror referkit::StatusCode (referkit/status.hpp) one for one. */
typedef enum rk_status {
  RK_OK = 0,
  RK_INVALID_ARGUMENT = 1,     /* the call was wrong (NULL handle, bad field, bad UTF-8): fix it */
  RK_MALFORMED = 2,            /* input is not in the expected format (not JSON, not a link) */
  RK_BAD_SIGNATURE = 3,        /* well-formed, but the authentication tag does not match */
  RK_UNKNOWN_KEY = 4,          /* signed with a key id the keyring does not hold */
  RK_EXPIRED = 5,              /* authentic, but past its expiry or outside the tolerance */
  RK_NOT_FOUND = 6,            /* a named file, key, field or entry does not exist */
  RK_PERMISSION_DENIED = 7,    /* the OS or the server refused access */
  RK_UNAUTHENTICATED = 8,      /* the server rejected the credentials */
  RK_RESOURCE_EXHAUSTED = 9,   /* a bound was reached: queue, spool, size limit, memory */
  RK_UNAVAILABLE = 10,         /* transient: the endpoint is down; retrying may succeed */
  RK_DEADLINE_EXCEEDED = 11,   /* a timeout elapsed first */
  RK_FAILED_PRECONDITION = 12, /* wrong state: shut down, a lane paused */
  RK_DATA_LOSS = 13,           /* events were dropped or refused by the server */
  RK_INTERNAL = 14             /* a bug or an unexpected failure */
} rk_status;

/* The stable lowercase name of a code ("bad_signature"); "unknown" for other values. A static
 * string: never free it. */
RK_API const char* rk_status_name(rk_status status);

/* Why the last call on this thread that failed did so: NUL-terminated UTF-8 owned by the library,
 * valid until the next failing rk_* call on this thread. "" when none has failed. len may be
 * NULL; otherwise it receives the length. */
RK_API const char* rk_last_error_message(size_t* len);

/* The library's version ("0.1.0"), a static string, and the ABI version it implements. */
RK_API const char* rk_version(void);
RK_API uint32_t rk_abi_version(void);

/* Frees a string the library allocated for the caller (rk_tracker_stats_json). NULL: no-op. */
RK_API void rk_string_free(char* s);

/* ---- The tracker ------------------------------------------------------------------------- */

typedef struct rk_tracker_options rk_tracker_options;
typedef struct rk_tracker rk_tracker;

typedef enum rk_log_level { RK_LOG_DEBUG = 0, RK_LOG_INFO = 1, RK_LOG_WARN = 2, RK_LOG_ERROR = 3 } rk_log_level;
/* Diagnostics of the tracker. message is (ptr, len) UTF-8, valid only during the call. Called
 * from the tracker's worker thread (and from rk_tracker_open's thread for problems found there):
 * keep it quick and never call back into the tracker. */
typedef void (*rk_log_fn)(void* user_data, rk_log_level level, const char* message, size_t len);

/* New options with referkit's defaults (see referkit/tracker.hpp). The caller owns them and frees
 * them with rk_tracker_options_free; rk_tracker_open copies what it needs, so they may be freed
 * right after it. */
RK_API rk_status rk_tracker_options_new(rk_tracker_options** out);
RK_API void rk_tracker_options_free(rk_tracker_options* options);
/* "https://ingest.example.com": events go to {endpoint}/v1/batch. Required. */
RK_API rk_status rk_tracker_options_set_endpoint(rk_tracker_options* options, const char* endpoint, size_t len);
/* Sent as the HTTP Basic user name. */
RK_API rk_status rk_tracker_options_set_write_key(rk_tracker_options* options, const char* key, size_t len);
/* Durable mode: the spool directory (created 0700 if its parent exists). Empty: memory mode. */
RK_API rk_status rk_tracker_options_set_spool_dir(rk_tracker_options* options, const char* dir, size_t len);
/* How long a partial batch waits before it is sent (default 1000 ms; at least 1). */
RK_API rk_status rk_tracker_options_set_flush_interval_ms(rk_tracker_options* options, uint32_t ms);
/* The nice value, 0-19, of the tracker's own threads (upload worker, encoder, and in durable mode
 * the spool's committer and preparer; the caller's threads keep theirs). Above 0 they give way to
 * the threads that track when the CPU is short: see TrackerOptions::background_nice. Default 0.
 * Out of range: RK_INVALID_ARGUMENT. */
RK_API rk_status rk_tracker_options_set_background_nice(rk_tracker_options* options, int nice);
/* The library prints nothing itself; fn (NULL: none) receives its diagnostics. user_data is
 * passed back as is and must stay valid until the tracker is closed. */
RK_API rk_status rk_tracker_options_set_logger(rk_tracker_options* options, rk_log_fn fn, void* user_data);

/* Validates the options and starts the tracker (and, in durable mode, opens the spool). On
 * RK_OK, *out is a tracker the caller owns and must release with rk_tracker_close; on failure
 * *out is NULL. Like the C++ Tracker, a forked child gets a working tracker that does not resend
 * the parent's events. Thread safety: every rk_tracker_* call may come from any thread at once,
 * except rk_tracker_close, which must be the last call on the handle. */
RK_API rk_status rk_tracker_open(const rk_tracker_options* options, rk_tracker** out);

/* The process's shared tracker for these options, for runtimes whose objects do not outlive a
 * request (PHP-FPM, CGI-style handlers): the first call in a process opens it; later calls with
 * the same endpoint, write key and spool directory (from any thread, in later requests) return
 * the same handle, and their other options are ignored. The library owns it: it is shut down
 * at process exit (atexit, waiting up to exit_timeout_ms as the first call gave it), so events
 * tracked in the last request are still sent when a worker stops. Never rk_tracker_close it
 * (RK_FAILED_PRECONDITION, and the handle stays valid). A forked child keeps a working tracker
 * that does not resend the parent's events, and shuts it down at its own exit. Do not fork
 * while another thread is inside this call (its registry's lock would stay taken in the child);
 * prefork servers call it in a request, or before they start threads. */
RK_API rk_status rk_tracker_open_shared(const rk_tracker_options* options, uint32_t exit_timeout_ms,
                                        rk_tracker** out);

/* One Segment-style event as JSON text, validated exactly as referkit::Tracker::track_json
 * validates it (one object, UTF-8, "type" track or identify, userId or anonymousId, the event
 * name, the 32 KiB limit) and enqueued; never does network I/O. RK_MALFORMED for text that is not
 * JSON, RK_INVALID_ARGUMENT naming the field otherwise, RK_RESOURCE_EXHAUSTED when full. The text
 * is copied. */
RK_API rk_status rk_tracker_track_json(rk_tracker* tracker, const char* json, size_t len);

/* Waits up to timeout_ms until every event tracked before the call is resolved: RK_OK when all
 * were acknowledged, RK_DATA_LOSS, RK_DEADLINE_EXCEEDED or RK_FAILED_PRECONDITION (a lane is
 * paused) otherwise. */
RK_API rk_status rk_tracker_flush(rk_tracker* tracker, uint32_t timeout_ms);

/* Shuts the tracker down (sends what it can within timeout_ms; in durable mode what is left
 * stays in the spool) and frees it. Returns the shutdown's status: RK_OK when everything was
 * delivered. The handle is freed whatever the status. NULL is a no-op (RK_OK). Closing a handle
 * twice, or using it after close, is undefined behaviour, as for free(). */
RK_API rk_status rk_tracker_close(rk_tracker* tracker, uint32_t timeout_ms);

typedef enum rk_lane { RK_LANE_CONVERSIONS = 0, RK_LANE_ENGAGEMENT = 1 } rk_lane;
/* Holds (pause) and releases (resume) one lane's uploads; events are still accepted and kept. */
RK_API rk_status rk_tracker_pause(rk_tracker* tracker, rk_lane lane);
RK_API rk_status rk_tracker_resume(rk_tracker* tracker, rk_lane lane);

/* The tracker's figures as one JSON object: {"tracked":..,"queued":..,"acknowledged":..,
 * "dropped":..,...,"last_error":"..","lanes":{"conversions":{..},"engagement":{..}}}, the names
 * of referkit::TrackerStats. On RK_OK *json is a NUL-terminated string the caller owns and frees
 * with rk_string_free; len may be NULL. */
RK_API rk_status rk_tracker_stats_json(rk_tracker* tracker, char** json, size_t* len);

/* ---- The eight typed referral events ---------------------------------------------------------
 * Build one with rk_event_new, set its fields by name, track it with rk_tracker_track_event
 * (any number of times), free it with rk_event_free. The fields, by kind:
 *   every kind:       user_id, anonymous_id (the referrer, visitor, referee, customer or
 *                     recipient), referral_code, and the request context: ip, user_agent,
 *                     locale, page_url, referrer_url
 *   LINK_CREATED:     campaign, link_url             LINK_SHARED:  channel
 *   LINK_CLICKED:     landing_url                    SIGNED_UP:    email
 *   ORDER_COMPLETED:  order_id, coupon, email (strings); total, subtotal (money);
 *                     new_customer (bool); products (rk_event_add_product)
 *   ORDER_REFUNDED:   order_id; amount (money)       ORDER_CANCELLED: order_id
 *   REWARD_ISSUED:    reward_id, reward_type; amount (money)
 * A field that the kind does not have, or of another type, is RK_NOT_FOUND naming it. What is
 * required and the limits are checked at track time, as the C++ typed events check them. */
typedef enum rk_event_kind {
  RK_EVENT_REFERRAL_LINK_CREATED = 1,
  RK_EVENT_REFERRAL_LINK_SHARED = 2,
  RK_EVENT_REFERRAL_LINK_CLICKED = 3,
  RK_EVENT_REFEREE_SIGNED_UP = 4,
  RK_EVENT_ORDER_COMPLETED = 5,
  RK_EVENT_ORDER_REFUNDED = 6,
  RK_EVENT_ORDER_CANCELLED = 7,
  RK_EVENT_REWARD_ISSUED = 8
} rk_event_kind;
typedef struct rk_event rk_event;

/* On RK_OK *out is an empty event the caller owns (rk_event_free). */
RK_API rk_status rk_event_new(rk_event_kind kind, rk_event** out);
RK_API void rk_event_free(rk_event* event);
RK_API rk_status rk_event_set_string(rk_event* event, const char* field, size_t field_len,
                                     const char* value, size_t value_len);
/* Money is exact: integer minor units of an ISO 4217 currency (1999, "USD" is 19.99 USD). */
RK_API rk_status rk_event_set_money(rk_event* event, const char* field, size_t field_len,
                                    int64_t minor_units, const char* currency, size_t currency_len);
RK_API rk_status rk_event_set_bool(rk_event* event, const char* field, size_t field_len, int value);
/* ORDER_COMPLETED only: appends one line item (sku required; name and category may be empty). */
RK_API rk_status rk_event_add_product(rk_event* event, const char* sku, size_t sku_len,
                                      const char* name, size_t name_len, int64_t quantity,
                                      int64_t unit_price_minor_units, const char* currency,
                                      size_t currency_len, const char* category, size_t category_len);
/* Validates and enqueues the event, as referkit::Tracker::track(<typed event>) does. */
RK_API rk_status rk_tracker_track_event(rk_tracker* tracker, const rk_event* event);

/* ---- Referral links and share codes ------------------------------------------------------ */

typedef struct rk_link_signer_options rk_link_signer_options;
typedef struct rk_link_signer rk_link_signer;
typedef struct rk_link rk_link;
typedef struct rk_link_claims rk_link_claims;

/* The caller owns the options (rk_link_signer_options_free); create copies what it needs. */
RK_API rk_status rk_link_signer_options_new(rk_link_signer_options** out);
RK_API void rk_link_signer_options_free(rk_link_signer_options* options);
/* Required: the keys in referkit's keyring text ("key_id:hexsecret" entries separated by
 * newlines or commas; the first is the primary). Parsed here: RK_INVALID_ARGUMENT when bad. */
RK_API rk_status rk_link_signer_options_set_keys(rk_link_signer_options* options, const char* keys, size_t len);
/* Required: "https://refer.yourshop.com"; "/r/<token>" is appended. */
RK_API rk_status rk_link_signer_options_set_base_url(rk_link_signer_options* options, const char* url, size_t len);
/* When any is added, verify accepts full URLs only on https:// and these hosts ("host[:port]"). */
RK_API rk_status rk_link_signer_options_add_share_host(rk_link_signer_options* options, const char* host, size_t len);

/* On RK_OK *out is a signer the caller owns (rk_link_signer_free). Thread safety: immutable; any
 * number of threads may mint and verify with one signer at once. */
RK_API rk_status rk_link_signer_create(const rk_link_signer_options* options, rk_link_signer** out);
RK_API void rk_link_signer_free(rk_link_signer* signer);

/* Mints a link with the primary key. campaign (1-64 bytes) and referrer (1-128 bytes) are
 * required; name (the share code's prefix) may be empty. issued_at_ms 0 means now (set it to
 * re-issue identical links); expires_at_ms 0 means never. On RK_OK *out is a link the caller owns
 * (rk_link_free). */
RK_API rk_status rk_link_signer_mint(const rk_link_signer* signer, const char* campaign, size_t campaign_len,
                                     const char* referrer, size_t referrer_len, const char* name,
                                     size_t name_len, int64_t issued_at_ms, int64_t expires_at_ms,
                                     rk_link** out);
RK_API void rk_link_free(rk_link* link);

typedef enum rk_link_field {
  RK_LINK_URL = 0,
  RK_LINK_TOKEN = 1,
  RK_LINK_SHARE_CODE = 2,
  RK_LINK_KEY_ID = 3
} rk_link_field;
/* One string of a link: *ptr (NUL-terminated) and *len, owned by the link, valid until
 * rk_link_free. len may be NULL. */
RK_API rk_status rk_link_get(const rk_link* link, rk_link_field field, const char** ptr, size_t* len);

/* Verifies a full link URL, a bare token or a share code (surrounding whitespace and a trailing
 * slash are ignored). now_ms 0 means now. Returns RK_OK, or RK_MALFORMED, RK_BAD_SIGNATURE,
 * RK_UNKNOWN_KEY or RK_EXPIRED (what the text is not). *out is set to claims the caller owns
 * (rk_link_claims_free) when RK_OK, and also when RK_EXPIRED (authentic but stale claims);
 * otherwise it is NULL. A share code is checked for form and check symbol only: use
 * rk_link_signer_share_code_matches to tie it to a referral. */
RK_API rk_status rk_link_signer_verify(const rk_link_signer* signer, const char* text, size_t len,
                                       int64_t now_ms, rk_link_claims** out);
RK_API void rk_link_claims_free(rk_link_claims* claims);

typedef enum rk_claims_field {
  RK_CLAIMS_KIND = 0,        /* "token" or "share_code" */
  RK_CLAIMS_KEY_ID = 1,      /* tokens */
  RK_CLAIMS_CAMPAIGN = 2,    /* tokens */
  RK_CLAIMS_REFERRER = 3,    /* tokens: the referrer, decrypted */
  RK_CLAIMS_SHARE_CODE = 4,  /* share codes: the canonical spelling */
  RK_CLAIMS_NAME_PREFIX = 5  /* share codes */
} rk_claims_field;
/* One string of the claims ("" where the kind has none), owned by the claims, valid until
 * rk_link_claims_free. len may be NULL. */
RK_API rk_status rk_link_claims_get(const rk_link_claims* claims, rk_claims_field field, const char** ptr,
                                    size_t* len);
/* The issue time and the expiry of a token's claims (*expires_at_ms 0: never). Either out
 * pointer may be NULL. */
RK_API rk_status rk_link_claims_times(const rk_link_claims* claims, int64_t* issued_at_ms, int64_t* expires_at_ms);

/* Whether code (any accepted spelling) is the share code of (campaign, referrer) under any key:
 * *matches is 1 or 0. Constant-time in the compared hash. */
RK_API rk_status rk_link_signer_share_code_matches(const rk_link_signer* signer, const char* code, size_t code_len,
                                                   const char* campaign, size_t campaign_len,
                                                   const char* referrer, size_t referrer_len, int* matches);

/* ---- Webhooks ---------------------------------------------------------------------------- */

typedef struct rk_webhook_verifier_options rk_webhook_verifier_options;
typedef struct rk_webhook_verifier rk_webhook_verifier;

/* The caller owns the options (rk_webhook_verifier_options_free); create copies them. */
RK_API rk_status rk_webhook_verifier_options_new(rk_webhook_verifier_options** out);
RK_API void rk_webhook_verifier_options_free(rk_webhook_verifier_options* options);
/* A secret (raw bytes, at least 16); add several while rotating: each verifies. */
RK_API rk_status rk_webhook_verifier_options_add_secret(rk_webhook_verifier_options* options, const char* secret,
                                                        size_t len);
/* How far the signed time may be from now either way (default 300 s; at most 365 days). */
RK_API rk_status rk_webhook_verifier_options_set_tolerance_s(rk_webhook_verifier_options* options, uint32_t seconds);

/* On RK_OK *out is a verifier the caller owns (rk_webhook_verifier_free). Thread safety:
 * immutable; any number of threads may verify at once. */
RK_API rk_status rk_webhook_verifier_create(const rk_webhook_verifier_options* options, rk_webhook_verifier** out);
RK_API void rk_webhook_verifier_free(rk_webhook_verifier* verifier);

/* Checks the X-Referkit-Signature header against the raw body bytes as received. now_ms 0 means
 * now. RK_OK (and *signed_at_ms, which may be NULL, gets the signed time), RK_MALFORMED,
 * RK_BAD_SIGNATURE or RK_EXPIRED. */
RK_API rk_status rk_webhook_verifier_verify(const rk_webhook_verifier* verifier, const char* header,
                                            size_t header_len, const char* body, size_t body_len,
                                            int64_t now_ms, int64_t* signed_at_ms);

/* The longest header rk_webhook_sign writes, its terminating NUL included. */
#define RK_SIGNATURE_HEADER_MAX 128
/* The X-Referkit-Signature value for body signed with secret at unix_seconds (>= 0), as the
 * platform signs webhooks (for a merchant's tests). Writes it NUL-terminated into the caller's
 * buffer out of out_size bytes (RK_SIGNATURE_HEADER_MAX is always enough) and its length into
 * *len (may be NULL); RK_RESOURCE_EXHAUSTED when the buffer is too small. */
RK_API rk_status rk_webhook_sign(const char* secret, size_t secret_len, int64_t unix_seconds, const char* body,
                                 size_t body_len, char* out, size_t out_size, size_t* len);

#ifdef __cplusplus
}  /* extern "C" */
#endif

#endif /* REFERKIT_REFERKIT_H */
