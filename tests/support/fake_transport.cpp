#include "support/fake_transport.hpp"

#include <simdjson.h>

#include "common/text.hpp"
#include "transport/gzip.hpp"

namespace referkit::test {

std::string RecordedRequest::header(std::string_view name) const {
  for (const auto& [k, v] : request.headers) {
    if (detail::iequals(k, name)) return v;
  }
  return {};
}

void FakeTransport::set_handler(Handler h) {
  std::lock_guard<std::mutex> lk(mu_);
  handler_ = std::move(h);
}

void FakeTransport::hang(bool on) {
  std::lock_guard<std::mutex> lk(mu_);
  hang_ = on;
  cv_.notify_all();
}

HttpResponse FakeTransport::reply(int code, std::string body, std::optional<std::string> retry_after) {
  HttpResponse r;
  r.code = code;
  r.body = std::move(body);
  r.retry_after = std::move(retry_after);
  return r;
}

HttpResponse FakeTransport::send(const HttpRequest& request) {
  RecordedRequest rec;
  rec.request = request;
  rec.json = request.body;
  if (rec.header("Content-Encoding") == "gzip") {
    auto plain = detail::gzip_decompress(request.body, 64u << 20);
    rec.json = plain ? std::move(*plain) : std::string("<bad gzip>");
  }
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (!parser.parse(rec.json).get(root)) {
    simdjson::dom::array batch;
    if (!root["batch"].get_array().get(batch)) {
      for (simdjson::dom::element e : batch) {
        std::string_view id;
        if (!e["messageId"].get_string().get(id)) rec.message_ids.emplace_back(id);
      }
    }
  }
  std::unique_lock<std::mutex> lk(mu_);
  requests_.push_back(rec);
  cv_.notify_all();
  cv_.wait(lk, [&] { return !hang_ || cancelled_; });
  if (cancelled_) {
    HttpResponse r;
    r.status = Status(StatusCode::kFailedPrecondition, "cancelled");
    return r;
  }
  Handler handler = handler_;
  lk.unlock();
  HttpResponse response = handler ? handler(rec) : reply(200);
  if (response.status.ok() && response.code >= 200 && response.code < 300) {
    lk.lock();
    for (const std::string& id : rec.message_ids) ++delivered_[id];
  }
  return response;
}

void FakeTransport::cancel() {
  std::lock_guard<std::mutex> lk(mu_);
  cancelled_ = true;
  cv_.notify_all();
}

void FakeTransport::reset_cancel() {
  std::lock_guard<std::mutex> lk(mu_);
  cancelled_ = false;
}

std::vector<RecordedRequest> FakeTransport::requests() const {
  std::lock_guard<std::mutex> lk(mu_);
  return requests_;
}

std::size_t FakeTransport::request_count() const {
  std::lock_guard<std::mutex> lk(mu_);
  return requests_.size();
}

std::map<std::string, int> FakeTransport::delivered() const {
  std::lock_guard<std::mutex> lk(mu_);
  return delivered_;
}

bool FakeTransport::wait_for_requests(std::size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lk(mu_);
  return cv_.wait_for(lk, timeout, [&] { return requests_.size() >= n; });
}

}  // namespace referkit::test
