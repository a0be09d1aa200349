// The default Transport, over libcurl.
//
// One easy handle lives as long as the transport, driven through a private multi handle whose
// connection cache keeps the TCP (and TLS) connection to the ingest API alive between batches.
// The multi handle is there for cancel(): curl_multi_wakeup interrupts the wait for the network
// at once, where curl_easy_perform would notice a cancel flag only at its next progress
// callback, up to a second later (bounded shutdown must not wait on that). Options that never change are set once
// when the handle is made (make_curl_transport reports a bad option there, not at the first
// send); send() sets only the per-request ones (URL, body, headers), overwriting the previous
// request's every time. That is why there is no curl_easy_reset: it would only discard the
// fixed options, which would then have to be set and checked again on every request.
#include <curl/curl.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <cstddef>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "common/text.hpp"
#include "referkit/transport.hpp"

namespace referkit {
inline namespace v1 {
namespace {

using detail::iequals;
using detail::trim;

constexpr std::size_t kMaxResponseBody = std::size_t{1} << 20;

// curl_global_init must run before anything else in libcurl and is not thread-safe in older
// versions, so it runs exactly once. curl_global_cleanup is deliberately never called: the
// library cannot know when the process (or another library sharing libcurl) is done with curl,
// cleanup is not thread-safe either, and the OS reclaims everything at exit.
CURLcode global_init() {
  static std::once_flag once;
  static CURLcode result = CURLE_OK;
  std::call_once(once, [] { result = curl_global_init(CURL_GLOBAL_DEFAULT); });
  return result;
}

struct EasyCleanup {
  void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
};
using EasyHandle = std::unique_ptr<CURL, EasyCleanup>;

struct MultiCleanup {
  void operator()(CURLM* multi) const { curl_multi_cleanup(multi); }
};
using MultiHandle = std::unique_ptr<CURLM, MultiCleanup>;

struct SlistFree {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using HeaderList = std::unique_ptr<curl_slist, SlistFree>;

bool valid_header_value(std::string_view value) {
  return value.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

// What the callbacks collect during one transfer.
struct ResponseSink {
  std::string body;
  std::optional<std::string> retry_after;
  bool out_of_memory = false;
};

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* sink = static_cast<ResponseSink*>(user);
  const std::size_t n = size * count;  // size is always 1
  try {
    sink->body.append(data, std::min(n, kMaxResponseBody - sink->body.size()));
  } catch (const std::bad_alloc&) {
    sink->out_of_memory = true;
    return 0;  // aborts the transfer: exceptions must not unwind through libcurl
  }
  return n;  // past the cap, read and discard: a short count would fail the transfer
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* sink = static_cast<ResponseSink*>(user);
  const std::size_t n = size * count;
  const std::string_view line(data, n);
  try {
    // A status line starts the headers of a new response (after a 1xx or a proxy's CONNECT
    // reply); only the final response's Retry-After counts.
    if (line.substr(0, 5) == "HTTP/") {
      sink->retry_after.reset();
    } else if (const auto colon = line.find(':'); colon != std::string_view::npos &&
                                                  iequals(line.substr(0, colon), "Retry-After")) {
      sink->retry_after = std::string(trim(line.substr(colon + 1)));
    }
  } catch (const std::bad_alloc&) {
    sink->out_of_memory = true;
    return 0;
  }
  return n;
}

// cancel() wakes the poll in run_transfer(), which then abandons the transfer; this callback also
// stops it from inside a long curl_multi_perform call (say, while pushing a large body).
int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<const std::atomic<bool>*>(user)->load() ? 1 : 0;
}

Status cancelled_status() { return Status(StatusCode::kFailedPrecondition, "cancelled"); }

Status to_status(CURLcode rc, const char* error_buffer, const ResponseSink& sink) {
  std::string detail = error_buffer[0] != '\0' ? std::string(error_buffer) : curl_easy_strerror(rc);
  switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
      return Status(StatusCode::kDeadlineExceeded, std::move(detail));
    case CURLE_ABORTED_BY_CALLBACK:
      return cancelled_status();
    case CURLE_UNSUPPORTED_PROTOCOL:  // a scheme other than http(s)
    case CURLE_URL_MALFORMAT:
      return Status(StatusCode::kInvalidArgument, std::move(detail));
    case CURLE_OUT_OF_MEMORY:
      return Status(StatusCode::kInternal, std::move(detail));
    case CURLE_WRITE_ERROR:
      if (sink.out_of_memory) return Status(StatusCode::kInternal, "out of memory reading the response");
      return Status(StatusCode::kUnavailable, std::move(detail));
    // CURLE_COULDNT_RESOLVE_(HOST|PROXY), COULDNT_CONNECT, SEND_ERROR, RECV_ERROR, GOT_NOTHING,
    // PARTIAL_FILE, SSL_*, PEER_FAILED_VERIFICATION, WEIRD_SERVER_REPLY... all transient from the
    // tracker's point of view: keep the events and retry.
    default:
      return Status(StatusCode::kUnavailable, std::move(detail));
  }
}

// Sets an option on a fresh handle, reporting which one libcurl refused. A macro rather than a
// function so that curl's compile-time option/type checks still see the literal option.
#define REFERKIT_SETOPT(handle, option, value)                                          \
  do {                                                                                  \
    if (const CURLcode rc_ = curl_easy_setopt(handle, option, value); rc_ != CURLE_OK) { \
      return setopt_failed(#option, rc_);                                               \
    }                                                                                   \
  } while (false)

Status setopt_failed(const char* option, CURLcode rc) {
  const auto code = rc == CURLE_OUT_OF_MEMORY ? StatusCode::kInternal : StatusCode::kInvalidArgument;
  return Status(code, std::string("libcurl refused ") + option + ": " + curl_easy_strerror(rc));
}

long to_curl_ms(std::chrono::milliseconds ms) {
  return static_cast<long>(std::min<std::chrono::milliseconds::rep>(ms.count(), LONG_MAX));
}

class CurlTransport final : public Transport {
 public:
  explicit CurlTransport(HttpOptions options) : options_(std::move(options)) {}
  ~CurlTransport() override {
    // In a forked child the handles' connections belong to the parent: see send().
    if (owner_pid_ != ::getpid()) abandon_handles();
  }
  CurlTransport(const CurlTransport&) = delete;
  CurlTransport& operator=(const CurlTransport&) = delete;

  // Makes the easy handle and sets the options that stay fixed for its lifetime.
  Status open_handle();

  HttpResponse send(const HttpRequest& request) override;
  void cancel() override {
    cancelled_.store(true);
    // Thread-safe by libcurl's contract. A multi handle abandoned after a fork is leaked, never
    // freed, so waking a stale one is harmless.
    if (CURLM* multi = wakeup_.load()) curl_multi_wakeup(multi);
  }
  void reset_cancel() override { cancelled_.store(false); }

 private:
  Status perform(const HttpRequest& request, curl_slist* headers);
  Status run_transfer();
  void abandon_handles() {
    (void)handle_.release();
    (void)multi_.release();
    wakeup_.store(nullptr);
  }

  const HttpOptions options_;
  EasyHandle handle_;
  MultiHandle multi_;
  std::atomic<CURLM*> wakeup_{nullptr};  // multi_, for cancel() on another thread
  pid_t owner_pid_ = -1;                 // the process that made the handles
  std::atomic<bool> cancelled_{false};
  // libcurl holds pointers to these between calls: the transport never moves (it lives behind
  // a unique_ptr).
  ResponseSink sink_;
  char error_[CURL_ERROR_SIZE] = {};
};

Status CurlTransport::open_handle() {
  MultiHandle multi(curl_multi_init());
  EasyHandle handle(curl_easy_init());
  if (!multi || !handle) return Status(StatusCode::kInternal, "curl_multi_init or curl_easy_init failed");
  CURL* h = handle.get();
  REFERKIT_SETOPT(h, CURLOPT_ERRORBUFFER, error_);
  // No SIGALRM for DNS timeouts: signals in a library thread would disturb the host process.
  REFERKIT_SETOPT(h, CURLOPT_NOSIGNAL, 1L);
  REFERKIT_SETOPT(h, CURLOPT_CONNECTTIMEOUT_MS, to_curl_ms(options_.connect_timeout));
  REFERKIT_SETOPT(h, CURLOPT_TIMEOUT_MS, to_curl_ms(options_.total_timeout));
  REFERKIT_SETOPT(h, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
  // Redirects are never followed: one would re-send the batch, and the write key in its
  // Authorization header, somewhere the merchant did not configure (from https to plain http,
  // even). A 3xx is handed back as it is. Redirects are also limited to https, so that turning
  // FOLLOWLOCATION on by mistake still could not downgrade to plain http.
#if LIBCURL_VERSION_NUM >= 0x075500  // 7.85 replaced the bitmask options with strings
  REFERKIT_SETOPT(h, CURLOPT_PROTOCOLS_STR, "http,https");
  REFERKIT_SETOPT(h, CURLOPT_REDIR_PROTOCOLS_STR, "https");
#else
  REFERKIT_SETOPT(h, CURLOPT_PROTOCOLS, static_cast<long>(CURLPROTO_HTTP | CURLPROTO_HTTPS));
  REFERKIT_SETOPT(h, CURLOPT_REDIR_PROTOCOLS, static_cast<long>(CURLPROTO_HTTPS));
#endif
  REFERKIT_SETOPT(h, CURLOPT_FOLLOWLOCATION, 0L);
  // TLS 1.0 and 1.1 are deprecated (RFC 8996): never negotiate them, whatever the system's
  // OpenSSL configuration allows.
  REFERKIT_SETOPT(h, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
  REFERKIT_SETOPT(h, CURLOPT_SSL_VERIFYPEER, options_.tls.verify_peer ? 1L : 0L);
  REFERKIT_SETOPT(h, CURLOPT_SSL_VERIFYHOST, options_.tls.verify_peer ? 2L : 0L);
  if (!options_.tls.ca_file.empty()) REFERKIT_SETOPT(h, CURLOPT_CAINFO, options_.tls.ca_file.c_str());
  if (!options_.tls.ca_path.empty()) REFERKIT_SETOPT(h, CURLOPT_CAPATH, options_.tls.ca_path.c_str());
  if (!options_.proxy.empty()) REFERKIT_SETOPT(h, CURLOPT_PROXY, options_.proxy.c_str());
  REFERKIT_SETOPT(h, CURLOPT_POST, 1L);
  REFERKIT_SETOPT(h, CURLOPT_WRITEFUNCTION, on_body);
  REFERKIT_SETOPT(h, CURLOPT_WRITEDATA, &sink_);
  REFERKIT_SETOPT(h, CURLOPT_HEADERFUNCTION, on_header);
  REFERKIT_SETOPT(h, CURLOPT_HEADERDATA, &sink_);
  REFERKIT_SETOPT(h, CURLOPT_NOPROGRESS, 0L);
  REFERKIT_SETOPT(h, CURLOPT_XFERINFOFUNCTION, on_progress);
  REFERKIT_SETOPT(h, CURLOPT_XFERINFODATA, &cancelled_);
  handle_ = std::move(handle);
  multi_ = std::move(multi);
  wakeup_.store(multi_.get());
  owner_pid_ = ::getpid();
  return Status();
}

// The request's headers, checked, plus the ones that switch off libcurl defaults we do not want.
Result<HeaderList> build_headers(const HttpHeaders& headers) {
  HeaderList list;
  const auto append = [&list](const std::string& line) {
    curl_slist* next = curl_slist_append(list.get(), line.c_str());
    if (next == nullptr) throw std::bad_alloc();
    (void)list.release();  // curl_slist_append returned the same head, now one entry longer
    list.reset(next);
  };
  bool has_content_type = false;
  for (const auto& [name, value] : headers) {
    if (!detail::is_http_token(name) || !valid_header_value(value)) {
      return Status(StatusCode::kInvalidArgument, "invalid HTTP header: " + name);
    }
    // The transport frames the body itself; a caller's value could contradict it.
    if (iequals(name, "Content-Length") || iequals(name, "Transfer-Encoding")) {
      return Status(StatusCode::kInvalidArgument, "header set by the transport: " + name);
    }
    has_content_type = has_content_type || iequals(name, "Content-Type");
    // "Name:" would tell libcurl to remove the header; "Name;" sends it empty.
    append(value.empty() ? name + ";" : name + ": " + value);
  }
  // Without these libcurl waits for "100 Continue" before large bodies (a wasted round trip)
  // and labels the body application/x-www-form-urlencoded.
  append("Expect:");
  if (!has_content_type) append("Content-Type:");
  return list;
}

Status CurlTransport::perform(const HttpRequest& request, curl_slist* headers) {
  CURL* h = handle_.get();
  if (curl_easy_setopt(h, CURLOPT_URL, request.url.c_str()) != CURLE_OK) {
    return Status(StatusCode::kInvalidArgument, "libcurl refused the URL");
  }
  // Size before data, and no copy: the body outlives the transfer.
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.data());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  sink_ = ResponseSink();
  error_[0] = '\0';
  Status status = run_transfer();
  // Drop the pointers to memory the caller is about to free; the next send sets them again.
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, static_cast<curl_slist*>(nullptr));
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, static_cast<const char*>(nullptr));
  return status;
}

// curl_easy_perform, but with a wait that cancel() can interrupt.
Status CurlTransport::run_transfer() {
  CURLM* multi = multi_.get();
  CURL* easy = handle_.get();
  CURLMcode mc = curl_multi_add_handle(multi, easy);
  std::optional<CURLcode> result;
  while (mc == CURLM_OK) {
    int running = 0;
    mc = curl_multi_perform(multi, &running);
    int queued = 0;
    if (const CURLMsg* msg = curl_multi_info_read(multi, &queued); msg != nullptr && msg->msg == CURLMSG_DONE) {
      result = msg->data.result;
      break;
    }
    if (cancelled_.load()) {
      result = CURLE_ABORTED_BY_CALLBACK;  // removing the handle below abandons the transfer
      break;
    }
    if (mc != CURLM_OK || running == 0) break;  // running == 0 always comes with CURLMSG_DONE
    // The 1 s cap only bounds the wait; libcurl shortens it to its own next timeout.
    mc = curl_multi_poll(multi, nullptr, 0, 1'000, nullptr);
  }
  curl_multi_remove_handle(multi, easy);
  if (result) return *result == CURLE_OK ? Status() : to_status(*result, error_, sink_);
  // Only out of memory or a libcurl bug get here, never network trouble.
  return Status(StatusCode::kInternal, mc != CURLM_OK ? std::string("libcurl: ") + curl_multi_strerror(mc)
                                                      : std::string("libcurl: transfer ended without a result"));
}

HttpResponse CurlTransport::send(const HttpRequest& request) {
  HttpResponse response;
  if (cancelled_.load()) {
    response.status = cancelled_status();
    return response;
  }
  if (!handle_ || owner_pid_ != ::getpid()) {
    // A forked child shares the parent's sockets (and TLS state) through the inherited handle.
    // curl_easy_cleanup would shut them down, writing a TLS close_notify into the parent's
    // connection, and reusing them would interleave two processes on one stream. So the old
    // handles are leaked on purpose (some memory and three descriptors per forked child that
    // sends) and the child starts afresh.
    abandon_handles();
    if (Status s = open_handle(); !s.ok()) {
      response.status = std::move(s);
      return response;
    }
  }
  Result<HeaderList> headers = build_headers(request.headers);
  if (!headers.ok()) {
    response.status = headers.status();
    return response;
  }
  response.status = perform(request, headers->get());
  if (!response.status.ok()) return response;
  long code = 0;
  curl_easy_getinfo(handle_.get(), CURLINFO_RESPONSE_CODE, &code);
  response.code = static_cast<int>(code);
  response.body = std::move(sink_.body);
  response.retry_after = std::move(sink_.retry_after);
  return response;
}

#undef REFERKIT_SETOPT

}  // namespace

Result<std::unique_ptr<Transport>> make_curl_transport(const HttpOptions& options) {
  // libcurl reads 0 as "no timeout" (or its 300 s default), which would let a dead host hang us.
  if (options.connect_timeout.count() <= 0 || options.total_timeout.count() <= 0) {
    return Status(StatusCode::kInvalidArgument, "HttpOptions: timeouts must be positive");
  }
  if (const CURLcode rc = global_init(); rc != CURLE_OK) {
    return Status(StatusCode::kInternal, std::string("curl_global_init: ") + curl_easy_strerror(rc));
  }
  auto transport = std::make_unique<CurlTransport>(options);
  if (Status s = transport->open_handle(); !s.ok()) return s;
  return std::unique_ptr<Transport>(std::move(transport));
}

}  // namespace v1
}  // namespace referkit
