// A loopback HTTP server that reads each request whole and answers 200 at once, so that an end
// to end figure measures the SDK (batching, gzip, curl, the spool) and not a server's storage.
// It parses request heads with the project's one HTTP parser (examples/shared/http) and counts
// what it received, so a run that lost events reports no figure. Asked to, it also keeps each
// body and counts the events in each batch (gunzipped if it came compressed) once the senders are
// done: the peer comparison's check that every event arrived, once, whichever SDK sent it.
// Counting as they arrive took a third of a core on the 2-core machine, away from the sender
// being measured, and only from the one that compresses.
#ifndef REFERKIT_TESTS_BENCH_DISCARD_SERVER_HPP
#define REFERKIT_TESTS_BENCH_DISCARD_SERVER_HPP

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace referkit::bench {

class DiscardServer {
 public:
  // Listens on 127.0.0.1, port 0; nullptr when the socket cannot be made. With count_events, each
  // body is kept as it came, for count_kept_bodies().
  static std::unique_ptr<DiscardServer> start(bool count_events = false);
  ~DiscardServer();
  DiscardServer(const DiscardServer&) = delete;
  DiscardServer& operator=(const DiscardServer&) = delete;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // Requests answered so far, and the body bytes they carried (compressed as sent).
  std::uint64_t requests() const { return requests_.load(); }
  std::uint64_t body_bytes() const { return body_bytes_.load(); }
  // With count_events: reads the bodies kept so far as Segment batches, and lets them go.
  void count_kept_bodies();
  // Counted so far: the elements of the bodies' "batch" arrays, and the bodies that were not a
  // JSON object with one (or not valid gzip); both were answered 200.
  std::uint64_t events() const { return events_.load(); }
  std::uint64_t unreadable() const { return unreadable_.load(); }

 private:
  DiscardServer() = default;
  void accept_loop();
  void serve(int fd);
  void count(std::string_view body);

  int listen_fd_ = -1;
  int port_ = 0;
  bool count_events_ = false;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> requests_{0};
  std::atomic<std::uint64_t> body_bytes_{0};
  std::atomic<std::uint64_t> events_{0};
  std::atomic<std::uint64_t> unreadable_{0};
  std::mutex kept_mu_;
  std::vector<std::string> kept_;  // with count_events: the bodies not counted yet
  std::thread acceptor_;
  std::vector<std::thread> connections_;  // only the acceptor touches it until the destructor
};

}  // namespace referkit::bench

#endif  // REFERKIT_TESTS_BENCH_DISCARD_SERVER_HPP
