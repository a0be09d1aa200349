// The tracker in durable mode against a scripted transport: events survive shutdown with the
// endpoint down and a process that dies without shutting down; recovery resends them in order with
// their original messageIds; damage is counted; bounds, permissions and versions give clear errors.
#include <doctest/doctest.h>
#include <signal.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "referkit/spool.hpp"
#include "referkit/tracker.hpp"
#include "spool/segment_format.hpp"
#include "support/fake_transport.hpp"
#include "support/open_files.hpp"
#include "support/sanitizers.hpp"
#include "support/temp_dir.hpp"
#include "support/thread_nice.hpp"
#include "support/tracker_harness.hpp"

using namespace referkit;
using referkit::test::FakeTransport;
using referkit::test::TempDir;
using referkit::test::threads_with_nice;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

Event order(int i) {
  Event e;
  e.name = "Order Completed";
  e.user_id = "user-" + std::to_string(i);
  e.message_id = "m-" + std::to_string(100000 + i);  // sortable: the order of tracking
  e.properties.set("order_id", "o-" + std::to_string(i));
  e.properties.set("note", std::string(200, 'n'));
  e.lane = Lane::kConversions;
  return e;
}

HttpResponse unavailable(const test::RecordedRequest&) { return FakeTransport::reply(503); }

// The shared tracker harness in durable mode. The orders go to the conversions lane, so their
// segments are in `dir`, the lane's directory inside the spool directory `root`.
struct Durable : test::TrackerHarness {
  TempDir tmp;
  std::string root = (tmp.path() / "spool").string();
  std::string dir = root + "/conversions";

  Durable() {
    spool_in(root);
    seams.sleeper = [](std::chrono::milliseconds) {};
  }
  // Tracks events [0, n) with the endpoint down and shuts down: they wait in the spool.
  void leave_in_spool(int n) {
    fake->set_handler(unavailable);
    Tracker t = open();
    for (int i = 0; i < n; ++i) REQUIRE(t.track(order(i)).ok());
    REQUIRE(t.shutdown(100ms).kept_in_spool);
  }
  std::vector<fs::path> segments() const {
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(dir)) {
      if (e.path().extension() == ".seg") out.push_back(e.path());
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  SpoolInfo info() const {
    auto i = inspect_spool(dir);
    REQUIRE_MESSAGE(i.ok(), i.status().to_string());
    return *i;
  }
};

// Every messageId that reached the fake in a 2xx, in arrival order.
std::vector<std::string> delivered_in_order(const FakeTransport& fake) {
  std::vector<std::string> out;
  for (const auto& r : fake.requests()) {
    if (r.message_ids.empty()) continue;
    out.insert(out.end(), r.message_ids.begin(), r.message_ids.end());
  }
  return out;
}

// Runs body in a child process that then dies at once, like kill -9: no destructors, no shutdown.
int in_child_that_dies(const std::function<bool()>& body) {
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // A failed REQUIRE throws: it must end the child, not go on running the tests there.
    bool ok = false;
    try {
      ok = body();
    } catch (...) {
      ok = false;
    }
    _exit(ok ? 0 : 1);
  }
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

// Polls for a condition the spool's background threads bring about, for at most `limit`.
bool eventually(const std::function<bool()>& done, std::chrono::milliseconds limit = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

bool has_file_ending(const std::string& dir, const std::string& suffix) {
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) return true;
  }
  return false;
}

bool has_nonzero_byte(const fs::path& file) {
  std::ifstream f(file, std::ios::binary);
  return std::any_of(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>(), [](char c) { return c != 0; });
}

using referkit::test::open_files;  // what a forked child inherited, or the spool's threads still hold

bool starts_with(std::string_view text, std::string_view prefix) { return text.substr(0, prefix.size()) == prefix; }
bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

ino_t inode_of(const fs::path& file) {
  struct stat st {};
  return ::stat(file.c_str(), &st) == 0 ? st.st_ino : 0;
}

// Whether a segment file holds non-zero bytes after its data and end mark: an earlier use's.
bool has_bytes_after_data(const fs::path& segment) {
  std::ifstream f(segment, std::ios::binary);
  std::vector<unsigned char> bytes(fs::file_size(segment));
  f.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  auto scan = detail::scan_segment(bytes.data(), bytes.size());
  REQUIRE(scan.ok());
  return std::any_of(bytes.begin() + static_cast<std::ptrdiff_t>(std::min(bytes.size(), scan->end + 8)), bytes.end(),
                     [](unsigned char b) { return b != 0; });
}

}  // namespace

