// The one fork() mechanism (src/common/fork_registry.hpp): hooks run in the documented order,
// children see a new fork generation, fork() waits for a NoForkGuard, and a child keeps no
// ParentOnlyFd.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <memory>
#include <vector>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "common/fork_registry.hpp"
#include "support/open_files.hpp"
#include "support/temp_dir.hpp"

using namespace referkit::detail;

namespace {

struct Recorder final : ForkAware {
  std::string calls;
  void before_fork() override { calls += 'b'; }
  void after_fork_parent() override { calls += 'p'; }
  void after_fork_child() override { calls += 'c'; }
};

using referkit::test::open_files;

// Whether descriptor number `fd` is closed in this process.
bool closed_here(int fd) {
  errno = 0;
  return ::fcntl(fd, F_GETFD) == -1 && errno == EBADF;
}

// Runs `child` in a forked child; its return value becomes the exit status the parent returns.
template <typename F>
int in_child(F child) {
  const pid_t pid = ::fork();
  if (pid == 0) ::_exit(child());
  int status = -1;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

TEST_SUITE("common") {

TEST_CASE("registered objects are told about fork in the parent and in the child") {
  Recorder r;
  register_fork_aware(&r);
  const std::uint64_t before = fork_generation();
  const int child_status = in_child([&] {
    if (r.calls != "bc") return 1;
    return fork_generation() == before + 1 ? 0 : 2;
  });
  CHECK(child_status == 0);
  CHECK(r.calls == "bp");
  CHECK(fork_generation() == before);  // the parent's generation does not move
  unregister_fork_aware(&r);
  CHECK(in_child([] { return 0; }) == 0);
  CHECK(r.calls == "bp");  // no longer registered
}

TEST_CASE("fork() waits for a NoForkGuard to be released") {
  install_fork_hooks();
  std::atomic<bool> holding{false};
  std::atomic<bool> released{false};
  std::atomic<bool> forked{false};
  std::thread holder([&] {
    {
      NoForkGuard guard;
      holding = true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      released = true;
    }
    // Alive until the fork is over: a thread that had finished, unjoined, at the fork is a
    // "thread leak" to ThreadSanitizer in the child.
    while (!forked) std::this_thread::yield();
  });
  while (!holding) std::this_thread::yield();
  const int child_status = in_child([&] { return released ? 0 : 1; });
  forked = true;
  CHECK(released);
  CHECK(child_status == 0);
  holder.join();
}

TEST_CASE("a forked child holds none of the parent's ParentOnlyFds, wherever they are held") {
  install_fork_hooks();
  referkit::test::TempDir tmp;
  const std::string path = (tmp.path() / "segment").string();
  auto open_file = [&] { return ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600); };
  ParentOnlyFd on_stack;
  on_stack.reset(open_file());
  // As a segment waiting for deletion is: in a list of another object, on the heap.
  std::vector<std::shared_ptr<ParentOnlyFd>> waiting;
  waiting.push_back(std::make_shared<ParentOnlyFd>());
  waiting.back()->reset(open_file());
  ParentOnlyFd closed_before;
  closed_before.reset(open_file());
  closed_before.reset();
  const int plain = open_file();  // not a ParentOnlyFd: the child keeps it
  REQUIRE(on_stack.valid());
  REQUIRE(waiting.back()->valid());
  REQUIRE(plain >= 0);
  const int stack_number = on_stack.get();
  const int heap_number = waiting.back()->get();

  const int child_status = in_child([&] {
    if (on_stack.valid() || waiting.back()->valid()) return 1;  // read as closed
    if (!closed_here(stack_number)) return 2;  // and closed
    if (!closed_here(heap_number)) return 3;
    if (closed_here(plain)) return 4;
    // A new one in the child is the child's, and closes as usual.
    ParentOnlyFd own;
    own.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    return own.valid() ? 0 : 5;
  });
  CHECK(child_status == 0);
  CHECK(on_stack.get() == stack_number);  // the parent's stay open
  CHECK_FALSE(closed_here(stack_number));
  CHECK_FALSE(closed_here(heap_number));
  ::close(plain);
}

TEST_CASE("a ParentOnlyFd made by open or dup_of, or moved, is closed in a forked child too") {
  install_fork_hooks();
  referkit::test::TempDir tmp;
  const std::string path = (tmp.path() / "spare").string();
  ParentOnlyFd opened = ParentOnlyFd::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  REQUIRE(opened.valid());
  ParentOnlyFd duplicate = ParentOnlyFd::dup_of(opened.get());
  REQUIRE(duplicate.valid());
  ParentOnlyFd moved_from = ParentOnlyFd::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  const int moved_number = moved_from.get();
  ParentOnlyFd moved_to(std::move(moved_from));
  CHECK_FALSE(moved_from.valid());
  CHECK(moved_to.get() == moved_number);
  ParentOnlyFd assigned;
  assigned = std::move(duplicate);
  CHECK_FALSE(duplicate.valid());
  errno = 0;
  CHECK_FALSE(ParentOnlyFd::open((tmp.path() / "missing").c_str(), O_RDONLY | O_CLOEXEC).valid());
  CHECK(errno == ENOENT);
  const int numbers[] = {opened.get(), moved_to.get(), assigned.get()};

  const int child_status = in_child([&] {
    if (opened.valid() || moved_to.valid() || assigned.valid()) return 1;
    for (int n : numbers) {
      if (!closed_here(n)) return 2;
    }
    return 0;
  });
  CHECK(child_status == 0);
  for (int n : numbers) CHECK_FALSE(closed_here(n));
}

TEST_CASE("ParentOnlyFds are closed before the objects hear of the fork, and none escapes a busy thread") {
  install_fork_hooks();
  referkit::test::TempDir tmp;
  const std::string path = (tmp.path() / "segment").string();
  ParentOnlyFd held = ParentOnlyFd::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  REQUIRE(held.valid());
  struct Checker final : ForkAware {
    const ParentOnlyFd* fd = nullptr;
    bool closed_first = false;
    void before_fork() override {}
    void after_fork_parent() override {}
    void after_fork_child() override { closed_first = !fd->valid(); }
  } checker;
  checker.fd = &held;
  register_fork_aware(&checker);

  // Another thread opens, moves, duplicates and closes holders of the same file all along: a
  // child must never get one of them open, whichever step the fork fell on.
  std::atomic<bool> stop{false};
  std::thread churn([&] {
    while (!stop.load()) {
      ParentOnlyFd a = ParentOnlyFd::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      ParentOnlyFd b = std::move(a);
      ParentOnlyFd c = ParentOnlyFd::dup_of(b.get());
      b.reset();
      ParentOnlyFd d;
      d = std::move(c);
    }
  });
  const std::string prefix = tmp.path().string() + "/";
  int escaped = 0;
  int not_first = 0;
  for (int round = 0; round < 40; ++round) {
    const int status = in_child([&] {
      if (!checker.closed_first) return 2;
      for (const std::string& file : open_files()) {
        if (file.compare(0, prefix.size(), prefix) == 0) return 1;
      }
      return 0;
    });
    escaped += status == 1 ? 1 : 0;
    not_first += status == 2 ? 1 : 0;
  }
  stop = true;
  churn.join();
  unregister_fork_aware(&checker);
  CHECK(escaped == 0);
  CHECK(not_first == 0);
}

TEST_CASE("a segment's flock is free once the parent lets go, while a forked child still runs") {
  install_fork_hooks();
  referkit::test::TempDir tmp;
  const std::string path = (tmp.path() / "segment").string();
  auto held = std::make_unique<ParentOnlyFd>();
  held->reset(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  REQUIRE(held->valid());
  REQUIRE(::flock(held->get(), LOCK_EX | LOCK_NB) == 0);
  int gate[2];
  int started[2];
  REQUIRE(::pipe2(gate, O_CLOEXEC) == 0);
  REQUIRE(::pipe2(started, O_CLOEXEC) == 0);
  const pid_t pid = ::fork();
  if (pid == 0) {
    // The fork hooks have run: say so. Then alive until the parent has checked: it closes the
    // gate's write end, and read() returns 0.
    ::close(gate[1]);
    ::close(started[0]);
    (void)::write(started[1], "s", 1);
    char byte;
    while (::read(gate[0], &byte, 1) < 0 && errno == EINTR) {
    }
    ::_exit(0);
  }
  REQUIRE(pid > 0);
  ::close(gate[0]);
  ::close(started[1]);
  char byte = 0;
  ssize_t n = -1;
  while ((n = ::read(started[0], &byte, 1)) < 0 && errno == EINTR) {
  }
  CHECK(n == 1);  // not REQUIRE: the child is waited for below either way
  ::close(started[0]);
  held.reset();  // the parent lets go of the segment, as after its deletion
  const int other = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  CHECK(other >= 0);
  // With a copy of the descriptor in the child, the lock would be held for as long as it lives.
  CHECK(::flock(other, LOCK_EX | LOCK_NB) == 0);
  if (other >= 0) ::close(other);
  ::close(gate[1]);
  int status = -1;
  ::waitpid(pid, &status, 0);
  CHECK(WIFEXITED(status));
}

}  // TEST_SUITE
