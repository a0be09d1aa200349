// A scripted Transport for tracker tests: no sockets, no sleeps. Each request is decoded (gunzip,
// JSON) and recorded; a handler decides the reply. hang() makes sends block until cancel().
#ifndef REFERKIT_TESTS_SUPPORT_FAKE_TRANSPORT_HPP
#define REFERKIT_TESTS_SUPPORT_FAKE_TRANSPORT_HPP

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "referkit/transport.hpp"

namespace referkit::test {

struct RecordedRequest {
  HttpRequest request;
  std::string json;                      // the body, decompressed
  std::vector<std::string> message_ids;  // of the events in the batch, in order
  std::string header(std::string_view name) const;
};

class FakeTransport : public Transport {
 public:
  using Handler = std::function<HttpResponse(const RecordedRequest&)>;

  // Replies 200 {} unless a handler is set.
  void set_handler(Handler h);
  // While hanging, send() blocks until cancel() (then returns kFailedPrecondition).
  void hang(bool on);

  HttpResponse send(const HttpRequest& request) override;
  void cancel() override;
  void reset_cancel() override;

  std::vector<RecordedRequest> requests() const;
  std::size_t request_count() const;
  // messageId -> how many times it arrived in a request that got a 2xx.
  std::map<std::string, int> delivered() const;
  // Blocks until at least n requests were made or the timeout passes.
  bool wait_for_requests(std::size_t n, std::chrono::milliseconds timeout) const;

  static HttpResponse reply(int code, std::string body = "{}", std::optional<std::string> retry_after = {});

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  Handler handler_;
  bool hang_ = false;
  bool cancelled_ = false;
  std::vector<RecordedRequest> requests_;
  std::map<std::string, int> delivered_;
};

}  // namespace referkit::test

#endif  // REFERKIT_TESTS_SUPPORT_FAKE_TRANSPORT_HPP