TEST_SUITE("spool") {

TEST_CASE("delivers through the spool and reclaims the disk") {
  Durable d;
  Tracker t = d.open();
  for (int i = 0; i < 600; ++i) REQUIRE(t.track(order(i)).ok());
  REQUIRE(t.flush(10s).ok());
  CHECK(d.fake->delivered().size() == 600);
  // 600 events of ~330 bytes need several 64 KiB segments; only the open one is left. The files
  // are deleted by the committer thread, just after.
  CHECK(t.stats().spool_bytes == 64 * 1024);
  const auto give_up = std::chrono::steady_clock::now() + 10s;
  while (d.segments().size() > 1 && std::chrono::steady_clock::now() < give_up) std::this_thread::sleep_for(1ms);
  CHECK(d.segments().size() == 1);
  auto report = t.shutdown(5s);
  CHECK(report.status.ok());
  CHECK(report.undelivered == 0);
  CHECK(d.segments().empty());
  CHECK(d.info().pending_events == 0);
}

TEST_CASE("background_nice: the tracker's own threads are named, niced and SCHED_BATCH, the caller's thread is not") {
  Durable d;
  d.options.background_nice = 7;
  const int caller_nice = getpriority(PRIO_PROCESS, static_cast<id_t>(gettid()));
  const int caller_policy = sched_getscheduler(0);
  // Threads that were there before are not this tracker's (earlier tests in the same process may
  // have left a worker behind on purpose: one stuck in a transport that ignores cancel()).
  std::set<int> before;
  for (const auto& thread : threads_with_nice()) before.insert(thread.tid);
  Tracker t = d.open();
  for (int i = 0; i < 600; ++i) REQUIRE(t.track(order(i)).ok());
  REQUIRE(t.flush(10s).ok());
  std::multiset<std::string> ours;
  for (const auto& thread : threads_with_nice()) {
    if (before.count(thread.tid) > 0 || thread.name.rfind("rk-", 0) != 0) continue;
    ours.insert(thread.name);
    INFO(thread.name);
    CHECK(thread.nice == 7);
    CHECK(thread.policy == SCHED_BATCH);
  }
  CHECK(ours.count("rk-worker") == 1);
  CHECK(ours.count("rk-commit") == 2);  // one per lane's spool
  CHECK(ours.count("rk-prepare") == 2);
  CHECK(getpriority(PRIO_PROCESS, static_cast<id_t>(gettid())) == caller_nice);
  CHECK(sched_getscheduler(0) == caller_policy);
  CHECK(t.shutdown(5s).status.ok());
}

TEST_CASE("a scheduling policy the application chose is inherited and kept, not replaced by SCHED_BATCH" *
          doctest::skip(referkit::test::kForkUnsafeAllocator)) {
  // In a child, so that no thread of the test process stays SCHED_IDLE.
  const int code = in_child_that_dies([] {
    sched_param none{};
    if (sched_setscheduler(0, SCHED_IDLE, &none) != 0) return false;
    Durable d;
    Tracker t = d.open();
    if (!t.track(order(1)).ok() || !t.flush(10s).ok()) return false;
    int ours = 0;
    for (const auto& thread : threads_with_nice()) {
      if (thread.name.rfind("rk-", 0) != 0) continue;
      ++ours;
      if (thread.policy != SCHED_IDLE) return false;
    }
    return ours >= 5;  // rk-worker, and each lane's rk-commit and rk-prepare
  });
  CHECK(code == 0);
}

TEST_CASE("commit() waits for the group commit only, not for delivery (the sidecar's --durable-ack)") {
  Durable d;
  d.fake->set_handler(unavailable);  // nothing can be delivered: commit() must not wait for it
  d.options.spool_commit_interval = std::chrono::hours(1);  // only an explicit commit syncs
  Tracker t = d.open();
  for (int i = 0; i < 10; ++i) REQUIRE(t.track(order(i)).ok());
  CHECK(t.commit(10s).ok());
  CHECK(t.stats().acknowledged == 0);
  CHECK(t.shutdown(100ms).kept_in_spool);
  CHECK(t.commit(1s).code() == StatusCode::kFailedPrecondition);
  CHECK(d.info().pending_events == 10);
}

TEST_CASE("segments bigger than the spare's first prefault step: rolls in a flood keep every event, in order") {
  // The preparer offers a spare once its first 64 KiB are prefaulted and prefaults the rest after,
  // so a roll in a flood may take a spare that is still being prefaulted (most likely under TSan,
  // which slows that thread). Whichever way each roll goes, nothing is lost or reordered.
  Durable d;
  d.options.spool_segment_bytes = 256 * 1024;
  Tracker t = d.open();
  constexpr int kEvents = 4000;  // ~1.3 MB: five rolls or more
  for (int i = 0; i < kEvents; ++i) REQUIRE(t.track(order(i)).ok());
  REQUIRE(t.flush(30s).ok());
  std::vector<std::string> expected;
  for (int i = 0; i < kEvents; ++i) expected.push_back("m-" + std::to_string(100000 + i));
  CHECK(delivered_in_order(*d.fake) == expected);
  CHECK(t.shutdown(5s).undelivered == 0);
  CHECK(d.info().pending_events == 0);
}

TEST_CASE("the first event goes into a segment file made when the spool opened") {
  // track() used to make the first segment itself: a file created, mapped and read ahead on the
  // caller's thread, over 1 ms on the 2-core VM. Now open() makes a spare, and the first roll
  // renames it: the first segment is the same file (inode) as the spare found right after open.
  // Small segments: open makes the spare only with room for four of them on the disk.
  Durable d;
  d.options.spool_segment_bytes = 64 * 1024;
  d.fake->set_handler(unavailable);
  Tracker t = d.open();
  fs::path spare;
  for (const auto& e : fs::directory_iterator(d.dir)) {
    if (e.path().extension() == ".spare") spare = e.path();
  }
  REQUIRE_MESSAGE(!spare.empty(), "no spare segment file after open");
  const ino_t made_at_open = inode_of(spare);
  CHECK(d.segments().empty());
  REQUIRE(t.track(order(0)).ok());
  const auto segs = d.segments();
  REQUIRE(segs.size() == 1);
  CHECK(inode_of(segs[0]) == made_at_open);
  CHECK(t.shutdown(100ms).kept_in_spool);
  CHECK(d.info().pending_events == 1);
}

TEST_CASE("resolved segment files are reused and after a crash only the new use's records are recovered") {
  Durable d;
  // In a child that then dies like kill -9: delivered events, until a resolved segment is kept
  // (as "<owner>.free", or already made the next spare from); then, with the endpoint down,
  // events until a roll takes that file, and a few more.
  const int child = in_child_that_dies([&] {
    Tracker t = d.open();
    int next = 0;
    // The kept file's inode: it keeps it through both renames. A fresh spare is all zeros until a
    // roll takes it; a reused one holds the earlier use's records.
    auto kept_inode = [&]() -> ino_t {
      for (const auto& e : fs::directory_iterator(d.dir)) {
        const auto ext = e.path().extension();
        if (ext == ".free" || (ext == ".spare" && has_nonzero_byte(e.path()))) return inode_of(e.path());
      }
      return 0;
    };
    ino_t reused = 0;
    // Rounds of ~40 KB (a roll at most): a segment is resolved after the roll that closed it, so
    // after one such round or two a file is kept and not yet taken.
    for (int round = 0; round < 20 && reused == 0; ++round) {
      for (int i = 0; i < 100; ++i) REQUIRE(t.track(order(next++)).ok());
      REQUIRE(t.flush(10s).ok());
      eventually([&] { return (reused = kept_inode()) != 0; }, 2s);
    }
    REQUIRE(reused != 0);
    std::ofstream(d.tmp.path() / "delivered") << next;
    d.fake->set_handler(unavailable);
    auto is_segment = [&] {
      const auto segs = d.segments();
      return std::any_of(segs.begin(), segs.end(), [&](const fs::path& p) { return inode_of(p) == reused; });
    };
    // Two rolls at most, once the preparer has had a core: a pause every 10 events gives it one
    // (on a loaded machine it waits for one, and rolls meanwhile make their own segments).
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!is_segment() && std::chrono::steady_clock::now() < deadline) {
      REQUIRE(t.track(order(next++)).ok());
      if (next % 10 == 0) std::this_thread::sleep_for(1ms);
    }
    REQUIRE(is_segment());
    for (int i = 0; i < 20; ++i) REQUIRE(t.track(order(next++)).ok());
    (void)t.flush(200ms);  // commits; the endpoint is down
    std::ofstream(d.tmp.path() / "tracked") << next;
    return true;
  });
  REQUIRE(child == 0);
  int delivered = 0;
  int tracked = 0;
  std::ifstream(d.tmp.path() / "delivered") >> delivered;
  std::ifstream(d.tmp.path() / "tracked") >> tracked;
  REQUIRE(delivered >= 100);
  REQUIRE(tracked > delivered + 20);
  const int pending = tracked - delivered;
  const auto segs = d.segments();
  CHECK(std::any_of(segs.begin(), segs.end(), has_bytes_after_data));  // the reused file
  SpoolInfo info = d.info();
  CHECK(info.pending_events == static_cast<std::uint64_t>(pending));
  CHECK(info.corrupt_records == 0);
  d.new_transport();
  Tracker t = d.open();
  CHECK(t.stats().recovered == static_cast<std::uint64_t>(pending));
  CHECK(t.stats().corrupt_records == 0);
  REQUIRE(t.flush(10s).ok());
  std::vector<std::string> expected;
  for (int i = delivered; i < tracked; ++i) expected.push_back("m-" + std::to_string(100000 + i));
  CHECK(delivered_in_order(*d.fake) == expected);
  // The dead owner's kept and spare files were removed by the open.
  t.shutdown(5s);
  CHECK_FALSE(has_file_ending(d.dir, ".free"));
  CHECK_FALSE(has_file_ending(d.dir, ".spare"));
}

