// Helpers for the referkit-ingest tests: a temporary directory, the server as a child process,
// requests through the SDK's own curl transport, raw-socket exchanges for what curl will not
// send (oversized heads, truncated bodies), and a direct look into the SQLite file.
#ifndef REFERKIT_TESTS_INTEGRATION_INGEST_SUPPORT_HPP
#define REFERKIT_TESTS_INTEGRATION_INGEST_SUPPORT_HPP

#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "referkit/transport.hpp"
#include "support/process.hpp"

namespace referkit::test::ingest {

// A fresh directory under /tmp, removed with everything in it.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(std::string_view name) const { return path_ + "/" + std::string(name); }

 private:
  std::string path_;
};

// referkit-ingest on 127.0.0.1 with a free port; killed at destruction unless stopped.
class IngestServer {
 public:
  // Starts it with --db, --write-key wk and --listen 127.0.0.1:0 (unless `extra` has its own
  // --listen), plus `extra`, and reads its first line.
  IngestServer(const std::string& db, const std::vector<std::string>& extra = {});
  const std::string& url() const { return url_; }
  std::uint16_t port() const { return port_; }
  Process& process() { return process_; }
  // SIGTERM, and how it ended (SIGKILL after 15 s).
  ExitStatus stop();

 private:
  Process process_;
  std::string url_;
  std::uint16_t port_ = 0;
};

// {"type":"track","event":name,"messageId":id,"anonymousId":"visitor-1",...}
std::string track_json(std::string_view message_id, std::string_view name = "Order Completed");
// {"batch":[events...],"sentAt":"...","context":{...}}
std::string batch_json(const std::vector<std::string>& events);
std::string basic_auth(std::string_view write_key);

struct PostOptions {
  std::string write_key = "wk";  // empty: no Authorization header
  bool gzip = false;
  HttpHeaders extra_headers;
};
// POST {url}/v1/batch through make_curl_transport.
HttpResponse post_batch(const std::string& url, std::string body, const PostOptions& options = {});

// What came back on a raw connection.
struct RawReply {
  int status = 0;  // 0: no status line arrived (closed without a reply, or timed out)
  std::string head;
  std::string body;
  bool closed = false;  // the server closed the connection
};
// Sends `bytes` on a fresh connection (then half-closes when asked) and reads one reply.
RawReply raw_exchange(std::uint16_t port, std::string_view bytes, bool half_close = false,
                      std::chrono::milliseconds timeout = std::chrono::seconds(10));
// One connection driven by hand, for clients that misbehave in time: silent, trickling, stalled,
// or keep-alive between requests. Every wait is bounded by its timeout.
class RawClient {
 public:
  explicit RawClient(std::uint16_t port);  // connected (the server may not have accepted yet)
  ~RawClient();
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  // False once the server has closed or reset the connection.
  bool send(std::string_view bytes);
  // Reads for up to `timeout`, returning early when the server closes or a whole reply (head and
  // Content-Length body) has arrived. The reply, when there is one, is taken from the buffer.
  RawReply read(std::chrono::milliseconds timeout);
  bool closed() const { return closed_; }

 private:
  int fd_ = -1;
  bool closed_ = false;
  std::string in_;
};

// GET path with Connection: close; REQUIREs a 200 and returns the body.
std::string http_get(std::uint16_t port, std::string_view path);

// A counter from GET /v1/stats ("events_stored"), or by_event's count for an event name.
std::uint64_t stat(std::uint16_t port, std::string_view key);
std::uint64_t stat_by_event(std::uint16_t port, std::string_view event);

// Opened directly (the server must have stopped, or WAL readers must be fine with it).
struct DbContents {
  bool integrity_ok = false;
  std::string integrity;  // "ok" or the problems
  std::set<std::string> message_ids;
  std::vector<std::string> events_in_order;  // the event name of each row, in the order stored
  std::size_t rows = 0;
};
DbContents read_db(const std::string& path);

}  // namespace referkit::test::ingest

#endif  // REFERKIT_TESTS_INTEGRATION_INGEST_SUPPORT_HPP