TEST_CASE("a forked child keeps no descriptor of the parent's spare or kept segment file" *
          doctest::skip(referkit::test::kForkUnsafeAllocator)) {
  // Both hold flocks. A child's copies would keep a dead parent's kept file and spare from being
  // removed by the next opener, and a spare the parent later took as a segment from being
  // adopted, for as long as the child lives. Delivered rounds until both files exist: a spare
  // (made at open, then after each roll) and a resolved segment kept for reuse.
  Durable d;
  Tracker t = d.open();
  const std::string inside = fs::canonical(d.dir).string() + "/";
  // This process's descriptors of files in the lane's directory, by the ending of their names.
  auto descriptors_ending = [&](std::string_view suffix) {
    const std::vector<std::string> files = open_files();
    return std::count_if(files.begin(), files.end(),
                         [&](const std::string& f) { return starts_with(f, inside) && ends_with(f, suffix); });
  };
  int next = 0;
  bool both = false;
  for (int round = 0; round < 20 && !both; ++round) {
    for (int i = 0; i < 100; ++i) REQUIRE(t.track(order(next++)).ok());
    REQUIRE(t.flush(10s).ok());
    // One descriptor each: the kept file's original (its segment's) is let go of at the end of
    // the committer's pass that kept it, so the check below counts the kept file's own.
    both = eventually([&] { return descriptors_ending(".free") == 1 && descriptors_ending(".spare") == 1; }, 2s);
  }
  REQUIRE(both);
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // Any descriptor of a file in the parent's lane directory: the kept file, the spare, a segment.
    for (const std::string& f : open_files()) {
      if (starts_with(f, inside)) {
        std::fprintf(stderr, "the child holds %s\n", f.c_str());
        _exit(1);
      }
    }
    _exit(0);
  }
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
  CHECK(t.shutdown(5s).undelivered == 0);
}

TEST_CASE("the next batch is read from the spool while one is in flight, order and disk reclaim hold") {
  Durable d;
  d.options.max_batch_events = 50;
  std::mutex gate_mu;
  std::condition_variable gate_cv;
  bool open_gate = false;
  d.fake->set_handler([&](const test::RecordedRequest&) {
    std::unique_lock<std::mutex> lk(gate_mu);
    gate_cv.wait(lk, [&] { return open_gate; });
    return FakeTransport::reply(200);
  });
  Tracker t = d.open();
  // ~400 bytes each: 600 events fill several 64 KiB segments, so batches cross segment ends.
  for (int i = 0; i < 600; ++i) REQUIRE(t.track(order(i)).ok());
  REQUIRE(d.fake->wait_for_requests(1, 10s));
  {
    std::lock_guard<std::mutex> lk(gate_mu);
    open_gate = true;
  }
  gate_cv.notify_all();
  REQUIRE(t.flush(10s).ok());
  std::vector<std::string> expected;
  for (int i = 0; i < 600; ++i) expected.push_back("m-" + std::to_string(100000 + i));
  CHECK(delivered_in_order(*d.fake) == expected);
  CHECK(t.stats().spool_bytes == 64 * 1024);
  t.shutdown(5s);
  CHECK(d.info().pending_events == 0);
}

TEST_CASE("batches prepared ahead when the endpoint is down stay in the spool, in order") {
  Durable d;
  d.options.max_batch_events = 50;
  d.fake->set_handler(unavailable);
  {
    Tracker t = d.open();
    for (int i = 0; i < 200; ++i) REQUIRE(t.track(order(i)).ok());
    REQUIRE(d.fake->wait_for_requests(2, 10s));  // retrying the first batch, the second taken ahead
    auto report = t.shutdown(300ms);
    CHECK(report.kept_in_spool);
    CHECK(report.undelivered == 200);
  }
  CHECK(d.info().pending_events == 200);
  d.new_transport();
  Tracker t = d.open();
  REQUIRE(t.flush(10s).ok());
  std::vector<std::string> expected;
  for (int i = 0; i < 200; ++i) expected.push_back("m-" + std::to_string(100000 + i));
  CHECK(delivered_in_order(*d.fake) == expected);
}

TEST_CASE("an endpoint that is down: shutdown keeps everything, the next start sends it in order") {
  Durable d;
  d.fake->set_handler(unavailable);
  {
    Tracker t = d.open();
    for (int i = 0; i < 300; ++i) REQUIRE(t.track(order(i)).ok());
    const auto started = std::chrono::steady_clock::now();
    auto report = t.shutdown(300ms);
    CHECK(std::chrono::steady_clock::now() - started < 2s);
    CHECK(report.kept_in_spool);
    CHECK(report.undelivered == 300);
    CHECK(t.stats().dropped() == 0);
  }
  SpoolInfo info = d.info();
  CHECK(info.pending_events == 300);
  CHECK(info.live_owners == 0);
  REQUIRE(info.oldest_event.has_value());

  d.new_transport();
  Tracker t = d.open();
  CHECK(t.stats().recovered == 300);
  REQUIRE(t.track(order(300)).ok());
  REQUIRE(t.flush(10s).ok());
  std::vector<std::string> expected;
  for (int i = 0; i <= 300; ++i) expected.push_back("m-" + std::to_string(100000 + i));
  CHECK(delivered_in_order(*d.fake) == expected);  // original ids, tracking order, once each
  t.shutdown(5s);
  CHECK(d.info().pending_events == 0);
}

TEST_CASE("a process that dies leaves its events, acknowledged ones are not resent") {
  Durable d;
  d.options.max_batch_events = 50;
  const int code = in_child_that_dies([&] {
    // The first two batches are acknowledged, then the endpoint fails; the process dies.
    auto acked = std::make_shared<std::atomic<int>>(0);
    d.fake->set_handler([acked](const test::RecordedRequest&) {
      return acked->fetch_add(1) < 2 ? FakeTransport::reply(200) : FakeTransport::reply(503);
    });
    // Never destroyed: the process ends without a shutdown.
    auto* t = new Tracker(d.open());
    for (int i = 0; i < 230; ++i) {
      if (!t->track(order(i)).ok()) return false;
    }
    (void)t->flush(200ms);  // times out (the endpoint fails): the rest stays pending
    // Two batches acknowledged and at least one refused, however slow this machine is.
    return d.fake->wait_for_requests(3, 30s) && d.fake->delivered().size() == 100;
  });
  REQUIRE(code == 0);
  CHECK(d.info().pending_events == 130);
  CHECK(d.info().live_owners == 0);

  Tracker t = d.open();
  CHECK(t.stats().recovered == 130);
  REQUIRE(t.flush(10s).ok());
  auto got = delivered_in_order(*d.fake);
  REQUIRE(got.size() == 130);
  CHECK(got.front() == "m-100100");
  CHECK(got.back() == "m-100229");
}

TEST_CASE("damaged segments: the intact records are delivered, the damaged ones counted") {
  Durable d;
  d.leave_in_spool(100);
  auto segs = d.segments();
  REQUIRE(segs.size() == 1);
  const auto size = fs::file_size(segs[0]);
  {
    // Flip one byte inside the payload of the 10th record, and tear the last one in half.
    std::fstream f(segs[0], std::ios::in | std::ios::out | std::ios::binary);
    std::vector<char> bytes(size);
    f.read(bytes.data(), static_cast<std::streamsize>(size));
    const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
    detail::SegmentReader reader(data, bytes.size(), detail::kSegmentHeaderBytes,
                                 detail::record_format(data, bytes.size()));
    detail::RecordView rec;
    std::size_t last_end = 0;
    std::size_t last_offset = 0;
    for (int i = 0; reader.next(rec); ++i) {
      if (i == 9) {
        f.seekp(static_cast<std::streamoff>(rec.offset + detail::kRecordHeaderBytes + 40));
        f.put(static_cast<char>(bytes[rec.offset + detail::kRecordHeaderBytes + 40] ^ 0x01));
      }
      last_offset = rec.offset;
      last_end = rec.end;
    }
    f.close();
    fs::resize_file(segs[0], last_offset + (last_end - last_offset) / 2);
  }
  SpoolInfo info = d.info();
  CHECK(info.pending_events == 98);
  CHECK(info.corrupt_records == 2);

  d.new_transport();
  Tracker t = d.open();
  CHECK(t.stats().recovered == 98);
  CHECK(t.stats().corrupt_records == 2);
  REQUIRE(t.flush(10s).ok());
  auto got = d.fake->delivered();
  CHECK(got.size() == 98);
  CHECK(got.count("m-100009") == 0);
  CHECK(got.count("m-100099") == 0);
  CHECK(got.count("m-100098") == 1);
}

TEST_CASE("a segment left without a header (killed as it was taken into use) is empty, not damaged") {
  Durable d;
  fs::create_directories(d.dir);
  d.tmp.write("spool/conversions/FORMAT", "referkit-spool 1\n");
  d.tmp.write("spool/conversions/00000000000000ab-00000001.seg", std::string(64 * 1024, '\0'));
  Tracker t = d.open();
  CHECK(t.stats().recovered == 0);
  CHECK(t.stats().corrupt_records == 0);
  CHECK(d.segments().empty());  // the empty one was removed, and none is made before an event
}

TEST_CASE("a reused file renamed into place whose new header did not reach the disk holds no events") {
  // What power loss can leave of a reuse: the segment's name on disk, and the header the preparer
  // cleared (and synced) before the rename, over records the file held before. They are no
  // events of this segment: nothing is recovered, resent, or counted as damage.
  Durable d;
  d.leave_in_spool(50);
  auto segs = d.segments();
  REQUIRE(segs.size() == 1);
  {
    std::fstream f(segs[0], std::ios::in | std::ios::out | std::ios::binary);
    const std::string zeros(detail::kSegmentHeaderBytes + 8, '\0');
    f.write(zeros.data(), static_cast<std::streamsize>(zeros.size()));
  }
  CHECK(d.info().pending_events == 0);
  CHECK(d.info().corrupt_records == 0);
  d.new_transport();
  Tracker t = d.open();
  CHECK(t.stats().recovered == 0);
  CHECK(t.stats().corrupt_records == 0);
  REQUIRE(t.flush(5s).ok());
  CHECK(d.fake->delivered().empty());
  CHECK(d.segments().empty());  // removed at open, and none made before an event
}

TEST_CASE("a full spool refuses new events and keeps every old one") {
  Durable d;
  d.options.conversions.max_spool_bytes = 2 * 64 * 1024;
  d.fake->set_handler(unavailable);
  Tracker t = d.open();
  int accepted = 0;
  Status refused;
  for (int i = 0; i < 2000 && refused.ok(); ++i) {
    refused = t.track(order(i));
    if (refused.ok()) ++accepted;
  }
  CHECK(refused.code() == StatusCode::kResourceExhausted);
  CHECK(refused.message().find("spool full") != std::string::npos);
  CHECK(accepted > 300);
  CHECK(t.stats().dropped_queue_full == 1);
  CHECK(t.stats().spool_bytes <= 2 * 64 * 1024);
  t.shutdown(100ms);
  CHECK(d.info().pending_events == static_cast<std::uint64_t>(accepted));
}

TEST_CASE("events refused by the server go to the dead-letter file with their reason") {
  Durable d;
  d.fake->set_handler([](const test::RecordedRequest& r) {
    return FakeTransport::reply(200, R"({"rejected":[{"messageId":")" + r.message_ids[1] + R"(","reason":"bad \u00e9vent"}]})");
  });
  Tracker t = d.open();
  for (int i = 0; i < 3; ++i) REQUIRE(t.track(order(i)).ok());
  CHECK(t.flush(10s).code() == StatusCode::kDataLoss);
  t.shutdown(5s);
  auto dead = read_dead_letters(d.dir);
  REQUIRE(dead.ok());
  REQUIRE(dead->size() == 1);
  CHECK((*dead)[0].message_id == "m-100001");
  CHECK((*dead)[0].reason == "bad \xc3\xa9vent");
  CHECK((*dead)[0].event_json.find(R"("order_id":"o-1")") != std::string::npos);
  CHECK(d.info().dead_letters == 1);
  CHECK(d.info().pending_events == 0);
  CHECK((fs::status(fs::path(d.dir) / "dead-letters.jsonl").permissions() & fs::perms::all) ==
        (fs::perms::owner_read | fs::perms::owner_write));

  // A damaged line (a crash mid-append, a hand edit) is listed, not skipped: the list and the
  // count agree.
  {
    std::ofstream out(fs::path(d.dir) / "dead-letters.jsonl", std::ios::binary | std::ios::app);
    out << "{\"at\":\"2026\n\nnot json at all\n";
  }
  auto again = read_dead_letters(d.dir);
  REQUIRE(again.ok());
  REQUIRE(again->size() == 3);
  CHECK(d.info().dead_letters == 3);
  CHECK((*again)[0].damage.empty());
  CHECK((*again)[0].line == 1);
  CHECK((*again)[1].line == 2);
  CHECK_FALSE((*again)[1].damage.empty());
  CHECK((*again)[1].message_id.empty());
  CHECK((*again)[2].line == 4);
  CHECK_FALSE((*again)[2].damage.empty());
}

TEST_CASE("events older than max_event_age are dropped, counted and reported") {
  Durable d;
  d.leave_in_spool(5);
  d.clocks->advance(30ms);  // the events are now at least 30 ms old, by the wall and boot clocks
  d.options.max_event_age = 10ms;
  d.new_transport();
  Tracker t = d.open();
  // The worker may expire them before flush() starts; flush() only reports losses while it waits.
  const Status flushed = t.flush(5s);
  CHECK((flushed.ok() || flushed.code() == StatusCode::kDataLoss));
  CHECK(t.stats().dropped_expired == 5);
  CHECK(d.fake->request_count() == 0);
  std::lock_guard<std::mutex> lk(d.mu);
  REQUIRE(d.drops.size() == 1);
  CHECK(d.drops[0].first == DropReason::kExpired);
  CHECK(d.drops[0].second == 5);
}

TEST_CASE("two trackers share a directory, leftovers go to the next opener only once") {
  Durable d;
  d.fake->set_handler(unavailable);
  Tracker a = d.open();
  Tracker b = d.open();
  for (int i = 0; i < 10; ++i) REQUIRE(a.track(order(i)).ok());
  for (int i = 10; i < 15; ++i) REQUIRE(b.track(order(i)).ok());
  CHECK(d.info().live_owners == 2);
  a.shutdown(100ms);  // a's events are now orphans; b's owner is alive
  d.new_transport();
  Tracker c = d.open();
  CHECK(c.stats().recovered == 10);
  REQUIRE(c.flush(10s).ok());
  CHECK(d.fake->delivered().size() == 10);
  CHECK(d.fake->delivered().count("m-100010") == 0);
  b.shutdown(100ms);
  c.shutdown(5s);
  d.new_transport();
  Tracker e = d.open();
  CHECK(e.stats().recovered == 5);
}

TEST_CASE("owner-only permissions, and clear errors for bad directories") {
  Durable d;
  {
    Tracker t = d.open();
    REQUIRE(t.track(order(1)).ok());
    const auto perms = fs::status(d.dir).permissions() & fs::perms::all;
    CHECK(perms == fs::perms::owner_all);
    for (const auto& seg : d.segments()) {
      CHECK((fs::status(seg).permissions() & fs::perms::all) == (fs::perms::owner_read | fs::perms::owner_write));
    }
  }
  TrackerOptions missing_parent = d.options;
  missing_parent.spool_dir = (d.tmp.path() / "no" / "such" / "spool").string();
  auto r = Tracker::open(missing_parent);
  CHECK(r.status().code() == StatusCode::kNotFound);
  CHECK(r.status().message().find("no/such/spool") != std::string::npos);

  TrackerOptions newer = d.options;
  newer.spool_dir = (d.tmp.path() / "newer").string();
  fs::create_directories(newer.spool_dir + "/conversions");
  d.tmp.write("newer/conversions/FORMAT", "referkit-spool 99\n");
  r = Tracker::open(newer);
  CHECK(r.status().code() == StatusCode::kFailedPrecondition);
  CHECK(r.status().message().find("newer") != std::string::npos);
  CHECK(inspect_spool(newer.spool_dir).status().code() == StatusCode::kFailedPrecondition);
  fs::create_directory(d.tmp.path() / "plain");
  CHECK(inspect_spool((d.tmp.path() / "plain").string()).status().code() == StatusCode::kFailedPrecondition);
  CHECK(inspect_spool((d.tmp.path() / "absent").string()).status().code() == StatusCode::kNotFound);

  if (geteuid() != 0) {  // root ignores permission bits
    TrackerOptions readonly = d.options;
    readonly.spool_dir = (d.tmp.path() / "readonly").string();
    fs::create_directory(readonly.spool_dir);
    fs::permissions(readonly.spool_dir, fs::perms::owner_read | fs::perms::owner_exec);
    CHECK(Tracker::open(readonly).status().code() == StatusCode::kPermissionDenied);
  }
}

TEST_CASE("a segment of a newer format is refused at open and left untouched") {
  Durable d;
  d.leave_in_spool(1);
  auto segs = d.segments();
  REQUIRE(segs.size() == 1);
  {
    // Rewrite its header as format version 9, checksum included.
    std::fstream f(segs[0], std::ios::in | std::ios::out | std::ios::binary);
    unsigned char header[detail::kSegmentHeaderBytes];
    f.read(reinterpret_cast<char*>(header), sizeof header);
    detail::SegmentHeader h = detail::decode_segment_header(header, sizeof header).value();
    h.version = 9;
    detail::encode_segment_header(header, h);
    f.seekp(0);
    f.write(reinterpret_cast<const char*>(header), sizeof header);
  }
  auto r = d.try_open();
  CHECK(r.status().code() == StatusCode::kFailedPrecondition);
  CHECK(r.status().message().find("version 9") != std::string::npos);
  CHECK(d.segments() == segs);
}

TEST_CASE("a full disk is a clear error at the first event, not a crash, and open still succeeds") {
  Durable d;
  const int code = in_child_that_dies([&] {
    // A file size limit stands in for a full disk: reserving a segment fails with EFBIG (the
    // spare open() tries to make, quietly; the first event's segment, with a clear error).
    signal(SIGXFSZ, SIG_IGN);
    rlimit limit{16 * 1024, 16 * 1024};
    if (setrlimit(RLIMIT_FSIZE, &limit) != 0) return false;
    auto r = d.try_open();
    if (!r.ok()) return false;
    const Status tracked = r->track(order(1));
    return tracked.code() == StatusCode::kResourceExhausted && tracked.message().find(".seg") != std::string::npos;
  });
  CHECK(code == 0);
}

TEST_CASE("a forked child tracks into its own part of the spool" * doctest::skip(referkit::test::kForkUnsafeAllocator)) {
  Durable d;
  // The parent's worker waits on a request that never ends (an endpoint that hangs), so it is
  // idle, not allocating, at the fork: the sanitizers' allocators are not fork-safe.
  d.fake->hang(true);
  Tracker t = d.open();
  for (int i = 0; i < 3; ++i) REQUIRE(t.track(order(i)).ok());
  CHECK(t.flush(1ms).code() == StatusCode::kDeadlineExceeded);  // starts the (hanging) upload
  REQUIRE(d.fake->wait_for_requests(1, 10s));
  const int code = in_child_that_dies([&] {
    d.fake->hang(false);
    bool ok = t.track(order(7)).ok() && t.flush(10s).ok();
    auto delivered = d.fake->delivered();
    return ok && delivered.size() == 1 && delivered.count("m-100007") == 1;
  });
  CHECK(code == 0);
  t.shutdown(200ms);
  // The parent's three are still there for the next start; the child's one was delivered.
  CHECK(d.info().pending_events == 3);
}

TEST_CASE("expired events passed over while a batch is in flight never reclaim it: a crash then loses nothing") {
  Durable d;
  d.options.max_batch_events = 10;
  d.options.max_event_age = std::chrono::hours(1);
  struct Gate {
    std::mutex mu;
    std::condition_variable cv;
    bool open = false;
    int requests = 0;
  };
  auto gate = std::make_shared<Gate>();
  d.fake->set_handler([gate](const test::RecordedRequest&) {
    std::unique_lock<std::mutex> lk(gate->mu);
    const int n = ++gate->requests;
    if (n == 1) gate->cv.wait(lk, [&] { return gate->open; });  // A1 held while A2 is taken ahead
    if (n == 2) gate->cv.wait(lk, [] { return false; });        // A2 never answered: the process dies
    return FakeTransport::reply(200);
  });
  const int code = in_child_that_dies([&] {
    Tracker t = d.open();
    t.pause(Lane::kConversions);  // all three batches are in the spool before any is taken
    for (int i = 0; i < 30; ++i) {
      if (!t.track(order(i)).ok()) return false;
    }
    t.resume(Lane::kConversions);  // A1 goes, and A2 is taken ahead
    if (!d.fake->wait_for_requests(1, 10s)) return false;
    d.clocks->advance(std::chrono::hours(2));  // A3, not yet taken, is now expired
    {
      std::lock_guard<std::mutex> lk(gate->mu);
      gate->open = true;
    }
    gate->cv.notify_all();
    // A2 is in flight, and A3 was passed over as expired when it was looked at ahead.
    return d.fake->wait_for_requests(2, 10s) && d.fake->delivered().size() == 10;
  });
  REQUIRE(code == 0);
  // A2 is still in the spool (A3 too: its reclaim waited for A2), and the next start sends it.
  CHECK(d.info().pending_events == 20);
  auto fresh = d.new_transport();
  Tracker t = d.open();
  REQUIRE(t.flush(10s).ok());
  for (int i = 10; i < 20; ++i) CHECK(fresh->delivered().count("m-1000" + std::to_string(i)) == 1);
}

TEST_CASE("a forked child's track() opens no file: its worker opens the child's spool" * doctest::skip(referkit::test::kForkUnsafeAllocator)) {
  Durable d;
  d.options.spool_commit_interval = std::chrono::hours(1);  // every thread of the parent idle at the fork
  Tracker t = d.open();
  const int code = in_child_that_dies([&] {
    // No file descriptor can be opened: a track() that touched a file would fail.
    rlimit saved{};
    if (getrlimit(RLIMIT_NOFILE, &saved) != 0) return false;
    rlimit none = saved;
    none.rlim_cur = 0;
    if (setrlimit(RLIMIT_NOFILE, &none) != 0) return false;
    bool ok = true;
    for (int i = 0; i < 5; ++i) ok = ok && t.track(order(20 + i)).ok();
    // The worker cannot open the spool either; it keeps the events in memory and tries again.
    ok = ok && t.flush(50ms).code() == StatusCode::kDeadlineExceeded && d.fake->delivered().empty();
    if (setrlimit(RLIMIT_NOFILE, &saved) != 0) return false;
    ok = ok && t.flush(10s).ok();
    return ok && d.fake->delivered().size() == 5 && d.fake->delivered().count("m-100024") == 1;
  });
  CHECK(code == 0);
}

TEST_CASE("a child that forks again before its first event leaves a working tracker to the grandchild" * doctest::skip(referkit::test::kForkUnsafeAllocator)) {
  Durable d;
  d.options.spool_commit_interval = std::chrono::hours(1);  // every thread of the parent idle at the fork
  Tracker t = d.open();
  const int code = in_child_that_dies([&] {
    const pid_t grandchild = fork();
    if (grandchild < 0) return false;
    if (grandchild == 0) {
      const bool ok = t.track(order(9)).ok() && t.flush(10s).ok() && d.fake->delivered().count("m-100009") == 1;
      _exit(ok ? 0 : 1);
    }
    int status = 0;
    return waitpid(grandchild, &status, 0) == grandchild && WIFEXITED(status) && WEXITSTATUS(status) == 0;
  });
  CHECK(code == 0);
}

}  // TEST_SUITE

namespace {

// The lock files of the spool's owners ("<16 hex>.lock"), not spool.lock.
std::vector<fs::path> owner_lock_files(const std::string& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ".lock" && e.path().filename() != "spool.lock") out.push_back(e.path());
  }
  return out;
}

// Every messageId a fake received, counted.
void add_delivered(std::map<std::string, int>& into, const FakeTransport& fake) {
  for (const auto& [id, n] : fake.delivered()) into[id] += n;
}

// Rewrites the tracked-at time of every record in a segment file (its checksums with it), as if
// the events had been tracked while the wall clock read that much differently.
void shift_tracked_at(const fs::path& segment, std::chrono::milliseconds by) {
  std::fstream f(segment, std::ios::in | std::ios::out | std::ios::binary);
  std::vector<unsigned char> bytes(fs::file_size(segment));
  f.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  std::vector<unsigned char> out = bytes;
  const detail::RecordFormat format = detail::record_format(bytes.data(), bytes.size());
  detail::SegmentReader reader(bytes.data(), bytes.size(), detail::kSegmentHeaderBytes, format);
  detail::RecordView rec;
  while (reader.next(rec)) {
    detail::RecordMeta meta = rec.meta;
    meta.tracked_ms += by.count();
    detail::encode_record(out.data() + rec.offset, rec.json, meta, format);
  }
  f.seekp(0);
  f.write(reinterpret_cast<const char*>(out.data()), static_cast<std::streamsize>(out.size()));
}

}  // namespace

TEST_SUITE("spool") {

TEST_CASE("a live owner whose lock file is deleted keeps its segments: nothing it tracks is lost" *
          doctest::skip(referkit::test::kForkUnsafeAllocator)) {
  Durable d;
  int to_parent[2];
  int to_owner[2];
  REQUIRE(pipe(to_parent) == 0);
  REQUIRE(pipe(to_owner) == 0);
  const pid_t owner = fork();
  REQUIRE(owner >= 0);
  if (owner == 0) {
    // The live owner, another process: its endpoint hangs, so what it tracks stays in its spool.
    // It tracks 100 events, waits while the parent deletes its lock file and opens the spool
    // again, then tracks 100 more and dies without shutting down (kill -9).
    d.fake->hang(true);
    auto t = d.try_open();
    bool ok = t.ok();
    for (int i = 0; ok && i < 100; ++i) ok = t->track(order(i)).ok();
    char c = ok ? 'r' : 'x';
    if (::write(to_parent[1], &c, 1) != 1 || !ok || ::read(to_owner[0], &c, 1) != 1) _exit(1);
    for (int i = 100; ok && i < 200; ++i) ok = t->track(order(i)).ok();
    c = ok ? 'd' : 'x';
    if (::write(to_parent[1], &c, 1) != 1) _exit(1);
    _exit(ok ? 0 : 1);
  }
  char c = 0;
  REQUIRE(::read(to_parent[0], &c, 1) == 1);
  REQUIRE(c == 'r');
  const auto locks = owner_lock_files(d.dir);
  REQUIRE(locks.size() == 1);
  fs::remove(locks[0]);  // a tmp cleaner: the owner lives on
  CHECK(d.info().live_owners == 1);  // its segments are locked all the same

  std::map<std::string, int> delivered;
  {
    auto other = d.new_transport();
    Tracker t = d.open();
    CHECK(t.stats().recovered == 0);  // the live owner's events are not taken
    CHECK(t.flush(10s).ok());
    t.shutdown(5s);
    add_delivered(delivered, *other);
  }
  // The owner notices and makes its lock file again (its committer checks on every pass).
  const auto give_up = std::chrono::steady_clock::now() + 10s;
  while (owner_lock_files(d.dir).empty() && std::chrono::steady_clock::now() < give_up) std::this_thread::sleep_for(1ms);
  CHECK(owner_lock_files(d.dir).size() == 1);

  REQUIRE(::write(to_owner[1], "g", 1) == 1);
  REQUIRE(::read(to_parent[0], &c, 1) == 1);
  CHECK(c == 'd');
  int status = 0;
  REQUIRE(waitpid(owner, &status, 0) == owner);
  CHECK(WIFEXITED(status));

  // The owner is dead now: the next opener delivers everything it accepted.
  auto last = d.new_transport();
  Tracker t = d.open();
  CHECK(t.stats().recovered == 200);
  CHECK(t.flush(10s).ok());
  t.shutdown(5s);
  add_delivered(delivered, *last);
  CHECK(delivered.size() == 200);
  for (int i = 0; i < 200; ++i) CHECK(delivered.count("m-" + std::to_string(100000 + i)) == 1);
  for (int fd : {to_parent[0], to_parent[1], to_owner[0], to_owner[1]}) ::close(fd);
}

TEST_CASE("events tracked while the wall clock was 8 days behind are not expired") {
  Durable d;
  d.options.max_event_age = std::chrono::hours(24 * 7);
  d.leave_in_spool(50);
  // As if tracked with the clock 8 days behind: the records carry that wall time.
  for (const auto& seg : d.segments()) shift_tracked_at(seg, -std::chrono::hours(24 * 8));
  d.new_transport();
  Tracker t = d.open();
  CHECK(t.flush(10s).ok());
  CHECK(t.stats().dropped_expired == 0);
  CHECK(d.fake->delivered().size() == 50);
}

TEST_CASE("events drained while the wall clock is 8 days ahead are not expired") {
  Durable d;
  d.options.max_event_age = std::chrono::hours(24 * 7);
  d.leave_in_spool(50);
  d.seams.wall_clock = [] { return now_ms() + std::chrono::hours(24 * 8); };
  d.new_transport();
  Tracker t = d.open();
  CHECK(t.flush(10s).ok());
  CHECK(t.stats().dropped_expired == 0);
  CHECK(d.fake->delivered().size() == 50);
  std::lock_guard<std::mutex> lk(d.mu);
  CHECK(d.drops.empty());
}

TEST_CASE("a wall clock stepped back while tracking, then forward again, expires nothing") {
  Durable d;
  d.options.max_event_age = std::chrono::hours(24 * 7);
  d.seams.wall_clock = [] { return now_ms() - std::chrono::hours(24 * 8); };
  d.leave_in_spool(50);
  d.seams.wall_clock = [] { return now_ms(); };
  d.new_transport();
  Tracker t = d.open();
  CHECK(t.flush(10s).ok());
  CHECK(t.stats().dropped_expired == 0);
  CHECK(d.fake->delivered().size() == 50);
}

TEST_CASE("a FIFO named like a segment neither hangs open() nor inspect, and is reported") {
  Durable d;
  d.leave_in_spool(20);
  const std::string fifo = d.dir + "/00000000000000ab-00000001.seg";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  REQUIRE(::mkfifo((d.dir + "/dead-letters.jsonl").c_str(), 0600) == 0);
  // In a child with an alarm: a hang ends the child (SIGALRM) instead of the test run.
  const int code = in_child_that_dies([&] {
    ::alarm(20);
    auto info = inspect_spool(d.dir);
    if (!info.ok() || info->pending_events != 20 || info->skipped.size() != 2) return false;
    d.new_transport();
    auto t = d.try_open();
    if (!t.ok() || t->stats().skipped_spool_entries != 1 || t->stats().recovered != 20) return false;
    return t->flush(10s).ok() && d.fake->delivered().size() == 20;
  });
  CHECK(code == 0);
  CHECK(fs::is_fifo(fifo));  // left as it was
}

TEST_CASE("bad entries are skipped and reported, everything else is delivered, foreign files are never written") {
  Durable d;
  d.leave_in_spool(20);
  // Another spool, whose segment a symlink here points at.
  Durable other;
  other.leave_in_spool(30);
  REQUIRE(other.segments().size() == 1);
  const fs::path foreign = other.segments()[0];
  std::vector<char> foreign_before(fs::file_size(foreign));
  std::ifstream(foreign, std::ios::binary).read(foreign_before.data(), static_cast<std::streamsize>(foreign_before.size()));

  fs::create_directory(d.dir + "/00000000000000aa-00000001.seg");
  fs::create_symlink(d.dir + "/missing", d.dir + "/00000000000000bb-00000001.seg");
  fs::create_symlink(foreign, d.dir + "/00000000000000cc-00000001.seg");
  // Unreadable; as root (which reads whatever the mode), another user's file instead.
  const std::string unreadable = d.tmp.write("spool/conversions/00000000000000dd-00000001.seg", std::string(64 * 1024, '\0'));
  fs::permissions(unreadable, fs::perms::none);
  if (::geteuid() == 0) REQUIRE(::chown(unreadable.c_str(), 65534, 65534) == 0);
  const std::size_t bad = 4;
  auto info = inspect_spool(d.dir);
  REQUIRE(info.ok());
  CHECK(info->pending_events == 20);
  CHECK(info->skipped.size() == bad);

  d.new_transport();
  std::vector<std::string> logged;
  d.options.logger = [&](LogLevel, std::string_view m) { logged.emplace_back(m); };
  {
    Tracker t = d.open();
    CHECK(t.stats().recovered == 20);
    CHECK(t.stats().skipped_spool_entries == bad);
    CHECK(t.flush(10s).ok());
    CHECK(d.fake->delivered().size() == 20);
  }
  const auto mentions = [&](std::string_view what) {
    return std::any_of(logged.begin(), logged.end(), [&](const std::string& m) { return m.find(what) != std::string::npos; });
  };
  CHECK(mentions("symlink"));
  CHECK(mentions("directory"));
  // Every bad entry is still there under its own name; nothing was renamed into ours.
  CHECK(fs::is_directory(d.dir + "/00000000000000aa-00000001.seg"));
  CHECK(fs::is_symlink(d.dir + "/00000000000000bb-00000001.seg"));
  CHECK(fs::is_symlink(d.dir + "/00000000000000cc-00000001.seg"));
  CHECK(fs::exists(unreadable));
  // The other spool's segment is byte for byte as it was, and its events all still pending.
  std::vector<char> foreign_after(fs::file_size(foreign));
  std::ifstream(foreign, std::ios::binary).read(foreign_after.data(), static_cast<std::streamsize>(foreign_after.size()));
  CHECK(foreign_after == foreign_before);
  CHECK(other.info().pending_events == 30);
}

TEST_CASE("a spool is drained on a full disk: opening needs no new space") {
  Durable d;
  d.leave_in_spool(100);
  d.new_transport();
  const int code = in_child_that_dies([&] {
    // A file size limit stands in for a full disk: no file can grow at all.
    signal(SIGXFSZ, SIG_IGN);
    rlimit limit{0, 0};
    if (setrlimit(RLIMIT_FSIZE, &limit) != 0) return false;
    auto t = d.try_open();
    if (!t.ok()) return false;
    return t->flush(10s).ok() && d.fake->delivered().size() == 100;
  });
  CHECK(code == 0);
  CHECK(d.info().pending_events == 0);
  CHECK(d.segments().empty());
}

TEST_CASE("a segment's acked offset pointed at a later record by damage: the events are resent and the damage counted") {
  Durable d;
  d.leave_in_spool(100);
  auto segs = d.segments();
  REQUIRE(segs.size() == 1);
  {
    // Point the offset at the 51st record: that skipped 50 events silently before.
    std::fstream f(segs[0], std::ios::in | std::ios::out | std::ios::binary);
    std::vector<unsigned char> bytes(fs::file_size(segs[0]));
    f.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    detail::SegmentReader reader(bytes.data(), bytes.size(), detail::kSegmentHeaderBytes,
                                 detail::record_format(bytes.data(), bytes.size()));
    detail::RecordView rec;
    for (int i = 0; i < 51; ++i) REQUIRE(reader.next(rec));
    std::uint64_t word = 0;
    std::memcpy(&word, bytes.data() + detail::kSegmentAckedOffsetAt, 8);
    word = (word & ~std::uint64_t{0xffffffff}) | rec.offset;  // the offset field, not its checksum
    f.seekp(static_cast<std::streamoff>(detail::kSegmentAckedOffsetAt));
    f.write(reinterpret_cast<const char*>(&word), 8);
  }
  CHECK(d.info().pending_events == 100);
  CHECK(d.info().corrupt_records == 1);
  d.new_transport();
  Tracker t = d.open();
  CHECK(t.stats().recovered == 100);
  CHECK(t.stats().corrupt_records == 1);
  CHECK(t.flush(10s).ok());
  CHECK(d.fake->delivered().size() == 100);
}

TEST_CASE("truncated segments are reported as truncated, with the bytes missing") {
  Durable d;
  d.options.conversions.max_spool_bytes = 8 * 64 * 1024;
  d.leave_in_spool(600);  // several segments
  auto segs = d.segments();
  REQUIRE(segs.size() >= 3);
  fs::resize_file(segs[0], 0);
  fs::resize_file(segs[1], 64);
  const auto third = fs::file_size(segs[2]);
  fs::resize_file(segs[2], third / 2 + 4);
  const SpoolInfo info = d.info();
  CHECK(info.truncated_segments == 3);
  CHECK(info.truncated_bytes == (64 * 1024 - 64) + (third - (third / 2 + 4)));
  d.new_transport();
  Tracker t = d.open();
  CHECK(t.stats().truncated_segments == 3);
  CHECK(t.stats().truncated_bytes == info.truncated_bytes);
  CHECK(t.stats().recovered == info.pending_events);
}

TEST_CASE("dead owners' segments are adopted in the order they were created, whatever their owner ids") {
  Durable d;
  d.leave_in_spool(10);  // events 0-9
  auto first = d.segments();
  REQUIRE(first.size() == 1);
  // The first run's segment gets the highest owner id, so id order and creation order differ.
  fs::rename(first[0], d.dir + "/ffffffffffffff00-00000001.seg");
  {
    d.fake->set_handler(unavailable);
    auto t = d.try_open();
    REQUIRE(t.ok());
    t->shutdown(100ms);  // adopts the first run's events, delivers none
  }
  d.fake->set_handler(unavailable);
  {
    Tracker t = d.open();
    for (int i = 10; i < 20; ++i) REQUIRE(t.track(order(i)).ok());
    t.shutdown(100ms);
  }
  auto segs = d.segments();
  REQUIRE(segs.size() >= 1);
  // Give the newest segment the lowest owner id.
  fs::rename(segs.back(), d.dir + "/0000000000000001-00000001.seg");
  d.new_transport();
  Tracker t = d.open();
  REQUIRE(t.flush(10s).ok());
  std::vector<std::string> expected;
  for (int i = 0; i < 20; ++i) expected.push_back("m-" + std::to_string(100000 + i));
  CHECK(delivered_in_order(*d.fake) == expected);
}

TEST_CASE("a fork while a spool is being opened leaves the child none of the opener's locks" *
          doctest::skip(referkit::test::kForkUnsafeAllocator)) {
  Durable d;
  d.fake->hang(true);
  d.options.spool_commit_interval = std::chrono::hours(1);
  std::atomic<bool> stop{false};
  std::thread opener([&] {
    while (!stop.load()) {
      auto t = d.try_open();
      if (t.ok()) t->shutdown(0ms);
    }
  });
  int children_with_the_lock = 0;
  for (int i = 0; i < 200; ++i) {
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      // Does this child hold a descriptor of spool.lock (and so, maybe, its flock)?
      for (const std::string& f : open_files()) {
        if (f.find("spool.lock") != std::string::npos) _exit(1);
      }
      _exit(0);
    }
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) ++children_with_the_lock;
  }
  stop = true;
  opener.join();
  CHECK(children_with_the_lock == 0);
}

TEST_CASE("a dead letter that cannot be written (disk full) is counted and logged, not lost silently") {
  Durable d;
  d.fake->set_handler([](const test::RecordedRequest& r) {
    return FakeTransport::reply(200, R"({"rejected":[{"messageId":")" + r.message_ids[0] + R"(","reason":"bad"}]})");
  });
  const int code = in_child_that_dies([&] {
    std::atomic<int> errors{0};
    d.options.logger = [&](LogLevel level, std::string_view m) {
      if (level == LogLevel::kError && m.find("dead letter") != std::string_view::npos) ++errors;
    };
    auto t = d.try_open();
    if (!t.ok() || !t->track(order(0)).ok()) return false;
    // The segment exists now; from here no file can grow: the dead-letter file cannot be written.
    signal(SIGXFSZ, SIG_IGN);
    rlimit limit{0, 0};
    if (setrlimit(RLIMIT_FSIZE, &limit) != 0) return false;
    const Status flushed = t->flush(10s);
    const TrackerStats st = t->stats();
    return flushed.code() == StatusCode::kDataLoss && st.dead_lettered == 1 && st.dead_letters_unrecorded == 1 &&
           errors.load() == 1 && st.last_error.find("dead letter") != std::string::npos;
  });
  CHECK(code == 0);
}

TEST_CASE("a 20 GiB sparse file named like a segment is not read: inspect and open stay quick") {
  Durable d;
  d.leave_in_spool(20);
  const std::string huge = d.dir + "/00000000000000ee-00000001.seg";
  { std::ofstream(huge).put('\0'); }
  fs::resize_file(huge, std::uintmax_t{20} << 30);  // sparse: no disk space taken
  // In a child with an alarm: reading 20 GiB of holes takes far longer than this.
  const int code = in_child_that_dies([&] {
    ::alarm(10);
    auto info = inspect_spool(d.dir);
    if (!info.ok() || info->pending_events != 20 || info->skipped.size() != 1) return false;
    if (info->skipped[0].find("more than any segment") == std::string::npos) return false;
    d.new_transport();
    auto t = d.try_open();
    return t.ok() && t->stats().skipped_spool_entries == 1 && t->flush(10s).ok() && d.fake->delivered().size() == 20;
  });
  CHECK(code == 0);
  CHECK(fs::file_size(huge) == std::uintmax_t{20} << 30);  // left alone
}

}  // TEST_SUITE("spool")
